// The page offline and installable (issue 24): a first visit in a fresh profile loads each file
// once (the service worker's copy of the .wasm is a 304, not a second download), Chromium finds
// the page installable, and with the network off a reload still reads a drawn digit, and, number
// mode having been used once online, a written number (number.onnx kept when first fetched).
import { draw } from './page_actions.js';
import { DIGITS, numberStrokes } from './shapes.js';

// "A number", then `number` written across the wide pad; the page's answer.
async function writeNumber(page, number) {
  await page.click('#mode-number');
  await page.waitForFunction(() => window.lstmDigits.numberReader?.then(() => true), { timeout: 30_000 }).catch(() => {});
  const strokes = numberStrokes(number, 1 / 3);
  return draw(page, strokes).catch((error) => ({ shown: error.message }));
}

// newPage and origin as in page_problems.js; `served` the server's log of answers ({ path, status,
// encoding, bytes }), which grows as the server answers.
export async function checkOffline({ newPage, origin, served, check }) {
  const before = served.length;
  // No request interception here: with it, Chromium bypasses the service worker. The browser's own
  // profile, not an incognito one: Chromium installs no app from incognito. No other page uses it.
  const page = await newPage({ intercept: false, fresh: false });
  try {
    await page.goto(`${origin}/`);
    const ready = await page.waitForFunction(() => window.lstmDigits?.ready?.then((loaded) => loaded), { timeout: 30_000 })
      .then(() => page.waitForFunction(() => window.lstmDigits.offline?.then((kept) => kept), { timeout: 60_000 }))
      .then(() => true, () => false);
    const firstVisit = served.slice(before);
    const sent = (suffix) => firstVisit.filter((entry) => entry.path.endsWith(suffix) && entry.status === 200);
    const bytes = firstVisit.reduce((sum, entry) => sum + entry.bytes, 0);
    check('a first visit: the service worker controls the page, and the .wasm and the model were each sent once, compressed',
      ready === true && sent('.wasm').length === 1 && sent('.onnx').length === 1 && sent('.wasm')[0].encoding === 'br',
      `${firstVisit.length} answers (${firstVisit.filter((entry) => entry.status === 304).length} of them 304), ${(bytes / 1e6).toFixed(2)} MB sent; ` +
      `.wasm sent ${sent('.wasm').length} time(s) as ${sent('.wasm')[0]?.encoding ?? 'nothing'}`);

    const online = await writeNumber(page, '70'); // number.onnx fetched now, and kept by the service worker
    await page.click('#mode-digit');
    const kept = await page.evaluate(async () => {
      for (const name of await caches.keys()) if (await (await caches.open(name)).match('number.onnx')) return true;
      return false;
    });

    const cdp = await page.createCDPSession();
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    check('Chromium finds the page installable (its manifest and service worker)', installabilityErrors.length === 0,
      installabilityErrors.map((error) => error.errorId).join(', '));

    await page.setOfflineMode(true);
    const fromNetwork = [];
    page.on('response', (response) => response.fromServiceWorker() || fromNetwork.push(response.url()));
    const started = performance.now();
    await page.reload({ waitUntil: 'domcontentloaded' });
    const readyOffline = await page.waitForFunction(() => window.lstmDigits?.ready?.then((loaded) => loaded), { timeout: 30_000 })
      .then(() => true, () => false);
    const readyMs = performance.now() - started;
    const [digit, strokes] = Object.entries(DIGITS).at(-1);
    const answer = readyOffline ? await draw(page, strokes) : { shown: 'nothing: the page did not become ready' };
    check('offline, a reload is ready and reads a drawn digit, every file from the service worker',
      readyOffline && answer.shown === digit && fromNetwork.length === 0,
      `read ${answer.shown}, ready ${readyMs.toFixed(0)} ms after the reload${fromNetwork.length ? `; from the network: ${fromNetwork.join(', ')}` : ''}`);
    const number = readyOffline ? await writeNumber(page, '70') : { shown: 'nothing: the page did not become ready' };
    check('offline, number mode (used once online) reads a written number, number.onnx from the service worker',
      kept && online.shown === '70' && number.shown === '70' && fromNetwork.length === 0,
      `online ${online.shown}, ${kept ? 'kept in' : 'not in'} the service worker's cache; offline ${number.shown}`);
    return { firstVisitBytes: bytes, readyOfflineMs: readyMs };
  } finally {
    await page.setOfflineMode(false);
    await page.close();
  }
}
