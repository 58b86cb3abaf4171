#!/usr/bin/env node
// Part of the check that every host sees the same 28x28 images (issue 21), not an example to copy:
// pipeline.onnx in onnxruntime-node on raw RGBA records that scripts/same_images.py decoded once,
// with Pillow, for all hosts; writes what the graph made of each, for same_images.py to compare.
//
//   node same_images.js --model pipeline.onnx DIR
//
// Reads DIR/records.bin (per image: height and width as uint32 little-endian, then height x width
// x 4 RGBA bytes); writes DIR/node.f32 (per image its 28x28 float32 image, little-endian) and
// DIR/node.json ({answers: per image the digit, the rejection label or null for no digit; ms: per
// image the milliseconds it took}).
import './no-telemetry.js';  // first: before onnxruntime-node loads
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { openPipeline, SESSION_OPTIONS } from 'lstm-digits';

// The records one by one: {data: Uint8Array, height, width}, read as they are needed.
function* records(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const header = Buffer.alloc(8);
    for (let at = 0; fs.readSync(fd, header, 0, 8, at) === 8; ) {
      const height = header.readUInt32LE(0), width = header.readUInt32LE(4);
      const data = new Uint8Array(height * width * 4);
      if (fs.readSync(fd, data, 0, data.length, at + 8) !== data.length) throw new Error(`${file} ends inside a record`);
      at += 8 + data.length;
      yield { data, height, width };
    }
  } finally {
    fs.closeSync(fd);
  }
}

async function main(argv) {
  const modelAt = argv.indexOf('--model');
  const model = modelAt >= 0 ? argv.splice(modelAt, 2)[1] : undefined;
  if (argv.length !== 1 || !model) throw new Error('usage: node same_images.js --model pipeline.onnx DIR');
  const [dir] = argv;
  const pipeline = await openPipeline(ort, fs.readFileSync(model), { ...SESSION_OPTIONS, intraOpNumThreads: 1 });
  const started = performance.now();
  const images = fs.openSync(path.join(dir, 'node.f32'), 'w');
  const answers = [], ms = [];
  try {
    for (const { data, height, width } of records(path.join(dir, 'records.bin'))) {
      const start = performance.now();
      const answer = await pipeline.classify(data, height, width);
      ms.push(performance.now() - start);
      const image = answer.image.data; // Float32Array: little-endian on every platform Node runs on
      fs.writeSync(images, new Uint8Array(image.buffer, image.byteOffset, image.byteLength));
      answers.push(answer.noDigit ? null : answer.answer);
    }
  } finally {
    fs.closeSync(images);
  }
  fs.writeFileSync(path.join(dir, 'node.json'), JSON.stringify({ answers, ms }));
  const seconds = (performance.now() - started) / 1000;
  console.log(`same_images.js: ${answers.length} images through ${path.basename(model)} in onnxruntime-node ` +
              `${ort.env.versions.common}, ${seconds.toFixed(1)} s (${((1000 * seconds) / answers.length).toFixed(1)} ms each)`);
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`same_images.js: ${error.message}`);
  process.exitCode = 1;
});
