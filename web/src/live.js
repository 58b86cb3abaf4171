// Live camera mode: the rear camera's video, a guide box in its middle, and what is in the box read
// frame after frame (one reading at a time, each on the newest frame), with a vote across the last
// readings so that the answer shown holds still: a digit needs AGREE of the last VOTES readings,
// "not a digit" and "no digit" all VOTES.
//
//   const live = new LiveCamera({ video, overlay, classify, show, ended });
//   await live.start();   // throws a CameraError with a message for the page when it cannot
//   live.stop();          // the camera is released (its light goes off)
//
// The digit's box (the pipeline's `box` output) is drawn over the video while a digit is shown.
// classify(rgba, height, width) resolves to the pipeline's answer; show({ text, kind, answer }) is
// called when the shown answer changes: kind 'digit', 'rejected' or 'empty' once enough readings
// agree, 'reading' while none is settled (answer is the reading that decided, or null). ended() is
// called when the camera stops by itself (another app took it, the permission was withdrawn).
// Each start is a session of its own: a frame or a reading of an earlier session is dropped.

export const GUIDE = 0.6; // the guide box's side, as a fraction of the video's shorter side
const MAX_SIDE = 192; // the box is read at most this many pixels across (a 640x480 video's box is 288)
export const VOTES = 5;
export const AGREE = 3;

export class CameraError extends Error {}

export class LiveCamera {
  constructor({ video, overlay, classify, show, ended = () => {} }) {
    Object.assign(this, { video, overlay, classify, show, ended, stream: null, starting: null, votes: [], shown: null });
    this.session = 0; // counts the starts: the frame callbacks and readings of an earlier one are dropped
    this.frameRequest = null;
    this.canvas = document.createElement('canvas');
    this.stats = { readings: 0, since: 0, ms: 0, boxes: [] }; // for the curious and the tests: readings since start, their time, boxes drawn
  }

  get running() {
    return this.stream !== null;
  }

  // Resolves to true once frames are read; false when stop() came first (the camera then released).
  async start() {
    if (this.stream || this.starting) return false;
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

  async readFrame(session) {
    const { videoWidth: width, videoHeight: height } = this.video;
    if (this.session !== session || !width || !height) return;
    const side = Math.round(GUIDE * Math.min(width, height));
    const [left, top] = [Math.round((width - side) / 2), Math.round((height - side) / 2)];
    const read = Math.min(side, MAX_SIDE);
    Object.assign(this.canvas, { width: read, height: read });
    const context = this.canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(this.video, left, top, side, side, 0, 0, read, read);
    const pixels = context.getImageData(0, 0, read, read);
    let answer;
    const started = performance.now();
    try {
      answer = await this.classify(pixels.data, read, read);
    } catch {
      return; // one frame the pipeline could not read: the next one may be
    }
    if (this.session !== session) return;
    this.stats.readings++;
    this.stats.ms += performance.now() - started;
    this.vote(answer);
    this.drawGuide(width, height, left, top, side);
    if (answer.box && this.shown?.key === answer.digit && !answer.rejected) {
      const scale = side / read; // the box, in the read canvas' pixels, in the video's
      const box = { left: left + answer.box.left * scale, top: top + answer.box.top * scale,
        right: left + answer.box.right * scale, bottom: top + answer.box.bottom * scale };
      this.drawBox(box, answer.digit);
      this.stats.boxes.push({ at: performance.now(), digit: answer.digit, ...box });
    }
  }

  drawBox({ left, top, right, bottom }, digit) {
    const context = this.overlay.getContext('2d');
    context.strokeStyle = '#22c55e';
    context.lineWidth = Math.max(2, this.overlay.width / 160);
    context.strokeRect(left, top, right - left, bottom - top);
    context.fillStyle = '#22c55e';
    context.font = `bold ${Math.round(Math.max(14, this.overlay.width / 20))}px system-ui, sans-serif`;
    context.fillText(digit, left, Math.max(top - 4, 16));
  }

  // The newest reading joins the last VOTES. A digit that AGREE of them share is shown; "not a
  // digit" ('-') and "no digit" ('') need all VOTES, since the frames between two digits, blurred
  // by the motion, are read so for a moment. What is shown holds while VOTES - AGREE of the
  // readings still share it (a frame or two of blur does not unsettle it), then gives way to 'reading'.
  vote(answer) {
    const key = answer.noDigit ? '' : answer.rejected ? '-' : answer.digit;
    this.votes = [...this.votes, { key, answer }].slice(-VOTES);
    const share = (k) => this.votes.filter((vote) => vote.key === k).length;
    const held = this.shown && share(this.shown.key) >= VOTES - AGREE ? this.shown.key : null;
    const winner = share(key) >= (key === '-' || key === '' ? VOTES : AGREE) ? key : held;
    if (winner === (this.shown?.key ?? null)) return;
    this.setShown(winner === null ? null : { key: winner, answer });
  }

  setShown(vote) {
    this.shown = vote;
    if (!vote) return this.show({ text: '\u2026', kind: 'reading', answer: null });
    const kind = vote.key === '' ? 'empty' : vote.key === '-' ? 'rejected' : 'digit';
    this.show({ text: vote.key, kind, answer: vote.answer });
  }

  // The guide box over the video (the overlay canvas has the video's size; CSS scales both).
  drawGuide(width, height, left, top, side) {
    if (this.overlay.width !== width || this.overlay.height !== height) Object.assign(this.overlay, { width, height });
    const context = this.overlay.getContext('2d');
    context.clearRect(0, 0, width, height);
    context.fillStyle = '#0007';
    context.fillRect(0, 0, width, height);
    context.clearRect(left, top, side, side);
    context.strokeStyle = '#fff';
    context.lineWidth = Math.max(1, side / 160);
    context.strokeRect(left, top, side, side);
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
