/**
 * Dense matrix product C = op(A)·op(B) on row-major Float32Arrays, op = identity or transpose,
 * with its backward pass.
 *
 * Convention for every op in this folder: forward functions write their output; backward
 * functions ADD into their gradient outputs (callers zero them first), and skip a gradient
 * whose buffer is null.
 *
 * Speed: one kernel for all four layouts, addressing A and B through strides, computing C in
 * 4×4 tiles held in sixteen local accumulators (double precision, rounded once into C). Each
 * step of the reduction loads 4 + 4 values for 16 multiply-adds, which is what keeps a scalar
 * JavaScript engine near its peak; the loop order needs no transposed copy of either operand.
 * Rows and columns past the last full tile are done one dot product at a time.
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
  // op(A)[i, k] = A[i·sAi + k·sAk], op(B)[k, j] = B[k·sBk + j·sBj]
  const sAi = transA ? 1 : K;
  const sAk = transA ? M : 1;
  const sBk = transB ? 1 : N;
  const sBj = transB ? K : 1;
  gemm(M, K, N, A, 0, sAi, sAk, B, 0, sBk, sBj, C, 0, N, 1, accumulate);
}

/**
 * The strided kernel behind matmul and the per-head attention products:
 * C[cOff + i·ldc + j] (+)= alpha · Σ_k A[aOff + i·sAi + k·sAk] · B[bOff + k·sBk + j·sBj]
 * for i < M, j < N, k < K.
 */
export function gemm(
  M: number, K: number, N: number,
  A: Float32Array, aOff: number, sAi: number, sAk: number,
  B: Float32Array, bOff: number, sBk: number, sBj: number,
  C: Float32Array, cOff: number, ldc: number,
  alpha: number, accumulate: boolean,
): void {
  const M4 = M & ~3;
  const N4 = N & ~3;
  for (let i = 0; i < M4; i += 4) {
    const a0 = aOff + i * sAi, a1 = a0 + sAi, a2 = a1 + sAi, a3 = a2 + sAi;
    for (let j = 0; j < N4; j += 4) {
      const b0 = bOff + j * sBj, b1 = b0 + sBj, b2 = b1 + sBj, b3 = b2 + sBj;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let k = 0; k < K; k++) {
        const ka = k * sAk, kb = k * sBk;
        const y0 = B[b0 + kb], y1 = B[b1 + kb], y2 = B[b2 + kb], y3 = B[b3 + kb];
        let x = A[a0 + ka];
        c00 += x * y0; c01 += x * y1; c02 += x * y2; c03 += x * y3;
        x = A[a1 + ka];
        c10 += x * y0; c11 += x * y1; c12 += x * y2; c13 += x * y3;
        x = A[a2 + ka];
        c20 += x * y0; c21 += x * y1; c22 += x * y2; c23 += x * y3;
        x = A[a3 + ka];
        c30 += x * y0; c31 += x * y1; c32 += x * y2; c33 += x * y3;
      }
      if (alpha !== 1) {
        c00 *= alpha; c01 *= alpha; c02 *= alpha; c03 *= alpha; c10 *= alpha; c11 *= alpha; c12 *= alpha; c13 *= alpha;
        c20 *= alpha; c21 *= alpha; c22 *= alpha; c23 *= alpha; c30 *= alpha; c31 *= alpha; c32 *= alpha; c33 *= alpha;
      }
      const o0 = cOff + i * ldc + j, o1 = o0 + ldc, o2 = o1 + ldc, o3 = o2 + ldc;
      if (accumulate) {
        C[o0] += c00; C[o0 + 1] += c01; C[o0 + 2] += c02; C[o0 + 3] += c03;
        C[o1] += c10; C[o1 + 1] += c11; C[o1 + 2] += c12; C[o1 + 3] += c13;
        C[o2] += c20; C[o2 + 1] += c21; C[o2 + 2] += c22; C[o2 + 3] += c23;
        C[o3] += c30; C[o3 + 1] += c31; C[o3 + 2] += c32; C[o3 + 3] += c33;
      } else {
        C[o0] = c00; C[o0 + 1] = c01; C[o0 + 2] = c02; C[o0 + 3] = c03;
        C[o1] = c10; C[o1 + 1] = c11; C[o1 + 2] = c12; C[o1 + 3] = c13;
        C[o2] = c20; C[o2 + 1] = c21; C[o2 + 2] = c22; C[o2 + 3] = c23;
        C[o3] = c30; C[o3 + 1] = c31; C[o3 + 2] = c32; C[o3 + 3] = c33;
      }
    }
    if (N4 < N) dots(i, i + 4, N4, N, K, A, aOff, sAi, sAk, B, bOff, sBk, sBj, C, cOff, ldc, alpha, accumulate);
  }
  if (M4 < M) dots(M4, M, 0, N, K, A, aOff, sAi, sAk, B, bOff, sBk, sBj, C, cOff, ldc, alpha, accumulate);
}

/** gemm's edges, one dot product per entry: rows [i0, i1), columns [j0, j1). */
function dots(
  i0: number, i1: number, j0: number, j1: number, K: number,
  A: Float32Array, aOff: number, sAi: number, sAk: number,
  B: Float32Array, bOff: number, sBk: number, sBj: number,
  C: Float32Array, cOff: number, ldc: number,
  alpha: number, accumulate: boolean,
): void {
  for (let i = i0; i < i1; i++) {
    const a = aOff + i * sAi;
    for (let j = j0; j < j1; j++) {
      const b = bOff + j * sBj;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a + k * sAk] * B[b + k * sBk];
      const o = cOff + i * ldc + j;
      if (accumulate) C[o] += alpha * s;
      else C[o] = alpha * s;
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
