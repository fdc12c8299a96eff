/**
 * Central finite-difference gradient check, shared by every op and model test.
 * The analytic gradient of f (a scalar of the params) is compared with (f(w+h) − f(w−h)) / 2h
 * on a sample of coordinates of every trainable param.
 */
import type { Param } from '../../src/trainer/core';
import { Rng } from '../../src/trainer/rng';

export interface GradCheckResult {
  param: string;
  /** ‖analytic − numeric‖ / (‖analytic‖ + ‖numeric‖) over the sampled coordinates. */
  relError: number;
  checked: number;
  /** Worst single coordinate, for the failure message. */
  worst: { index: number; analytic: number; numeric: number };
}

/**
 * @param params the params to check; their `g` must already hold the analytic gradient
 * @param loss   recomputes the scalar loss from the current param values (no side effects on g needed)
 */
export function gradCheck(
  params: readonly Param[],
  loss: () => number,
  opts: { h?: number; samples?: number; seed?: number } = {},
): GradCheckResult[] {
  const h = opts.h ?? 1e-3;
  const samples = opts.samples ?? 40;
  const rng = new Rng(opts.seed ?? 7);
  const out: GradCheckResult[] = [];
  for (const p of params) {
    if (!p.trainable) continue;
    const analytic = Float32Array.from(p.g);
    const n = p.w.length;
    const idx: number[] = [];
    if (n <= samples) for (let i = 0; i < n; i++) idx.push(i);
    else for (let k = 0; k < samples; k++) idx.push(rng.int(n));
    let num2 = 0, an2 = 0, diff2 = 0;
    let worst = { index: -1, analytic: 0, numeric: 0 };
    let worstDiff = -1;
    for (const i of idx) {
      const orig = p.w[i]!;
      p.w[i] = orig + h;
      const fp = loss();
      p.w[i] = orig - h;
      const fm = loss();
      p.w[i] = orig;
      // Use the actually representable step, not h, since w is float32.
      const num = (fp - fm) / (Math.fround(orig + h) - Math.fround(orig - h));
      const a = analytic[i]!;
      num2 += num * num;
      an2 += a * a;
      diff2 += (a - num) * (a - num);
      if (Math.abs(a - num) > worstDiff) {
        worstDiff = Math.abs(a - num);
        worst = { index: i, analytic: a, numeric: num };
      }
    }
    const denom = Math.sqrt(num2) + Math.sqrt(an2);
    out.push({ param: p.name, relError: denom === 0 ? 0 : Math.sqrt(diff2) / denom, checked: idx.length, worst });
  }
  return out;
}

/** Throws with a readable message when any param's relative error exceeds tol. */
export function assertGradsClose(results: GradCheckResult[], tol = 1e-2): void {
  const bad = results.filter((r) => !(r.relError <= tol));
  if (bad.length > 0) {
    throw new Error(
      'gradient check failed:\n' +
        bad
          .map((r) => `  ${r.param}: rel error ${r.relError.toExponential(2)} (worst at ${r.worst.index}: analytic ${r.worst.analytic}, numeric ${r.worst.numeric})`)
          .join('\n'),
    );
  }
  if (results.length === 0) throw new Error('gradient check checked no trainable params');
}
