/**
 * e^x in double precision, about twice as fast as Math.exp in V8's optimised code: the
 * softmaxes of small-head attention spend most of their time in exp.
 *
 * x = (32·m + j)·ln2/32 + r with |r| ≤ ln2/64, e^x = 2^m · 2^(j/32) · e^r, e^r by its Taylor
 * polynomial of degree 6 (truncation < 3e-15 relative). ln2/32 is split in a float32-exact
 * high part and the rest, so k·ln2/32 is subtracted without cancellation. Relative error
 * below 2e-15 over the whole range (test/unit/kernels.test.ts); outside about ±700, where
 * 2^m would leave the tables, it defers to Math.exp (including overflow, underflow and NaN).
 */

const INV_STEP = 32 / Math.LN2;
const STEP_HI = Math.fround(Math.LN2 / 32);
const STEP_LO = Math.LN2 / 32 - STEP_HI;
/** 2^(j/32), j = 0 … 31. */
const FRAC = new Float64Array(32).map((_, j) => Math.pow(2, j / 32));
/** 2^m, m = −1024 … 1023, at m + 1024. */
const POW2 = new Float64Array(2048).map((_, i) => Math.pow(2, i - 1024));

export function expd(x: number): number {
  if (!(x > -700 && x < 700)) return Math.exp(x);
  const k = Math.floor(x * INV_STEP + 0.5) | 0;
  const r = x - k * STEP_HI - k * STEP_LO;
  const p = 1 + r * (1 + r * (0.5 + r * (0.16666666666666666 + r * (0.041666666666666664 + r * (0.008333333333333333 + r * 0.001388888888888889)))));
  return POW2[(k >> 5) + 1024]! * FRAC[k & 31]! * p;
}
