// Decode a PNG or JPEG file to RGBA bytes in JavaScript, upright: what pipeline.onnx takes.
// pngjs and jpeg-js (pure JavaScript, pinned in package-lock.json); a JPEG's EXIF orientation is
// applied here, as Pillow's exif_transpose does for digit-classify (the graph leaves it to the host).

import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

const MAX_MEGAPIXELS = 100; // a larger image is refused before it is decoded (a decompression bomb?)

// bytes -> { data: Uint8Array (height x width x 4), height, width }; throws a one-line Error.
export function decodeImage(bytes) {
  if (bytes.length === 0) throw new Error('empty file (0 bytes)');
  if (bytes[0] === 0x89 && bytes.toString('latin1', 1, 4) === 'PNG') return decodePng(bytes);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return decodeJpeg(bytes);
  throw new Error('not a PNG or JPEG image');
}

function decodePng(bytes) {
  let png;
  try {
    png = PNG.sync.read(bytes); // any colour type and bit depth, as 8-bit RGBA
  } catch (error) {
    throw new Error(`not a readable PNG (${error.message})`);
  }
  return { data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length), height: png.height, width: png.width };
}

function decodeJpeg(bytes) {
  let image;
  try {
    image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_MEGAPIXELS, maxMemoryUsageInMB: 1024 });
  } catch (error) {
    throw new Error(`not a readable JPEG (${String(error.message ?? error).split('\n')[0]})`);
  }
  return upright(image.data, image.height, image.width, exifOrientation(bytes));
}

// The EXIF orientation tag (0x0112) of a JPEG's APP1 segment: 1 (upright) when there is none.
export function exifOrientation(bytes) {
  for (let at = 2; at + 4 <= bytes.length && bytes[at] === 0xff;) {
    const marker = bytes[at + 1];
    const length = bytes.readUInt16BE(at + 2);
    if (marker === 0xda) break; // start of scan: no more metadata segments
    if (marker === 0xe1 && bytes.toString('latin1', at + 4, at + 10) === 'Exif\0\0') {
      return tiffOrientation(bytes.subarray(at + 10, at + 2 + length));
    }
    at += 2 + length;
  }
  return 1;
}

function tiffOrientation(tiff) {
  if (tiff.length < 8) return 1;
  const little = tiff.toString('latin1', 0, 2) === 'II';
  const u16 = (at) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return 1;
  for (let entry = ifd + 2, n = u16(ifd); n > 0 && entry + 12 <= tiff.length; n--, entry += 12) {
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

// RGBA pixels turned as EXIF orientation 1-8 says, so that the image stands as it was taken.
// For each displayed pixel (x, y), the stored pixel it comes from (orientations 5-8 swap the sides).
const SOURCE = {
  2: (x, y, w, h) => [w - 1 - x, y],
  3: (x, y, w, h) => [w - 1 - x, h - 1 - y],
  4: (x, y, w, h) => [x, h - 1 - y],
  5: (x, y) => [y, x],
  6: (x, y, w, h) => [y, h - 1 - x],
  7: (x, y, w, h) => [w - 1 - y, h - 1 - x],
  8: (x, y, w) => [w - 1 - y, x],
};

export function upright(data, height, width, orientation) {
  const source = SOURCE[orientation];
  if (!source) return { data, height, width };
  const [outHeight, outWidth] = orientation >= 5 ? [width, height] : [height, width];
  const aligned = data.byteOffset % 4 ? data.slice() : data;
  const pixels = new Uint32Array(aligned.buffer, aligned.byteOffset, height * width); // one RGBA pixel each
  const out = new Uint32Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const [sx, sy] = source(x, y, width, height);
      out[y * outWidth + x] = pixels[sy * width + sx];
    }
  }
  return { data: new Uint8Array(out.buffer), height: outHeight, width: outWidth };
}
