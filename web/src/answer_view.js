// The answer as the page shows it: the big answer in #answer (its data-kind says which: none,
// reading, digit, number, rejected, empty, error), for a digit or "not a digit" a bar for each of
// the ten digits in #top, and in #seen the 28x28 image the model saw. For a number (number mode),
// a bar for each digit read in #digits, each digit's box over the pad in #boxes, and in #seen the
// strip the reader saw.

const answerBox = document.getElementById('answer');
const topList = document.getElementById('top');
const scale = document.getElementById('scale');
const seen = document.getElementById('seen');
const seenCaption = document.getElementById('seen-caption');
const digitList = document.getElementById('digits');
const boxes = document.getElementById('boxes');

const BAR_DECADES = 6; // a full bar is probability 1, an empty one 1e-6
scale.textContent = `Log scale: each 1/${BAR_DECADES} of a bar is a factor of 10; an empty bar is under 1 in ${(10 ** BAR_DECADES).toLocaleString('en')}.`;

// `answer`: null (nothing yet), { reading: true }, { error: text }, the pipeline's answer, or the
// number reader's reading (it has `digits`); `labels` the pipeline's. Bars are on a log scale, so
// that a 2nd choice of 0.01% is seen; for "not a digit" they are grey, not an answer. `place`
// turns a box in the input's pixels into the pad's ([x0, y0, x1, y1] both).
export function showAnswer(answer, labels, place = (box) => box) {
  for (const list of [topList, digitList]) list.replaceChildren();
  scale.hidden = digitList.hidden = true;
  seen.getContext('2d').clearRect(0, 0, seen.width, seen.height);
  boxes.getContext('2d').clearRect(0, 0, boxes.width, boxes.height);
  const number = answer?.digits !== undefined;
  const [text, kind] = !answer ? ['?', 'none'] : answer.reading ? ['\u2026', 'reading'] : answer.error ? [answer.error, 'error']
    : number ? (answer.noNumber ? ['nothing to read', 'empty'] : answer.rejected ? ['not a number', 'rejected'] : [answer.number, 'number'])
      : answer.noDigit ? ['nothing to read', 'empty'] : answer.rejected ? ['not a digit', 'rejected'] : [answer.digit, 'digit'];
  answerBox.textContent = text;
  answerBox.dataset.kind = kind;
  if (number && kind !== 'empty') return showNumber(answer, place);
  if (kind !== 'digit' && kind !== 'rejected') return;
  topList.classList.toggle('unsure', answer.rejected);
  answer.probabilities.forEach((probability, index) => {
    topList.append(bar(labels[index], probability, !answer.rejected && labels[index] === answer.digit));
  });
  scale.hidden = false;
  drawSeen(answer.image, 'What the model saw (28\u00d728)');
}

// A number's digits, read or rejected: a bar for each, its box over the pad, and the strip.
function showNumber(reading, place) {
  digitList.classList.toggle('unsure', reading.rejected);
  digitList.hidden = reading.digits.length === 0;
  const context = boxes.getContext('2d');
  context.lineWidth = Math.max(2, boxes.height / 100);
  context.font = `bold ${Math.round(boxes.height / 10)}px system-ui, sans-serif`;
  for (const { digit, probability, box } of reading.digits) {
    digitList.append(bar(digit, probability, !reading.rejected));
    const [x0, y0, x1, y1] = place(box);
    context.strokeStyle = context.fillStyle = probability < reading.minProbability ? '#b45309' : '#2563eb';
    context.strokeRect(x0, y0, x1 - x0, y1 - y0);
    context.fillText(digit, x0 + 2, Math.max(y0 - 4, boxes.height / 10));
  }
  scale.hidden = digitList.hidden;
  drawSeen(reading.strip, `What the reader saw (28\u00d7${reading.strip.width})`);
}

// One row of bars: the label, its probability on the log scale, and the probability as a person reads it.
function bar(label, probability, chosen) {
  const row = document.createElement('li');
  row.innerHTML = `<b></b><span class="bar"><span></span></span><span class="p"></span>`;
  row.querySelector('b').textContent = label;
  row.querySelector('.bar span').style.width = `${(100 * Math.max(0, 1 + Math.log10(probability) / BAR_DECADES)).toFixed(1)}%`;
  row.querySelector('.p').textContent = percent(probability);
  row.classList.toggle('chosen', chosen);
  return row;
}

// A probability as a person reads it: never "100.0%" nor "0.0%" for what is neither.
function percent(probability) {
  if (probability > 0.999) return '>99.9%';
  if (probability >= 0.001) return `${(100 * probability).toFixed(1)}%`;
  if (probability >= 1e-6) return `${(100 * probability).toPrecision(1)}%`;
  return '<0.0001%';
}

// The model's input: float32 in [0, 1], bright ink on black, shown as grey levels.
function drawSeen({ data, height, width }, caption) {
  seenCaption.textContent = caption;
  const pixels = new ImageData(width, height);
  data.forEach((value, i) => {
    pixels.data.fill(Math.round(255 * Math.min(1, Math.max(0, value))), 4 * i, 4 * i + 3);
    pixels.data[4 * i + 3] = 255;
  });
  Object.assign(seen, { width, height });
  seen.getContext('2d').putImageData(pixels, 0, 0);
}

