/**
 * The per-head pieces of (talking-heads) self-attention over padded sentences, each with its
 * backward pass: per-head scaled dot products (logits), a mix across heads, and the
 * attention-weighted sum of values.
 *
 * Layouts: projected tokens are (B, T, H, d) — a row of the (B·T, H·d) projection — and
 * attention maps are (B, H, T, T) so that the key axis is last. Only the real block
 * n, m < lengths[b] is computed; everything else in a map is written as 0, and padded
 * query rows of the outputs are 0. Padded keys therefore never reach a real query.
 *
 * Speed: every product here is, per sentence and head, a small matrix product over strided
 * views of the (B, T, H, d) rows and (T, T) maps, so each is one call of the tiled gemm kernel
 * (ops/matmul.ts) with the right strides: no transposed copies, no scratch, no allocation.
 * A full sentence (length T) is written whole; a shorter one has its block computed and the
 * rest of its map (or its padded output rows) zeroed.
 */
import { expd } from './exp';
import { gemm } from './matmul';

/** Scratch of the small-head paths and fused kernels, grown when needed (so a step allocates nothing). */
let fusedScratch = new Float64Array(0);
function scratch(n: number): Float64Array {
  if (fusedScratch.length < n) fusedScratch = new Float64Array(n);
  return fusedScratch;
}


/**
 * J[b, h, n, m] = scale · Σ_d Q[b, n, h, d] K[b, m, h, d] for n, m < lengths[b], else 0.
 * Q, K: (B, T, H, d), J: (B, H, T, T).
 */
export function headDotForward(
  Q: Float32Array, K: Float32Array, J: Float32Array, lengths: Int32Array,
  B: number, T: number, H: number, d: number, scale: number,
): void {
  const Hd = H * d;
  const TT = T * T;
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    for (let h = 0; h < H; h++) {
      const jo = (b * H + h) * TT;
      const qo = b * T * Hd + h * d; // row n of head h at qo + n·Hd
      if (len < T) J.fill(0, jo, jo + TT);
      if (d === 2) {
        // small heads: gemm's sums written out (same order), without its tiling overhead
        for (let n = 0; n < len; n++) {
          const q0 = Q[qo + n * Hd], q1 = Q[qo + n * Hd + 1];
          const jr = jo + n * T;
          for (let m = 0, ko = qo; m < len; m++, ko += Hd) J[jr + m] = scale * (q0 * K[ko] + q1 * K[ko + 1]);
        }
      } else gemm(len, d, len, Q, qo, Hd, 1, K, qo, 1, Hd, J, jo, T, scale, false);
    }
  }
}

/** dQ += scale · dJ·K, dK += scale · dJᵀ·Q over the real block; dJ: (B, H, T, T). */
export function headDotBackward(
  Q: Float32Array, K: Float32Array, dJ: Float32Array,
  dQ: Float32Array | null, dK: Float32Array | null, lengths: Int32Array,
  B: number, T: number, H: number, d: number, scale: number,
): void {
  const Hd = H * d;
  const TT = T * T;
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    for (let h = 0; h < H; h++) {
      const jo = (b * H + h) * TT;
      const qo = b * T * Hd + h * d;
      if (d === 2) {
        const S = scratch(2 * T); // Σ_n dJ[n, m] Q[n, :] per key m, in double
        S.fill(0, 0, 2 * len);
        for (let n = 0; n < len; n++) {
          const jr = jo + n * T;
          const o = qo + n * Hd;
          const q0 = Q[o], q1 = Q[o + 1];
          let s0 = 0, s1 = 0;
          for (let m = 0, ko = qo; m < len; m++, ko += Hd) {
            const g = dJ[jr + m];
            s0 += g * K[ko];
            s1 += g * K[ko + 1];
            S[2 * m] += g * q0;
            S[2 * m + 1] += g * q1;
          }
          if (dQ) {
            dQ[o] += scale * s0;
            dQ[o + 1] += scale * s1;
          }
        }
        if (dK) {
          for (let m = 0, ko = qo; m < len; m++, ko += Hd) {
            dK[ko] += scale * S[2 * m];
            dK[ko + 1] += scale * S[2 * m + 1];
          }
        }
        continue;
      }
      if (dQ) gemm(len, len, d, dJ, jo, T, 1, K, qo, Hd, 1, dQ, qo, Hd, scale, true);
      if (dK) gemm(len, len, d, dJ, jo, 1, T, Q, qo, Hd, 1, dK, qo, Hd, scale, true);
    }
  }
}

/**
 * Y[b, o, n, m] = Σ_i X[b, i, n, m] P[i, o] over the real block (else 0) — the talking-heads
 * mix across heads. X: (B, Hin, T, T), P: (Hin, Hout), Y: (B, Hout, T, T).
 */
export function headMixForward(
  X: Float32Array, P: Float32Array, Y: Float32Array, lengths: Int32Array,
  B: number, T: number, Hin: number, Hout: number,
): void {
  const TT = T * T;
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    if (len === T) {
      // A full sentence's maps are one (Hin, T·T) matrix: Y[b] = Pᵀ·X[b].
      gemm(Hout, Hin, TT, P, 0, 1, Hout, X, b * Hin * TT, TT, 1, Y, b * Hout * TT, TT, 1, false);
      continue;
    }
    Y.fill(0, b * Hout * TT, (b + 1) * Hout * TT);
    const rows = len;
    const span = len;
    for (let i = 0; i < Hin; i++) {
      const xo = (b * Hin + i) * TT;
      for (let o = 0; o < Hout; o++) {
        const p = P[i * Hout + o];
        if (p === 0) continue;
        const yo = (b * Hout + o) * TT;
        for (let n = 0; n < rows; n++) {
          const r = n * T;
          for (let m = 0; m < span; m++) Y[yo + r + m] += p * X[xo + r + m];
        }
      }
    }
  }
}

/** dX += dY mixed back by Pᵀ, dP[i, o] += Σ_{b,n,m} X[b, i, n, m] dY[b, o, n, m]; dY: (B, Hout, T, T). */
export function headMixBackward(
  X: Float32Array, P: Float32Array, dY: Float32Array,
  dX: Float32Array | null, dP: Float32Array | null, lengths: Int32Array,
  B: number, T: number, Hin: number, Hout: number,
): void {
  const TT = T * T;
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    if (len === T) {
      const xo = b * Hin * TT, yo = b * Hout * TT;
      if (dX) gemm(Hin, Hout, TT, P, 0, Hout, 1, dY, yo, TT, 1, dX, xo, TT, 1, true); // dX[b] += P·dY[b]
      if (dP) gemm(Hin, TT, Hout, X, xo, TT, 1, dY, yo, 1, TT, dP, 0, Hout, 1, true); // dP += X[b]·dY[b]ᵀ
      continue;
    }
    const rows = len;
    const span = len;
    for (let i = 0; i < Hin; i++) {
      const xo = (b * Hin + i) * TT;
      for (let o = 0; o < Hout; o++) {
        const yo = (b * Hout + o) * TT;
        const p = P[i * Hout + o];
        let s = 0;
        for (let n = 0; n < rows; n++) {
          const r = n * T;
          if (dX) {
            for (let m = 0; m < span; m++) {
              const g = dY[yo + r + m];
              s += X[xo + r + m] * g;
              dX[xo + r + m] += p * g;
            }
          } else {
            for (let m = 0; m < span; m++) s += X[xo + r + m] * dY[yo + r + m];
          }
        }
        if (dP) dP[i * Hout + o] += s;
      }
    }
  }
}

/**
 * O[b, n, h, :] = Σ_{m < len} A[b, h, n, m] V[b, m, h, :] for n < lengths[b], else 0.
 * A: (B, H, T, T), V: (B, T, H, d), O: (B, T, H, d).
 */
export function headWeightedSumForward(
  A: Float32Array, V: Float32Array, O: Float32Array, lengths: Int32Array,
  B: number, T: number, H: number, d: number,
): void {
  const Hd = H * d;
  const TT = T * T;
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    if (len < T) O.fill(0, (b * T + len) * Hd, (b + 1) * T * Hd);
    for (let h = 0; h < H; h++) {
      const vo = b * T * Hd + h * d;
      const ao = (b * H + h) * TT;
      if (d === 2) {
        for (let n = 0; n < len; n++) {
          const ar = ao + n * T;
          let s0 = 0, s1 = 0;
          for (let m = 0, o = vo; m < len; m++, o += Hd) {
            const a = A[ar + m];
            s0 += a * V[o];
            s1 += a * V[o + 1];
          }
          O[vo + n * Hd] = s0;
          O[vo + n * Hd + 1] = s1;
        }
      } else gemm(len, len, d, A, ao, T, 1, V, vo, Hd, 1, O, vo, Hd, 1, false);
    }
  }
}

/** dA[b, h, n, m] += dO[b, n, h, :]·V[b, m, h, :], dV[b, m, h, :] += Σ_n A[b, h, n, m] dO[b, n, h, :]. */
export function headWeightedSumBackward(
  A: Float32Array, V: Float32Array, dO: Float32Array,
  dA: Float32Array | null, dV: Float32Array | null, lengths: Int32Array,
  B: number, T: number, H: number, d: number,
): void {
  const Hd = H * d;
  const TT = T * T;
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    for (let h = 0; h < H; h++) {
      const ao = (b * H + h) * TT;
      const vo = b * T * Hd + h * d;
      if (d === 2) {
        const S = scratch(2 * T); // Σ_n A[n, m] dO[n, :] per key m, in double
        S.fill(0, 0, 2 * len);
        for (let n = 0; n < len; n++) {
          const ar = ao + n * T;
          const g0 = dO[vo + n * Hd], g1 = dO[vo + n * Hd + 1];
          for (let m = 0, o = vo; m < len; m++, o += Hd) {
            if (dA) dA[ar + m] += g0 * V[o] + g1 * V[o + 1];
            const a = A[ar + m];
            S[2 * m] += a * g0;
            S[2 * m + 1] += a * g1;
          }
        }
        if (dV) {
          for (let m = 0, o = vo; m < len; m++, o += Hd) {
            dV[o] += S[2 * m];
            dV[o + 1] += S[2 * m + 1];
          }
        }
        continue;
      }
      if (dA) gemm(len, d, len, dO, vo, Hd, 1, V, vo, 1, Hd, dA, ao, T, 1, true);
      if (dV) gemm(len, len, d, A, ao, 1, T, dO, vo, Hd, 1, dV, vo, Hd, 1, true);
    }
  }
}

/**
 * Multi-head attention in one pass per sentence and head: the logits, the masked softmax and
 * the weighted sum of values, without writing the logits out. Produces exactly (bit for bit)
 * what headDotForward → maskedSoftmaxForward (rows per length H·T) → headWeightedSumForward
 * produce: the same sums in the same order, rounded to float32 where those store.
 * Q, K, V: (B, T, H, d); W: (B, H, T, T) the attention weights (padded query rows get the
 * softmax of zero logits, as the unfused path gives); O: (B, T, H, d), padded rows 0.
 * Each sentence's keys and values are first transposed to (H, d, T) in a double-precision
 * scratch, so every inner loop runs over contiguous keys.
 */
export function multiHeadAttentionForward(
  Q: Float32Array, K: Float32Array, V: Float32Array, W: Float32Array, O: Float32Array, lengths: Int32Array,
  B: number, T: number, H: number, d: number, scale: number,
): void {
  const Hd = H * d;
  const TT = T * T;
  const S = scratch(2 * Hd * T + T);
  const vt = Hd * T; // Kt at 0, Vt at vt: (H, d, T)
  const ro = 2 * Hd * T; // one row of logits (T)
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    const xb = b * T * Hd;
    for (let m = 0; m < len; m++) {
      const xo = xb + m * Hd;
      for (let c = 0; c < Hd; c++) {
        S[c * T + m] = K[xo + c];
        S[vt + c * T + m] = V[xo + c];
      }
    }
    if (len < T) O.fill(0, xb + len * Hd, xb + T * Hd);
    const pad = Math.fround(1 / len);
    for (let h = 0; h < H; h++) {
      const wo = (b * H + h) * TT;
      if (d === 2) {
        // The small-heads case, each loop fused over the keys with the head's two
        // coordinates in locals; the same arithmetic in the same order as below.
        const k0 = h * 2 * T, k1 = k0 + T, v0 = vt + k0, v1 = v0 + T;
        for (let n = 0; n < len; n++) {
          const qo = xb + n * Hd + h * 2;
          const q0 = Q[qo], q1 = Q[qo + 1];
          let mx = -Infinity;
          for (let m = 0; m < len; m++) {
            const j = Math.fround(scale * (q0 * S[k0 + m] + q1 * S[k1 + m]));
            S[ro + m] = j;
            if (j > mx) mx = j;
          }
          const wr = wo + n * T;
          let z = 0;
          for (let m = 0; m < len; m++) {
            const ex = Math.fround(expd(S[ro + m] - mx));
            S[ro + m] = ex;
            z += ex;
          }
          const inv = 1 / z;
          let o0 = 0, o1 = 0;
          for (let m = 0; m < len; m++) {
            const w = Math.fround(S[ro + m] * inv);
            W[wr + m] = w;
            o0 += w * S[v0 + m];
            o1 += w * S[v1 + m];
          }
          if (len < T) W.fill(0, wr + len, wr + T);
          O[qo] = o0;
          O[qo + 1] = o1;
        }
      } else for (let n = 0; n < len; n++) {
        const qo = xb + n * Hd + h * d;
        for (let m = 0; m < len; m++) S[ro + m] = 0;
        for (let e = 0; e < d; e++) {
          const q = Q[qo + e];
          const ko = (h * d + e) * T;
          for (let m = 0; m < len; m++) S[ro + m] += q * S[ko + m];
        }
        let mx = -Infinity;
        for (let m = 0; m < len; m++) {
          const j = Math.fround(scale * S[ro + m]);
          S[ro + m] = j;
          if (j > mx) mx = j;
        }
        const wr = wo + n * T;
        let z = 0;
        for (let m = 0; m < len; m++) {
          const ex = expd(S[ro + m] - mx);
          W[wr + m] = ex;
          z += ex;
        }
        const inv = 1 / z;
        for (let m = 0; m < len; m++) W[wr + m] *= inv;
        if (len < T) W.fill(0, wr + len, wr + T);
        for (let e = 0; e < d; e++) {
          const vo = vt + (h * d + e) * T;
          let s = 0;
          for (let m = 0; m < len; m++) s += W[wr + m] * S[vo + m];
          O[qo + e] = s;
        }
      }
      for (let n = len; n < T; n++) {
        const wr = wo + n * T;
        W.fill(pad, wr, wr + len);
        W.fill(0, wr + len, wr + T);
      }
    }
  }
}

/**
 * Backward of multiHeadAttentionForward in one pass per sentence and head: dQ, dK, dV +=
 * their gradients given dO (B, T, H, d), with neither ∂W nor ∂logits written out. Bit for bit
 * what headWeightedSumBackward → softmaxBackward → headDotBackward add into zeroed buffers.
 */
export function multiHeadAttentionBackward(
  Q: Float32Array, K: Float32Array, V: Float32Array, W: Float32Array, dO: Float32Array,
  dQ: Float32Array, dK: Float32Array, dV: Float32Array, lengths: Int32Array,
  B: number, T: number, H: number, d: number, scale: number,
): void {
  const Hd = H * d;
  const TT = T * T;
  const HdT = Hd * T;
  const S = scratch(4 * HdT + T);
  // (H, d, T) blocks: Kt, Vt, then the double-precision sums of dK and dV; one row (T).
  const vt = HdT, dkt = 2 * HdT, dvt = 3 * HdT, ro = 4 * HdT;
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    const xb = b * T * Hd;
    for (let m = 0; m < len; m++) {
      const xo = xb + m * Hd;
      for (let c = 0; c < Hd; c++) {
        S[c * T + m] = K[xo + c];
        S[vt + c * T + m] = V[xo + c];
        S[dkt + c * T + m] = 0;
        S[dvt + c * T + m] = 0;
      }
    }
    for (let h = 0; h < H; h++) {
      const wo = (b * H + h) * TT;
      if (d === 2) {
        // The small-heads case: the loops below fused over the keys, same order of sums.
        const k0 = h * 2 * T, k1 = k0 + T;
        const v0 = vt + k0, v1 = v0 + T, dk0 = dkt + k0, dk1 = dk0 + T, dv0 = dvt + k0, dv1 = dv0 + T;
        for (let n = 0; n < len; n++) {
          const qo = xb + n * Hd + h * 2;
          const wr = wo + n * T;
          const g0 = dO[qo], g1 = dO[qo + 1];
          let dot = 0;
          for (let m = 0; m < len; m++) {
            const y = W[wr + m];
            const dw = Math.fround(g0 * S[v0 + m] + g1 * S[v1 + m]);
            S[ro + m] = dw;
            dot += y * dw;
            S[dv0 + m] += y * g0;
            S[dv1 + m] += y * g1;
          }
          const q0 = Q[qo], q1 = Q[qo + 1];
          let s0 = 0, s1 = 0;
          for (let m = 0; m < len; m++) {
            const y = W[wr + m];
            const dj = y !== 0 ? Math.fround(y * (S[ro + m] - dot)) : 0;
            s0 += dj * S[k0 + m];
            s1 += dj * S[k1 + m];
            S[dk0 + m] += dj * q0;
            S[dk1 + m] += dj * q1;
          }
          dQ[qo] += scale * s0;
          dQ[qo + 1] += scale * s1;
        }
        continue;
      }
      for (let n = 0; n < len; n++) {
        const qo = xb + n * Hd + h * d;
        const wr = wo + n * T;
        // ∂W row = dO[n]·Vᵀ, rounded as a float32 buffer would hold it
        for (let m = 0; m < len; m++) S[ro + m] = 0;
        for (let e = 0; e < d; e++) {
          const g = dO[qo + e];
          const vo = vt + (h * d + e) * T;
          const dvo = dvt + (h * d + e) * T;
          for (let m = 0; m < len; m++) {
            S[ro + m] += g * S[vo + m];
            S[dvo + m] += W[wr + m] * g;
          }
        }
        let dot = 0;
        for (let m = 0; m < len; m++) {
          const dw = Math.fround(S[ro + m]);
          S[ro + m] = dw;
          dot += W[wr + m] * dw;
        }
        // ∂logits row, then its two products
        for (let m = 0; m < len; m++) {
          const y = W[wr + m];
          S[ro + m] = y !== 0 ? Math.fround(y * (S[ro + m] - dot)) : 0;
        }
        for (let e = 0; e < d; e++) {
          const ko = (h * d + e) * T;
          const dko = dkt + ko;
          const q = Q[qo + e];
          let s = 0;
          for (let m = 0; m < len; m++) {
            const dj = S[ro + m];
            s += dj * S[ko + m];
            S[dko + m] += dj * q;
          }
          dQ[qo + e] += scale * s;
        }
      }
    }
    for (let m = 0; m < len; m++) {
      const xo = xb + m * Hd;
      for (let c = 0; c < Hd; c++) {
        dK[xo + c] += scale * S[dkt + c * T + m];
        dV[xo + c] += S[dvt + c * T + m];
      }
    }
  }
}
