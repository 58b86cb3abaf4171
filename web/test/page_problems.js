// The problems a new user met on the page (issue 24), each a check that failed before its fix:
// a digit drawn before the model loaded, a stroke queued before Clear, a file that cannot be read,
// bars that read 100.0% / 0.0% / 0.0%, and the page on a phone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { draw, nextAnswer, upload } from './page_actions.js';
import { DIGITS, NOT_DIGITS } from './shapes.js';

const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 3 };

// newPage({viewport, hold}) is a new page watched as the browser test watches its own, where
// `hold(url)` may return a promise that holds that request back until it resolves; `origin` the
// site's; `page` the browser test's page, ready; `photo` a file it answers as a digit;
// `phoneScreenshot` where to save the phone's view ('' for nowhere).
export async function checkPageProblems({ newPage, origin, page, photo, check, phoneScreenshot = '' }) {
  const open = async (options) => {
    const opened = await newPage(options);
    await opened.goto(`${origin}/`, { waitUntil: 'domcontentloaded' }); // a held request holds back `load`
    return opened;
  };
  await drawnBeforeReady(open, check);
  await queuedBeforeClear(page, check);
  await unreadableFile(page, photo, check);
  await bars(page, check);
  await onAPhone(open, check, phoneScreenshot);
}

async function drawnBeforeReady(open, check) {
  let release;
  const model = new Promise((resolve) => (release = resolve));
  const page = await open({ hold: (url) => (url.endsWith('.onnx') ? model : null) });
  try {
    await page.waitForSelector('#pad');
    const [digit, strokes] = Object.entries(DIGITS).at(-1);
    await draw(page, strokes, { answered: false });
    const loading = await page.evaluate(() => window.lstmDigits.pipeline === null);
    release();
    const answer = await nextAnswer(page, 0).catch((error) => ({ shown: error.message }));
    check(`a ${digit} drawn while the model loads is read once it has loaded`, loading && answer.shown === digit,
      loading ? `shows ${answer.shown}` : 'the model was ready before the drawing');
  } finally {
    release();
    await page.close();
  }
}

async function queuedBeforeClear(page, check) {
  // Each run takes a second longer: the second stroke waits behind the first when Clear is pressed.
  await page.evaluate(() => {
    const { pipeline } = window.lstmDigits;
    const classify = pipeline.classify.bind(pipeline);
    window.slowRuns = { started: 0, finished: 0, restore: () => delete pipeline.classify };
    pipeline.classify = async (...args) => {
      window.slowRuns.started++;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      try {
        return await classify(...args);
      } finally {
        window.slowRuns.finished++;
      }
    };
  });
  try {
    const [first, second] = [DIGITS[1][0], DIGITS[7][0]];
    await draw(page, [first], { answered: false });
    await draw(page, [second], { answered: false, clear: false });
    await page.click('#clear');
    const settled = () => window.slowRuns.started > 0 && window.slowRuns.started === window.slowRuns.finished;
    await page.waitForFunction(settled, { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await page.waitForFunction(settled, { timeout: 10_000 });
    const shown = await page.evaluate(() => {
      const pad = document.getElementById('pad');
      const pixels = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;
      const box = document.getElementById('answer');
      return { text: box.textContent, kind: box.dataset.kind, blank: pixels.every((value) => value === 255), runs: window.slowRuns.started };
    });
    check('two strokes then Clear: the pad stays blank, with no answer', shown.blank && shown.kind === 'none',
      `the pad ${shown.blank ? 'is blank' : 'shows ink'}, the answer ${JSON.stringify(shown.text)} (${shown.kind}), after ${shown.runs} runs`);
  } finally {
    await page.evaluate(() => window.slowRuns.restore());
  }
}

async function unreadableFile(page, photo, check) {
  const before = await upload(page, photo);
  const broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-digits-broken-')), 'broken.png');
  fs.writeFileSync(broken, Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(64, 7)]));
  try {
    await (await page.$('#photo')).uploadFile(broken);
    await page.waitForFunction(() => document.getElementById('answer').dataset.kind === 'error', { timeout: 5000 }).catch(() => {});
    const shown = await page.evaluate(() => ({
      text: document.getElementById('answer').textContent, kind: document.getElementById('answer').dataset.kind,
      bars: document.querySelectorAll('#top li').length,
    }));
    check('a file that cannot be read replaces the answer with the error', shown.kind === 'error' && shown.text.includes('broken.png') && shown.bars === 0,
      `after ${before.shown}, shows ${JSON.stringify(shown.text)} (${shown.kind}) and ${shown.bars} bars`);
  } finally {
    fs.rmSync(path.dirname(broken), { recursive: true, force: true });
  }
}

// The bars as the page shows them: label, text, width in px and colour, for each row.
const shownBars = (page) => page.$$eval('#top li', (rows) => rows.map((row) => ({
  label: row.querySelector('b').textContent, text: row.querySelector('.p').textContent,
  width: row.querySelector('.bar span').getBoundingClientRect().width, colour: getComputedStyle(row.querySelector('.bar span')).backgroundColor,
})));

async function bars(page, check) {
  const digit = await draw(page, DIGITS[0]);
  const digitBars = await shownBars(page);
  const labels = digitBars.map((bar) => bar.label).join('');
  const probabilities = await page.evaluate(() => window.lstmDigits.answers.at(-1).probabilities ?? []);
  const visible = digitBars.filter((bar, i) => (probabilities[i] ?? 1) < 1e-4 || bar.width >= 2);
  const misleading = digitBars.filter((bar) => bar.text === '100.0%' || bar.text === '0.0%');
  check('all ten digits have a bar, and every probability of 0.01% or more a visible one',
    labels === '0123456789' && visible.length === 10 && misleading.length === 0,
    `digit ${digit.shown}: ${digitBars.map((bar) => `${bar.label} ${bar.text} ${bar.width.toFixed(0)}px`).join(', ')}`);
  const rejected = await draw(page, NOT_DIGITS.star);
  const rejectedBars = await shownBars(page);
  const answerColour = digitBars.find((bar) => bar.label === digit.shown)?.colour;
  const coloured = rejectedBars.filter((bar) => bar.colour === answerColour);
  check('for "not a digit" the bars are not in the colour of an answer', rejected.rejected && rejectedBars.length === 10 && coloured.length === 0,
    `${rejected.shown}: ${rejectedBars.map((bar) => `${bar.label} ${bar.colour}`).join(', ')}`);
}

async function onAPhone(open, check, screenshot) {
  const page = await open({ viewport: PHONE });
  try {
    await page.waitForFunction(() => window.lstmDigits?.ready?.then((loaded) => loaded), { timeout: 30_000 });
    const [digit, strokes] = Object.entries(DIGITS).at(-1);
    const answer = await draw(page, strokes, { touch: true });
    const layout = await page.evaluate(() => {
      const box = (selector) => document.querySelector(selector).getBoundingClientRect().toJSON();
      return { pad: box('#pad'), answer: box('#answer'), width: document.documentElement.scrollWidth };
    });
    if (screenshot) await page.screenshot({ path: screenshot });
    const { pad, answer: shown } = layout;
    const inView = (b) => b.top >= 0 && b.bottom <= PHONE.height && b.left >= 0 && b.right <= PHONE.width;
    check(`on a phone (${PHONE.width}x${PHONE.height}) the pad fills the width and the answer shows beside it, unscrolled`,
      answer.shown === digit && pad.width >= 0.85 * PHONE.width && inView(pad) && inView(shown) && layout.width <= PHONE.width,
      `read ${answer.shown}; pad ${pad.width.toFixed(0)} px wide, ${pad.top.toFixed(0)}-${pad.bottom.toFixed(0)} down; answer ${shown.top.toFixed(0)}-${shown.bottom.toFixed(0)} down; page ${layout.width} px wide`);
  } finally {
    await page.close();
  }
}
