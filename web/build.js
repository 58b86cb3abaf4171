// Build the static site: web/dist holds everything the page loads, for any static host.
//
//   node build.js [--model PATH/pipeline.onnx] [--out DIR]      (npm run build)
//
// dist/: index.html, app.js, pipeline.js, style.css, pipeline.onnx, and ort/ with onnxruntime-web's
// WebAssembly build (the module `onnxruntime-web/wasm` resolves to and the .wasm it loads).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PIPELINE_FILE } from './src/pipeline.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ORT_WASM = 'ort-wasm-simd-threaded.wasm'; // the one .wasm that onnxruntime-web/wasm's bundle loads

export function build({ model = path.join(here, '..', 'models', 'default', PIPELINE_FILE), out = path.join(here, 'dist') } = {}) {
  if (!fs.existsSync(model)) throw new Error(`${model}: no such file (digit-export writes it beside model.onnx)`);
  const ortModule = fileURLToPath(import.meta.resolve('onnxruntime-web/wasm'));
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'ort'), { recursive: true });
  fs.cpSync(path.join(here, 'src'), out, { recursive: true });
  fs.copyFileSync(model, path.join(out, PIPELINE_FILE));
  fs.copyFileSync(ortModule, path.join(out, 'ort', path.basename(ortModule)));
  fs.copyFileSync(path.join(path.dirname(ortModule), ORT_WASM), path.join(out, 'ort', ORT_WASM));
  const app = fs.readFileSync(path.join(out, 'app.js'), 'utf8');
  if (!app.includes(`from './ort/${path.basename(ortModule)}'`)) {
    throw new Error(`app.js does not import ort/${path.basename(ortModule)}, the module onnxruntime-web/wasm names`);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  try {
    const out = build({ model: option('--model'), out: option('--out') });
    const files = fs.readdirSync(out, { recursive: true }).filter((name) => fs.statSync(path.join(out, name)).isFile());
    const bytes = files.reduce((sum, name) => sum + fs.statSync(path.join(out, name)).size, 0);
    console.log(`built ${path.relative(process.cwd(), out) || '.'}: ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB`);
  } catch (error) {
    console.error(`build: ${error.message}`);
    process.exitCode = 1;
  }
}
