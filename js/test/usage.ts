// The package's types (index.d.ts) held to what it does: scripts/check_node.sh type-checks this
// program with `tsc --strict` against the packed package installed in a scratch project, runs it,
// and requires its last line. It also checks that index.d.ts declares exactly what index.js exports.
import fs from 'node:fs';
import ort from 'onnxruntime-node';
import * as lstmDigits from 'lstm-digits';
import { DEFAULT_NUMBER_READER, DEFAULT_PIPELINE, openNumberReader, openPipeline } from 'lstm-digits';
import type { DigitAnswer, NumberReading } from 'lstm-digits';

// A white page, RGBA, with dark ink in the given columns of the given rows.
function page(height: number, width: number, inked: (row: number, column: number) => boolean): Uint8Array {
  const rgba = new Uint8Array(height * width * 4).fill(255);
  for (let row = 0; row < height; row++) {
    for (let column = 0; column < width; column++) {
      if (inked(row, column)) rgba.fill(20, 4 * (row * width + column), 4 * (row * width + column) + 3);
    }
  }
  return rgba;
}

const pipeline = await openPipeline(ort, fs.readFileSync(DEFAULT_PIPELINE));
const one: DigitAnswer = await pipeline.classify(page(56, 56, (row, column) => row >= 10 && row < 46 && column >= 26 && column < 30), 56, 56);
const blank: DigitAnswer = await pipeline.classify(page(56, 56, () => false), 56, 56);
const reader = await openNumberReader(ort, fs.readFileSync(DEFAULT_NUMBER_READER));
const nothing: NumberReading = await reader.read(page(40, 120, () => false), 40, 120);

// index.d.ts declares each export of index.js, and nothing else.
const declared = [...fs.readFileSync(new URL('./node_modules/lstm-digits/index.d.ts', import.meta.url), 'utf8')
  .matchAll(/^export (?:const|function) (\w+)/gm)].map((match) => match[1]).sort();
const exported = Object.keys(lstmDigits).sort();
if (declared.join() !== exported.join()) {
  console.error(`index.d.ts declares ${declared.join(', ')}; index.js exports ${exported.join(', ')}`);
  process.exit(1);
}
const box = one.box === null ? 'none' : `${one.box.top},${one.box.left},${one.box.bottom},${one.box.right}`;
console.log(`digit ${one.answer} box ${box}; blank noDigit ${blank.noDigit}; number blank noNumber ${nothing.noNumber} ` +
  `digits ${nothing.digits.length}; threshold ${reader.minProbability !== undefined}; ${exported.length} exports typed`);
