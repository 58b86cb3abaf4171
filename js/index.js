// The lstm-digits npm package: pipeline.onnx (one digit) and number.onnx (a whole number), each raw
// RGBA pixels in, read in the onnxruntime the host passes in.
export * from './pipeline.js';
export * from './number_reader.js';
