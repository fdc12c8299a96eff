/** Embedding lookup: gather rows of a table by id, and its backward, a scatter-add. */

/**
 * out[n, :] (+)= table[ids[n], :]; table: (V, D), ids: (N), out: (N, D).
 * accumulate: add into out (used to add position embeddings on top of token embeddings).
 */
export function embeddingGather(
  table: Float32Array, ids: Int32Array, out: Float32Array, N: number, D: number, accumulate = false,
): void {
  for (let n = 0; n < N; n++) {
    const t = ids[n] * D;
    const o = n * D;
    if (accumulate) for (let d = 0; d < D; d++) out[o + d] += table[t + d];
    else for (let d = 0; d < D; d++) out[o + d] = table[t + d];
  }
}

/** dTable[ids[n], :] += dOut[n, :]; dOut: (N, D), dTable: (V, D). */
export function embeddingScatterAdd(dOut: Float32Array, ids: Int32Array, dTable: Float32Array, N: number, D: number): void {
  for (let n = 0; n < N; n++) {
    const t = ids[n] * D;
    const o = n * D;
    for (let d = 0; d < D; d++) dTable[t + d] += dOut[o + d];
  }
}
