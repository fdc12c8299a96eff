/** Elementwise sum y = a + b (the residual connection), with its backward pass. */

/** a, b, y: (n); y may alias a or b. */
export function addForward(a: Float32Array, b: Float32Array, y: Float32Array, n = a.length): void {
  for (let i = 0; i < n; i++) y[i] = a[i] + b[i];
}

/** da += dy, db += dy. */
export function addBackward(dy: Float32Array, da: Float32Array | null, db: Float32Array | null, n = dy.length): void {
  if (da) for (let i = 0; i < n; i++) da[i] += dy[i];
  if (db) for (let i = 0; i < n; i++) db[i] += dy[i];
}
