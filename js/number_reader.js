// lstm-digits' number.onnx for JavaScript hosts: raw RGBA pixels in, the handwritten number out
// (docs/NUMBERS.md). The file does everything from the pixels on: the strip preprocessing, the
// reader, the CTC reading with each digit's probability and box, and the not-a-number rule. The
// host passes its own `ort` (onnxruntime-node or onnxruntime-web), as for pipeline.js.
//
//   const reader = await openNumberReader(ort, modelBytes);
//   const reading = await reader.read(rgba, height, width);   // RGBA bytes, row by row
//   reading.rejected ? 'not a number' : reading.number          // a string: leading zeros count

import { metadataJson, openModel } from './pipeline.js';

export const NUMBER_FILE = 'number.onnx'; // models/__init__.py: NUMBER
// The shipped number.onnx in the installed package (npm pack copies it in; not in the repository's js/).
export const DEFAULT_NUMBER_READER = new URL(`./${NUMBER_FILE}`, import.meta.url);
export const NUMBER_INPUT = 'pixels';
// The outputs this module reads; the file's metadata lists its outputs in order ('outputs').
export const NUMBER_OUTPUTS = Object.freeze(['digits', 'probabilities', 'boxes', 'number_probability', 'rejected', 'no_number', 'strip']);

// An open number.onnx: `ort` is onnxruntime-node or onnxruntime-web, `modelBytes` the file.
export async function openNumberReader(ort, modelBytes, sessionOptions = {}) {
  const { session, metadata } = await openModel(ort, modelBytes, sessionOptions, {
    kind: 'number reader', input: NUMBER_INPUT, outputs: NUMBER_OUTPUTS,
    check: (metadata) => {
      const listed = metadataJson(metadata, 'outputs')?.order;
      if (!Array.isArray(listed) || NUMBER_OUTPUTS.some((name) => !listed.includes(name))) {
        throw new Error('not an lstm-digits number reader: its metadata lists no number outputs');
      }
    },
  });
  return new NumberReader(ort, session, metadata);
}

class NumberReader {
  constructor(ort, session, metadata) {
    Object.assign(this, { ort, session, metadata });
    // The not-a-number rule's threshold, for display (the graph applies it); undefined if unstated.
    try {
      this.minProbability = JSON.parse(metadata.rejection).min_probability;
    } catch {
      this.minProbability = undefined;
    }
  }

  // The number in one image: `rgba` holds height x width x 4 bytes (a canvas' ImageData.data).
  // {number (null when rejected), probability (the whole number's), digits: [{digit, probability,
  // box: [x0, y0, x1, y1] in the input's pixels, x1 and y1 exclusive}], rejected, noNumber, strip}:
  // digit-classify --number --json's record, with the strip the reader saw.
  async read(rgba, height, width) {
    const pixels = new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength);
    if (pixels.length !== height * width * 4) throw new Error(`${pixels.length} bytes are not ${height}x${width} RGBA`);
    const outputs = await this.session.run({ [NUMBER_INPUT]: new this.ort.Tensor('uint8', pixels, [height, width, 4]) }, NUMBER_OUTPUTS);
    const boxes = Array.from(outputs.boxes.data, Number);
    const digits = Array.from(outputs.digits.data, (digit, i) => ({
      digit: String(digit),
      probability: outputs.probabilities.data[i],
      box: boxes.slice(4 * i, 4 * i + 4),
    }));
    const rejected = Boolean(outputs.rejected.data[0]);
    const strip = outputs.strip;
    return {
      number: rejected ? null : digits.map((d) => d.digit).join(''),
      probability: outputs.number_probability.data[0],
      digits, // what was read, also when rejected
      rejected,
      noNumber: Boolean(outputs.no_number.data[0]),
      strip: { data: strip.data, height: strip.dims[0], width: strip.dims[1] },
    };
  }
}
