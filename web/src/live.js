// Live camera mode: the rear camera's video, a guide box in its middle, and what is in the box read
// frame after frame (one reading at a time, each on the newest frame), with a vote across the last
// readings so that the answer shown holds still: a digit or a number needs AGREE of the last VOTES
// readings, "not a digit" ("not a number") and "nothing to read" all of the last STILL_VOTES.
//
//   const live = new LiveCamera({ video, overlay, show, ended });
//   await live.start(digitReading(read));   // or numberReading(read); throws a CameraError with a
//                                           // message for the page when it cannot
//   live.stop();                            // the camera is released (its light goes off)
//
// A reading (digitReading, numberReading below) says what is read: a square guide box and
// pipeline.onnx's answer, or a wide one and number.onnx's. Its read(rgba, height, width) resolves to
// that answer. The boxes of what is shown (a digit's, or each digit of a number) are drawn over the
// video. show({ text, kind, answer }) is called when the shown answer changes: kind 'digit' or
// 'number', 'rejected' or 'empty' once enough readings agree, 'reading' while none is settled
// (answer is the reading that decided, or null). ended() is called when the camera stops by itself
// (another app took it, the permission was withdrawn). Each start is a session of its own: a frame
// or a reading of an earlier session is dropped.

export const GUIDE = 0.6; // the square guide box's side, as a fraction of the video's shorter side
const MAX_SIDE = 192; // the square box is read at most this many pixels across (a 640x480 video's box is 288)
export const WIDE_GUIDE = 0.9; // the wide guide box's width, as a fraction of the video's width; 3 times its height
const MAX_WIDE = 384; // the wide box is read at most this many pixels across (a 640x480 video's box is 576)
export const VOTES = 5;
export const AGREE = 3;
// Two-thirds of a second at 15 frames a second: longer than the camera takes to move from one
// number to the next, whose blurred frames between are read as "not a number".
export const STILL_VOTES = 10;

// What a live camera reads. key(answer): '' nothing to read, '-' rejected, else the text shown;
// boxes(answer): [{ text, left, top, right, bottom }] in the pixels read.
export const digitReading = (read) => ({
  kind: 'digit', wide: false, read,
  key: (answer) => (answer.noDigit ? '' : answer.rejected ? '-' : answer.digit),
  boxes: (answer) => (answer.box ? [{ text: answer.digit, ...answer.box }] : []),
});
export const numberReading = (read) => ({
  kind: 'number', wide: true, read,
  key: (reading) => (reading.noNumber ? '' : reading.rejected ? '-' : reading.number),
  boxes: (reading) => reading.digits.map(({ digit, box: [left, top, right, bottom] }) => ({ text: digit, left, top, right, bottom })),
});

export class CameraError extends Error {}

export class LiveCamera {
  constructor({ video, overlay, show, ended = () => {} }) {
    Object.assign(this, { video, overlay, show, ended, reading: null, stream: null, starting: null, votes: [], shown: null });
    this.session = 0; // counts the starts: the frame callbacks and readings of an earlier one are dropped
    this.frameRequest = null;
    this.canvas = document.createElement('canvas');
    this.stats = { readings: 0, since: 0, ms: 0, boxes: [] }; // for the curious and the tests: readings since start, their time, boxes drawn
  }

  get running() {
    return this.stream !== null;
  }

  // Resolves to true once frames are read; false when stop() came first (the camera then released).
  async start(reading) {
    if (this.stream || this.starting) return false;
    this.reading = reading;
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new CameraError(window.isSecureContext ? 'This browser gives no page a camera.'
        : `The camera needs a secure page: https, or http://localhost. This one is ${location.origin}.`);
    }
    let stream;
    this.starting = { stopped: false };
    const starting = this.starting;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: 'environment', width: { ideal: 640 }, height: { ideal: 480 } }, audio: false,
      });
    } catch (error) {
      throw new CameraError(cameraProblem(error));
    } finally {
      this.starting = null;
    }
    if (starting.stopped) { // left, or the page hidden, while the browser was asking
      for (const track of stream.getTracks()) track.stop();
      return false;
    }
    this.stream = stream;
    const session = ++this.session;
    for (const track of stream.getVideoTracks()) track.addEventListener('ended', () => this.session === session && this.ended());
    this.video.srcObject = stream;
    await this.video.play().catch(() => {}); // muted and inline: allowed; frames come either way
    if (this.session !== session || this.stream !== stream) return false; // stopped while it began to play
    Object.assign(this, { votes: [], shown: null, stats: { readings: 0, since: performance.now(), ms: 0, boxes: [] } });
    this.setShown(null);
    this.readNextFrame(session);
    return true;
  }

  stop() {
    if (this.starting) this.starting.stopped = true;
    if (!this.stream) return;
    this.session++; // the frame callback still pending, and a reading under way, belong to the last session
    if (this.frameRequest !== null) this.video.cancelVideoFrameCallback?.(this.frameRequest);
    this.frameRequest = null;
    for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
    this.overlay.getContext('2d').clearRect(0, 0, this.overlay.width, this.overlay.height);
  }

  readNextFrame(session) {
    if (this.session !== session) return;
    const next = () => this.readFrame(session).then(() => this.readNextFrame(session));
    if (this.video.requestVideoFrameCallback) this.frameRequest = this.video.requestVideoFrameCallback(next);
    else requestAnimationFrame(next);
  }

  // The guide box in the video's pixels ({ left, top, width, height }) and the size it is read at.
  guide(videoWidth, videoHeight) {
    const [width, height] = this.reading.wide
      ? [Math.round(WIDE_GUIDE * videoWidth), Math.round(Math.min(WIDE_GUIDE * videoWidth / 3, GUIDE * videoHeight))]
      : Array(2).fill(Math.round(GUIDE * Math.min(videoWidth, videoHeight)));
    const scale = Math.min(1, (this.reading.wide ? MAX_WIDE : MAX_SIDE) / width);
    return { left: Math.round((videoWidth - width) / 2), top: Math.round((videoHeight - height) / 2), width, height,
      readWidth: Math.round(width * scale), readHeight: Math.round(height * scale) };
  }

  async readFrame(session) {
    const { videoWidth, videoHeight } = this.video;
    if (this.session !== session || !videoWidth || !videoHeight) return;
    const guide = this.guide(videoWidth, videoHeight);
    const { left, top, width, height, readWidth, readHeight } = guide;
    Object.assign(this.canvas, { width: readWidth, height: readHeight });
    const context = this.canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(this.video, left, top, width, height, 0, 0, readWidth, readHeight);
    const pixels = context.getImageData(0, 0, readWidth, readHeight);
    const reading = this.reading;
    let answer;
    const started = performance.now();
    try {
      answer = await reading.read(pixels.data, readHeight, readWidth);
    } catch {
      return; // one frame the reader could not read: the next one may be
    }
    if (this.session !== session) return;
    this.stats.readings++;
    this.stats.ms += performance.now() - started;
    const key = reading.key(answer);
    this.vote(key, answer);
    this.drawGuide(videoWidth, videoHeight, guide);
    if (key !== '' && key !== '-' && this.shown?.key === key) {
      const scale = width / readWidth; // the boxes, in the read canvas' pixels, in the video's
      const boxes = reading.boxes(answer).map((box) => ({ text: box.text, left: left + box.left * scale, top: top + box.top * scale,
        right: left + box.right * scale, bottom: top + box.bottom * scale }));
      for (const box of boxes) this.drawBox(box);
      if (boxes.length) {
        this.stats.boxes.push({ at: performance.now(), text: key, count: boxes.length, left: Math.min(...boxes.map((b) => b.left)),
          top: Math.min(...boxes.map((b) => b.top)), right: Math.max(...boxes.map((b) => b.right)), bottom: Math.max(...boxes.map((b) => b.bottom)) });
      }
    }
  }

  drawBox({ text, left, top, right, bottom }) {
    const context = this.overlay.getContext('2d');
    context.strokeStyle = '#22c55e';
    context.lineWidth = Math.max(2, this.overlay.width / 160);
    context.strokeRect(left, top, right - left, bottom - top);
    context.fillStyle = '#22c55e';
    context.font = `bold ${Math.round(Math.max(14, this.overlay.width / (this.reading.wide ? 30 : 20)))}px system-ui, sans-serif`;
    context.fillText(text, left, Math.max(top - 4, 16));
  }

  // The newest reading (its key, see digitReading) joins the last ones. A digit or number that
  // AGREE of the last VOTES share is shown; "not a digit" ('-') and "nothing to read" ('') need all
  // of the last STILL_VOTES, since the frames between two, blurred by the motion, are read so for a
  // moment. What is shown holds while VOTES - AGREE of the last VOTES still share it (a frame or two
  // of blur does not unsettle it), then gives way to 'reading'.
  vote(key, answer) {
    this.votes = [...this.votes, { key, answer }].slice(-STILL_VOTES);
    const share = (k) => this.votes.slice(-VOTES).filter((vote) => vote.key === k).length;
    const still = (k) => this.votes.length === STILL_VOTES && this.votes.every((vote) => vote.key === k);
    const held = this.shown && share(this.shown.key) >= VOTES - AGREE ? this.shown.key : null;
    const winner = (key === '-' || key === '' ? still(key) : share(key) >= AGREE) ? key : held;
    if (winner === (this.shown?.key ?? null)) return;
    this.setShown(winner === null ? null : { key: winner, answer });
  }

  setShown(vote) {
    this.shown = vote;
    if (!vote) return this.show({ text: '\u2026', kind: 'reading', answer: null });
    const kind = vote.key === '' ? 'empty' : vote.key === '-' ? 'rejected' : this.reading.kind;
    this.show({ text: vote.key, kind, answer: vote.answer });
  }

  // The guide box over the video (the overlay canvas has the video's size; CSS scales both).
  drawGuide(width, height, { left, top, width: boxWidth, height: boxHeight }) {
    if (this.overlay.width !== width || this.overlay.height !== height) Object.assign(this.overlay, { width, height });
    const context = this.overlay.getContext('2d');
    context.clearRect(0, 0, width, height);
    context.fillStyle = '#0007';
    context.fillRect(0, 0, width, height);
    context.clearRect(left, top, boxWidth, boxHeight);
    context.strokeStyle = '#fff';
    context.lineWidth = Math.max(1, boxHeight / 160);
    context.strokeRect(left, top, boxWidth, boxHeight);
  }
}

// The message for a getUserMedia failure, by the DOMException's name.
function cameraProblem(error) {
  switch (error?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'The camera was not allowed. Allow it for this page in the browser\'s site settings, then press Live camera again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found on this device.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera is in use by another app, or could not be started.';
    default:
      return `The camera could not be opened: ${error?.message ?? error}`;
  }
}
