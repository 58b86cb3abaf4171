// Number mode (issue 23, point 4): the wide pad, number.onnx read in the page, each digit's
// probability and box shown. A number written on the pad with the mouse, digit by digit, is read;
// the numbers uploaded through the file input are read as `digit-classify --number` reads them;
// Clear and the way back to one digit work; number.onnx is fetched only when number mode is chosen,
// and a number written while it is on its way shows "reading" and is read once it has come.
import fs from 'node:fs';
import path from 'node:path';
import { draw, nextAnswer } from './page_actions.js';
import { DIGITS, numberStrokes } from './shapes.js';

const WRITTEN = '7042'; // drawn on the pad from shapes.js' digits, one cell each

// `page`: the browser test's page, ready, in digit mode; `expected`: digit-classify --number's
// `path<TAB>NUMBER<TAB>probability` lines ('-': rejected); `downloads`: what the page has fetched;
// `newPage` and `origin` as in page_problems.js.
export async function checkNumbers({ page, expected, downloads, newPage, origin, check, screenshot = '' }) {
  await writtenWhileLoading(newPage, origin, check);
  await onAPhone(newPage, origin, check);
  await page.evaluate(inkedHelper);
  const before = [...downloads.keys()].some((url) => url.endsWith('/number.onnx'));
  await page.click('#mode-number');
  const loaded = await page.waitForFunction(() => window.lstmDigits.numberReader?.then(() => true), { timeout: 30_000 })
    .then(() => true, () => false);
  const { width, height, pressed } = await page.evaluate(() => ({ ...document.getElementById('pad').getBoundingClientRect().toJSON(),
    pressed: document.getElementById('mode-number').getAttribute('aria-pressed') }));
  check('"A number" loads number.onnx (not fetched before) and makes the pad three times as wide as high',
    loaded && !before && pressed === 'true' && Math.abs(width / height - 3) < 0.05, `pad ${width.toFixed(0)}x${height.toFixed(0)}`);
  if (!loaded) return;

  const written = await writeNumber(page, WRITTEN);
  check(`a number written on the pad, ${WRITTEN}, is read, with a bar and a box for each digit`,
    written.shown === WRITTEN && written.kind === 'number' && written.bars === WRITTEN.length && written.boxesInCells,
    `shows ${written.shown} (${written.kind}); digits ${written.digits.map((d) => `${d.digit}:${d.probability.toFixed(3)}`).join(' ')}; ` +
    `${written.bars} bars; boxes ${written.boxesInCells ? 'each over its digit' : JSON.stringify(written.digits.map((d) => d.box))}`);
  if (screenshot) await page.screenshot({ path: screenshot });

  const differ = [];
  for (const [file, number] of expected) {
    const shown = await uploadNumber(page, file);
    if (shown.shown !== (number === '-' ? 'not a number' : number)) differ.push(`${path.basename(file)}: page ${shown.shown}, digit-classify ${number}`);
  }
  check(`${expected.size} numbers through the file input, read as digit-classify --number reads them`,
    expected.size > 0 && differ.length === 0, differ.join('; '));

  await page.click('#clear');
  const cleared = await page.evaluate(() => ({ shown: document.getElementById('answer').dataset.kind,
    bars: document.querySelectorAll('#digits li').length, boxes: inked(document.getElementById('boxes')),
    ink: inked(document.getElementById('pad'), true) }));
  await page.click('#mode-digit');
  const [digit, strokes] = Object.entries(DIGITS).at(-1);
  const back = await draw(page, strokes);
  check('Clear empties the pad, the digits and the boxes; "One digit" reads a digit again on a square pad',
    cleared.shown === 'none' && cleared.bars === 0 && cleared.boxes === 0 && cleared.ink === 0 && back.shown === digit,
    `after Clear: ${JSON.stringify(cleared)}; then a ${digit} read as ${back.shown}`);
}

// In the page: how many pixels of a canvas are drawn on (not transparent, or onPaper: darker than the paper).
function inkedHelper() {
  window.inked = (canvas, onPaper = false) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    for (let i = 0; i < data.length; i += 4) count += onPaper ? data[i] < 128 : data[i + 3] > 0;
    return count;
  };
}

// A fresh page whose number.onnx is held back: "A number", then a number written before it comes.
async function writtenWhileLoading(newPage, origin, check) {
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const page = await newPage({ hold: (url) => (url.endsWith('/number.onnx') ? held : null) });
  try {
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.lstmDigits?.ready?.then((loaded) => loaded), { timeout: 30_000 });
    await page.click('#mode-number');
    const strokes = numberStrokes('70', 1 / 3);
    await draw(page, strokes, { answered: false });
    await page.waitForFunction(() => document.getElementById('answer').dataset.kind === 'reading', { timeout: 5_000 }).catch(() => {});
    const meanwhile = await page.evaluate(() => ({ kind: document.getElementById('answer').dataset.kind, answers: window.lstmDigits.answers.length }));
    release();
    const answer = await nextAnswer(page, 0).catch((error) => ({ shown: error.message }));
    check('a number written while number.onnx is on its way shows "reading", then is read once it has come',
      meanwhile.kind === 'reading' && meanwhile.answers === 0 && answer.shown === '70',
      `meanwhile ${meanwhile.kind} (${meanwhile.answers} answers), then ${answer.shown}`);
  } finally {
    release();
    await page.close();
  }
}

// Number mode on a phone (390x844): a 7-digit number written with a finger fits the screen's width,
// with the answer, the strip and the pad in view.
const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 3 };

async function onAPhone(newPage, origin, check) {
  const page = await newPage({ viewport: PHONE });
  try {
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.lstmDigits?.ready?.then((loaded) => loaded), { timeout: 30_000 });
    await page.click('#mode-number');
    await page.waitForFunction(() => window.lstmDigits.numberReader?.then(() => true), { timeout: 30_000 });
    const strokes = numberStrokes('7042704', 1 / 7);
    const answer = await draw(page, strokes, { touch: true });
    const layout = await page.evaluate(() => {
      const inView = (id) => {
        const box = document.getElementById(id).getBoundingClientRect();
        return box.left >= 0 && box.right <= innerWidth + 0.5 && box.top >= 0 && box.bottom <= innerHeight;
      };
      return { scrollWidth: document.scrollingElement.scrollWidth, width: innerWidth, answer: inView('answer'), seen: inView('seen'), pad: inView('pad') };
    });
    check('on a phone, a 7-digit number written with a finger is read, and the page fits the width with answer, strip and pad in view',
      // (content wider than the phone widens the page's own viewport: innerWidth grows past 390)
      answer.shown === '7042704' && layout.width === PHONE.width && layout.scrollWidth <= PHONE.width && layout.answer && layout.seen && layout.pad,
      `read ${answer.shown}; ${JSON.stringify(layout)}`);
  } finally {
    await page.close();
  }
}

// The number written with the mouse, digit i in cell i (one pad height wide); what the page shows.
async function writeNumber(page, number) {
  const cell = 1 / 3 / Math.max(1, number.length / 3); // a cell's width in pad widths: square, or narrower for long numbers
  const strokes = numberStrokes(number, cell);
  await draw(page, strokes);
  return page.evaluate((cell) => {
    const { digits } = window.lstmDigits.answers.at(-1);
    const pad = document.getElementById('pad');
    const cellPixels = cell * pad.width;
    const boxesInCells = digits.every(({ box: [x0, , x1] }, i) => Math.floor((x0 + x1) / 2 / cellPixels) === i)
      && inked(document.getElementById('boxes')) > 0;
    return { shown: document.getElementById('answer').textContent, kind: document.getElementById('answer').dataset.kind,
      bars: document.querySelectorAll('#digits li').length, digits, boxesInCells };
  }, cell);
}

async function uploadNumber(page, file) {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const count = await page.evaluate(() => window.lstmDigits.answers.length);
  await (await page.$('#photo')).uploadFile(file);
  await page.waitForFunction((n) => window.lstmDigits.answers.length > n, { timeout: 10_000 }, count);
  return page.evaluate(() => ({ shown: document.getElementById('answer').textContent }));
}
