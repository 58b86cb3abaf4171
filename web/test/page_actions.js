// What a person does on the page, with real input events, and the answers it shows: the browser
// test's actions (web/test/browser.js, page_problems.js).
import fs from 'node:fs';

// One answer more than `count` in the page's list: the newest.
export async function nextAnswer(page, count) {
  await page.waitForFunction((n) => window.lstmDigits.answers.length > n, { timeout: 10_000 }, count).catch(async (error) => {
    throw new Error(`no answer: ${error.message}; the page says: ${await page.$eval('#status', (s) => s.textContent)}`);
  });
  return page.evaluate(() => {
    const { answer, ms, noDigit, rejected, top } = window.lstmDigits.answers.at(-1);
    return { answer, ms, noDigit, rejected, top, shown: document.getElementById('answer').textContent };
  });
}

// Strokes in pad units ([0, 1] across) drawn with real mouse events (or touch events), one move per
// point, on a cleared pad (or on what it shows: `clear` false); resolves to the last stroke's answer,
// having waited for each stroke's (or at once to null: `answered` false).
export async function draw(page, strokes, { touch = false, clear = true, answered = true } = {}) {
  if (clear) await page.click('#clear');
  const box = await page.$eval('#pad', (pad) => pad.getBoundingClientRect().toJSON());
  const count = await page.evaluate(() => window.lstmDigits.answers.length);
  for (const points of strokes) {
    const [first, ...rest] = points.map(([x, y]) => [box.left + x * box.width, box.top + y * box.height]);
    if (touch) {
      await page.touchscreen.touchStart(...first);
      for (const point of rest) await page.touchscreen.touchMove(...point);
      await page.touchscreen.touchEnd();
    } else {
      await page.mouse.move(...first);
      await page.mouse.down();
      for (const point of rest) await page.mouse.move(...point, { steps: 2 });
      await page.mouse.up();
    }
    if (answered && points !== strokes.at(-1)) await nextAnswer(page, count + strokes.indexOf(points));
  }
  return answered ? nextAnswer(page, count + strokes.length - 1) : null;
}

// A file through the page's file input: #photo ("Choose a photo"), or #camera ("Take a photo", phones).
export async function upload(page, file, input_ = '#photo') {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const count = await page.evaluate(() => window.lstmDigits.answers.length);
  const input = await page.$(input_);
  await input.uploadFile(file);
  return nextAnswer(page, count);
}

