// The web app in a real browser: headless Chromium (the system's), driven by puppeteer-core.
//
//   node test/browser.js --chromium /usr/bin/chromium --facts facts.json --expected answers.tsv \
//        [--expected-numbers numbers.tsv] [--screenshot page.png] [--same-images DIR]
//        [--camera VIDEO.y4m --camera-schedule SCHEDULE.json]
//        [--number-camera VIDEO.y4m --number-camera-schedule SCHEDULE.json]
//
// facts.json is what scripts/pipeline_facts.py prints: the pipeline, its test data and tolerance.
// Builds the site with that pipeline into a temporary folder and serves it on 127.0.0.1 (the test
// data under /test-data/N/), then checks: each test data set's outputs in WebAssembly within the
// export's tolerance; digits drawn with mouse
// events; shapes that are not digits rejected; photos uploaded through the file input answered as
// digit-classify answered them (answers.tsv: its `path<TAB>answer<TAB>probability` lines); no page
// errors, no console errors, no request beyond 127.0.0.1. Prints what it measured (ready time,
// pen-up to answer, download size) as a table; they are reported, not asserted. With
// --expected-numbers (digit-classify --number's lines), number mode (web/test/numbers.js). Ends with
// `browser: N passed, M failed` and exit code 1 if any failed.
// --same-images DIR (issue 21): DIR/records.bin, raw RGBA images that scripts/same_images.py decoded
// once for all hosts, is served under /same-images/ (a mount of serve()) and streamed through the page's own pipeline;
// the 28x28 images and answers it gives are written to DIR/browser.f32 and DIR/browser.json (the
// format of examples/node/same_images.js) for `same_images.py compare DIR browser`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { build } from '../build.js';
import { serve } from '../serve.js';
import { draw, upload } from './page_actions.js';
import { countRecords, sameImages } from './same_images.js';
import { checkLive, checkLiveNumbers, fakeCamera } from './live.js';
import { checkOffline } from './offline.js';
import { checkNumbers } from './numbers.js';
import { checkPageProblems } from './page_problems.js';
import { DIGITS, NOT_DIGITS } from './shapes.js';

const TIME_LIMIT_MS = 300_000; // the whole test: 42-53 s here, more beside CI's other jobs
const SAME_IMAGE_MS = 100; // more time allowed per --same-images record (they take 5-20 ms)
const READY_LIMIT_MS = 30_000; // a page not ready by then never will be

function options(argv) {
  const value = (flag, fallback) => {
    const at = argv.indexOf(flag);
    if (at >= 0) return argv[at + 1];
    if (fallback === undefined) throw new Error(`missing ${flag}`);
    return fallback;
  };
  return {
    chromium: value('--chromium'),
    facts: JSON.parse(fs.readFileSync(value('--facts'), 'utf8')),
    expected: value('--expected'),
    expectedNumbers: value('--expected-numbers', ''),
    screenshot: value('--screenshot', ''),
    sameImages: value('--same-images', ''),
    camera: value('--camera', ''),
    cameraSchedule: value('--camera-schedule', ''),
    numberCamera: value('--number-camera', ''),
    numberCameraSchedule: value('--number-camera-schedule', ''),
  };
}

const results = [];
function check(name, passed, detail = '') {
  results.push(passed);
  console.log(`${passed ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
}

// digit-classify's lines: file name -> answer.
function expectedAnswers(file) {
  return new Map(fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => {
    const [file, answer] = line.split('\t');
    return [file, answer];
  }));
}

// Test data set `index` (served under /test-data/index/) through the page's own session.
async function testData(page, index, folder, tolerance) {
  const names = fs.readdirSync(folder).filter((name) => name.endsWith('.pb'));
  const rows = await page.evaluate(async (index, names, tolerance) => {
    const { readTensor, checkTestData } = await import('/pipeline.js');
    const tensor = async (name) => readTensor(new Uint8Array(await (await fetch(`/test-data/${index}/${name}`)).arrayBuffer()));
    const load = (prefix) => Promise.all(names.filter((n) => n.startsWith(prefix))
      .sort((a, b) => parseInt(a.slice(prefix.length), 10) - parseInt(b.slice(prefix.length), 10)).map(tensor));
    const { ort, pipeline } = window.lstmDigits;
    return checkTestData(ort, pipeline.session, await load('input_'), await load('output_'), tolerance);
  }, index, names, tolerance);
  for (const row of rows) {
    check(`test data ${path.basename(folder)}: ${row.name}`, row.passed,
      `max |difference| ${Number(row.maxDifference).toExponential(2)} over ${row.values} values (tolerance ${row.limit})`);
  }
  if (!rows.length) check(`test data ${folder}`, false, 'no outputs compared');
}

function percentile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main(argv) {
  const opts = options(argv);
  const { pipeline, pipeline_test_data: testSets, tolerance } = opts.facts;
  const dist = build({ model: pipeline, numberModel: opts.facts.number, out: fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-digits-web-')) });
  const mounts = Object.fromEntries(testSets.map((folder, index) => [`/test-data/${index}/`, folder]));
  if (opts.sameImages) mounts['/same-images/'] = opts.sameImages;
  const served = []; // what the server answered: { path, status, encoding, bytes }
  const server = await serve(dist, { mounts, log: (entry) => served.push(entry) });
  const records = opts.sameImages ? countRecords(opts.sameImages) : 0;
  if (records) allowMoreTime(records * SAME_IMAGE_MS);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const launch = (args = []) => puppeteer.launch({
    executablePath: opts.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', ...args],
  });
  // The fake camera plays the video and is allowed without asking (as if the user said yes).
  const browser = await launch(opts.camera ? fakeCamera(opts.camera) : []);
  const others = []; // browsers launched for one check
  const problems = []; // page errors, console errors, requests beyond 127.0.0.1
  const failedOnPurpose = new Set(); // URLs a check made fail (hold(url) resolved to 'abort')
  const downloads = new Map(); // URL -> bytes, for what the page itself loads
  // A page of the site (not yet opened), watched for problems; `hold(url)` may return a promise
  // that holds the request back until it resolves (to 'abort': the request then fails).
  // Each page has a fresh profile of its own (a first visit; incognito, unless `fresh` is false: the
  // browser's one profile), and requests are intercepted (aborted beyond 127.0.0.1) unless
  // `intercept` is false (then they are only reported).
  const newPage = async ({ viewport = { width: 900, height: 640, hasTouch: true }, hold = () => null, intercept = true, fresh = true } = {}) => {
    const page = await (fresh ? await browser.createBrowserContext() : browser).newPage();
    await page.setViewport(viewport);
    await page.setRequestInterception(intercept);
    page.on('request', async (request) => {
      const url = request.url();
      const beyond = !url.startsWith(`${origin}/`) && !url.startsWith('data:');
      if (beyond) problems.push(`request beyond 127.0.0.1: ${url}`);
      if (!intercept) return;
      if (beyond) return request.abort();
      if ((await hold(url)) === 'abort') { // held, then failed on purpose: its console error is expected
        failedOnPurpose.add(url);
        return request.abort();
      }
      return request.continue();
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !failedOnPurpose.has(message.location()?.url)) problems.push(`console error: ${message.text()}`);
    });
    return page;
  };
  try {
    const page = await newPage();
    page.on('response', (response) => {
      const url = response.url();
      if (url.startsWith(origin) && !url.includes('/test-data/') && !url.includes('/same-images/')) downloads.set(url, Number(response.headers()['content-length'] ?? 0));
    });

    await page.goto(`${origin}/`);
    // lstmDigits.ready resolves to true when the model is loaded, false when it cannot be.
    await page.waitForFunction(() => window.lstmDigits?.ready?.then(() => true), { timeout: READY_LIMIT_MS });
    const ready = await page.evaluate(() => window.lstmDigits.ready);
    const readyMs = await page.evaluate(() => window.lstmDigits.readyMs);
    check('the page becomes ready to classify', ready === true && readyMs !== null,
      ready ? `${readyMs.toFixed(0)} ms after navigation` : await page.$eval('#status', (s) => s.textContent));
    if (!ready) return;
    const loaded = new Map(downloads);

    for (const [index, folder] of testSets.entries()) await testData(page, index, folder, tolerance);

    const penUpMs = [];
    for (const [digit, strokes] of Object.entries(DIGITS)) {
      const answer = await draw(page, strokes);
      penUpMs.push(answer.ms);
      check(`drawn ${digit}`, answer.answer === digit && answer.shown === digit,
        `read ${answer.shown} (top ${answer.top.map(([d, p]) => `${d}:${p.toFixed(3)}`).join(' ')})`);
    }
    const [touchDigit, touchStrokes] = Object.entries(DIGITS).at(-1);
    const touched = await draw(page, touchStrokes, { touch: true });
    penUpMs.push(touched.ms);
    check(`drawn ${touchDigit} with touch events`, touched.answer === touchDigit && touched.shown === touchDigit, `read ${touched.shown}`);
    for (const [name, strokes] of Object.entries(NOT_DIGITS)) {
      const answer = await draw(page, strokes);
      penUpMs.push(answer.ms);
      check(`drawn ${name} is not a digit`, answer.rejected && answer.shown === 'not a digit',
        `read ${answer.shown} (top ${answer.top.map(([d, p]) => `${d}:${p.toFixed(3)}`).join(' ')})`);
    }

    for (const [file, expected] of expectedAnswers(opts.expected)) {
      const answer = await upload(page, file);
      check(`photo ${path.basename(file)} through the file input`, answer.answer === expected,
        `page ${answer.answer} (${answer.top[0][1].toFixed(4)}), digit-classify ${expected}`);
    }

    const [photo] = expectedAnswers(opts.expected).keys();
    const taken = await upload(page, photo, '#camera');
    check(`photo ${path.basename(photo)} through "Take a photo" (#camera)`, taken.answer === expectedAnswers(opts.expected).get(photo),
      `page ${taken.answer}`);
    const phoneScreenshot = opts.screenshot && opts.screenshot.replace(/(\.png)?$/, '-phone.png');
    await checkPageProblems({ newPage, origin, page, photo, check, phoneScreenshot });
    if (opts.expectedNumbers) {
      await checkNumbers({ page, expected: expectedAnswers(opts.expectedNumbers), downloads, newPage, origin, check,
        screenshot: opts.screenshot && opts.screenshot.replace(/(\.png)?$/, '-number.png') });
    }
    const offline = await checkOffline({ newPage, origin, served, check });
    let live = null, liveNumbers = null;
    const pageElsewhere = async (args) => {
      const other = await launch(args);
      others.push(other);
      const page = await other.newPage();
      page.on('pageerror', (error) => problems.push(`page error (${args.join(' ') || 'no camera'}): ${error.message}`));
      await page.goto(`${origin}/`);
      return page;
    };
    if (opts.camera) {
      const schedule = JSON.parse(fs.readFileSync(opts.cameraSchedule, 'utf8'));
      live = await checkLive({ newPage, origin, schedule, pageElsewhere, check, screenshot: opts.screenshot && opts.screenshot.replace(/(\.png)?$/, '-live.png') });
    }
    if (opts.numberCamera) {
      const schedule = JSON.parse(fs.readFileSync(opts.numberCameraSchedule, 'utf8'));
      liveNumbers = await checkLiveNumbers({ pageElsewhere, video: opts.numberCamera, schedule, check,
        screenshot: opts.screenshot && opts.screenshot.replace(/(\.png)?$/, '-live-number.png') });
    }

    if (opts.sameImages) {
      const { count, seconds } = await sameImages(page, opts.sameImages);
      check(`--same-images: ${records} RGBA records through the page's pipeline`, count === records && count > 0,
        `${count} answered in ${seconds.toFixed(1)} s (${((1000 * seconds) / count).toFixed(1)} ms each), written to ${opts.sameImages}/browser.*`);
    }

    if (opts.screenshot) {
      await draw(page, DIGITS[Object.keys(DIGITS)[0]]);
      await page.screenshot({ path: opts.screenshot });
    }
    check('no page errors, console errors or requests beyond 127.0.0.1', problems.length === 0, problems.join('; '));

    const megabytes = [...loaded.values()].reduce((a, b) => a + b, 0) / 1e6;
    console.log('\n| measured in headless Chromium | value |\n|---|---:|');
    console.log(`| ready to classify after navigation | ${readyMs.toFixed(0)} ms |`);
    console.log(`| pen-up to answer, median / worst of ${penUpMs.length} drawings | ${percentile(penUpMs, 0.5).toFixed(1)} / ${Math.max(...penUpMs).toFixed(1)} ms |`);
    console.log(`| download until ready (${loaded.size} files, as sent: brotli) | ${megabytes.toFixed(2)} MB |`);
    console.log(`| a first visit, the service worker's copies included | ${(offline.firstVisitBytes / 1e6).toFixed(2)} MB |`);
    console.log(`| offline: ready after a reload | ${offline.readyOfflineMs.toFixed(0)} ms |`);
    if (live?.readingsPerSecond) {
      console.log(`| live camera: readings a second (one per frame at most) | ${live.readingsPerSecond.toFixed(1)} |`);
      console.log(`| live camera: one reading of the guide box | ${live.msPerReading.toFixed(1)} ms |`);
      console.log(`| live camera: a digit's first frame to its answer | ${live.framesToAnswerMs.map((ms) => ms.toFixed(0)).join(', ')} ms |`);
    }
    if (liveNumbers?.readingsPerSecond) {
      console.log(`| live camera, numbers: readings a second | ${liveNumbers.readingsPerSecond.toFixed(1)} |`);
      console.log(`| live camera, numbers: one reading of the wide guide box | ${liveNumbers.msPerReading.toFixed(1)} ms |`);
      console.log(`| live camera, numbers: a number's first frame to its answer | ${liveNumbers.framesToAnswerMs.map((ms) => ms.toFixed(0)).join(', ')} ms |`);
    }
    console.log(`| browser | ${await browser.version()} |\n`);
  } finally {
    await browser.close();
    for (const other of others) await other.close();
    server.close();
    fs.rmSync(dist, { recursive: true, force: true });
  }
}

const started = performance.now();
let timeLimitMs = TIME_LIMIT_MS, timer;
function allowMoreTime(ms) {
  clearTimeout(timer);
  timeLimitMs += ms;
  timer = setTimeout(() => {
    console.error(`browser: not finished after ${(timeLimitMs / 1000).toFixed(0)} s`);
    process.exit(1);
  }, timeLimitMs - (performance.now() - started));
}
allowMoreTime(0);
main(process.argv.slice(2)).then(
  () => {
    clearTimeout(timer);
    const failed = results.filter((passed) => !passed).length;
    console.log(`the browser test took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    console.log(`browser: ${results.length - failed} passed, ${failed} failed`);
    process.exitCode = failed || !results.length ? 1 : 0;
  },
  (error) => {
    clearTimeout(timer);
    console.error(`browser: ${error.message}`);
    process.exitCode = 1;
  },
);
