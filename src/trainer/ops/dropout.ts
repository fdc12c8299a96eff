/**
 * Inverted dropout: a seeded mask of 0 and 1/(1 − p) multiplies the input during training;
 * at evaluation (mask null) it is the identity.
 */
import type { Rng } from '../rng';

/** Fill mask (n) with 0 (probability p) or 1/(1 − p), drawing one uniform per element. */
export function dropoutMask(mask: Float32Array, p: number, rng: Rng, n = mask.length): void {
  const keep = 1 / (1 - p);
  for (let i = 0; i < n; i++) mask[i] = rng.uniform() < p ? 0 : keep;
}

/** y = x ⊙ mask, or y = x when mask is null; x, y, mask: (n). */
export function dropoutForward(x: Float32Array, y: Float32Array, mask: Float32Array | null, n = x.length): void {
  if (mask === null) {
    if (x !== y) y.set(x.subarray(0, n));
    return;
  }
  for (let i = 0; i < n; i++) y[i] = x[i] * mask[i];
}

/** dx += dy ⊙ mask (or dy when mask is null). */
export function dropoutBackward(dy: Float32Array, dx: Float32Array, mask: Float32Array | null, n = dy.length): void {
  if (mask === null) {
    for (let i = 0; i < n; i++) dx[i] += dy[i];
    return;
  }
  for (let i = 0; i < n; i++) dx[i] += dy[i] * mask[i];
}
