// The analytics charts' geometry (docs/web.md, "Analytics"): plain SVG, no
// chart library. Pure functions from figures to coordinates, tested on
// their own (chart.test.ts); Chart.tsx draws what they give.

/** The drawing box: its size and the room kept for the axes' labels. */
export interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export const FRAME: Frame = { width: 800, height: 260, left: 44, right: 12, top: 12, bottom: 28 };

/** The smallest 1, 2 or 5 × 10^k at or above max (1 when max ≤ 0). */
export function niceCeil(max: number): number {
  if (!(max > 0)) return 1;
  const k = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * k >= max - 1e-9 * k) return m * k;
  return 10 * k;
}

/** Evenly spaced values from 0 to top inclusive (count intervals). */
export function ticks(top: number, count = 4): number[] {
  return Array.from({ length: count + 1 }, (_, i) => (top * i) / count);
}

/** The y of a value on a scale from 0 (bottom) to top. */
export function yOf(value: number, top: number, f: Frame = FRAME): number {
  const inner = f.height - f.top - f.bottom;
  return f.top + inner - (Math.max(0, value) / top) * inner;
}

/** The x of the middle of slot i of n across the plot. */
export function xOf(i: number, n: number, f: Frame = FRAME): number {
  const inner = f.width - f.left - f.right;
  return f.left + ((i + 0.5) * inner) / Math.max(n, 1);
}

export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One bar per value, side by side, a gap of a fifth of a slot (at least 0.5). */
export function bars(values: number[], top: number, f: Frame = FRAME): Bar[] {
  const slot = (f.width - f.left - f.right) / Math.max(values.length, 1);
  const width = Math.max(slot * 0.8, 0.5);
  const base = yOf(0, top, f);
  return values.map((v, i) => {
    const y = yOf(v, top, f);
    return { x: xOf(i, values.length, f) - width / 2, y, width, height: base - y };
  });
}

const r = (n: number) => Math.round(n * 100) / 100;

/** An SVG path through the values at the slots' middles ("" when none). */
export function linePath(values: number[], top: number, f: Frame = FRAME): string {
  return values.map((v, i) => `${i === 0 ? "M" : "L"}${r(xOf(i, values.length, f))} ${r(yOf(v, top, f))}`).join(" ");
}

/** A closed SVG path of the band between lows and highs (same length). */
export function bandPath(lows: number[], highs: number[], top: number, f: Frame = FRAME): string {
  if (lows.length === 0) return "";
  const n = lows.length;
  const upper = highs.map((v, i) => `${i === 0 ? "M" : "L"}${r(xOf(i, n, f))} ${r(yOf(v, top, f))}`);
  const lower = lows
    .map((v, i) => [i, v] as const)
    .reverse()
    .map(([i, v]) => `L${r(xOf(i, n, f))} ${r(yOf(v, top, f))}`);
  return `${upper.join(" ")} ${lower.join(" ")} Z`;
}

/** Which of n slots get an x-axis label: at most max of them, first and last included. */
export function labelSlots(n: number, max = 6): number[] {
  if (n <= 0) return [];
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const step = (n - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => Math.round(i * step));
}
