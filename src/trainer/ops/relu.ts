/** The rectifier y = max(0, x), elementwise, with its backward pass. */

/** x, y: (n) — may be the same buffer. */
export function reluForward(x: Float32Array, y: Float32Array, n = x.length): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    y[i] = v > 0 ? v : 0;
  }
}

/** dx += dy where the input was positive; x: the forward input (n). */
export function reluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, n = x.length): void {
  for (let i = 0; i < n; i++) if (x[i] > 0) dx[i] += dy[i];
}
