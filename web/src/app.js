// The page: a drawing pad and photo inputs -> pipeline.onnx in onnxruntime-web (WebAssembly) ->
// the digit or "not a digit", each digit's probability and the 28x28 image the model saw. In number
// mode, a wide pad -> number.onnx -> the number or "not a number", each digit's probability and box.
// Plain ES modules; onnxruntime-web's WebAssembly build is served with the page, in ort/ (build.js
// copies it there). Decoding stays with the browser: createImageBitmap applies the EXIF orientation.
import * as ort from './ort/ort.wasm.bundle.min.mjs';
import { showAnswer as show } from './answer_view.js';
import { CameraError, digitReading, LiveCamera, numberReading } from './live.js';
import { keepForOffline } from './offline.js';
import { DrawingPad, photoPixels } from './pad.js';
import { openPipeline, PIPELINE_FILE } from './pipeline.js';
import { NUMBER_FILE, openNumberReader } from './number_reader.js';

ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one is plenty for one image

const pad = document.getElementById('pad');
const padFrame = pad.parentElement; // the pad and the boxes over it
const status = document.getElementById('status');
const PAD_WIDTH = { digit: pad.width, number: 3 * pad.width }; // a number's pad: three digits' width

// What the page exposes for its tests (and the curious): the open pipeline, timings, last answer.
const page = (window.lstmDigits = {
  ort, pipeline: null, numberReader: null, numberReaderLoaded: false, mode: 'digit', readyMs: null, answers: [], offline: null,
});
// No graph optimisation at load: the exported graphs are already lean, and onnxruntime's optimiser
// (constant folding runs kernels that WebAssembly compiles on first use) made the page ready about
// 0.5 s later on this machine, for no faster answers.
const SESSION = { executionProviders: ['wasm'], graphOptimizationLevel: 'disabled' };

async function fetched(file) {
  const response = await fetch(file);
  if (!response.ok) throw new Error(`${file}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

async function load() {
  const pipeline = await openPipeline(ort, await fetched(PIPELINE_FILE), SESSION);
  // The first run allocates: do it on a blank pad before the user waits.
  await pipeline.run(new Uint8Array(pad.width * pad.height * 4), pad.height, pad.width);
  return pipeline;
}

// --- The pad: drawing with mouse, pen or touch (pad.js) ---

const drawing = new DrawingPad(pad, document.getElementById('boxes'), (pixels, since) => classify({
  rgba: pixels.data, height: pixels.height, width: pixels.width, since, source: 'drawing', generation: startedOver, mode: page.mode,
}));
const clearPad = () => drawing.clear();

document.getElementById('clear').addEventListener('click', () => {
  leaveLive();
  startOver();
  clearPad();
  showAnswer(null);
});

// --- Photos: chosen from the device, or taken with the camera on a phone ---

for (const input of [document.getElementById('photo'), document.getElementById('camera')]) {
  input.addEventListener('change', async () => {
    const file = input.files[0];
    input.value = ''; // choosing the same file again is a new change
    if (!file) return;
    leaveLive();
    const generation = startOver(), started = performance.now();
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    } catch {
      if (generation !== startedOver) return;
      clearPad(); // not the last drawing or photo beside this file's error
      showError(`${file.name}: not an image this browser can read`);
      return;
    }
    const { data, height, width } = photoPixels(bitmap);
    if (generation === startedOver) drawing.showPreview(bitmap);
    bitmap.close();
    classify({ rgba: data, height, width, since: started, source: file.name, generation, mode: page.mode });
  });
}

// --- What to read: one digit (pipeline.onnx) or a whole number (number.onnx, fetched when first asked for) ---

const modeButtons = { digit: document.getElementById('mode-digit'), number: document.getElementById('mode-number') };
for (const [mode, button] of Object.entries(modeButtons)) button.addEventListener('click', () => setMode(mode));

function setMode(mode) {
  if (mode === page.mode) return;
  leaveLive();
  startOver();
  page.mode = document.body.dataset.mode = mode;
  for (const [name, button] of Object.entries(modeButtons)) button.setAttribute('aria-pressed', String(name === mode));
  drawing.resize(PAD_WIDTH[mode]);
  pad.setAttribute('aria-label', `Drawing pad: draw ${mode === 'number' ? 'a number' : 'one digit'} here`);
  showAnswer(null);
  if (mode === 'digit' || page.numberReader) return showStatus(mode === 'number' ? 'Write a number.' : 'Draw a digit.');
  showStatus('Loading the number reader\u2026');
  numberReader().then(
    () => page.mode === 'number' && !waiting && !running && showStatus('Ready. Write a number.'),
    (error) => page.mode === 'number' && showError(`The number reader could not be loaded: ${error.message}`),
  );
}

// The open number.onnx, once; a load that failed is tried again at the next reading.
function numberReader() {
  if (!page.numberReader) {
    page.numberReader = fetched(NUMBER_FILE).then((bytes) => openNumberReader(ort, bytes, SESSION));
    page.numberReader.then((reader) => (page.numberReaderLoaded = Boolean(reader)), () => { page.numberReader = null; });
  }
  return page.numberReader;
}

// --- Live camera: what is in the guide box, read frame after frame (live.js) ---

const liveButton = document.getElementById('live');
const cameraView = document.getElementById('live-view');
const answerBox = document.getElementById('answer');
// What the camera reads in each mode: a digit in a square guide box, or a number in a wide one.
const liveReadings = {
  digit: digitReading((rgba, height, width) => page.pipeline.classify(rgba, height, width)),
  number: numberReading(async (rgba, height, width) => {
    const reader = await numberReader();
    return { ...(await reader.read(rgba, height, width)), minProbability: reader.minProbability };
  }),
};
const live = new LiveCamera({
  video: document.getElementById('video'),
  overlay: document.getElementById('overlay'),
  show: ({ text, kind, answer }) => {
    page.liveShown.push({ at: performance.now(), text, kind });
    showAnswer(kind === 'reading' ? { reading: true } : answer);
  },
  ended: () => leaveLive('The camera stopped (another app took it, or its permission was withdrawn).'),
});
Object.assign(page, { live, liveShown: [] }); // liveShown: each answer live mode showed, and when

let opening = null; // the enterLive under way, until the camera runs: { cancelled }
liveButton.addEventListener('click', () => (live.running || opening ? leaveLive() : enterLive()));

async function enterLive() {
  const attempt = (opening = { cancelled: false });
  startOver();
  showStatus('Opening the camera\u2026');
  liveButton.textContent = 'Cancel';
  liveButton.setAttribute('aria-busy', 'true');
  try {
    if (!(await page.ready)) return showStatus('The model could not be loaded: reload the page to try again.');
    const mode = page.mode; // number.onnx may take seconds to come: cancelled, or another mode, meanwhile
    const loaded = mode !== 'number' || (await numberReader().then(Boolean, () => false));
    if (attempt.cancelled || page.mode !== mode) return showStatus('The camera was not opened.');
    if (!loaded) return showError('The number reader could not be loaded: press Live camera to try again.');
    if (!(await live.start(liveReadings[mode])) || attempt.cancelled) {
      live.stop();
      return showStatus('The camera was closed before it opened.');
    }
  } catch (error) {
    if (!(error instanceof CameraError)) throw error;
    showError(error.message);
    return;
  } finally {
    if (opening === attempt) opening = null;
    liveButton.removeAttribute('aria-busy');
    if (!live.running) liveButton.textContent = 'Live camera';
  }
  padFrame.hidden = true;
  cameraView.hidden = false;
  liveButton.textContent = 'Stop camera';
  liveButton.setAttribute('aria-pressed', 'true');
  answerBox.setAttribute('aria-live', 'off'); // a screen reader is not told each reading while the camera runs
  showStatus(`Hold ${page.mode === 'number' ? 'a number' : 'a digit'} in the box. Nothing leaves this device.`);
}

// Back to the pad; `why` for the footer. The camera is released (its light goes off).
function leaveLive(why = '') {
  if (opening) opening.cancelled = true;
  const running = live.running;
  live.stop(); // also while the camera is being opened
  if (!running) return;
  cameraView.hidden = true;
  padFrame.hidden = false;
  liveButton.textContent = 'Live camera';
  liveButton.setAttribute('aria-pressed', 'false');
  answerBox.setAttribute('aria-live', 'polite');
  showAnswer(null);
  if (why) showStatus(why);
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden) leaveLive('The camera stopped when the page was hidden. Press Live camera to go on.');
});

// --- The answer ---

// One run at a time; while one runs, or while the model loads, only the latest request waits (a
// newer drawing replaces it). Clear and a new photo start over: a request made before is dropped,
// waiting or running. `startedOver` counts them; each request carries the count it was made at.
let waiting = null, running = false, startedOver = 0;

function startOver() {
  waiting = null;
  return ++startedOver;
}

function classify(request) {
  waiting = request;
  if (page.pipeline) return runWaiting();
  showAnswer({ reading: true });
  showStatus('Loading the model\u2026 what you drew is read as soon as it has loaded.');
}

async function runWaiting() {
  if (running) return;
  running = true;
  while (waiting) {
    const next = waiting;
    waiting = null;
    await classifyNow(next);
  }
  running = false;
}

async function classifyNow({ rgba, height, width, since, source, generation, mode }) {
  let answer;
  try {
    if (mode === 'number') {
      if (!page.numberReaderLoaded) showAnswer({ reading: true }); // (number.onnx still on its way)
      const reader = await numberReader().catch((error) => { throw new Error(`the number reader could not be loaded (${error.message})`); });
      answer = { ...(await reader.read(rgba, height, width)), minProbability: reader.minProbability };
    } else {
      answer = await page.pipeline.classify(rgba, height, width);
    }
  } catch (error) {
    if (generation === startedOver) showError(`${source}: ${error.message}`);
    return;
  }
  if (generation !== startedOver) return;
  showAnswer(answer);
  const ms = performance.now() - since;
  page.answers.push({ source, ms, mode, ...answer });
  showStatus(`${answer.noDigit || answer.noNumber ? 'Nothing' : 'Read'} in ${ms.toFixed(0)} ms, in this page.`);
}

function showAnswer(answer) {
  show(answer, page.pipeline?.labels, (box) => drawing.place(box));
}

// A file or a run that failed: the error takes the answer's place (and the footer's).
function showError(text) {
  showAnswer({ error: text });
  showStatus(text);
}

function showStatus(text) {
  status.textContent = text;
}

clearPad();
page.ready = load().then(
  (pipeline) => {
    page.pipeline = pipeline;
    page.readyMs = performance.now(); // since navigation started
    showStatus(`Ready (model loaded in ${page.readyMs.toFixed(0)} ms). Draw a digit.`);
    runWaiting(); // what was drawn or chosen while the model loaded
    page.offline = keepForOffline(showStatus);
    return true;
  },
  (error) => {
    showError(`The model could not be loaded: ${error.message}`);
    return false;
  },
);
