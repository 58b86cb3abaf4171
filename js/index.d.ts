// Types of the lstm-digits npm package (index.js: pipeline.js and number_reader.js). The host
// passes its own onnxruntime (onnxruntime-node or onnxruntime-web); only the parts used here are typed.

/** The parts of onnxruntime-node's or onnxruntime-web's default export this package uses (loosely:
 * their own types are richer, and this package depends on neither). */
export interface OrtLike {
  InferenceSession: { create(model: Uint8Array, options?: any): Promise<any> };
  Tensor: new (type: any, data: any, dims: any) => any;
}

/** An onnxruntime InferenceSession, as far as this package uses it. */
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, any>, fetches?: readonly string[]): Promise<Record<string, OrtTensor>>;
}

/** An onnxruntime Tensor, as far as this package reads it. */
export interface OrtTensor {
  readonly data: ArrayLike<any>;
  readonly dims: readonly number[];
  readonly type: string;
}

/** RGBA bytes, row by row: a canvas' ImageData.data, a Uint8Array or a Buffer. */
export type RGBA = Uint8Array | Uint8ClampedArray;

/** The ONNX file's metadata_props: key -> value. */
export type Metadata = Record<string, string>;

// --- pipeline.onnx: one digit ---

export const PIPELINE_FILE: 'pipeline.onnx';
/** The shipped pipeline.onnx in the installed package. */
export const DEFAULT_PIPELINE: URL;
export const INPUT: 'pixels';
export const OUTPUTS: Readonly<{ probabilities: 'probabilities'; image: 'image'; rejected: 'rejected'; noDigit: 'no_digit'; box: 'box' }>;
export const SESSION_OPTIONS: Readonly<{ logSeverityLevel: number }>;

/** A digit's answer: what `digit-classify` prints, and more. */
export interface DigitAnswer {
  /** No ink stands out: nothing to classify. */
  noDigit: boolean;
  /** The digit in the input's pixels (bottom and right exclusive); null with no digit. */
  box: { top: number; left: number; bottom: number; right: number } | null;
  /** The largest probability is below the rule's threshold: not a digit. */
  rejected: boolean;
  /** The most likely label, also when rejected. */
  digit: string;
  probability: number;
  /** One per label, in the labels' order. */
  probabilities: number[];
  /** The three most likely, as [label, probability], most likely first. */
  top: Array<[string, number]>;
  /** What digit-classify prints: the digit, or the not-a-digit label. */
  answer: string;
  /** What the model saw: 28x28, bright ink on black, in [0, 1]. */
  image: { data: Float32Array; height: number; width: number };
}

export interface Pipeline {
  readonly session: OrtSession;
  readonly metadata: Metadata;
  readonly labels: string[];
  readonly rejection: { minConfidence: number; label: string };
  /** All of the graph's outputs for one image. */
  run(rgba: RGBA, height: number, width: number): Promise<Record<string, OrtTensor>>;
  /** The answer for one image; `minConfidence` replaces the graph's own threshold. */
  classify(rgba: RGBA, height: number, width: number, options?: { minConfidence?: number }): Promise<DigitAnswer>;
}

/** Opens a pipeline.onnx; rejects with one Error that says what is wrong with the file. */
export function openPipeline(ort: OrtLike, modelBytes: ArrayBuffer | Uint8Array, sessionOptions?: object): Promise<Pipeline>;

// --- number.onnx: a whole number ---

export const NUMBER_FILE: 'number.onnx';
/** The shipped number.onnx in the installed package. */
export const DEFAULT_NUMBER_READER: URL;
export const NUMBER_INPUT: 'pixels';
export const NUMBER_OUTPUTS: readonly string[];

/** One digit of a number read: its box is [x0, y0, x1, y1] in the input's pixels, x1 and y1 exclusive. */
export interface DigitRead {
  digit: string;
  probability: number;
  box: [number, number, number, number];
}

/** A number read: `digit-classify --number --json`'s record, with the strip the reader saw. */
export interface NumberReading {
  /** A string: leading zeros count. Null when rejected. */
  number: string | null;
  /** The whole number's probability. */
  probability: number;
  /** What was read, also when rejected. */
  digits: DigitRead[];
  /** A digit is below the rule's threshold: not a number. */
  rejected: boolean;
  /** Nothing stands out of the paper. */
  noNumber: boolean;
  strip: { data: Float32Array; height: number; width: number };
}

export interface NumberReader {
  readonly session: OrtSession;
  readonly metadata: Metadata;
  /** The not-a-number rule's threshold from the metadata (the graph applies it); undefined if unstated. */
  readonly minProbability: number | undefined;
  read(rgba: RGBA, height: number, width: number): Promise<NumberReading>;
}

/** Opens a number.onnx; rejects with one Error that says what is wrong with the file. */
export function openNumberReader(ort: OrtLike, modelBytes: ArrayBuffer | Uint8Array, sessionOptions?: object): Promise<NumberReader>;

// --- Files and test data ---

/** The metadata_props of an ONNX file's bytes. */
export function modelMetadata(modelBytes: Uint8Array): Metadata;
/** A metadata value parsed as JSON; undefined when missing; throws when it is not JSON. */
export function metadataJson(metadata: Metadata, key: string): unknown;

export interface TensorRead {
  /** undefined when the file names none */
  name: string | undefined;
  type: string;
  dims: number[];
  data: ArrayLike<number | bigint | boolean>;
}
/** A TensorProto file (test_data_set_N/input_k.pb, output_k.pb). */
export function readTensor(bytes: Uint8Array): TensorRead;

export interface TestDataRow {
  name: string;
  values: number;
  maxDifference: number;
  limit: number;
  passed: boolean;
}
/** A test data set's outputs checked in this host's onnxruntime: floats within `tolerance`, others exactly. */
export function checkTestData(ort: OrtLike, session: OrtSession, inputs: TensorRead[], expected: TensorRead[],
  tolerance: number | Record<string, number>): Promise<TestDataRow[]>;

export interface OpenedModel {
  session: OrtSession;
  metadata: Metadata;
}
/** An lstm-digits ONNX file opened, or one Error: what openPipeline and openNumberReader share. */
export function openModel(ort: OrtLike, modelBytes: ArrayBuffer | Uint8Array, sessionOptions: object | undefined,
  expect: { kind: string; input: string; outputs: readonly string[]; check: (metadata: Metadata) => void }): Promise<OpenedModel>;
