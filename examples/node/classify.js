#!/usr/bin/env node
// Embed lstm-digits' pipeline.onnx in a Node.js program: PNG and JPEG files in, digits out; with
// --number, number.onnx: whole handwritten numbers out.
//
//   node classify.js [--model pipeline.onnx] [--min-confidence P] image.png photo.jpg ...
//   node classify.js --number [--model number.onnx] [--json] image.png photo.jpg ...
//   node classify.js --model FILE.onnx --check TEST_DATA_DIR [--check DIR ...] --tolerance T|JSON
//
// Prints `path<TAB>digit<TAB>probability` per image, as digit-classify does, with the not-a-digit
// label (`-`, from the model's metadata) for an image the graph rejects. The graph does all the
// preprocessing; this program only decodes the file (decode.js). An image with no ink, or a file
// that cannot be read, gets one line on stderr; the others are still classified; exit code 1.
// --number prints `path<TAB>NUMBER<TAB>probability` (the whole number's), `-` for a number the
// file rejects, as `digit-classify --number` does; --json, its record with each digit's probability
// and box.
// --check runs each test_data_set_N folder (ONNX model zoo layout: input_k.pb, output_k.pb) through
// any ONNX file and compares each output with the stored one, within the tolerance given: a number
// for every floating-point output, or a JSON object {output name: number}; other outputs exactly.
import './no-telemetry.js';  // first: before onnxruntime-node loads
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import {
  checkTestData, DEFAULT_NUMBER_READER, DEFAULT_PIPELINE, NUMBER_FILE, openNumberReader, openPipeline, PIPELINE_FILE, readTensor,
  SESSION_OPTIONS as QUIET,
} from 'lstm-digits';
import { decodeImage } from './decode.js';

// The model: --model, else the one the installed lstm-digits package carries, else (in the
// repository, where the package is a link to js/ and carries none) the repository's shipped one.
const shipped = (...files) => files.map(fileURLToPath).find((file, index) => fs.existsSync(file) || index === files.length - 1);
const DEFAULT_MODEL = shipped(DEFAULT_PIPELINE, new URL(`../../models/default/${PIPELINE_FILE}`, import.meta.url));
const DEFAULT_NUMBER_MODEL = shipped(DEFAULT_NUMBER_READER, new URL(`../../models/number/${NUMBER_FILE}`, import.meta.url));
const USAGE = 'usage: node classify.js [--model pipeline.onnx] [--min-confidence P] image ... | --number [--model number.onnx] [--json] image ...'
  + ' | --model FILE.onnx --check DIR ... --tolerance T';
const REJECTED_NUMBER = '-'; // cli/number_answers.py: REJECTED
const SESSION_OPTIONS = { ...QUIET, intraOpNumThreads: 1 };

class UsageError extends Error {}

function parseArguments(argv) {
  const options = { files: [], check: [] };
  const number = (flag, value) => {
    const n = Number(value);
    if (value === undefined || !(n >= 0 && n <= 1)) throw new UsageError(`${flag} must be a number from 0 to 1`);
    return n;
  };
  const tolerance = (value) => {
    if (!value?.startsWith('{')) return number('--tolerance', value);
    try {
      return JSON.parse(value);
    } catch {
      throw new UsageError('--tolerance must be a number or a JSON object');
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--model') options.model = argv[++i];
    else if (flag === '--check') options.check.push(argv[++i]);
    else if (flag === '--tolerance') options.tolerance = tolerance(argv[++i]);
    else if (flag === '--min-confidence') options.minConfidence = number(flag, argv[++i]);
    else if (flag === '--number') options.number = true;
    else if (flag === '--json') options.json = true;
    else if (flag.startsWith('--')) throw new UsageError(`unknown option ${flag}`);
    else options.files.push(flag);
  }
  if (!options.check.length ? !options.files.length : options.tolerance === undefined || options.files.length) {
    throw new UsageError('nothing to do');
  }
  if (options.number && options.minConfidence !== undefined) throw new UsageError('--min-confidence is for digits: number.onnx carries its own rule');
  if (options.json && !options.number) throw new UsageError('--json is for --number');
  options.model ??= options.number ? DEFAULT_NUMBER_MODEL : DEFAULT_MODEL;
  return options;
}

// --check: the export's own test data, run in onnxruntime-node.
async function check(session, folder, tolerance) {
  const tensors = (prefix) => fs.readdirSync(folder).filter((name) => name.startsWith(prefix) && name.endsWith('.pb'))
    .sort((a, b) => parseInt(a.slice(prefix.length), 10) - parseInt(b.slice(prefix.length), 10))
    .map((name) => readTensor(fs.readFileSync(path.join(folder, name))));
  const rows = await checkTestData(ort, session, tensors('input_'), tensors('output_'), tolerance);
  for (const row of rows) {
    console.log(`${folder} ${row.name}: max |difference| ${row.maxDifference.toExponential(2)} over ${row.values} values` +
                ` (tolerance ${row.limit})${row.passed ? '' : ' FAILED'}`);
  }
  return rows.length > 0 && rows.every((row) => row.passed);
}

async function classify(pipeline, files, minConfidence) {
  let failures = 0;
  for (const file of files) {
    try {
      const { data, height, width } = decodeImage(readFile(file));
      const answer = await pipeline.classify(data, height, width, { minConfidence });
      if (answer.noDigit) throw new Error('no digit found (the image has no ink)');
      console.log(`${file}\t${answer.answer}\t${answer.probability.toFixed(4)}`);
    } catch (error) {
      console.error(`classify.js: ${file}: ${error.message}`);
      failures++;
    }
  }
  return failures;
}

async function readNumbers(reader, files, json) {
  let failures = 0;
  for (const file of files) {
    try {
      const { data, height, width } = decodeImage(readFile(file));
      const { number, probability, digits, rejected } = await reader.read(data, height, width);
      if (json) {
        const rounded = (p) => Math.round(p * 1e6) / 1e6;
        const record = { path: file, number, probability: rounded(probability),
          digits: digits.map((d) => ({ digit: d.digit, probability: rounded(d.probability), box: d.box })) };
        console.log(JSON.stringify(rejected ? { ...record, rejected } : record));
      } else {
        console.log(`${file}\t${rejected ? REJECTED_NUMBER : number}\t${probability.toFixed(4)}`);
      }
    } catch (error) {
      console.error(`classify.js: ${file}: ${error.message}`);
      failures++;
    }
  }
  return failures;
}

function readFile(file) {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new Error({ ENOENT: 'no such file', EISDIR: 'is a folder' }[error.code] ?? `cannot read: ${error.code}`);
  }
}

async function main(argv) {
  const options = parseArguments(argv);
  if (!fs.existsSync(options.model)) throw new Error(`${options.model}: no such model file`);
  if (options.check.length) {
    const session = await ort.InferenceSession.create(options.model, SESSION_OPTIONS);
    let passed = true;
    for (const folder of options.check) passed = (await check(session, folder, options.tolerance)) && passed;
    return passed ? 0 : 1;
  }
  if (options.number) {
    const reader = await openNumberReader(ort, fs.readFileSync(options.model), SESSION_OPTIONS)
      .catch((error) => { throw new Error(`${options.model}: ${error.message}`); });
    console.error(`${path.basename(options.model)}: '${REJECTED_NUMBER}' when a digit is below ${reader.minProbability}, onnxruntime-node ${ort.env.versions.common}`);
    return (await readNumbers(reader, options.files, options.json)) ? 1 : 0;
  }
  const pipeline = await openPipeline(ort, fs.readFileSync(options.model), SESSION_OPTIONS)
    .catch((error) => { throw new Error(`${options.model}: ${error.message}`); });
  const { labels, rejection } = pipeline;
  const threshold = options.minConfidence ?? rejection.minConfidence;
  const rule = threshold > 0 ? `'${rejection.label}' below ${threshold}` : 'no rejection';
  console.error(`${path.basename(options.model)}: labels ${labels.join('')}, ${rule}, onnxruntime-node ${ort.env.versions.common}`);
  return (await classify(pipeline, options.files, options.minConfidence)) ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (status) => { process.exitCode = status; },
  (error) => {
    console.error(error instanceof UsageError ? `classify.js: ${error.message}\n${USAGE}` : `classify.js: ${error.message}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
