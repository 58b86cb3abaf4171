// Shapes the browser test draws on the pad with the mouse: strokes of [x, y] points in pad units
// (0 to 1 across and down), as a person would draw them, one array per pen-down.

// n points along an ellipse from angle `from` to `to` (radians; 0 is right, pi/2 is down).
function arc(cx, cy, rx, ry, from, to, n = 24) {
  return Array.from({ length: n + 1 }, (_, i) => {
    const angle = from + ((to - from) * i) / n;
    return [cx + rx * Math.cos(angle), cy + ry * Math.sin(angle)];
  });
}

const PI = Math.PI;

export const DIGITS = {
  0: [arc(0.5, 0.5, 0.2, 0.3, -PI / 2, 1.5 * PI + 0.2, 32)],
  1: [[[0.45, 0.26], [0.55, 0.18], [0.55, 0.5], [0.55, 0.82]]],
  2: [[...arc(0.5, 0.36, 0.18, 0.16, PI * 1.05, PI * 2.25, 20), [0.3, 0.8], [0.5, 0.8], [0.72, 0.8]]],
  3: [[...arc(0.48, 0.34, 0.17, 0.15, -PI * 0.9, PI * 0.5, 20), ...arc(0.48, 0.65, 0.19, 0.16, -PI * 0.5, PI * 0.9, 20)]],
  4: [[[0.62, 0.82], [0.62, 0.5], [0.62, 0.18], [0.45, 0.42], [0.28, 0.62], [0.5, 0.62], [0.75, 0.62]]],
  7: [[[0.28, 0.22], [0.5, 0.22], [0.72, 0.22], [0.6, 0.5], [0.48, 0.82]]],
};

// A five-pointed star in one stroke, and a spiral: ink that is plainly no digit.
const star = Array.from({ length: 6 }, (_, i) => {
  const angle = -PI / 2 + (i * 4 * PI) / 5;
  return [0.5 + 0.32 * Math.cos(angle), 0.52 + 0.32 * Math.sin(angle)];
});
const spiral = Array.from({ length: 80 }, (_, i) => {
  const angle = (i / 79) * 5 * PI, radius = 0.03 + (0.3 * i) / 79;
  return [0.5 + radius * Math.cos(angle), 0.5 + radius * Math.sin(angle)];
});

export const NOT_DIGITS = { star: [star], spiral: [spiral] };

// A number's strokes on a wide pad: digit i of `number` drawn in the cell from i * cell to (i + 1) * cell
// of the pad's width (its whole height), from the digits above.
export function numberStrokes(number, cell) {
  return [...number].flatMap((digit, i) => DIGITS[digit].map((points) => points.map(([x, y]) => [(i + x) * cell, y])));
}
