// lstm-digits' pipeline.onnx for JavaScript hosts: raw RGBA pixels in, the digit out. The npm
// package `lstm-digits` (this folder, README.md), used by the browser app (onnxruntime-web) and
// examples/node (onnxruntime-node): both onnxruntime packages have the same API, so the host passes
// its own `ort` in. No dependencies. The packed package carries the shipped pipeline.onnx beside
// this file: DEFAULT_PIPELINE is its URL.
//
//   const pipeline = await openPipeline(ort, modelBytes);
//   const answer = await pipeline.classify(rgba, height, width);   // RGBA bytes, row by row
//   answer.noDigit ? 'nothing to classify' : answer.rejected ? pipeline.rejection.label : answer.digit
//
// The graph does all the preprocessing (crop to the ink, scale, centre, clean) and applies the
// not-a-digit rule itself; labels, the rule's label and threshold travel in the model's metadata.

export const PIPELINE_FILE = 'pipeline.onnx'; // beside model.onnx (models/__init__.py: PIPELINE)
// The shipped pipeline.onnx in the installed package (npm pack copies it in; not in the repository's js/).
export const DEFAULT_PIPELINE = new URL(`./${PIPELINE_FILE}`, import.meta.url);

// The graph's input and outputs (models/__init__.py names them for the Python side).
export const INPUT = 'pixels';
export const OUTPUTS = Object.freeze({
  probabilities: 'probabilities', // float32 [1, labels]
  image: 'image', // float32 [canvas, canvas]: what the model saw, bright ink on black, in [0, 1]
  rejected: 'rejected', // bool [1]: the largest probability is below the rule's min_confidence
  noDigit: 'no_digit', // bool [1]: no ink stands out, nothing to classify
  box: 'box', // int64 [4]: the digit's top, left, bottom, right in the input's pixels (all 0 with no digit)
});

// Errors only, as lstm_digits' Python runtime does: onnxruntime's load-time warnings (such as
// initializers its graph passes drop) are not the users' business, and onnxruntime-web would print
// them to the page's console as errors.
export const SESSION_OPTIONS = Object.freeze({ logSeverityLevel: 3 });

// --- A minimal protobuf reader: enough for ModelProto.metadata_props and TensorProto. ---
// onnxruntime (node and web) exposes the graph's inputs and outputs but not metadata_props.

function readVarint(bytes, at) {
  let value = 0;
  for (let scale = 1; ; scale *= 128) {
    if (at >= bytes.length) throw new Error('truncated protobuf varint');
    const byte = bytes[at++];
    value += (byte & 0x7f) * scale; // arithmetic, not bit operations: exact beyond 2^31
    if (byte < 0x80) return [value, at];
  }
}

// Yields [fieldNumber, value]: a number for varints, a Uint8Array for length-delimited and fixed fields.
function* protoFields(bytes) {
  let at = 0;
  while (at < bytes.length) {
    let key, value;
    [key, at] = readVarint(bytes, at);
    const wireType = key % 8;
    if (wireType === 0) {
      [value, at] = readVarint(bytes, at);
    } else if (wireType === 2 || wireType === 1 || wireType === 5) {
      let length = wireType === 1 ? 8 : 4;
      if (wireType === 2) [length, at] = readVarint(bytes, at);
      if (at + length > bytes.length) throw new Error('truncated protobuf field');
      value = bytes.subarray(at, at + length);
      at += length;
    } else {
      throw new Error(`unsupported protobuf wire type ${wireType}`);
    }
    yield [Math.floor(key / 8), value];
  }
}

const utf8 = new TextDecoder();

// ModelProto field 14 is metadata_props: entries of key (1) and value (2), both strings.
export function modelMetadata(modelBytes) {
  const metadata = {};
  for (const [field, entry] of protoFields(modelBytes)) {
    if (field !== 14) continue;
    const pair = {};
    for (const [number, text] of protoFields(entry)) pair[number] = utf8.decode(text);
    metadata[pair[1]] = pair[2];
  }
  return metadata;
}

// TensorProto data_type -> [ort type, typed array, TensorProto field of its non-raw values].
const TENSOR_TYPES = {
  1: ['float32', Float32Array, 4],
  2: ['uint8', Uint8Array, 5],
  7: ['int64', BigInt64Array, 7],
  9: ['bool', Uint8Array, 5],
};

function copyBytes(view, TypedArray) {
  const copy = new Uint8Array(view); // its own buffer, aligned for any typed array
  return new TypedArray(copy.buffer, 0, copy.byteLength / TypedArray.BYTES_PER_ELEMENT);
}

// A TensorProto file (test_data_set_N/input_0.pb, output_0.pb, ...) -> {name, type, dims, data}.
export function readTensor(bytes) {
  const dims = [], values = { 4: [], 5: [], 7: [] }; // float_data, int32_data, int64_data
  let dataType, raw, name;
  for (const [field, value] of protoFields(bytes)) {
    if (field === 1) dims.push(...(typeof value === 'number' ? [value] : unpackVarints(value)));
    else if (field === 2) dataType = value;
    else if (field === 8) name = utf8.decode(value);
    else if (field === 9) raw = value;
    else if (field in values) values[field].push(value);
  }
  const known = TENSOR_TYPES[dataType];
  if (!known) throw new Error(`tensor ${name}: data type ${dataType} is not one this reader knows`);
  const [type, TypedArray, valueField] = known;
  let data;
  if (raw) data = copyBytes(raw, TypedArray);
  else if (valueField === 4) data = copyBytes(concatBytes(values[4]), Float32Array); // packed or not: 4 bytes each
  else data = TypedArray.from(values[valueField].flatMap((v) => (typeof v === 'number' ? [v] : unpackVarints(v))),
    (v) => (type === 'int64' ? BigInt(v) : v));
  if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`tensor ${name}: ${data.length} values for shape [${dims}]`);
  return { name, type, dims, data };
}

function concatBytes(parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  parts.reduce((at, part) => (out.set(part, at), at + part.length), 0);
  return out;
}

function unpackVarints(bytes) {
  const out = [];
  for (let at = 0; at < bytes.length;) { let v; [v, at] = readVarint(bytes, at); out.push(v); }
  return out;
}

// --- The model's contract, from its metadata ---

export function metadataJson(metadata, key) {
  if (metadata[key] === undefined) return undefined;
  try {
    return JSON.parse(metadata[key]);
  } catch {
    throw new Error(`metadata '${key}' is not JSON`);
  }
}

// The not-a-digit rule as lstm_digits.runtime.confidence reads it; none in the metadata rejects nothing.
function rejectionRule(metadata) {
  const value = metadataJson(metadata, 'rejection');
  if (value === undefined) return { minConfidence: 0, label: '-' };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error("metadata 'rejection' is not a JSON object");
  if (value.score !== 'max_probability') throw new Error(`metadata 'rejection': score must be 'max_probability', not ${JSON.stringify(value.score)}`);
  if (typeof value.label !== 'string' || !value.label.trim() || /[\t\r\n]/.test(value.label)) {
    throw new Error(`metadata 'rejection': label must be a non-empty one-line string, not ${JSON.stringify(value.label)}`);
  }
  const p = value.min_confidence;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new Error(`metadata 'rejection': min_confidence must be a number from 0 to 1, not ${JSON.stringify(p)}`);
  return { minConfidence: p, label: value.label };
}

// An open pipeline.onnx: `ort` is onnxruntime-node or onnxruntime-web, `modelBytes` the file.
export async function openPipeline(ort, modelBytes, sessionOptions = {}) {
  let labels, rejection;
  const { session, metadata } = await openModel(ort, modelBytes, sessionOptions, {
    kind: 'pipeline', input: INPUT, outputs: Object.values(OUTPUTS),
    check: (metadata) => {
      labels = metadataJson(metadata, 'labels');
      if (!Array.isArray(labels)) throw new Error('no lstm-digits labels in its metadata');
      rejection = rejectionRule(metadata);
    },
  });
  return new Pipeline(ort, session, metadata, labels, rejection);
}

// An lstm-digits ONNX file opened: {session, metadata}, or one Error saying what is wrong with it:
// not an ONNX model, metadata that `check(metadata)` refuses (it throws), a file onnxruntime cannot
// load, or a graph without the `input` and `outputs` an lstm-digits `kind` has.
export async function openModel(ort, modelBytes, sessionOptions, { kind, input, outputs, check }) {
  const bytes = modelBytes instanceof Uint8Array ? modelBytes : new Uint8Array(modelBytes);
  let metadata;
  try {
    metadata = modelMetadata(bytes);
  } catch (error) {
    throw new Error(`not an ONNX model (${error.message})`);
  }
  check(metadata);
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, { ...SESSION_OPTIONS, ...sessionOptions });
  } catch (error) {
    throw new Error(`onnxruntime cannot load it (${String(error.message ?? error).split('\n')[0]})`);
  }
  const missing = [input].filter((name) => !session.inputNames.includes(name))
    .concat(outputs.filter((name) => !session.outputNames.includes(name)));
  if (missing.length) throw new Error(`not an lstm-digits ${kind}: the graph has no ${missing.join(', ')}`);
  return { session, metadata };
}

class Pipeline {
  constructor(ort, session, metadata, labels, rejection) {
    Object.assign(this, { ort, session, metadata, labels, rejection });
  }

  // All outputs for one image: `rgba` holds height x width x 4 bytes (a canvas' ImageData.data).
  async run(rgba, height, width) {
    const pixels = new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength);
    if (pixels.length !== height * width * 4) throw new Error(`${pixels.length} bytes are not ${height}x${width} RGBA`);
    return this.session.run({ [INPUT]: new this.ort.Tensor('uint8', pixels, [height, width, 4]) });
  }

  // The answer for one image. `minConfidence` (optional) replaces the graph's own threshold.
  async classify(rgba, height, width, { minConfidence } = {}) {
    const outputs = await this.run(rgba, height, width);
    const probabilities = Array.from(outputs[OUTPUTS.probabilities].data);
    const ranked = probabilities.map((p, i) => [this.labels[i], p]).sort((a, b) => b[1] - a[1]);
    const [digit, probability] = ranked[0];
    const rejected = minConfidence === undefined ? Boolean(outputs[OUTPUTS.rejected].data[0]) : probability < minConfidence;
    const image = outputs[OUTPUTS.image];
    const noDigit = Boolean(outputs[OUTPUTS.noDigit].data[0]);
    const box = outputs[OUTPUTS.box]; // (a pipeline.onnx exported before the box has none)
    const [top, left, bottom, right] = box ? Array.from(box.data, Number) : [];
    return {
      noDigit,
      box: noDigit || !box ? null : { top, left, bottom, right }, // the digit in the input's pixels (bottom, right exclusive)
      rejected,
      digit,
      probability,
      probabilities, // one per label, in the labels' order
      top: ranked.slice(0, 3), // [[label, probability], ...], most likely first
      answer: rejected ? this.rejection.label : digit, // what digit-classify prints
      image: { data: image.data, height: image.dims[0], width: image.dims[1] },
    };
  }
}

// --- test_data_set_N: what the export computed, checked in this host's onnxruntime ---

// `inputs` and `expected` are readTensor() results (input_k.pb and output_k.pb, in order); works
// for any ONNX file. Floating-point outputs must agree within `tolerance` (max |difference|: one
// number, or {output name: number}), others exactly. Returns one row per output:
// {name, values, maxDifference, limit, passed}.
export async function checkTestData(ort, session, inputs, expected, tolerance) {
  const feeds = {};
  inputs.forEach((tensor, k) => {
    feeds[tensor.name || session.inputNames[k]] = new ort.Tensor(tensor.type, tensor.data, tensor.dims);
  });
  const outputs = await session.run(feeds);
  return expected.map((tensor, k) => {
    const name = tensor.name || session.outputNames[k];
    const actual = outputs[name];
    if (!actual) return { name, values: 0, maxDifference: Infinity, limit: 0, passed: false };
    const sameShape = actual.dims.join() === tensor.dims.join();
    let maxDifference = sameShape ? 0 : Infinity;
    for (let i = 0; sameShape && i < tensor.data.length; i++) {
      maxDifference = Math.max(maxDifference, Math.abs(Number(actual.data[i]) - Number(tensor.data[i])));
    }
    const limit = tensor.type !== 'float32' ? 0 : typeof tolerance === 'number' ? tolerance : tolerance[name];
    return { name, values: tensor.data.length, maxDifference, limit, passed: maxDifference <= limit };
  });
}
