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
 * Speed: heads are small (d of 1–2), so the loops run over keys m, not over d: each sentence's
 * K or V is first transposed into a small per-call scratch (H, d, T), which turns every inner
 * loop into a contiguous dot product or axpy of length T.
 */


/** Copy X[b] (T, H, d) into Xt (H, d, T) for the first len positions. */
function transposeIn(X: Float32Array, Xt: Float32Array, b: number, T: number, Hd: number, len: number): void {
  for (let m = 0; m < len; m++) {
    const xo = (b * T + m) * Hd;
    for (let c = 0; c < Hd; c++) Xt[c * T + m] = X[xo + c];
  }
}

/** dX[b] (T, H, d) += dXt (H, d, T) for the first len positions. */
function transposeAddOut(dXt: Float32Array, dX: Float32Array, b: number, T: number, Hd: number, len: number): void {
  for (let m = 0; m < len; m++) {
    const xo = (b * T + m) * Hd;
    for (let c = 0; c < Hd; c++) dX[xo + c] += dXt[c * T + m];
  }
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
  const Kt = new Float32Array(Hd * T); // (H, d, T) one sentence's keys
  J.fill(0, 0, B * H * T * T);
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    transposeIn(K, Kt, b, T, Hd, len);
    for (let h = 0; h < H; h++) {
      const jo = (b * H + h) * T * T;
      for (let n = 0; n < len; n++) {
        const qo = (b * T + n) * Hd + h * d;
        const jr = jo + n * T;
        for (let e = 0; e < d; e++) {
          const q = Q[qo + e] * scale;
          const ko = (h * d + e) * T;
          for (let m = 0; m < len; m++) J[jr + m] += q * Kt[ko + m];
        }
      }
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
  const Kt = new Float32Array(Hd * T); // (H, d, T)
  const dKt = new Float32Array(Hd * T); // (H, d, T)
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    if (dQ) transposeIn(K, Kt, b, T, Hd, len);
    if (dK) dKt.fill(0);
    for (let h = 0; h < H; h++) {
      const jo = (b * H + h) * T * T;
      for (let n = 0; n < len; n++) {
        const qo = (b * T + n) * Hd + h * d;
        const jr = jo + n * T;
        for (let e = 0; e < d; e++) {
          const ko = (h * d + e) * T;
          if (dQ) {
            let s = 0;
            for (let m = 0; m < len; m++) s += dJ[jr + m] * Kt[ko + m];
            dQ[qo + e] += s * scale;
          }
          if (dK) {
            const q = Q[qo + e] * scale;
            for (let m = 0; m < len; m++) dKt[ko + m] += q * dJ[jr + m];
          }
        }
      }
    }
    if (dK) transposeAddOut(dKt, dK, b, T, Hd, len);
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
  Y.fill(0, 0, B * Hout * TT);
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    // A full sentence's block is the whole contiguous (T, T) map: one loop of T·T.
    const rows = len === T ? 1 : len;
    const span = len === T ? TT : len;
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
    const rows = len === T ? 1 : len;
    const span = len === T ? TT : len;
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
  const Vt = new Float32Array(Hd * T); // (H, d, T) one sentence's values
  O.fill(0, 0, B * T * Hd);
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    transposeIn(V, Vt, b, T, Hd, len);
    for (let h = 0; h < H; h++) {
      const ao = (b * H + h) * T * T;
      for (let n = 0; n < len; n++) {
        const oo = (b * T + n) * Hd + h * d;
        const ar = ao + n * T;
        for (let e = 0; e < d; e++) {
          const vo = (h * d + e) * T;
          let s = 0;
          for (let m = 0; m < len; m++) s += A[ar + m] * Vt[vo + m];
          O[oo + e] = s;
        }
      }
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
  const Vt = new Float32Array(Hd * T); // (H, d, T)
  const dVt = new Float32Array(Hd * T); // (H, d, T)
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lengths[b]);
    if (dA) transposeIn(V, Vt, b, T, Hd, len);
    if (dV) dVt.fill(0);
    for (let h = 0; h < H; h++) {
      const ao = (b * H + h) * T * T;
      for (let n = 0; n < len; n++) {
        const oo = (b * T + n) * Hd + h * d;
        const ar = ao + n * T;
        for (let e = 0; e < d; e++) {
          const g = dO[oo + e];
          if (g === 0) continue;
          const vo = (h * d + e) * T;
          if (dA) for (let m = 0; m < len; m++) dA[ar + m] += g * Vt[vo + m];
          if (dV) for (let m = 0; m < len; m++) dVt[vo + m] += g * A[ar + m];
        }
      }
    }
    if (dV) transposeAddOut(dVt, dV, b, T, Hd, len);
  }
}
