/** An affine layer y = x·W + b over the rows of x, with its backward pass. */
import { matmul, matmulBackward } from './matmul';

/**
 * x: (N, In), W: (In, Out), b: (Out) or null, y: (N, Out).
 */
export function linearForward(
  x: Float32Array, W: Float32Array, b: Float32Array | null, y: Float32Array,
  N: number, In: number, Out: number,
): void {
  if (b) {
    for (let n = 0; n < N; n++) y.set(b.subarray(0, Out), n * Out);
    matmul(x, W, y, N, In, Out, false, false, true);
  } else {
    matmul(x, W, y, N, In, Out);
  }
}

/** dx += dy·Wᵀ, dW += xᵀ·dy, db += Σ_n dy; dy: (N, Out). */
export function linearBackward(
  x: Float32Array, W: Float32Array, dy: Float32Array,
  dx: Float32Array | null, dW: Float32Array | null, db: Float32Array | null,
  N: number, In: number, Out: number,
): void {
  matmulBackward(x, W, dy, dx, dW, N, In, Out);
  if (db) {
    for (let n = 0; n < N; n++) {
      const r = n * Out;
      for (let o = 0; o < Out; o++) db[o] += dy[r + o];
    }
  }
}
