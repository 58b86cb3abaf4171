// --same-images (issue 21): the RGBA records that scripts/same_images.py decoded once for all hosts,
// streamed through the page's own pipeline; what it made of each is written for same_images.py compare.
import fs from 'node:fs';
import path from 'node:path';

const SAME_IMAGES_BATCH = 64; // records per round trip to the page

// --same-images: how many records DIR/records.bin holds, from DIR/sets.json (same_images.py writes both).
export function countRecords(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'sets.json'), 'utf8')).sets.reduce((sum, set) => sum + set.count, 0);
}

// The records, streamed into the page and through window.lstmDigits.pipeline.classify, a batch per
// round trip; their images (Float32Array bytes, base64), answers and times come back here, in order.
export async function sameImages(page, dir) {
  await page.evaluate(async () => {
    const reader = (await fetch('/same-images/records.bin')).body.getReader();
    let chunks = [], size = 0;
    const take = async (n, { orEnd = false } = {}) => { // the stream's next n bytes (or null at its end)
      for (let read; size < n && !(read = await reader.read()).done; size += read.value.length) chunks.push(read.value);
      if (size < n) {
        if (size || !orEnd) throw new Error('records.bin ends inside a record');
        return null;
      }
      if (chunks[0].length < n) { // one buffer of all that was read (otherwise the first holds the n bytes)
        const all = new Uint8Array(size);
        chunks.reduce((at, chunk) => (all.set(chunk, at), at + chunk.length), 0);
        chunks = [all];
      }
      const first = chunks[0];
      [chunks[0], size] = [first.subarray(n), size - n];
      return first.subarray(0, n);
    };
    window.sameImagesNext = async (count) => {
      const images = [], answers = [], ms = [];
      for (let header; images.length < count && (header = await take(8, { orEnd: true })); ) {
        const view = new DataView(header.buffer, header.byteOffset, 8);
        const [height, width] = [view.getUint32(0, true), view.getUint32(4, true)];
        const rgba = await take(height * width * 4), start = performance.now();
        const answer = await window.lstmDigits.pipeline.classify(rgba, height, width);
        ms.push(performance.now() - start);
        images.push(new Uint8Array(Float32Array.from(answer.image.data).buffer));
        answers.push(answer.noDigit ? null : answer.answer);
      }
      let binary = '';
      for (const bytes of images) binary += String.fromCharCode(...bytes);
      return { images: btoa(binary), answers, ms };
    };
  });
  const out = fs.openSync(path.join(dir, 'browser.f32'), 'w');
  const answers = [], ms = [], started = performance.now();
  try {
    for (let batch; (batch = await page.evaluate((n) => window.sameImagesNext(n), SAME_IMAGES_BATCH)).answers.length; ) {
      fs.writeSync(out, Buffer.from(batch.images, 'base64'));
      answers.push(...batch.answers);
      ms.push(...batch.ms);
    }
  } finally {
    fs.closeSync(out);
  }
  fs.writeFileSync(path.join(dir, 'browser.json'), JSON.stringify({ answers, ms }));
  return { count: answers.length, seconds: (performance.now() - started) / 1000 };
}

