/**
 * Softmax over the last axis with a key mask: in each row only the first `valid` columns
 * take part and the rest get exactly 0; with its backward pass.
 */
import { expd } from './exp';

/**
 * x, y: (rows, cols). Row r keeps its first lengths[⌊r / rowsPerLength⌋] columns (clamped to
 * cols, at least 1); lengths null keeps every column. For attention laid out (B, H, T, T),
 * pass the sentence lengths (B) and rowsPerLength = H·T.
 */
export function maskedSoftmaxForward(
  x: Float32Array, y: Float32Array, rows: number, cols: number,
  lengths: Int32Array | null = null, rowsPerLength = 1,
): void {
  for (let r0 = 0; r0 < rows; r0 += rowsPerLength) {
    const r1 = Math.min(rows, r0 + rowsPerLength);
    const valid = lengths ? Math.max(1, Math.min(cols, lengths[r0 / rowsPerLength])) : cols;
    for (let r = r0; r < r1; r++) {
      const o = r * cols;
      const end = o + valid;
      let mx = -Infinity;
      for (let i = o; i < end; i++) if (x[i] > mx) mx = x[i];
      let s = 0;
      for (let i = o; i < end; i++) {
        const e = expd(x[i] - mx);
        y[i] = e;
        s += e;
      }
      const inv = 1 / s;
      for (let i = o; i < end; i++) y[i] *= inv;
      if (valid < cols) y.fill(0, end, o + cols);
    }
  }
}

/**
 * dx += y ⊙ (dy − Σ_c y·dy) per row; y: the forward output (rows, cols). Masked columns have
 * y = 0 and so get no gradient.
 */
export function softmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const end = o + cols;
    let dot = 0;
    for (let i = o; i < end; i++) dot += y[i] * dy[i];
    for (let i = o; i < end; i++) {
      const yc = y[i];
      if (yc !== 0) dx[i] += yc * (dy[i] - dot);
    }
  }
}
