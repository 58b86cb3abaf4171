// The drawing pad: strokes with mouse, pen or touch (pointer events) in ink on paper, a photo's
// preview scaled into it, and over it a canvas for the boxes of the digits read (number mode).
const INK = '#111827', PAPER = '#ffffff';

export class DrawingPad {
  // `penUp(pixels, timeStamp)` gets the pad's ImageData after each stroke.
  constructor(canvas, boxes, penUp) {
    Object.assign(this, { canvas, boxes, penUp });
    this.context = canvas.getContext('2d', { willReadFrequently: true });
    this.drawnOn = false; // false: the pad is blank or shows a photo's preview
    this.stroke = null; // the pointer drawing now, and its last point
    this.shownAt = { scale: 1, dx: 0, dy: 0 }; // where the input's pixels are on the pad
    canvas.addEventListener('pointerdown', (event) => this.#down(event));
    canvas.addEventListener('pointermove', (event) => this.#move(event));
    canvas.addEventListener('pointerup', (event) => this.#up(event));
    canvas.addEventListener('pointercancel', (event) => this.#up(event));
  }

  // About MNIST's stroke for a digit drawn across most of the pad's height.
  get penWidth() {
    return this.canvas.height / 16;
  }

  clear() {
    this.context.fillStyle = PAPER;
    this.context.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.boxes.getContext('2d').clearRect(0, 0, this.boxes.width, this.boxes.height);
    this.drawnOn = false;
    this.stroke = null;
    this.shownAt = { scale: 1, dx: 0, dy: 0 };
  }

  // A new width (the height stays), cleared.
  resize(width) {
    this.canvas.width = this.boxes.width = width;
    this.clear();
  }

  // The photo scaled to fit, centred; `place` then maps its pixels onto the pad.
  showPreview(bitmap) {
    this.clear();
    const { width: padWidth, height: padHeight } = this.canvas;
    const scale = Math.min(padWidth / bitmap.width, padHeight / bitmap.height);
    const [width, height] = [bitmap.width * scale, bitmap.height * scale];
    this.shownAt = { scale, dx: (padWidth - width) / 2, dy: (padHeight - height) / 2 };
    this.context.drawImage(bitmap, this.shownAt.dx, this.shownAt.dy, width, height);
  }

  // A box [x0, y0, x1, y1] in the input's pixels (the drawing's, or the photo's) -> in the pad's.
  place(box) {
    const { scale, dx, dy } = this.shownAt;
    return box.map((value, i) => value * scale + (i % 2 ? dy : dx));
  }

  #point(event) {
    const box = this.canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * (this.canvas.width / box.width), (event.clientY - box.top) * (this.canvas.height / box.height)];
  }

  #down(event) {
    if (this.stroke || event.button !== 0) return;
    if (!this.drawnOn) this.clear();
    this.drawnOn = true;
    this.boxes.getContext('2d').clearRect(0, 0, this.boxes.width, this.boxes.height); // the last reading's
    this.canvas.setPointerCapture(event.pointerId);
    this.stroke = { id: event.pointerId, last: this.#point(event) };
    const { context } = this;
    context.strokeStyle = context.fillStyle = INK;
    context.lineWidth = this.penWidth;
    context.lineCap = context.lineJoin = 'round';
    context.beginPath();
    context.arc(...this.stroke.last, this.penWidth / 2, 0, 2 * Math.PI); // a dot, if the pen lifts here
    context.fill();
  }

  #move(event) {
    if (!this.stroke || event.pointerId !== this.stroke.id) return;
    this.context.beginPath();
    this.context.moveTo(...this.stroke.last);
    for (const point of event.getCoalescedEvents?.() ?? [event]) {
      this.stroke.last = this.#point(point);
      this.context.lineTo(...this.stroke.last);
    }
    this.context.stroke();
  }

  #up(event) {
    if (!this.stroke || event.pointerId !== this.stroke.id) return;
    this.stroke = null;
    this.penUp(this.context.getImageData(0, 0, this.canvas.width, this.canvas.height), event.timeStamp);
  }
}

// A photo's own pixels at full size, RGBA row by row (a canvas' ImageData).
export function photoPixels(bitmap) {
  const canvas = Object.assign(document.createElement('canvas'), { width: bitmap.width, height: bitmap.height });
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  return context.getImageData(0, 0, bitmap.width, bitmap.height);
}
