/**
 * Dense matrix product C = op(A)·op(B) on row-major Float32Arrays, op = identity or transpose,
 * with its backward pass.
 *
 * Convention for every op in this folder: forward functions write their output; backward
 * functions ADD into their gradient outputs (callers zero them first), and skip a gradient
 * whose buffer is null.
 */

/**
 * C = op(A)·op(B), op(A): (M, K), op(B): (K, N), C: (M, N).
 * A is stored (M, K), or (K, M) when transA; B is stored (K, N), or (N, K) when transB.
 * accumulate: add into C instead of overwriting it.
 */
export function matmul(
  A: Float32Array, B: Float32Array, C: Float32Array,
  M: number, K: number, N: number,
  transA = false, transB = false, accumulate = false,
): void {
  if (!accumulate) C.fill(0, 0, M * N);
  if (!transA && !transB) {
    // i-k-j: the inner loop walks a row of B and a row of C.
    for (let i = 0; i < M; i++) {
      const ci = i * N;
      const ai = i * K;
      for (let k = 0; k < K; k++) {
        const a = A[ai + k];
        if (a === 0) continue;
        const bk = k * N;
        for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
      }
    }
  } else if (!transA && transB) {
    // Dot products of rows of A with rows of B, accumulated in double precision.
    for (let i = 0; i < M; i++) {
      const ci = i * N;
      const ai = i * K;
      for (let j = 0; j < N; j++) {
        const bj = j * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[ai + k] * B[bj + k];
        C[ci + j] += s;
      }
    }
  } else if (transA && !transB) {
    // k-i-j: A[k, i] scales row k of B into row i of C.
    for (let k = 0; k < K; k++) {
      const ak = k * M;
      const bk = k * N;
      for (let i = 0; i < M; i++) {
        const a = A[ak + i];
        if (a === 0) continue;
        const ci = i * N;
        for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
      }
    }
  } else {
    // C[i, j] = Σ_k A[k, i] B[j, k]
    for (let i = 0; i < M; i++) {
      const ci = i * N;
      for (let j = 0; j < N; j++) {
        const bj = j * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[k * M + i] * B[bj + k];
        C[ci + j] += s;
      }
    }
  }
}

/**
 * Backward of C = op(A)·op(B): dA += ∂/∂A, dB += ∂/∂B given dC: (M, N).
 * dA and dB have the stored shapes of A and B.
 */
export function matmulBackward(
  A: Float32Array, B: Float32Array, dC: Float32Array,
  dA: Float32Array | null, dB: Float32Array | null,
  M: number, K: number, N: number,
  transA = false, transB = false,
): void {
  if (!transA && !transB) {
    if (dA) matmul(dC, B, dA, M, N, K, false, true, true); // (M, K) = (M, N)·(N, K)
    if (dB) matmul(A, dC, dB, K, M, N, true, false, true); // (K, N) = (K, M)·(M, N)
  } else if (transA && !transB) {
    if (dA) matmul(B, dC, dA, K, N, M, false, true, true); // (K, M) = (K, N)·(N, M)
    if (dB) matmul(A, dC, dB, K, M, N, false, false, true); // (K, N) = (K, M)·(M, N)
  } else if (!transA && transB) {
    if (dA) matmul(dC, B, dA, M, N, K, false, false, true); // (M, K) = (M, N)·(N, K)
    if (dB) matmul(dC, A, dB, N, M, K, true, false, true); // (N, K) = (N, M)·(M, K)
  } else {
    if (dA) matmul(B, dC, dA, K, N, M, true, true, true); // (K, M) = (K, N)·(N, M)
    if (dB) matmul(dC, A, dB, N, M, K, true, true, true); // (N, K) = (N, M)·(M, K)
  }
}
