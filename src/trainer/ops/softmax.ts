/**
 * Softmax over the last axis with a key mask: in each row only the first `valid` columns
 * take part and the rest get exactly 0; with its backward pass.
 */

/**
 * x, y: (rows, cols). Row r keeps its first lengths[⌊r / rowsPerLength⌋] columns (clamped to
 * cols, at least 1); lengths null keeps every column. For attention laid out (B, H, T, T),
 * pass the sentence lengths (B) and rowsPerLength = H·T.
 */
export function maskedSoftmaxForward(
  x: Float32Array, y: Float32Array, rows: number, cols: number,
  lengths: Int32Array | null = null, rowsPerLength = 1,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let valid = cols;
    if (lengths) valid = Math.max(1, Math.min(cols, lengths[Math.floor(r / rowsPerLength)]));
    let mx = -Infinity;
    for (let c = 0; c < valid; c++) if (x[o + c] > mx) mx = x[o + c];
    let s = 0;
    for (let c = 0; c < valid; c++) {
      const e = Math.exp(x[o + c] - mx);
      y[o + c] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let c = 0; c < valid; c++) y[o + c] *= inv;
    for (let c = valid; c < cols; c++) y[o + c] = 0;
  }
}

/**
 * dx += y ⊙ (dy − Σ_c y·dy) per row; y: the forward output (rows, cols). Masked columns have
 * y = 0 and so get no gradient.
 */
export function softmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += y[o + c] * dy[o + c];
    for (let c = 0; c < cols; c++) {
      const yc = y[o + c];
      if (yc !== 0) dx[o + c] += yc * (dy[o + c] - dot);
    }
  }
}
