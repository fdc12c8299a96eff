/**
 * A small self-attention encoder classifier — token (+ position) embeddings, residual layers
 * of multi-head or talking-heads attention and an optional ReLU MLP, masked mean pooling and
 * a linear classifier — with hand-written backward passes over Float32Array buffers.
 *
 *   x⁰        = E[tokens] (+ P[t])                                        (B, T, D)
 *   per layer i:
 *     q, k, v = x·Wq, x·Wk, x·Wv                                           (B, T, Hk·dk) / (B, T, Hv·dv)
 *     multi-head:     J = q·kᵀ/√dk, W = softmax_m(J), O = W·v              J, W: (B, H, T, T)
 *     talking-heads:  J = q·kᵀ/√dk, L = J·Pl, W = softmax_m(L), U = W·Pw, O = U·v
 *                                                                          J: (B, Hk, T, T), L, W: (B, H, T, T), U: (B, Hv, T, T)
 *     x       = x + dropout(O·Wo)                                          (B, T, D)
 *     x       = x + dropout(relu(x·W1 + b1)·W2 + b2)      (when mlpHidden > 0)
 *   logits    = meanₜ₍real₎(x)·Wc + bc                                     (B, C)
 *   loss      = mean cross-entropy
 *
 * Padding keys (m ≥ length) get attention weight exactly 0 in every softmax; padded query
 * rows are not computed (their attention outputs are 0) and never reach the loss.
 *
 * Initialisation: embeddings and positions N(0, embStd²); every projection matrix
 * (Wq, Wk, Wv, Wo, W1, W2, Wc) N(0, 1/fan_in) with fan_in its number of rows; biases 0.
 * Talking-heads mixes: Pl (Hk, H) is the identity when Hk = H, else N(0, 1/Hk);
 * Pw (H, Hv) is the identity when H = Hv, else N(0, 1/H).
 *
 * Large batches are processed in chunks of sentences (gradients accumulate across chunks),
 * so each attention-map buffer stays within MAP_BUDGET entries (4 MB) whatever the batch size;
 * buffers are allocated once and reused by every call whose chunk fits.
 */
import { makeParam, type AttentionMap, type Batch, type BatchResult, type Model, type Param } from '../core';
import type { EncoderModelConfig } from '../config';
import type { Rng } from '../rng';
import { addForward } from '../ops/add';
import {
  headDotBackward, headDotForward, headMixBackward, headMixForward, headWeightedSumBackward, headWeightedSumForward,
  multiHeadAttentionBackward, multiHeadAttentionForward,
} from '../ops/attention';
import { crossEntropy } from '../ops/crossEntropy';
import { dropoutBackward, dropoutForward, dropoutMask } from '../ops/dropout';
import { embeddingGather, embeddingScatterAdd } from '../ops/embedding';
import { linearBackward, linearForward } from '../ops/linear';
import { matmul, matmulBackward } from '../ops/matmul';
import { maskedMeanPoolBackward, maskedMeanPoolForward } from '../ops/pooling';
import { reluBackward, reluForward } from '../ops/relu';
import { maskedSoftmaxForward, softmaxBackward } from '../ops/softmax';

/** Largest number of attention-map entries (B·H·T·T) held per buffer; sets the chunk size. */
const MAP_BUDGET = 1 << 20;
/** Most sentences processed at once. */
const MAX_CHUNK = 256;

/** The params of one layer; the talking and MLP ones are absent when unused. */
interface LayerParams {
  Wq: Param; // (D, Hk·dk)
  Wk: Param; // (D, Hk·dk)
  Wv: Param; // (D, Hv·dv)
  Pl: Param | null; // (Hk, H)
  Pw: Param | null; // (H, Hv)
  Wo: Param; // (Hv·dv, D)
  W1: Param | null; // (D, F)
  b1: Param | null; // (F)
  W2: Param | null; // (F, D)
  b2: Param | null; // (D)
}

/** Forward activations of one layer; a chunk (B, T) uses a prefix of each buffer. */
interface LayerActs {
  q: Float32Array; // (B, T, Hk·dk)
  k: Float32Array; // (B, T, Hk·dk)
  v: Float32Array; // (B, T, Hv·dv)
  J: Float32Array; // (B, Hk, T, T) talking-heads only (multi-head fuses it away)
  L: Float32Array; // (B, H, T, T) talking-heads only (else empty)
  W: Float32Array; // (B, H, T, T)
  U: Float32Array; // (B, Hv, T, T) talking-heads only (else empty)
  O: Float32Array; // (B, T, Hv·dv)
  a: Float32Array; // (B, T, D) attention output, dropped out in place
  mask1: Float32Array; // (B, T, D) dropout mask of a (empty when dropout = 0)
  xMid: Float32Array; // (B, T, D) x + dropout(a)
  h: Float32Array; // (B, T, F) relu(xMid·W1 + b1), in place
  mo: Float32Array; // (B, T, D) MLP output, dropped out in place
  mask2: Float32Array; // (B, T, D)
}

/** Buffers for one chunk shape; grads are allocated on the first backward. */
interface Workspace {
  /** Capacities: sentences, rows (B·T) and map entries per head (B·T·T). */
  capB: number;
  capN: number;
  capM: number;
  /** T the position ids were last written for. */
  posT: number;
  posIds: Int32Array; // (B, T) t
  xs: Float32Array[]; // layers + 1 of (B, T, D): x⁰ … x^L
  acts: LayerActs[];
  pooled: Float32Array; // (B, D)
  logits: Float32Array; // (B, C)
  grads: Grads | null;
}

/** Backward scratch shared by all layers. */
interface Grads {
  dx: Float32Array; // (B, T, D) gradient of the residual stream
  da: Float32Array; // (B, T, D)
  dO: Float32Array; // (B, T, Hv·dv)
  dq: Float32Array; // (B, T, Hk·dk)
  dk: Float32Array; // (B, T, Hk·dk)
  dv: Float32Array; // (B, T, Hv·dv)
  dJ: Float32Array; // (B, Hk, T, T) talking-heads only
  dL: Float32Array; // (B, H, T, T)
  dW: Float32Array; // (B, H, T, T) talking-heads only
  dU: Float32Array; // (B, Hv, T, T)
  dh: Float32Array; // (B, T, F) gradient of relu's output
  dhPre: Float32Array; // (B, T, F) gradient of relu's input
  dmo: Float32Array; // (B, T, D)
  dpooled: Float32Array; // (B, D)
  dlogits: Float32Array; // (B, C)
}

export class EncoderModel implements Model {
  readonly kind = 'encoder' as const;
  readonly params: Param[];
  readonly embeddings: Param; // (V, D)
  readonly positions: Param | null; // (maxLen, D)
  readonly layers: LayerParams[];
  readonly classifierW: Param; // (D, C)
  readonly classifierB: Param; // (C)
  readonly talking: boolean;
  readonly V: number;
  readonly D: number;
  readonly F: number;
  readonly maxLen: number;
  /** Heads of the logits J, of the softmax, of the values; per-head key and value sizes. */
  readonly Hk: number;
  readonly H: number;
  readonly Hv: number;
  readonly dk: number;
  readonly dv: number;
  private readonly dropoutRng: Rng;
  private ws: Workspace | null = null;

  constructor(
    readonly cfg: EncoderModelConfig,
    vocabSize: number,
    readonly numClasses: number,
    maxLen: number,
    rng: Rng,
  ) {
    const att = cfg.attention;
    this.talking = att.kind === 'talking-heads';
    if (att.kind === 'multihead') {
      this.Hk = this.H = this.Hv = att.heads;
      this.dk = this.dv = att.dHead;
    } else {
      this.Hk = att.keyHeads;
      this.H = att.heads;
      this.Hv = att.valueHeads;
      this.dk = att.dKey;
      this.dv = att.dValue;
    }
    const V = (this.V = vocabSize);
    const D = (this.D = cfg.dModel);
    const F = (this.F = Math.max(0, cfg.mlpHidden));
    const C = numClasses;
    this.maxLen = maxLen;
    const { Hk, H, Hv, dk, dv } = this;
    this.dropoutRng = rng.fork();
    const init = rng.fork();
    const normal = (p: Param, fanIn: number): Param => {
      init.fillNormal(p.w, 1 / Math.sqrt(fanIn));
      return p;
    };
    /** Identity when square, else N(0, 1/rows). */
    const mix = (p: Param, rows: number, cols: number): Param => {
      if (rows === cols) for (let i = 0; i < rows; i++) p.w[i * cols + i] = 1;
      else init.fillNormal(p.w, 1 / Math.sqrt(rows));
      return p;
    };

    this.embeddings = makeParam('embeddings', 'embeddings', [V, D]);
    init.fillNormal(this.embeddings.w, cfg.embStd);
    this.positions = null;
    if (cfg.positions) {
      this.positions = makeParam('positions', 'positions', [maxLen, D]);
      init.fillNormal(this.positions.w, cfg.embStd);
    }
    this.layers = [];
    for (let i = 0; i < cfg.layers; i++) {
      const n = `layer${i}`;
      const Wq = normal(makeParam(`${n}.Wq`, `${n}.query`, [D, Hk * dk]), D);
      const Wk = normal(makeParam(`${n}.Wk`, `${n}.key`, [D, Hk * dk]), D);
      const Wv = normal(makeParam(`${n}.Wv`, `${n}.value`, [D, Hv * dv]), D);
      const Wo = normal(makeParam(`${n}.Wo`, `${n}.output`, [Hv * dv, D]), Hv * dv);
      const Pl = this.talking ? mix(makeParam(`${n}.Pl`, `${n}.talking`, [Hk, H]), Hk, H) : null;
      const Pw = this.talking ? mix(makeParam(`${n}.Pw`, `${n}.talking`, [H, Hv]), H, Hv) : null;
      const W1 = F > 0 ? normal(makeParam(`${n}.W1`, `${n}.mlp`, [D, F]), D) : null;
      const b1 = F > 0 ? makeParam(`${n}.b1`, `${n}.mlp`, [F]) : null;
      const W2 = F > 0 ? normal(makeParam(`${n}.W2`, `${n}.mlp`, [F, D]), F) : null;
      const b2 = F > 0 ? makeParam(`${n}.b2`, `${n}.mlp`, [D]) : null;
      this.layers.push({ Wq, Wk, Wv, Pl, Pw, Wo, W1, b1, W2, b2 });
    }
    this.classifierW = normal(makeParam('classifier.W', 'classifier', [D, C]), D);
    this.classifierB = makeParam('classifier.b', 'classifier', [C]);

    const ps: Param[] = [this.embeddings];
    if (this.positions) ps.push(this.positions);
    for (const l of this.layers) {
      for (const p of [l.Wq, l.Wk, l.Wv, l.Pl, l.Pw, l.Wo, l.W1, l.b1, l.W2, l.b2]) if (p) ps.push(p);
    }
    ps.push(this.classifierW, this.classifierB);
    this.params = ps;
  }

  /** The param of the given name (throws when absent). */
  param(name: string): Param {
    const p = this.params.find((q) => q.name === name);
    if (!p) throw new Error(`no param ${name}`);
    return p;
  }

  trainBatch(batch: Batch): BatchResult {
    for (const p of this.params) p.g.fill(0);
    let lossSum = 0;
    let correct = 0;
    const p = this.cfg.dropout;
    this.forEachChunk(batch, (c, ws) => {
      this.forward(c, ws, p > 0);
      const g = this.grads(ws);
      const r = crossEntropy(ws.logits, c.labels, c.B, this.numClasses, g.dlogits, 1 / batch.B);
      lossSum += r.lossSum;
      correct += r.correct;
      this.backward(c, ws, g, p > 0);
    });
    return { lossSum, correct };
  }

  evaluate(batch: Batch): BatchResult {
    let lossSum = 0;
    let correct = 0;
    this.forEachChunk(batch, (c, ws) => {
      this.forward(c, ws, false);
      const r = crossEntropy(ws.logits, c.labels, c.B, this.numClasses);
      lossSum += r.lossSum;
      correct += r.correct;
    });
    return { lossSum, correct };
  }

  /** Logits of the batch (forward only, no dropout): (B, C). */
  logits(batch: Batch): Float32Array {
    const C = this.numClasses;
    const out = new Float32Array(batch.B * C); // (B, C)
    let b0 = 0;
    this.forEachChunk(batch, (c, ws) => {
      this.forward(c, ws, false);
      out.set(ws.logits.subarray(0, c.B * C), b0 * C);
      b0 += c.B;
    });
    return out;
  }

  /**
   * Per sentence, every map cropped to its length, ordered by layer, then stage, then head:
   * multi-head: `weights` (H); talking-heads: `logits` J (Hk), `weights` W (H), `mixed` U (Hv).
   * crop = false returns the full padded (T, T) maps instead (for tests of the masking).
   */
  attention(batch: Batch, crop = true): AttentionMap[][] {
    const out: AttentionMap[][] = [];
    this.forEachChunk(batch, (c, ws) => {
      this.forward(c, ws, false);
      const T = c.T;
      const cut = (M: Float32Array, heads: number, b: number, h: number, len: number): Float32Array => {
        const data = new Float32Array(len * len); // (len, len)
        const o = (b * heads + h) * T * T;
        for (let n = 0; n < len; n++) data.set(M.subarray(o + n * T, o + n * T + len), n * len);
        return data;
      };
      for (let b = 0; b < c.B; b++) {
        const len = crop ? Math.min(T, c.lengths[b]) : T;
        const maps: AttentionMap[] = [];
        this.layers.forEach((_, layer) => {
          const a = ws.acts[layer]!;
          const add = (stage: AttentionMap['stage'], M: Float32Array, heads: number): void => {
            for (let h = 0; h < heads; h++) maps.push({ layer, head: h, stage, rows: len, cols: len, data: cut(M, heads, b, h, len) });
          };
          if (this.talking) {
            add('logits', a.J, this.Hk);
            add('weights', a.W, this.H);
            add('mixed', a.U, this.Hv);
          } else {
            add('weights', a.W, this.H);
          }
        });
        out.push(maps);
      }
    });
    return out;
  }

  /** Split the batch into chunks of sentences (views, no copy) sharing one workspace. */
  private forEachChunk(batch: Batch, f: (chunk: Batch, ws: Workspace) => void): void {
    const { B, T } = batch;
    if (T > this.maxLen && this.positions) throw new Error(`sentence length ${T} exceeds maxLen ${this.maxLen}`);
    const heads = Math.max(this.Hk, this.H, this.Hv);
    const chunk = Math.max(1, Math.min(B, MAX_CHUNK, Math.floor(MAP_BUDGET / (heads * T * T))));
    const ws = this.workspace(chunk, T);
    for (let b0 = 0; b0 < B; b0 += chunk) {
      const b1 = Math.min(B, b0 + chunk);
      f(
        {
          B: b1 - b0,
          T,
          tokens: batch.tokens.subarray(b0 * T, b1 * T),
          lengths: batch.lengths.subarray(b0, b1),
          labels: batch.labels.subarray(b0, b1),
        },
        ws,
      );
    }
  }

  /** A workspace holding at least a (B, T) chunk; grown (never shrunk) when needed. */
  private workspace(B: number, T: number): Workspace {
    const cur = this.ws;
    if (cur && cur.capB >= B && cur.capN >= B * T && cur.capM >= B * T * T) return cur;
    // Grow each capacity to cover both the old and the new shape, so that alternating
    // shapes (training chunks, evaluation chunks) settle on one workspace; forEachChunk
    // keeps B·T·T·heads within MAP_BUDGET, so the maps stay bounded.
    const capB = Math.max(B, cur?.capB ?? 0);
    const capN = Math.max(B * T, cur?.capN ?? 0);
    const capM = Math.max(B * T * T, cur?.capM ?? 0);
    const { D, F, Hk, H, Hv, dk, dv } = this;
    const N = capN; // rows (B·T)
    const M = capM; // map entries per head (B·T·T)
    const drop = this.cfg.dropout > 0;
    const f = (n: number) => new Float32Array(n);
    const acts: LayerActs[] = this.layers.map(() => ({
      q: f(N * Hk * dk),
      k: f(N * Hk * dk),
      v: f(N * Hv * dv),
      J: f(this.talking ? M * Hk : 0),
      L: f(this.talking ? M * H : 0),
      W: f(M * H),
      U: f(this.talking ? M * Hv : 0),
      O: f(N * Hv * dv),
      a: f(N * D),
      mask1: f(drop ? N * D : 0),
      xMid: f(F > 0 ? N * D : 0),
      h: f(N * F),
      mo: f(F > 0 ? N * D : 0),
      mask2: f(drop && F > 0 ? N * D : 0),
    }));
    const ws: Workspace = {
      capB,
      capN,
      capM,
      posT: -1,
      posIds: new Int32Array(N),
      xs: Array.from({ length: this.layers.length + 1 }, () => f(N * D)),
      acts,
      pooled: f(capB * D),
      logits: f(capB * this.numClasses),
      grads: null,
    };
    this.ws = ws;
    return ws;
  }

  private grads(ws: Workspace): Grads {
    if (ws.grads) return ws.grads;
    const { D, F, Hk, H, Hv, dk, dv } = this;
    const N = ws.capN;
    const M = ws.capM;
    const f = (n: number) => new Float32Array(n);
    ws.grads = {
      dx: f(N * D),
      da: f(N * D),
      dO: f(N * Hv * dv),
      dq: f(N * Hk * dk),
      dk: f(N * Hk * dk),
      dv: f(N * Hv * dv),
      dJ: f(this.talking ? M * Hk : 0),
      dL: f(this.talking ? M * H : 0),
      dW: f(this.talking ? M * H : 0),
      dU: f(this.talking ? M * Hv : 0),
      dh: f(N * F),
      dhPre: f(N * F),
      dmo: f(F > 0 ? N * D : 0),
      dpooled: f(ws.capB * D),
      dlogits: f(ws.capB * this.numClasses),
    };
    return ws.grads;
  }

  private forward(c: Batch, ws: Workspace, train: boolean): void {
    const { B, T, tokens, lengths } = c;
    const { D, F, Hk, H, Hv, dk, dv } = this;
    const N = B * T;
    const drop = train && this.cfg.dropout > 0;
    const x0 = ws.xs[0]!; // (B, T, D)
    embeddingGather(this.embeddings.w, tokens, x0, N, D);
    if (this.positions) {
      if (ws.posT !== T) {
        for (let i = 0; i < ws.posIds.length; i++) ws.posIds[i] = i % T; // (B, T)
        ws.posT = T;
      }
      embeddingGather(this.positions.w, ws.posIds, x0, N, D, true);
    }
    const scale = 1 / Math.sqrt(dk);
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers[i]!;
      const a = ws.acts[i]!;
      const x = ws.xs[i]!; // (B, T, D)
      const xOut = ws.xs[i + 1]!; // (B, T, D)
      matmul(x, l.Wq.w, a.q, N, D, Hk * dk); // (B, T, Hk·dk)
      matmul(x, l.Wk.w, a.k, N, D, Hk * dk); // (B, T, Hk·dk)
      matmul(x, l.Wv.w, a.v, N, D, Hv * dv); // (B, T, Hv·dv)
      if (this.talking) {
        headDotForward(a.q, a.k, a.J, lengths, B, T, Hk, dk, scale); // (B, Hk, T, T)
        headMixForward(a.J, l.Pl!.w, a.L, lengths, B, T, Hk, H); // (B, H, T, T)
        maskedSoftmaxForward(a.L, a.W, B * H * T, T, lengths, H * T); // (B, H, T, T)
        headMixForward(a.W, l.Pw!.w, a.U, lengths, B, T, H, Hv); // (B, Hv, T, T)
        headWeightedSumForward(a.U, a.v, a.O, lengths, B, T, Hv, dv); // (B, T, Hv·dv)
      } else {
        // logits, softmax and weighted sum fused; the logits are not kept
        multiHeadAttentionForward(a.q, a.k, a.v, a.W, a.O, lengths, B, T, H, dk, scale); // W: (B, H, T, T), O: (B, T, H·dv)
      }
      matmul(a.O, l.Wo.w, a.a, N, Hv * dv, D); // (B, T, D)
      if (drop) dropoutMask(a.mask1, this.cfg.dropout, this.dropoutRng, N * D);
      dropoutForward(a.a, a.a, drop ? a.mask1 : null, N * D);
      const xMid = F > 0 ? a.xMid : xOut; // (B, T, D)
      addForward(x, a.a, xMid, N * D);
      if (F > 0) {
        linearForward(xMid, l.W1!.w, l.b1!.w, a.h, N, D, F); // (B, T, F)
        reluForward(a.h, a.h, N * F);
        linearForward(a.h, l.W2!.w, l.b2!.w, a.mo, N, F, D); // (B, T, D)
        if (drop) dropoutMask(a.mask2, this.cfg.dropout, this.dropoutRng, N * D);
        dropoutForward(a.mo, a.mo, drop ? a.mask2 : null, N * D);
        addForward(xMid, a.mo, xOut, N * D);
      }
    }
    const xL = ws.xs[this.layers.length]!; // (B, T, D)
    maskedMeanPoolForward(xL, lengths, ws.pooled, B, T, D); // (B, D)
    linearForward(ws.pooled, this.classifierW.w, this.classifierB.w, ws.logits, B, D, this.numClasses); // (B, C)
  }

  /** Adds the gradient of this chunk into every trainable param's g; g.dlogits must be set. */
  private backward(c: Batch, ws: Workspace, g: Grads, train: boolean): void {
    const { B, T, tokens, lengths } = c;
    const { D, F, Hk, H, Hv, dk, dv } = this;
    const C = this.numClasses;
    const N = B * T;
    const drop = train && this.cfg.dropout > 0;
    const gOf = (p: Param | null): Float32Array | null => (p && p.trainable ? p.g : null);
    const L = this.layers.length;

    g.dpooled.fill(0, 0, B * D);
    linearBackward(ws.pooled, this.classifierW.w, g.dlogits, g.dpooled, gOf(this.classifierW), gOf(this.classifierB), B, D, C);
    const dx = g.dx; // (B, T, D) gradient of the residual stream
    dx.fill(0, 0, N * D);
    maskedMeanPoolBackward(g.dpooled, lengths, dx, B, T, D);

    const scale = 1 / Math.sqrt(dk);
    for (let i = L - 1; i >= 0; i--) {
      const l = this.layers[i]!;
      const a = ws.acts[i]!;
      const x = ws.xs[i]!; // (B, T, D)
      if (F > 0) {
        // xOut = xMid + dropout(relu(xMid·W1 + b1)·W2 + b2): dx first feeds the branch, then
        // the branch's input gradient is added to dx, which becomes d xMid.
        g.dmo.fill(0, 0, N * D);
        dropoutBackward(dx, g.dmo, drop ? a.mask2 : null, N * D); // (B, T, D)
        g.dh.fill(0, 0, N * F);
        linearBackward(a.h, l.W2!.w, g.dmo, g.dh, gOf(l.W2), gOf(l.b2), N, F, D); // (B, T, F)
        g.dhPre.fill(0, 0, N * F);
        reluBackward(a.h, g.dh, g.dhPre, N * F); // a.h holds relu's output: > 0 exactly where its input was
        linearBackward(a.xMid, l.W1!.w, g.dhPre, dx, gOf(l.W1), gOf(l.b1), N, D, F);
      }
      // xMid = x + dropout(O·Wo)
      g.da.fill(0, 0, N * D);
      dropoutBackward(dx, g.da, drop ? a.mask1 : null, N * D); // (B, T, D)
      g.dO.fill(0, 0, N * Hv * dv);
      matmulBackward(a.O, l.Wo.w, g.da, g.dO, gOf(l.Wo), N, Hv * dv, D); // (B, T, Hv·dv)
      g.dv.fill(0, 0, N * Hv * dv);
      g.dq.fill(0, 0, N * Hk * dk);
      g.dk.fill(0, 0, N * Hk * dk);
      if (this.talking) {
        g.dJ.fill(0, 0, B * Hk * T * T);
        g.dU.fill(0, 0, B * Hv * T * T);
        headWeightedSumBackward(a.U, a.v, g.dO, g.dU, g.dv, lengths, B, T, Hv, dv); // (B, Hv, T, T)
        g.dW.fill(0, 0, B * H * T * T);
        headMixBackward(a.W, l.Pw!.w, g.dU, g.dW, gOf(l.Pw), lengths, B, T, H, Hv); // (B, H, T, T)
        g.dL.fill(0, 0, B * H * T * T);
        softmaxBackward(a.W, g.dW, g.dL, B * H * T, T); // (B, H, T, T)
        headMixBackward(a.J, l.Pl!.w, g.dL, g.dJ, gOf(l.Pl), lengths, B, T, Hk, H); // (B, Hk, T, T)
        headDotBackward(a.q, a.k, g.dJ, g.dq, g.dk, lengths, B, T, Hk, dk, scale); // (B, T, Hk·dk)
      } else {
        multiHeadAttentionBackward(a.q, a.k, a.v, a.W, g.dO, g.dq, g.dk, g.dv, lengths, B, T, H, dk, scale); // (B, T, H·d) each
      }
      // dx already holds the residual path's gradient; the three projections add theirs.
      matmulBackward(x, l.Wq.w, g.dq, dx, gOf(l.Wq), N, D, Hk * dk);
      matmulBackward(x, l.Wk.w, g.dk, dx, gOf(l.Wk), N, D, Hk * dk);
      matmulBackward(x, l.Wv.w, g.dv, dx, gOf(l.Wv), N, D, Hv * dv);
    }
    if (this.embeddings.trainable) embeddingScatterAdd(dx, tokens, this.embeddings.g, N, D);
    if (this.positions && this.positions.trainable) embeddingScatterAdd(dx, ws.posIds, this.positions.g, N, D);
  }
}
