// Build the static site: web/dist holds everything the page loads, for any static host.
//
//   node build.js [--model PATH/pipeline.onnx] [--number-model PATH/number.onnx] [--out DIR]   (npm run build)
//
// dist/: index.html, app.js, style.css, the manifest and icons, pipeline.onnx, number.onnx,
// pipeline.js and number_reader.js (the lstm-digits package's modules, ../js), and ort/
// with onnxruntime-web's WebAssembly build (the module `onnxruntime-web/wasm` resolves to and the
// .wasm it loads); sw.js, the service worker, gets the list of those files and the build's version
// (a hash of their bytes), so that the page works offline and a new build replaces the old. It keeps
// number.onnx (4.3 MB) only once number mode has fetched it: a visitor who reads digits never
// downloads it. Beside
// each text or binary file of 1 kB or more, its brotli (FILE.br) and gzip (FILE.gz) copies, which
// serve.js sends to browsers that accept them (static hosts: nginx's gzip_static, brotli_static).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { NUMBER_FILE, PIPELINE_FILE } from 'lstm-digits';
import { TYPES } from './serve.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ORT_WASM = 'ort-wasm-simd-threaded.wasm'; // the one .wasm that onnxruntime-web/wasm's bundle loads
const SERVICE_WORKER = 'sw.js';
const UNBUILT = "const BUILD = { version: 'unbuilt', files: [] };";
const COMPRESSED = new Set(['.html', '.js', '.mjs', '.css', '.wasm', '.onnx', '.json', '.webmanifest']);
// Brotli quality 9: the .wasm's 14.2 MB become 2.7 MB in about 2 s; quality 11 gives 2.4 MB in 26 s.
const BROTLI = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9 } };
const PACKAGE_MODULES = ['pipeline.js', 'number_reader.js']; // the page imports these of the lstm-digits package
const LAZY = new Set([NUMBER_FILE]); // kept by the service worker once the page has fetched them, not at install

export function build({ model = path.join(here, '..', 'models', 'default', PIPELINE_FILE),
  numberModel = path.join(here, '..', 'models', 'number', NUMBER_FILE), out = path.join(here, 'dist') } = {}) {
  if (!fs.existsSync(model)) throw new Error(`${model}: no such file (digit-export writes it beside model.onnx)`);
  if (!fs.existsSync(numberModel)) throw new Error(`${numberModel}: no such file (digit-export writes it for a number reader)`);
  const ortModule = fileURLToPath(import.meta.resolve('onnxruntime-web/wasm'));
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'ort'), { recursive: true });
  fs.cpSync(path.join(here, 'src'), out, { recursive: true });
  fs.copyFileSync(model, path.join(out, PIPELINE_FILE));
  fs.copyFileSync(numberModel, path.join(out, NUMBER_FILE));
  const modules = path.dirname(fileURLToPath(import.meta.resolve('lstm-digits')));
  for (const file of PACKAGE_MODULES) fs.copyFileSync(path.join(modules, file), path.join(out, file));
  fs.copyFileSync(ortModule, path.join(out, 'ort', path.basename(ortModule)));
  fs.copyFileSync(path.join(path.dirname(ortModule), ORT_WASM), path.join(out, 'ort', ORT_WASM));
  const app = fs.readFileSync(path.join(out, 'app.js'), 'utf8');
  if (!app.includes(`from './ort/${path.basename(ortModule)}'`)) {
    throw new Error(`app.js does not import ort/${path.basename(ortModule)}, the module onnxruntime-web/wasm names`);
  }
  // What the worker keeps: every file a server sends (serve.js's types; a stray .DS_Store is not one).
  const files = siteFiles(out).filter((file) => file !== SERVICE_WORKER && TYPES[path.extname(file)]);
  const hash = crypto.createHash('sha256');
  for (const file of files) hash.update(file).update(fs.readFileSync(path.join(out, file)));
  const worker = fs.readFileSync(path.join(out, SERVICE_WORKER), 'utf8');
  const [lazy, eager] = [files.filter((file) => LAZY.has(file)), files.filter((file) => !LAZY.has(file))];
  const build = `const BUILD = ${JSON.stringify({ version: hash.digest('hex').slice(0, 16), files: ['./', ...eager], lazy })};`;
  if (!worker.includes(UNBUILT)) throw new Error(`${SERVICE_WORKER} has no line \`${UNBUILT}\` for the build to fill in`);
  fs.writeFileSync(path.join(out, SERVICE_WORKER), worker.replace(UNBUILT, build));
  for (const file of siteFiles(out)) {
    const bytes = fs.readFileSync(path.join(out, file));
    if (!COMPRESSED.has(path.extname(file)) || bytes.length < 1024) continue;
    fs.writeFileSync(path.join(out, `${file}.br`), zlib.brotliCompressSync(bytes, BROTLI));
    fs.writeFileSync(path.join(out, `${file}.gz`), zlib.gzipSync(bytes, { level: 9 }));
  }
  return out;
}

// The site's files in `out` (paths relative to it, with /), not their compressed copies.
export function siteFiles(out) {
  return fs.readdirSync(out, { recursive: true })
    .filter((name) => fs.statSync(path.join(out, name)).isFile() && !/\.(br|gz)$/.test(name))
    .map((name) => name.split(path.sep).join('/'))
    .sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  try {
    const out = build({ model: option('--model'), numberModel: option('--number-model'), out: option('--out') });
    const files = siteFiles(out);
    const size = (suffix) => files.reduce((sum, name) => sum + fs.statSync(path.join(out, fs.existsSync(path.join(out, name + suffix)) ? name + suffix : name)).size, 0) / 1e6;
    console.log(`built ${path.relative(process.cwd(), out) || '.'}: ${files.length} files, ${size('').toFixed(1)} MB (${size('.br').toFixed(1)} MB with brotli, ${size('.gz').toFixed(1)} MB with gzip)`);
  } catch (error) {
    console.error(`build: ${error.message}`);
    process.exitCode = 1;
  }
}
