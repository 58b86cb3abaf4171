#!/usr/bin/env node
// Embed lstm-digits' model.onnx in a Node.js program with onnxruntime-node.
//
//   node classify.js [--model model.onnx] [--check] [--min-confidence P] [image.png ...]
//
// The model's contract (input name and shape, labels, polarity) and its rule for "not a digit"
// (metadata `rejection`: reject when the largest probability is below min_confidence; the graph's
// probabilities are already calibrated) are read from the ONNX file's own metadata, not copied here.
// A rejected image prints the rule's label (`-`) instead of a digit; --min-confidence P overrides
// the threshold, 0 turns rejection off. --check runs the model's test_data_set_0 (written by digit-export
// beside model.onnx) and compares every output with what PyTorch computed, within the tolerance
// the export itself was held to (parity.json).
// Each image must already be in MNIST form: a canvas x canvas grayscale PNG, such as the files
// `digit-classify --save-preprocessed DIR` writes; photos need the Python runtime's preprocessing.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const ort = require('onnxruntime-node');
const { PNG } = require('pngjs');

const DEFAULT_MODEL = path.join(__dirname, '..', '..', 'models', 'default', 'model.onnx');

// --- A minimal protobuf reader: enough for ModelProto.metadata_props and TensorProto. ---

function readVarint(bytes, at) {
  let value = 0;
  for (let scale = 1; ; scale *= 128) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * scale; // plain arithmetic: values above 2^31 stay exact up to 2^53
    if (byte < 0x80) return [value, at];
  }
}

// Yields [fieldNumber, value]: a number for varints, a Buffer for length-delimited and fixed fields.
function* protoFields(bytes) {
  let at = 0;
  while (at < bytes.length) {
    let key, value;
    [key, at] = readVarint(bytes, at);
    const wireType = key % 8;
    if (wireType === 0) {
      [value, at] = readVarint(bytes, at);
    } else if (wireType === 2) {
      let length;
      [length, at] = readVarint(bytes, at);
      value = bytes.subarray(at, at + length);
      at += length;
    } else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4;
      value = bytes.subarray(at, at + size);
      at += size;
    } else {
      throw new Error(`unsupported protobuf wire type ${wireType}`);
    }
    yield [Math.floor(key / 8), value];
  }
}

// ModelProto field 14 is metadata_props: entries of key (1) and value (2).
// onnxruntime-node exposes input shapes but not this custom metadata, so it is read from the file.
function modelMetadata(modelBytes) {
  const metadata = {};
  for (const [field, entry] of protoFields(modelBytes)) {
    if (field !== 14) continue;
    const pair = {};
    for (const [number, text] of protoFields(entry)) pair[number] = text.toString('utf8');
    metadata[pair[1]] = pair[2];
  }
  return metadata;
}

// TensorProto: dims (1), data_type (2; 1 is FLOAT), float_data (4), name (8), raw_data (9, little-endian).
function readFloatTensor(file) {
  const dims = [];
  let dataType, raw, name;
  const floats = [];
  for (const [field, value] of protoFields(fs.readFileSync(file))) {
    if (field === 1) {
      if (typeof value === 'number') dims.push(value);
      else for (let at = 0; at < value.length;) { let d; [d, at] = readVarint(value, at); dims.push(d); }
    } else if (field === 2) dataType = value;
    else if (field === 4) floats.push(...new Float32Array(Uint8Array.from(value).buffer));
    else if (field === 8) name = value.toString('utf8');
    else if (field === 9) raw = value;
  }
  if (dataType !== 1) throw new Error(`${file}: tensor data type ${dataType}, expected 1 (float32)`);
  const data = raw ? new Float32Array(Uint8Array.from(raw).buffer) : Float32Array.from(floats);
  if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`${file}: ${data.length} values for shape [${dims}]`);
  return { name, dims, data };
}

// --- The model ---

// The rejection rule, as lstm_digits.runtime.confidence reads it: none in the metadata rejects nothing.
function rejectionRule(metadata, override) {
  const rule = { minConfidence: 0, label: '-' };
  if (metadata.rejection !== undefined) {
    let value;
    try { value = JSON.parse(metadata.rejection); } catch { throw new Error("metadata 'rejection' is not JSON"); }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error("metadata 'rejection' is not a JSON object");
    if (value.score !== 'max_probability') throw new Error(`metadata 'rejection': score must be 'max_probability', not ${JSON.stringify(value.score)}`);
    if (typeof value.label !== 'string' || !value.label.trim() || /[\t\r\n]/.test(value.label)) {
      throw new Error(`metadata 'rejection': label must be a non-empty one-line string, not ${JSON.stringify(value.label)}`);
    }
    rule.minConfidence = probability(value.min_confidence, "metadata 'rejection': min_confidence");
    rule.label = value.label;
  }
  if (override !== undefined) rule.minConfidence = probability(override, 'min_confidence');
  return rule;
}

function probability(value, what) {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new Error(`${what} must be a number from 0 to 1, not ${JSON.stringify(value)}`);
  return value;
}

async function openModel(modelPath, minConfidence) {
  const bytes = fs.readFileSync(modelPath);
  let metadata;
  try {
    metadata = modelMetadata(bytes);
  } catch (error) {
    throw new Error(`${modelPath}: not an ONNX model (${error.message})`);
  }
  if (!metadata.input || !metadata.labels) throw new Error(`${modelPath}: no lstm-digits contract in its metadata`);
  const contract = {
    input: JSON.parse(metadata.input),
    labels: JSON.parse(metadata.labels),
    outputOrder: JSON.parse(metadata.outputs).order,
    canvas: JSON.parse(metadata.preprocessing).canvas,
  };
  try {
    contract.rejection = rejectionRule(metadata, minConfidence);
  } catch (error) {
    throw new Error(`${modelPath}: ${error.message}`);
  }
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 }).catch((error) => {
    throw new Error(`${modelPath}: onnxruntime cannot load it (${error.message.split('\n')[0]})`);
  });
  if (!session.inputNames.includes(contract.input.name)) {
    throw new Error(`${modelPath}: graph inputs [${session.inputNames}] do not include ${contract.input.name}`);
  }
  return { session, contract };
}

async function run(model, images, count) {
  const { canvas, input } = model.contract;
  const feeds = { [input.name]: new ort.Tensor('float32', images, [count, canvas, canvas]) };
  return model.session.run(feeds);
}

// The export's own tolerance, from parity.json beside the model: max |difference| per output value.
function parityTolerance(modelPath) {
  return JSON.parse(fs.readFileSync(path.join(path.dirname(modelPath), 'parity.json'), 'utf8')).tolerance.max_abs_logit_diff;
}

async function checkTestData(model, folder, tolerance) {
  const input = readFloatTensor(path.join(folder, 'input_0.pb'));
  const outputs = await run(model, input.data, input.dims[0]);
  let worst = 0;
  model.contract.outputOrder.forEach((name, index) => {
    const expected = readFloatTensor(path.join(folder, `output_${index}.pb`)).data;
    const actual = outputs[name].data;
    if (actual.length !== expected.length) throw new Error(`${name}: ${actual.length} values, expected ${expected.length}`);
    let largest = 0;
    for (let i = 0; i < actual.length; i++) largest = Math.max(largest, Math.abs(actual[i] - expected[i]));
    console.log(`test_data_set_0 ${name}: max |difference| ${largest.toExponential(2)} over ${actual.length} values`);
    worst = Math.max(worst, largest);
  });
  return worst <= tolerance;
}

// A canvas x canvas PNG -> floats in [0, 1], bright ink on a dark background as the contract says.
function readMnistFormPng(file, canvas) {
  const bytes = fs.readFileSync(file);
  let png;
  try {
    png = PNG.sync.read(bytes); // any PNG colour type and depth, decoded to 8-bit RGBA
  } catch (error) {
    throw new Error(`not a readable PNG (${error.message})`);
  }
  if (png.width !== canvas || png.height !== canvas) {
    throw new Error(`is ${png.width}x${png.height}, not ${canvas}x${canvas} (make one with digit-classify --save-preprocessed)`);
  }
  const pixels = new Float32Array(canvas * canvas);
  for (let i = 0; i < pixels.length; i++) {
    const [r, g, b, a] = png.data.subarray(4 * i, 4 * i + 4);
    pixels[i] = ((0.299 * r + 0.587 * g + 0.114 * b) / 255) * (a / 255); // transparent counts as background
  }
  const mean = pixels.reduce((sum, v) => sum + v, 0) / pixels.length;
  if (mean > 0.5) for (let i = 0; i < pixels.length; i++) pixels[i] = 1 - pixels[i]; // dark ink on white paper
  return pixels;
}

async function classify(model, files) {
  const { canvas, labels, rejection } = model.contract;
  const good = [], images = [];
  let failures = 0;
  for (const file of files) {
    try {
      images.push(readMnistFormPng(file, canvas));
      good.push(file);
    } catch (error) {
      console.error(`${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
      failures++;
    }
  }
  if (good.length) {
    const batch = new Float32Array(good.length * canvas * canvas);
    images.forEach((image, n) => batch.set(image, n * image.length));
    const probabilities = (await run(model, batch, good.length)).probabilities.data;
    good.forEach((file, n) => {
      const row = probabilities.subarray(n * labels.length, (n + 1) * labels.length);
      const best = row.indexOf(Math.max(...row));
      const answer = row[best] < rejection.minConfidence ? rejection.label : labels[best];
      console.log(`${file}\t${answer}\t${row[best].toFixed(4)}`);
    });
  }
  return failures;
}

async function main(argv) {
  let modelPath = DEFAULT_MODEL, check = false, minConfidence;
  const files = [];
  const usage = 'usage: node classify.js [--model model.onnx] [--check] [--min-confidence P] [image.png ...]';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--model') modelPath = argv[++i];
    else if (argv[i] === '--check') check = true;
    else if (argv[i] === '--min-confidence') {
      minConfidence = Number(argv[++i]);
      if (!(minConfidence >= 0 && minConfidence <= 1)) {
        console.error(`--min-confidence must be a number from 0 to 1; ${usage}`);
        return 2;
      }
    } else files.push(argv[i]);
  }
  if (!check && !files.length) {
    console.error(usage);
    return 2;
  }
  if (!fs.existsSync(modelPath)) {
    console.error(`${modelPath}: no such model file`);
    return 1;
  }
  const model = await openModel(modelPath, minConfidence);
  const { input, labels, rejection } = model.contract;
  const rule = rejection.minConfidence > 0 ? `, '${rejection.label}' below ${rejection.minConfidence}` : ', no rejection';
  console.error(`${path.basename(modelPath)}: input ${input.name} [${input.shape}] ${input.polarity}, ` +
                `labels ${labels.join('')}${rule}, onnxruntime-node ${ort.env.versions.common}`);
  let status = 0;
  if (check) {
    const tolerance = parityTolerance(modelPath);
    if (!(await checkTestData(model, path.join(path.dirname(modelPath), 'test_data_set_0'), tolerance))) {
      console.error(`test_data_set_0: outputs differ from PyTorch's by more than ${tolerance}`);
      status = 1;
    }
  }
  if (files.length && (await classify(model, files))) status = 1;
  return status;
}

main(process.argv.slice(2)).then(
  (status) => { process.exitCode = status; },
  (error) => { console.error(error.message); process.exitCode = 1; },
);
