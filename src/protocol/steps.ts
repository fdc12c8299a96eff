/**
 * Step lookup shared by both sides of the contract: attention is captured at some steps only,
 * and "the attention at step s" (requestAttention, the scrubber, saved runs) means the capture
 * at s or the latest one before it.
 */

/** Index of the last element ≤ x in an increasing array; -1 when every element is greater (or there are none). */
export function indexAtOrBefore(xs: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = xs.length; // first index whose element is > x
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
