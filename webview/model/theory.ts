/**
 * The Lu et al. persisting identity (PAPERS.md §1) as the scatter's theory curve: with keys
 * starting at 0 and the main-run init, a topic word's ‖q‖·‖w_τ‖ = sqrt(max(0, 2(s + (e^s − 1)/m))).
 */

/** ‖q‖·‖w_τ‖ predicted for score s with m non-topic words per sentence. */
export function theoryNorm(s: number, m: number): number {
  return Math.sqrt(Math.max(0, 2 * (s + Math.expm1(s) / m)));
}

/** n samples of the curve for s in [sMin, sMax]: (n) scores and (n) norms. */
export function theoryCurve(m: number, sMin: number, sMax: number, n = 128): { s: Float64Array; norm: Float64Array } {
  const count = Math.max(2, Math.floor(n));
  const s = new Float64Array(count);
  const norm = new Float64Array(count);
  const hi = sMax > sMin ? sMax : sMin + 1;
  for (let i = 0; i < count; i++) {
    const x = sMin + ((hi - sMin) * i) / (count - 1);
    s[i] = x;
    norm[i] = theoryNorm(x, m);
  }
  return { s, norm };
}
