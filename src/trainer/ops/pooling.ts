/** Masked mean pooling over the real (unpadded) positions of each sentence, with its backward. */

/** x: (B, T, D), lengths: (B) → y: (B, D) = mean of x[b, t, :] over t < lengths[b]. */
export function maskedMeanPoolForward(
  x: Float32Array, lengths: Int32Array, y: Float32Array, B: number, T: number, D: number,
): void {
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    const yo = b * D;
    for (let d = 0; d < D; d++) y[yo + d] = 0;
    for (let t = 0; t < len; t++) {
      const xo = (b * T + t) * D;
      for (let d = 0; d < D; d++) y[yo + d] += x[xo + d];
    }
    const inv = 1 / len;
    for (let d = 0; d < D; d++) y[yo + d] *= inv;
  }
}

/** dx[b, t, :] += dy[b, :] / lengths[b] for t < lengths[b]; padded positions get nothing. */
export function maskedMeanPoolBackward(
  dy: Float32Array, lengths: Int32Array, dx: Float32Array, B: number, T: number, D: number,
): void {
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    const inv = 1 / len;
    const yo = b * D;
    for (let t = 0; t < len; t++) {
      const xo = (b * T + t) * D;
      for (let d = 0; d < D; d++) dx[xo + d] += dy[yo + d] * inv;
    }
  }
}
