// The answer as the page shows it: the big answer in #answer (its data-kind says which: none,
// reading, digit, rejected, empty, error), for a digit or "not a digit" a bar for each of the ten
// digits in #top, and in #seen the 28x28 image the model saw.

const answerBox = document.getElementById('answer');
const topList = document.getElementById('top');
const scale = document.getElementById('scale');
const seen = document.getElementById('seen');

const BAR_DECADES = 6; // a full bar is probability 1, an empty one 1e-6
scale.textContent = `Log scale: each 1/${BAR_DECADES} of a bar is a factor of 10; an empty bar is under 1 in ${(10 ** BAR_DECADES).toLocaleString('en')}.`;

// `answer`: null (nothing yet), { reading: true }, { error: text }, or the pipeline's answer; `labels`
// the pipeline's. Bars are on a log scale, so that a 2nd choice of 0.01% is seen; for "not a digit"
// they are grey, not an answer.
export function showAnswer(answer, labels) {
  topList.replaceChildren();
  scale.hidden = true;
  seen.getContext('2d').clearRect(0, 0, seen.width, seen.height);
  const [text, kind] = !answer ? ['?', 'none'] : answer.reading ? ['\u2026', 'reading'] : answer.error ? [answer.error, 'error']
    : answer.noDigit ? ['nothing to read', 'empty'] : answer.rejected ? ['not a digit', 'rejected'] : [answer.digit, 'digit'];
  answerBox.textContent = text;
  answerBox.dataset.kind = kind;
  if (kind !== 'digit' && kind !== 'rejected') return;
  topList.classList.toggle('unsure', answer.rejected);
  answer.probabilities.forEach((probability, index) => {
    const row = document.createElement('li');
    row.innerHTML = `<b></b><span class="bar"><span></span></span><span class="p"></span>`;
    row.querySelector('b').textContent = labels[index];
    row.querySelector('.bar span').style.width = `${(100 * Math.max(0, 1 + Math.log10(probability) / BAR_DECADES)).toFixed(1)}%`;
    row.querySelector('.p').textContent = percent(probability);
    row.classList.toggle('chosen', !answer.rejected && labels[index] === answer.digit);
    topList.append(row);
  });
  scale.hidden = false;
  drawSeen(answer.image);
}

// A probability as a person reads it: never "100.0%" nor "0.0%" for what is neither.
function percent(probability) {
  if (probability > 0.999) return '>99.9%';
  if (probability >= 0.001) return `${(100 * probability).toFixed(1)}%`;
  if (probability >= 1e-6) return `${(100 * probability).toPrecision(1)}%`;
  return '<0.0001%';
}

// The model's input: float32 in [0, 1], bright ink on black, shown as grey levels.
function drawSeen({ data, height, width }) {
  const pixels = new ImageData(width, height);
  data.forEach((value, i) => {
    pixels.data.fill(Math.round(255 * Math.min(1, Math.max(0, value))), 4 * i, 4 * i + 3);
    pixels.data[4 * i + 3] = 255;
  });
  Object.assign(seen, { width, height });
  seen.getContext('2d').putImageData(pixels, 0, 0);
}

