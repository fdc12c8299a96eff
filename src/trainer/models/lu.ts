/**
 * The attention classifier of Lu, Mao & Nayak (ICLR 2021), as a fused forward/backward kernel.
 *
 *   s_u = qᵀ k_u                      score of word u            q: (dKey), k: (V, dKey)
 *   a   = softmax over the sentence    attention                  (len)
 *   v   = Σ_i a_i w_{t_i}              context                    w: (V, dEmb) → v: (dEmb)
 *   logits = classifier(v)             FC | TC | TL               (C)
 *   loss = mean cross-entropy
 *
 * The score depends only on the word, so it is computed once per vocabulary word per step
 * (V·dKey work) instead of once per token, and its gradient is accumulated per word and
 * turned into key/query gradients once per step. That is what makes a paper-size epoch
 * (3,999 sentences × 21 tokens) take a few milliseconds.
 */
import { makeParam, type AttentionMap, type Batch, type BatchResult, type Model, type Param } from '../core';
import type { LuModelConfig } from '../config';
import type { Rng } from '../rng';

export class LuModel implements Model {
  readonly kind = 'lu' as const;
  readonly params: Param[];
  readonly embeddings: Param; // (V, dEmb)
  readonly keys: Param; // (V, dKey)
  readonly query: Param; // (dKey)
  /** FC/TC: W (dEmb, C). TL: W1 (dEmb, H), b1 (H), W2 (H, C), b2 (C). */
  readonly classifier: Param[];
  readonly V: number;
  readonly D: number;
  readonly K: number;
  readonly H: number;

  // Scratch, reused every step.
  private readonly score: Float32Array; // (V) s_u
  private readonly E: Float64Array; // (V) exp(s_u − max s)
  private readonly R: Float64Array; // (V) see run()
  private readonly seen: Int32Array; // (V) stamps for uniqueWords
  private stampNo = 0;
  private uniq: Int32Array | undefined;
  private uniqBatch: Batch | undefined;
  private P = new Float64Array(0); // (V, C') projected embeddings p_u = Aᵀw_u
  private G = new Float64Array(0); // (V, C') see run()
  private h = new Float64Array(0); // (C') first-layer output of one sentence
  private At = new Float64Array(0); // (C', D)
  private ex = new Float64Array(0); // (C) exp of the logits
  private dh = new Float64Array(0); // (C')
  private logits: Float64Array; // (C)
  /** TL classifier's b1 (H), W2 (H, C), b2 (C) and their gradients; empty for FC/TC. */
  private readonly tlParts: { b1: Float32Array; W2: Float32Array; b2: Float32Array; gb1: Float32Array; gW2: Float32Array; gb2: Float32Array };
  private a: Float64Array; // (T) attention of one sentence

  constructor(
    readonly cfg: LuModelConfig,
    vocabSize: number,
    readonly numClasses: number,
    rng: Rng,
  ) {
    const V = (this.V = vocabSize);
    const D = (this.D = cfg.dEmb);
    const K = (this.K = cfg.dKey);
    const C = numClasses;
    const H = (this.H = cfg.hidden);
    this.embeddings = makeParam('embeddings', 'embeddings', [V, D], cfg.trainable.embeddings);
    this.keys = makeParam('keys', 'keys', [V, K], cfg.trainable.keys);
    this.query = makeParam('query', 'query', [K], cfg.trainable.query);
    // Init as the official code: query N(0, 0.3²), keys zero, embeddings N(0, embStd²).
    rng.fork().fillNormal(this.query.w, cfg.queryStd);
    if (cfg.queryNorm !== undefined) {
      let n = 0;
      for (const x of this.query.w) n += x * x;
      n = Math.sqrt(n);
      if (n > 0) for (let j = 0; j < K; j++) this.query.w[j] = (this.query.w[j]! * cfg.queryNorm) / n;
    }
    rng.fork().fillNormal(this.embeddings.w, cfg.embStd);
    const crng = rng.fork();
    switch (cfg.classifier) {
      case 'FC': {
        // Frozen W ~ N(0,1) with its diagonal set to 1.
        const W = makeParam('classifier.W', 'classifier', [D, C], false);
        crng.fillNormal(W.w, 1);
        for (let i = 0; i < Math.min(D, C); i++) W.w[i * C + i] = 1;
        this.classifier = [W];
        break;
      }
      case 'TC': {
        const W = makeParam('classifier.W', 'classifier', [D, C]);
        const b = 1 / Math.sqrt(D); // PyTorch's Linear default
        crng.fillUniform(W.w, -b, b);
        this.classifier = [W];
        break;
      }
      case 'TL': {
        const W1 = makeParam('classifier.W1', 'classifier', [D, H]);
        const b1 = makeParam('classifier.b1', 'classifier', [H]);
        const W2 = makeParam('classifier.W2', 'classifier', [H, C]);
        const b2 = makeParam('classifier.b2', 'classifier', [C]);
        const s1 = 1 / Math.sqrt(D);
        const s2 = 1 / Math.sqrt(H);
        crng.fillUniform(W1.w, -s1, s1);
        crng.fillUniform(b1.w, -s1, s1);
        crng.fillUniform(W2.w, -s2, s2);
        crng.fillUniform(b2.w, -s2, s2);
        this.classifier = [W1, b1, W2, b2];
        break;
      }
    }
    this.params = [this.embeddings, this.keys, this.query, ...this.classifier];
    const none = new Float32Array(0);
    const c = this.classifier;
    this.tlParts =
      cfg.classifier === 'TL'
        ? { b1: c[1]!.w, W2: c[2]!.w, b2: c[3]!.w, gb1: c[1]!.g, gW2: c[2]!.g, gb2: c[3]!.g }
        : { b1: none, W2: none, b2: none, gb1: none, gW2: none, gb2: none };
    this.score = new Float32Array(V);
    this.E = new Float64Array(V);
    this.R = new Float64Array(V);
    this.seen = new Int32Array(V);
    this.logits = new Float64Array(C);
    this.a = new Float64Array(64);
  }

  /** s_u = qᵀk_u for one word (the identity reads a few topic words every step). */
  scoreOf(u: number): number {
    const q = this.query.w;
    const k = this.keys.w;
    const o = u * this.K;
    let acc = 0;
    for (let j = 0; j < this.K; j++) acc += q[j]! * k[o + j]!;
    return acc;
  }

  /** s_u = qᵀk_u for every vocabulary word. */
  computeScores(): Float32Array {
    const { V, K } = this;
    const q = this.query.w;
    const k = this.keys.w;
    const s = this.score;
    for (let u = 0; u < V; u++) {
      let acc = 0;
      const o = u * K;
      for (let j = 0; j < K; j++) acc += q[j]! * k[o + j]!;
      s[u] = acc;
    }
    return s;
  }

  trainBatch(batch: Batch): BatchResult {
    return this.run(batch, true);
  }

  evaluate(batch: Batch): BatchResult {
    return this.run(batch, false);
  }

  private ensureLen(T: number): void {
    if (this.a.length < T) {
      this.a = new Float64Array(T);
    }
  }

  /** Softmax attention of one sentence into this.a; returns its length. */
  private attend(tokens: Int32Array, off: number, len: number, score: Float32Array): void {
    const a = this.a;
    let max = -Infinity;
    for (let i = 0; i < len; i++) {
      const s = score[tokens[off + i]!]!;
      if (s > max) max = s;
    }
    let z = 0;
    for (let i = 0; i < len; i++) {
      const e = Math.exp(score[tokens[off + i]!]! - max);
      a[i] = e;
      z += e;
    }
    const inv = 1 / z;
    for (let i = 0; i < len; i++) a[i] = a[i]! * inv;
  }

  /**
   * Forward (and backward when training) over a batch.
   *
   * The classifier's first layer is linear in v (FC/TC: logits = Aᵀv; TL: hidden = Aᵀv + b1),
   * with A (dEmb, C') and C' = C or H. So everything per token can be done in C' dimensions
   * on the projected embeddings p_u = Aᵀw_u, and with E_u = exp(s_u − max s):
   *   h_b  = Σ_i a_i p_{t_i},  a_i = E_{t_i} / Σ_j E_{t_j}                        (C')
   * Backward, with dh_b = ∂L/∂h_b:
   *   G_u  = Σ_{occurrences i of u} a_i dh_b        → ∂w_u = A G_u,  ∂A = Σ_u w_u G_uᵀ
   *   R_u  = Σ_{occurrences i of u} a_i (h_b·dh_b)
   *   ∂s_u = p_u·G_u − R_u                           (= Σ a_i (da_i − Σ_j a_j da_j))
   * which is the same gradient as the textbook per-token form, at 2C'+2 flops per token.
   */
  private run(batch: Batch, train: boolean): BatchResult {
    const { D, H } = this;
    const C = this.numClasses;
    const { B, T, tokens, lengths, labels } = batch;
    const tl = this.cfg.classifier === 'TL';
    const Cp = tl ? H : C; // C'
    this.ensureScratch(Cp);
    const uniq = this.uniqueWords(batch);
    const nu = uniq.length;
    const score = this.computeScores();
    const A = this.classifier[0]!.w; // (D, C')
    const At = this.At; // (C', D) = Aᵀ, for contiguous dot products
    for (let d = 0; d < D; d++) for (let c = 0; c < Cp; c++) At[c * D + d] = A[d * Cp + c]!;
    const emb = this.embeddings.w; // (V, D)
    const E = this.E; // (V)
    const P = this.P; // (V, C')
    const G = this.G; // (V, C')
    const R = this.R; // (V)
    // E_u and p_u for the words of this batch.
    let smax = -Infinity;
    for (let k = 0; k < nu; k++) {
      const s = score[uniq[k]!]!;
      if (s > smax) smax = s;
    }
    for (let k = 0; k < nu; k++) {
      const u = uniq[k]!;
      E[u] = Math.exp(score[u]! - smax);
      const eo = u * D;
      const po = u * Cp;
      if (Cp === 4) {
        let p0 = 0, p1 = 0, p2 = 0, p3 = 0;
        for (let d = 0; d < D; d++) {
          const x = emb[eo + d]!;
          const ao = d << 2;
          p0 += x * A[ao]!;
          p1 += x * A[ao + 1]!;
          p2 += x * A[ao + 2]!;
          p3 += x * A[ao + 3]!;
        }
        P[po] = p0; P[po + 1] = p1; P[po + 2] = p2; P[po + 3] = p3;
      } else {
        for (let c = 0; c < Cp; c++) {
          let acc = 0;
          const to = c * D;
          for (let d = 0; d < D; d++) acc += emb[eo + d]! * At[to + d]!;
          P[po + c] = acc;
        }
      }
      if (train) {
        for (let c = 0; c < Cp; c++) G[po + c] = 0;
        R[u] = 0;
      }
    }
    const h = this.h;
    const dh = this.dh;
    this.ensureLen(T);
    const logits = this.logits;
    const ex = this.ex;
    const { b1, W2, b2, gb1, gW2, gb2 } = this.tlParts;
    if (train) this.zeroGrads();
    const invB = 1 / B;
    let lossSum = 0;
    let correct = 0;
    for (let b = 0; b < B; b++) {
      const off = b * T;
      const len = lengths[b]!;
      // h_b = Σ a_i p_{t_i}   (C')
      let z = Cp === 4 ? this.pool4(tokens, off, len) : this.pool(tokens, off, len, Cp);
      if (!(z > 1e-250)) z = this.stableSentence(tokens, off, len, score, Cp);
      const invZ = 1 / z;
      for (let c = 0; c < Cp; c++) h[c] *= invZ;
      // logits (C)
      if (tl) {
        for (let c = 0; c < C; c++) {
          let acc = b2[c]!;
          for (let j = 0; j < H; j++) {
            const x = h[j]! + b1[j]!;
            if (x > 0) acc += x * W2[j * C + c]!;
          }
          logits[c] = acc;
        }
      } else {
        for (let c = 0; c < C; c++) logits[c] = h[c]!;
      }
      // cross-entropy
      const y = labels[b]!;
      let max = -Infinity;
      let arg = 0;
      for (let c = 0; c < C; c++) {
        if (logits[c]! > max) {
          max = logits[c]!;
          arg = c;
        }
      }
      if (arg === y) correct++;
      let zc = 0;
      for (let c = 0; c < C; c++) zc += ex[c] = Math.exp(logits[c]! - max);
      lossSum += Math.log(zc) + max - logits[y]!;
      if (!train) continue;
      // dlogits = (softmax − onehot) / B, written over logits   (C)
      const invZc = invB / zc;
      for (let c = 0; c < C; c++) logits[c] = ex[c]! * invZc;
      logits[y] -= invB;
      // dh_b   (C')
      if (tl) {
        for (let j = 0; j < H; j++) {
          const x = h[j]! + b1[j]!;
          let acc = 0;
          if (x > 0) {
            for (let c = 0; c < C; c++) {
              const g = logits[c]!;
              acc += g * W2[j * C + c]!;
              gW2[j * C + c] += x * g;
            }
          }
          dh[j] = acc;
          gb1[j] += acc;
        }
        for (let c = 0; c < C; c++) gb2[c] += logits[c]!;
      } else {
        for (let c = 0; c < C; c++) dh[c] = logits[c]!;
      }
      let hd = 0;
      for (let c = 0; c < Cp; c++) hd += h[c]! * dh[c]!;
      // scatter into G and R
      if (Cp === 4) this.scatter4(tokens, off, len, hd, invZ);
      else this.scatter(tokens, off, len, hd, Cp, invZ);
    }
    if (train) this.vocabBackward(uniq, Cp);
    return { lossSum, correct };
  }

  /** h = Σ_i E_{t_i} p_{t_i} (unnormalised), a_i = E_{t_i}; returns Σ_i E_{t_i}. */
  private pool(tokens: Int32Array, off: number, len: number, Cp: number): number {
    const { E, P, a, h } = this;
    let z = 0;
    for (let c = 0; c < Cp; c++) h[c] = 0;
    for (let i = 0; i < len; i++) {
      const u = tokens[off + i]!;
      const e = E[u]!;
      a[i] = e;
      z += e;
      const po = u * Cp;
      for (let c = 0; c < Cp; c++) h[c] += e * P[po + c]!;
    }
    return z;
  }

  /** pool() unrolled for C' = 4 (FC and TC with four classes: the paper's case). */
  private pool4(tokens: Int32Array, off: number, len: number): number {
    const { E, P, a, h } = this;
    let z = 0, h0 = 0, h1 = 0, h2 = 0, h3 = 0;
    for (let i = 0; i < len; i++) {
      const u = tokens[off + i]!;
      const e = E[u]!;
      a[i] = e;
      z += e;
      const po = u << 2;
      h0 += e * P[po]!;
      h1 += e * P[po + 1]!;
      h2 += e * P[po + 2]!;
      h3 += e * P[po + 3]!;
    }
    h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3;
    return z;
  }

  /** G_{t_i} += a_i dh, R_{t_i} += a_i (h·dh) for one sentence, a_i = this.a[i] · invZ. */
  private scatter(tokens: Int32Array, off: number, len: number, hd: number, Cp: number, invZ: number): void {
    const { G, R, a, dh } = this;
    for (let i = 0; i < len; i++) {
      const u = tokens[off + i]!;
      const ai = a[i]! * invZ;
      R[u] += ai * hd;
      const po = u * Cp;
      for (let c = 0; c < Cp; c++) G[po + c] += ai * dh[c]!;
    }
  }

  /** scatter() unrolled for C' = 4. */
  private scatter4(tokens: Int32Array, off: number, len: number, hd: number, invZ: number): void {
    const { G, R, a, dh } = this;
    const d0 = dh[0]!, d1 = dh[1]!, d2 = dh[2]!, d3 = dh[3]!;
    for (let i = 0; i < len; i++) {
      const u = tokens[off + i]!;
      const ai = a[i]! * invZ;
      R[u] += ai * hd;
      const po = u << 2;
      G[po] += ai * d0;
      G[po + 1] += ai * d1;
      G[po + 2] += ai * d2;
      G[po + 3] += ai * d3;
    }
  }

  private zeroGrads(): void {
    for (const p of this.params) if (p.trainable) p.g.fill(0);
  }

  /** After the token loop: gradients of embeddings, A, keys and query from G and R. */
  private vocabBackward(uniq: Int32Array, Cp: number): void {
    const { D, K } = this;
    const A = this.classifier[0]!;
    const emb = this.embeddings;
    const G = this.G, R = this.R, P = this.P;
    const q = this.query.w;
    const keysTrain = this.keys.trainable;
    const queryTrain = this.query.trainable;
    const k = this.keys.w;
    const gk = this.keys.g;
    const gq = this.query.g;
    const aTrain = A.trainable;
    const Aw = A.w;
    const embTrain = emb.trainable;
    const gEmb = emb.g;
    for (let n = 0; n < uniq.length; n++) {
      const u = uniq[n]!;
      const po = u * Cp;
      const eo = u * D;
      if (embTrain && Cp === 4) {
        const g0 = G[po]!, g1 = G[po + 1]!, g2 = G[po + 2]!, g3 = G[po + 3]!;
        for (let d = 0; d < D; d++) {
          const ao = d << 2;
          gEmb[eo + d] = Aw[ao]! * g0 + Aw[ao + 1]! * g1 + Aw[ao + 2]! * g2 + Aw[ao + 3]! * g3;
        }
      } else if (embTrain) {
        for (let d = 0; d < D; d++) {
          let acc = 0;
          const ao = d * Cp;
          for (let c = 0; c < Cp; c++) acc += Aw[ao + c]! * G[po + c]!;
          gEmb[eo + d] = acc;
        }
      }
      if (aTrain) {
        for (let d = 0; d < D; d++) {
          const x = emb.w[eo + d]!;
          const ao = d * Cp;
          for (let c = 0; c < Cp; c++) A.g[ao + c] += x * G[po + c]!;
        }
      }
      if (keysTrain || queryTrain) {
        let ds = -R[u]!;
        for (let c = 0; c < Cp; c++) ds += P[po + c]! * G[po + c]!;
        const ko = u * K;
        if (keysTrain) for (let j = 0; j < K; j++) gk[ko + j] = ds * q[j]!;
        if (queryTrain) for (let j = 0; j < K; j++) gq[j] += ds * k[ko + j]!;
      }
    }
  }

  /**
   * Rare path: the sentence's words all score far below the batch maximum, so their
   * exp underflowed. Recompute E for its words relative to the sentence's own maximum
   * (softmax is shift-invariant per sentence, but E is shared, so use a local copy).
   */
  private stableSentence(tokens: Int32Array, off: number, len: number, score: Float32Array, Cp: number): number {
    const a = this.a, h = this.h, P = this.P;
    let max = -Infinity;
    for (let i = 0; i < len; i++) max = Math.max(max, score[tokens[off + i]!]!);
    let z = 0;
    for (let c = 0; c < Cp; c++) h[c] = 0;
    for (let i = 0; i < len; i++) {
      const u = tokens[off + i]!;
      const e = Math.exp(score[u]! - max);
      a[i] = e;
      z += e;
      for (let c = 0; c < Cp; c++) h[c] += e * P[u * Cp + c]!;
    }
    return z;
  }

  /** The distinct word ids of a batch (cached for the batch object last seen). */
  private uniqueWords(batch: Batch): Int32Array {
    if (this.uniqBatch === batch && this.uniq) return this.uniq;
    const stamp = ++this.stampNo;
    const seen = this.seen;
    const list: number[] = [];
    const { B, T, tokens, lengths } = batch;
    for (let b = 0; b < B; b++) {
      const len = lengths[b]!;
      for (let i = 0; i < len; i++) {
        const u = tokens[b * T + i]!;
        if (seen[u] !== stamp) {
          seen[u] = stamp;
          list.push(u);
        }
      }
    }
    list.sort((x, y) => x - y);
    this.uniq = Int32Array.from(list);
    this.uniqBatch = batch;
    return this.uniq;
  }

  private ensureScratch(Cp: number): void {
    if (this.P.length !== this.V * Cp) {
      this.P = new Float64Array(this.V * Cp);
      this.G = new Float64Array(this.V * Cp);
      this.h = new Float64Array(Cp);
      this.At = new Float64Array(Cp * this.D);
      this.ex = new Float64Array(this.numClasses);
      this.dh = new Float64Array(Cp);
    }
  }

  attention(batch: Batch): AttentionMap[][] {
    const score = this.computeScores();
    this.ensureLen(batch.T);
    const out: AttentionMap[][] = [];
    for (let b = 0; b < batch.B; b++) {
      const len = batch.lengths[b]!;
      this.attend(batch.tokens, b * batch.T, len, score);
      out.push([{ layer: 0, head: 0, stage: 'weights', rows: 1, cols: len, data: Float32Array.from(this.a.subarray(0, len)) }]);
    }
    return out;
  }

  /** Mean attention weight on the topic word over a split's sentences (synthetic task). */
  topicAttention(batch: Batch, isTopic: (id: number) => boolean): number {
    const score = this.computeScores();
    this.ensureLen(batch.T);
    let sum = 0;
    for (let b = 0; b < batch.B; b++) {
      const len = batch.lengths[b]!;
      const off = b * batch.T;
      this.attend(batch.tokens, off, len, score);
      for (let i = 0; i < len; i++) if (isTopic(batch.tokens[off + i]!)) sum += this.a[i]!;
    }
    return batch.B === 0 ? 0 : sum / batch.B;
  }
}
