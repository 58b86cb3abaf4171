// The page: a drawing pad and photo inputs -> pipeline.onnx in onnxruntime-web (WebAssembly) ->
// the digit or "not a digit", each digit's probability and the 28x28 image the model saw.
// Plain ES modules; onnxruntime-web's WebAssembly build is served with the page, in ort/ (build.js
// copies it there). Decoding stays with the browser: createImageBitmap applies the EXIF orientation.
import * as ort from './ort/ort.wasm.bundle.min.mjs';
import { showAnswer as show } from './answer_view.js';
import { CameraError, LiveCamera } from './live.js';
import { openPipeline, PIPELINE_FILE } from './pipeline.js';

ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one is plenty for one image

const pad = document.getElementById('pad');
const status = document.getElementById('status');
const INK = '#111827', PAPER = '#ffffff';
const PEN_WIDTH = pad.width / 16; // about MNIST's stroke for a digit drawn across most of the pad

// What the page exposes for its tests (and the curious): the open pipeline, timings, last answer.
const page = (window.lstmDigits = { ort, pipeline: null, readyMs: null, answers: [], offline: null });

async function load() {
  const response = await fetch(PIPELINE_FILE);
  if (!response.ok) throw new Error(`${PIPELINE_FILE}: HTTP ${response.status}`);
  // No graph optimisation at load: the exported graph is already lean, and onnxruntime's optimiser
  // (constant folding runs kernels that WebAssembly compiles on first use) made the page ready
  // about 0.5 s later on this machine, for no faster answers.
  const options = { executionProviders: ['wasm'], graphOptimizationLevel: 'disabled' };
  const pipeline = await openPipeline(ort, await response.arrayBuffer(), options);
  // The first run allocates: do it on a blank pad before the user waits.
  await pipeline.run(new Uint8Array(pad.width * pad.height * 4), pad.height, pad.width);
  return pipeline;
}

// --- Drawing with mouse, pen or touch (pointer events) ---

const context = pad.getContext('2d', { willReadFrequently: true });
let drawnOn = false; // false: the pad is blank or shows a photo's preview
let stroke = null; // the pointer drawing now, and its last point

function clearPad() {
  context.fillStyle = PAPER;
  context.fillRect(0, 0, pad.width, pad.height);
  drawnOn = false;
}

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * (pad.width / box.width), (event.clientY - box.top) * (pad.height / box.height)];
}

pad.addEventListener('pointerdown', (event) => {
  if (stroke || event.button !== 0) return;
  if (!drawnOn) clearPad();
  drawnOn = true;
  pad.setPointerCapture(event.pointerId);
  stroke = { id: event.pointerId, last: padPoint(event) };
  context.strokeStyle = INK;
  context.fillStyle = INK;
  context.lineWidth = PEN_WIDTH;
  context.lineCap = context.lineJoin = 'round';
  context.beginPath();
  context.arc(...stroke.last, PEN_WIDTH / 2, 0, 2 * Math.PI); // a dot, if the pen lifts here
  context.fill();
});

pad.addEventListener('pointermove', (event) => {
  if (!stroke || event.pointerId !== stroke.id) return;
  context.beginPath();
  context.moveTo(...stroke.last);
  for (const point of event.getCoalescedEvents?.() ?? [event]) {
    stroke.last = padPoint(point);
    context.lineTo(...stroke.last);
  }
  context.stroke();
});

function penUp(event) {
  if (!stroke || event.pointerId !== stroke.id) return;
  stroke = null;
  const pixels = context.getImageData(0, 0, pad.width, pad.height);
  classify({ rgba: pixels.data, height: pixels.height, width: pixels.width, since: event.timeStamp, source: 'drawing', generation: startedOver });
}
pad.addEventListener('pointerup', penUp);
pad.addEventListener('pointercancel', penUp);

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
    if (generation === startedOver) showPreview(bitmap);
    bitmap.close();
    classify({ rgba: data, height, width, since: started, source: file.name, generation });
  });
}

// The photo's own pixels at full size, RGBA row by row (a canvas' ImageData).
function photoPixels(bitmap) {
  const canvas = Object.assign(document.createElement('canvas'), { width: bitmap.width, height: bitmap.height });
  const photoContext = canvas.getContext('2d', { willReadFrequently: true });
  photoContext.drawImage(bitmap, 0, 0);
  return photoContext.getImageData(0, 0, bitmap.width, bitmap.height);
}

function showPreview(bitmap) {
  clearPad();
  const scale = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
  const [width, height] = [bitmap.width * scale, bitmap.height * scale];
  context.drawImage(bitmap, (pad.width - width) / 2, (pad.height - height) / 2, width, height);
}

// --- Live camera: what is in the guide box, read frame after frame (live.js) ---

const liveButton = document.getElementById('live');
const cameraView = document.getElementById('live-view');
const answerBox = document.getElementById('answer');
const live = new LiveCamera({
  video: document.getElementById('video'),
  overlay: document.getElementById('overlay'),
  classify: (rgba, height, width) => page.pipeline.classify(rgba, height, width),
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
    if (attempt.cancelled) return;
    if (!(await live.start()) || attempt.cancelled) {
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
  pad.hidden = true;
  cameraView.hidden = false;
  liveButton.textContent = 'Stop camera';
  liveButton.setAttribute('aria-pressed', 'true');
  answerBox.setAttribute('aria-live', 'off'); // a screen reader is not told each reading while the camera runs
  showStatus('Hold a digit in the box. Nothing leaves this device.');
}

// Back to the pad; `why` for the footer. The camera is released (its light goes off).
function leaveLive(why = '') {
  if (opening) opening.cancelled = true;
  const running = live.running;
  live.stop(); // also while the camera is being opened
  if (!running) return;
  cameraView.hidden = true;
  pad.hidden = false;
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

async function classifyNow({ rgba, height, width, since, source, generation }) {
  let answer;
  try {
    answer = await page.pipeline.classify(rgba, height, width);
  } catch (error) {
    if (generation === startedOver) showError(`${source}: ${error.message}`);
    return;
  }
  if (generation !== startedOver) return;
  showAnswer(answer);
  const ms = performance.now() - since;
  page.answers.push({ source, ms, ...answer });
  showStatus(`${answer.noDigit ? 'Nothing' : 'Read'} in ${ms.toFixed(0)} ms, in this page.`);
}

function showAnswer(answer) {
  show(answer, page.pipeline?.labels);
}

// A file or a run that failed: the error takes the answer's place (and the footer's).
function showError(text) {
  showAnswer({ error: text });
  showStatus(text);
}

// Once the page works, its service worker (sw.js) keeps its files: the next visit works offline.
// Resolves to true once the worker is active (it has kept every file), false when the browser has
// none or it could not keep them (then the footer says so).
async function keepForOffline() {
  if (!('serviceWorker' in navigator)) return false;
  try {
    const registration = await navigator.serviceWorker.register('sw.js');
    const worker = registration.installing ?? registration.waiting ?? registration.active;
    await new Promise((resolve, reject) => {
      const settle = () => {
        if (worker.state === 'activated') resolve();
        if (worker.state === 'redundant') reject(new Error('not every file could be kept'));
      };
      worker.addEventListener('statechange', settle);
      settle();
    });
  } catch (error) {
    showStatus(`${status.textContent} (It will not work offline: ${error.message}.)`);
    return false;
  }
  return true;
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
    page.offline = keepForOffline();
    return true;
  },
  (error) => {
    showError(`The model could not be loaded: ${error.message}`);
    return false;
  },
);
