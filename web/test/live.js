// Live camera mode (issue 24) with Chromium's fake camera playing the video scripts/fake_camera.py
// wrote: each digit of it (checkLive), or each number in number mode (checkLiveNumbers), must be
// shown in #answer within LIMIT_MS of its first frame, at MIN_READINGS_PER_SECOND or more, and
// boxed over the video where it is (MIN_BOX_OVERLAP); leaving the mode and hiding the page release
// the camera; a denied permission and a browser with no camera each say so on the page.
//
// The frame the video shows is known from a grey block in its top-left corner (the schedule's
// marker_levels, one per digit), read by the test on every frame the page's <video> presents.

const LIMIT_MS = 2000;
const MIN_READINGS_PER_SECOND = 10;
const MIN_BOX_OVERLAP = 0.6; // the median intersection over union of the boxes drawn and the digit's at rest

// The arguments that make Chromium's fake camera play `video` and allow it without asking.
export const fakeCamera = (video) => ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  `--use-file-for-fake-video-capture=${video}`];

// The live camera on `page` (ready, the camera just opened) watched while the fake camera plays the
// video of `schedule` once through: each digit or number (kind) shown in time, nothing else but
// 'reading' between them, the readings a second, and the boxes drawn where the ink is. Returns
// what it measured.
async function checkReadings(page, schedule, kind, check) {
  await watchMarkers(page, schedule);
  const seconds = (schedule.frames / schedule.fps) * 1.05 + LIMIT_MS / 1000;
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const seen = await page.evaluate(() => ({
    markers: window.markers, shown: window.lstmDigits.liveShown,
    readings: window.lstmDigits.live.stats.readings, since: window.lstmDigits.live.stats.since, now: performance.now(),
    msPerReading: window.lstmDigits.live.stats.ms / window.lstmDigits.live.stats.readings,
    boxes: window.lstmDigits.live.stats.boxes,
  }));
  const perSecond = (1000 * seen.readings) / (seen.now - seen.since);
  const delays = schedule.segments.map(({ text }, index) => {
    const appeared = seen.markers.find((marker) => marker.index === index)?.at;
    const shown = seen.shown.find((answer) => answer.at >= appeared && answer.text === text && answer.kind === kind)?.at;
    return { text, ms: appeared === undefined || shown === undefined ? Infinity : shown - appeared };
  });
  // The first is there from the camera's first frame, before the markers are watched.
  const timed = delays.slice(1);
  // The video shows only digits (or numbers): "not a digit" must not flash up while one slides out and
  // the next in, nor any other digit or number than the one on screen (or the one before, held while
  // it slides out; before the first marker, the first).
  const onScreen = (at) => seen.markers.filter((marker) => marker.at <= at).at(-1)?.index ?? 0;
  const segments = schedule.segments;
  const wrong = seen.shown.filter((answer) => answer.kind === kind && ![onScreen(answer.at), onScreen(answer.at) - 1,
    onScreen(answer.at) === 0 ? segments.length - 1 : -1].some((index) => segments[index]?.text === answer.text));
  const between = seen.shown.filter((answer) => answer.kind === 'rejected' || answer.kind === 'empty').length + wrong.length;
  check(`live camera, ${kind}s: each shown within ${LIMIT_MS} ms of its first frame, and nothing else but 'reading'`,
    delays[0].ms < Infinity && timed.every(({ ms }) => ms <= LIMIT_MS) && between === 0,
    delays.map(({ text, ms }, i) => `${text}: ${i ? `${Number.isFinite(ms) ? ms.toFixed(0) : 'never'} ms` : (Number.isFinite(delays[0].ms) ? 'shown' : 'never shown')}`).join(', ') +
    `; shown in turn: ${seen.shown.map((answer) => (answer.kind === kind ? answer.text : answer.kind)).join(' ')}`);
  check(`live camera, ${kind}s: ${MIN_READINGS_PER_SECOND} or more readings a second`, perSecond >= MIN_READINGS_PER_SECOND,
    `${perSecond.toFixed(1)} readings a second (${seen.readings} in ${((seen.now - seen.since) / 1000).toFixed(1)} s)`);
  // A number's boxes are its digits' (one each); their union is held to the number's ink.
  const overlaps = schedule.segments.map(({ text, box: [top, left, bottom, right] }, index) => {
    const from = (seen.markers.find((marker) => marker.index === index)?.at ?? 0) + 1000; // at rest by then
    const to = seen.markers.find((marker) => marker.index === index + 1)?.at ?? seen.now;
    const drawn = seen.boxes.filter((box) => box.at >= from && box.at < to && box.text === text && box.count === text.length);
    const ious = drawn.map((box) => intersectionOverUnion(box, { top, left, bottom, right })).sort((a, b) => a - b);
    return { text, boxes: drawn.length, median: ious.length ? ious[Math.floor(ious.length / 2)] : 0 };
  });
  check(`live camera, ${kind}s: each boxed where it is (median overlap ${MIN_BOX_OVERLAP} or more)`,
    overlaps.every(({ boxes, median }) => boxes >= 3 && median >= MIN_BOX_OVERLAP),
    overlaps.map(({ text, boxes, median }) => `${text}: ${boxes} boxes, median ${median.toFixed(2)}`).join(', '));
  return { framesToAnswerMs: timed.map(({ ms }) => ms), readingsPerSecond: perSecond, msPerReading: seen.msPerReading };
}

// Number mode's live camera, in a browser of its own whose fake camera plays numbers (schedule:
// fake_camera.py --numbers); pageElsewhere as for checkLive.
export async function checkLiveNumbers({ pageElsewhere, video, schedule, check, screenshot = '' }) {
  const page = await pageElsewhere(fakeCamera(video));
  await page.setViewport({ width: 900, height: 640 });
  await page.waitForFunction(() => window.lstmDigits?.ready?.then((loaded) => loaded), { timeout: 30_000 });
  await page.click('#mode-number');
  await page.click('#live');
  await page.waitForFunction(() => document.getElementById('video').videoWidth > 0, { timeout: 30_000 });
  const measured = await checkReadings(page, schedule, 'number', check);
  if (screenshot) await page.screenshot({ path: screenshot });
  return measured;
}

// schedule: what fake_camera.py printed; newPage and origin as in page_problems.js;
// pageElsewhere(args) resolves to a page of the site in another browser, launched with these
// arguments besides the usual (its caller closes that browser).
export async function checkLive({ newPage, origin, schedule, pageElsewhere, check, screenshot = '' }) {
  const page = await newPage({ viewport: { width: 900, height: 640 } });
  let measured = {};
  try {
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.lstmDigits?.ready?.then((loaded) => loaded), { timeout: 30_000 });
    await page.click('#live');
    await page.waitForFunction(() => document.getElementById('video').videoWidth > 0, { timeout: 10_000 });
    measured = await checkReadings(page, schedule, 'digit', check);
    if (screenshot) await page.screenshot({ path: screenshot });

    await page.click('#live');
    check('leaving live mode releases the camera and shows the pad', await released(page), await liveState(page));
    await page.click('#live');
    await page.waitForFunction(() => document.getElementById('video').videoWidth > 0, { timeout: 10_000 });
    const other = await page.browserContext().newPage();
    await other.bringToFront();
    const hidden = await page.waitForFunction(() => document.hidden, { timeout: 5000 }).then(() => true, () => false);
    check('hiding the page releases the camera', hidden && (await released(page)),
      hidden ? await liveState(page) : 'the page never became hidden');
    await other.close();

    // Back, and live again: one reading per frame at most (a frame callback of the stopped camera
    // once started a second reading loop beside the new one).
    await page.bringToFront();
    await page.click('#live');
    await page.waitForFunction(() => document.getElementById('video').videoWidth > 0, { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const again = await page.evaluate(() => {
      const { readings, since } = window.lstmDigits.live.stats;
      return (1000 * readings) / (performance.now() - since);
    });
    check('live again after the page was hidden: one reading loop, at most one reading a frame', again <= schedule.fps * 1.2,
      `${again.toFixed(1)} readings a second, the camera at ${schedule.fps} frames a second`);
    await page.click('#live');

    await leftWhileTheNumberReaderLoads(newPage, origin, check);

    // Pressed twice at once: the second press closes the camera the first is still opening.
    await page.bringToFront();
    await page.evaluate(() => { document.getElementById('live').click(); document.getElementById('live').click(); });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    check('Live camera pressed twice at once leaves the camera closed', await released(page), await liveState(page));
  } finally {
    await page.close();
  }

  // A camera the user refuses: the fake one, without the flag that allows it unasked, and refused.
  const denied = await pageElsewhere(['--use-fake-device-for-media-stream']);
  await denied.browserContext().setPermission(origin, { permission: { name: 'camera' }, state: 'denied' });
  check('a denied camera says so on the page', await cameraMessage(denied, /not allowed/), await liveState(denied));
  const bare = await pageElsewhere([]);
  check('a device with no camera says so on the page', await cameraMessage(bare, /No camera/), await liveState(bare));
  return measured;
}

// Number mode, number.onnx held back: Live camera, then back to "One digit" while it is on its way,
// and then its download fails. The camera stays closed, and no error about the number reader is
// shown in digit mode.
async function leftWhileTheNumberReaderLoads(newPage, origin, check) {
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const page = await newPage({ viewport: { width: 900, height: 640 }, hold: (url) => (url.endsWith('/number.onnx') ? held : null) });
  try {
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.lstmDigits?.ready?.then((loaded) => loaded), { timeout: 30_000 });
    await page.click('#mode-number');
    await page.click('#live');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await page.click('#mode-digit');
    release('abort');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const state = await page.evaluate(() => ({ answer: document.getElementById('answer').textContent,
      status: document.getElementById('status').textContent, mode: window.lstmDigits.mode,
      button: document.getElementById('live').textContent, running: window.lstmDigits.live.running }));
    check('number mode: Live camera, then "One digit" while number.onnx loads and fails: the camera stays closed, no number-reader error',
      !state.running && state.mode === 'digit' && state.button === 'Live camera' && !/could not be loaded/.test(state.answer + state.status),
      JSON.stringify(state));
  } finally {
    release();
    await page.close();
  }
}

function intersectionOverUnion(a, b) {
  const across = Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left));
  const down = Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
  const area = (box) => (box.right - box.left) * (box.bottom - box.top);
  return (across * down) / (area(a) + area(b) - across * down);
}

// From now on, window.markers lists each change of the corner block: { index: the digit's, at }.
async function watchMarkers(page, { marker, marker_levels: levels }) {
  await page.evaluate((side, levels) => {
    const video = document.getElementById('video');
    const context = new OffscreenCanvas(side / 2, side / 2).getContext('2d', { willReadFrequently: true });
    window.markers = [];
    const onFrame = () => {
      context.drawImage(video, side / 4, side / 4, side / 2, side / 2, 0, 0, side / 2, side / 2);
      const pixels = context.getImageData(0, 0, side / 2, side / 2).data;
      let grey = 0;
      for (let i = 0; i < pixels.length; i += 4) grey += pixels[i + 1];
      grey /= pixels.length / 4;
      // The block's Y level shown as RGB (limited range): (Y - 16) * 255 / 219.
      const distances = levels.map((level) => Math.abs((level - 16) * (255 / 219) - grey));
      const index = distances.indexOf(Math.min(...distances));
      if (window.markers.at(-1)?.index !== index) window.markers.push({ index, at: performance.now() });
      if (video.srcObject) video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }, marker, levels);
}

const liveState = (page) => page.evaluate(() => {
  const video = document.getElementById('video');
  const tracks = video.srcObject?.getTracks().map((track) => track.readyState) ?? [];
  return `camera ${window.lstmDigits.live.running ? 'on' : 'off'}, tracks [${tracks}], pad ${document.getElementById('pad').hidden ? 'hidden' : 'shown'}, ` +
    `#answer ${JSON.stringify(document.getElementById('answer').textContent)} (${document.getElementById('answer').dataset.kind})`;
});

const released = (page) => page.evaluate(() => !window.lstmDigits.live.running && document.getElementById('video').srcObject === null
  && !document.getElementById('pad').hidden);

async function cameraMessage(page, pattern) {
  await page.waitForFunction(() => window.lstmDigits?.ready?.then((loaded) => loaded), { timeout: 30_000 });
  await page.click('#live');
  await page.waitForFunction(() => document.getElementById('answer').dataset.kind === 'error', { timeout: 10_000 }).catch(() => {});
  return page.$eval('#answer', (answer, source) => answer.dataset.kind === 'error' && new RegExp(source).test(answer.textContent), pattern.source);
}
