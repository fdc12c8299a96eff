/**
 * Step lookup shared by both sides of the contract: attention is captured at some steps only,
 * and "the attention at step s" (requestAttention, the scrubber, saved runs) means the capture
 * at s or the latest one before it.
 */
import type { AttentionMapData } from './messages';

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

/**
 * Own copies of a message's attention maps (probe × layer/head/stage). What arrives over IPC
 * or postMessage are views into the message's buffer (one buffer for a packed webview
 * message), which keeping would keep alive whole, or which a pooled buffer may reuse.
 */
export function copyProbes(probes: readonly (readonly AttentionMapData[])[]): AttentionMapData[][] {
  return probes.map((maps) => maps.map((m) => ({ ...m, data: m.data.slice() })));
}
