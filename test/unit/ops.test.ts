/**
 * Finite-difference gradient checks of every op in src/trainer/ops, plus their forward
 * contracts (masking, accumulate flags, dropout at eval, cross-entropy values).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeParam, type Param } from '../../src/trainer/core';
import { Rng } from '../../src/trainer/rng';
import { addBackward, addForward } from '../../src/trainer/ops/add';
import {
  headDotBackward, headDotForward, headMixBackward, headMixForward, headWeightedSumBackward, headWeightedSumForward,
} from '../../src/trainer/ops/attention';
import { crossEntropy } from '../../src/trainer/ops/crossEntropy';
import { dropoutBackward, dropoutForward, dropoutMask } from '../../src/trainer/ops/dropout';
import { embeddingGather, embeddingScatterAdd } from '../../src/trainer/ops/embedding';
import { linearBackward, linearForward } from '../../src/trainer/ops/linear';
import { matmul, matmulBackward } from '../../src/trainer/ops/matmul';
import { maskedMeanPoolBackward, maskedMeanPoolForward } from '../../src/trainer/ops/pooling';
import { reluBackward, reluForward } from '../../src/trainer/ops/relu';
import { maskedSoftmaxForward, softmaxBackward } from '../../src/trainer/ops/softmax';
import { assertGradsClose, gradCheck } from './gradcheck';

/** A param filled with N(0, std²). */
function randParam(name: string, shape: number[], rng: Rng, std = 1): Param {
  const p = makeParam(name, name, shape);
  rng.fillNormal(p.w, std);
  return p;
}

/**
 * Gradient-checks an op: the scalar loss is Σ r ⊙ forward() with a fixed random r (scaled so
 * every output matters); backward(r) must add ∂loss/∂p into every p.g (zeroed here first).
 */
function checkOp(
  params: Param[],
  forward: () => Float32Array,
  backward: (dOut: Float32Array) => void,
  opts: { h?: number; seed?: number; rScale?: number } = {},
): void {
  const rng = new Rng(opts.seed ?? 11);
  const out0 = forward();
  const r = new Float32Array(out0.length); // same shape as the output
  rng.fillNormal(r, opts.rScale ?? 1);
  const loss = (): number => {
    const y = forward();
    let s = 0;
    for (let i = 0; i < y.length; i++) s += r[i]! * y[i]!;
    return s;
  };
  forward();
  for (const p of params) p.g.fill(0);
  backward(r);
  assertGradsClose(gradCheck(params, loss, { h: opts.h ?? 1e-2, samples: 60 }), 1e-2);
}

for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
  test(`matmul transA=${transA} transB=${transB}: forward matches a naive product, gradients match finite differences`, () => {
    const rng = new Rng(1);
    const M = 3, K = 4, N = 5;
    const A = randParam('A', transA ? [K, M] : [M, K], rng);
    const B = randParam('B', transB ? [N, K] : [K, N], rng);
    const C = new Float32Array(M * N); // (M, N)
    const a = (i: number, k: number) => (transA ? A.w[k * M + i]! : A.w[i * K + k]!);
    const b = (k: number, j: number) => (transB ? B.w[j * K + k]! : B.w[k * N + j]!);
    matmul(A.w, B.w, C, M, K, N, transA, transB);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a(i, k) * b(k, j);
        assert.ok(Math.abs(C[i * N + j]! - s) < 1e-5);
      }
    }
    // accumulate adds on top
    const before = Float32Array.from(C);
    matmul(A.w, B.w, C, M, K, N, transA, transB, true);
    for (let i = 0; i < C.length; i++) assert.ok(Math.abs(C[i]! - 2 * before[i]!) < 1e-5);
    checkOp(
      [A, B],
      () => (matmul(A.w, B.w, C, M, K, N, transA, transB), C),
      (dC) => matmulBackward(A.w, B.w, dC, A.g, B.g, M, K, N, transA, transB),
    );
  });
}

test('linear: gradients of x, W and b match finite differences', () => {
  const rng = new Rng(2);
  const N = 4, In = 3, Out = 5;
  const x = randParam('x', [N, In], rng);
  const W = randParam('W', [In, Out], rng);
  const b = randParam('b', [Out], rng);
  const y = new Float32Array(N * Out); // (N, Out)
  checkOp(
    [x, W, b],
    () => (linearForward(x.w, W.w, b.w, y, N, In, Out), y),
    (dy) => linearBackward(x.w, W.w, dy, x.g, W.g, b.g, N, In, Out),
  );
  // without bias it is the plain product
  linearForward(x.w, W.w, null, y, N, In, Out);
  const z = new Float32Array(N * Out);
  matmul(x.w, W.w, z, N, In, Out);
  assert.deepEqual(y, z);
});

test('relu: gradient matches finite differences away from the kink', () => {
  const rng = new Rng(3);
  const x = randParam('x', [30], rng);
  // keep every input at least 0.1 from 0 so the step h = 1e-2 never crosses the kink
  for (let i = 0; i < x.w.length; i++) if (Math.abs(x.w[i]!) < 0.1) x.w[i] = i % 2 ? 0.3 : -0.3;
  const y = new Float32Array(30);
  checkOp([x], () => (reluForward(x.w, y), y), (dy) => reluBackward(x.w, dy, x.g));
  reluForward(x.w, y);
  for (let i = 0; i < 30; i++) assert.equal(y[i], Math.max(0, x.w[i]!));
});

test('dropout: seeded mask, identity at eval, gradient matches finite differences', () => {
  const rng = new Rng(4);
  const x = randParam('x', [200], rng);
  const mask = new Float32Array(200);
  dropoutMask(mask, 0.25, new Rng(99));
  const again = new Float32Array(200);
  dropoutMask(again, 0.25, new Rng(99));
  assert.deepEqual(mask, again, 'same seed, same mask');
  let zeros = 0;
  for (const m of mask) {
    if (m === 0) zeros++;
    else assert.ok(Math.abs(m - 1 / 0.75) < 1e-6);
  }
  assert.ok(zeros > 20 && zeros < 80, `about a quarter dropped (${zeros})`);
  const y = new Float32Array(200);
  dropoutForward(x.w, y, null);
  assert.deepEqual(y, x.w, 'identity at eval');
  checkOp([x], () => (dropoutForward(x.w, y, mask), y), (dy) => dropoutBackward(dy, x.g, mask));
  checkOp([x], () => (dropoutForward(x.w, y, null), y), (dy) => dropoutBackward(dy, x.g, null));
});

test('add: gradients of both inputs match finite differences', () => {
  const rng = new Rng(5);
  const a = randParam('a', [12], rng);
  const b = randParam('b', [12], rng);
  const y = new Float32Array(12);
  checkOp([a, b], () => (addForward(a.w, b.w, y), y), (dy) => addBackward(dy, a.g, b.g));
});

test('masked softmax: masked columns exactly 0, rows sum to 1, gradient matches finite differences', () => {
  const rng = new Rng(6);
  const B = 3, H = 2, T = 5;
  const lengths = Int32Array.from([5, 2, 3]);
  const rows = B * H * T;
  const x = randParam('x', [B, H, T, T], rng, 2);
  const y = new Float32Array(rows * T); // (B, H, T, T)
  maskedSoftmaxForward(x.w, y, rows, T, lengths, H * T);
  for (let r = 0; r < rows; r++) {
    const len = lengths[Math.floor(r / (H * T))]!;
    let s = 0;
    for (let c = 0; c < T; c++) {
      if (c >= len) assert.equal(y[r * T + c], 0);
      else assert.ok(y[r * T + c]! > 0);
      s += y[r * T + c]!;
    }
    assert.ok(Math.abs(s - 1) < 1e-6);
  }
  checkOp(
    [x],
    () => (maskedSoftmaxForward(x.w, y, rows, T, lengths, H * T), y),
    (dy) => softmaxBackward(y, dy, x.g, rows, T),
    { h: 3e-3, rScale: 10 },
  );
  // the unmasked form
  checkOp(
    [x],
    () => (maskedSoftmaxForward(x.w, y, rows, T), y),
    (dy) => softmaxBackward(y, dy, x.g, rows, T),
    { h: 3e-3, rScale: 10 },
  );
});

test('cross-entropy: value, correct count and the gradient of the mean match finite differences', () => {
  const rng = new Rng(7);
  const B = 4, C = 3;
  const logits = randParam('logits', [B, C], rng, 2);
  const labels = Int32Array.from([0, 2, 1, 1]);
  const d = new Float32Array(B * C);
  const r = crossEntropy(logits.w, labels, B, C, d);
  let want = 0, correct = 0;
  for (let b = 0; b < B; b++) {
    const row = Array.from(logits.w.subarray(b * C, b * C + C));
    const z = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
    want += z - row[labels[b]!]!;
    if (row.indexOf(Math.max(...row)) === labels[b]) correct++;
  }
  assert.ok(Math.abs(r.lossSum - want) < 1e-5);
  assert.equal(r.correct, correct);
  logits.g.set(d);
  assertGradsClose(gradCheck([logits], () => crossEntropy(logits.w, labels, B, C).lossSum / B, { h: 3e-3 }), 1e-2);
});

test('embedding: gather (and accumulate) with scatter-add gradient matches finite differences', () => {
  const rng = new Rng(8);
  const V = 6, D = 3, N = 7;
  const table = randParam('table', [V, D], rng);
  const ids = Int32Array.from([1, 4, 4, 0, 5, 1, 4]); // repeats accumulate
  const out = new Float32Array(N * D); // (N, D)
  checkOp(
    [table],
    () => (embeddingGather(table.w, ids, out, N, D), out),
    (dOut) => embeddingScatterAdd(dOut, ids, table.g, N, D),
  );
  const base = new Float32Array(N * D).fill(1);
  embeddingGather(table.w, ids, base, N, D, true);
  for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) assert.equal(base[n * D + d], Math.fround(1 + table.w[ids[n]! * D + d]!));
});

test('masked mean pooling: ignores padded positions, gradient matches finite differences', () => {
  const rng = new Rng(9);
  const B = 3, T = 4, D = 2;
  const lengths = Int32Array.from([4, 1, 2]);
  const x = randParam('x', [B, T, D], rng);
  const y = new Float32Array(B * D); // (B, D)
  checkOp(
    [x],
    () => (maskedMeanPoolForward(x.w, lengths, y, B, T, D), y),
    (dy) => maskedMeanPoolBackward(dy, lengths, x.g, B, T, D),
  );
  // padded positions get zero gradient
  for (let b = 0; b < B; b++) for (let t = lengths[b]!; t < T; t++) for (let d = 0; d < D; d++) assert.equal(x.g[(b * T + t) * D + d], 0);
  assert.ok(Math.abs(y[2]! - x.w[(1 * T) * D]!) < 1e-7, 'length 1 is the token itself');
});

test('head dot product: zero outside the real block, gradients of Q and K match finite differences', () => {
  const rng = new Rng(10);
  const B = 2, T = 4, H = 3, d = 2;
  const lengths = Int32Array.from([4, 2]);
  const Q = randParam('Q', [B, T, H, d], rng);
  const K = randParam('K', [B, T, H, d], rng);
  const J = new Float32Array(B * H * T * T); // (B, H, T, T)
  const scale = 1 / Math.sqrt(d);
  headDotForward(Q.w, K.w, J, lengths, B, T, H, d, scale);
  for (let h = 0; h < H; h++) {
    for (let n = 0; n < T; n++) {
      for (let m = 0; m < T; m++) {
        const v = J[((1 * H + h) * T + n) * T + m]!;
        if (n >= 2 || m >= 2) assert.equal(v, 0);
        else {
          let s = 0;
          for (let e = 0; e < d; e++) s += Q.w[((1 * T + n) * H + h) * d + e]! * K.w[((1 * T + m) * H + h) * d + e]!;
          assert.ok(Math.abs(v - s * scale) < 1e-6);
        }
      }
    }
  }
  checkOp(
    [Q, K],
    () => (headDotForward(Q.w, K.w, J, lengths, B, T, H, d, scale), J),
    (dJ) => headDotBackward(Q.w, K.w, dJ, Q.g, K.g, lengths, B, T, H, d, scale),
  );
});

test('head mix: gradients of X and P match finite differences (Hin ≠ Hout)', () => {
  const rng = new Rng(11);
  const B = 2, T = 3, Hin = 2, Hout = 3;
  const lengths = Int32Array.from([3, 2]);
  const X = randParam('X', [B, Hin, T, T], rng);
  const P = randParam('P', [Hin, Hout], rng);
  const Y = new Float32Array(B * Hout * T * T); // (B, Hout, T, T)
  checkOp(
    [X, P],
    () => (headMixForward(X.w, P.w, Y, lengths, B, T, Hin, Hout), Y),
    (dY) => headMixBackward(X.w, P.w, dY, X.g, P.g, lengths, B, T, Hin, Hout),
  );
  // identity mix copies the real block exactly
  const I = new Float32Array(Hin * Hin);
  for (let i = 0; i < Hin; i++) I[i * Hin + i] = 1;
  const Z = new Float32Array(B * Hin * T * T);
  headMixForward(X.w, I, Z, lengths, B, T, Hin, Hin);
  for (let b = 0; b < B; b++) for (let h = 0; h < Hin; h++) for (let n = 0; n < lengths[b]!; n++) for (let m = 0; m < lengths[b]!; m++) {
    const o = ((b * Hin + h) * T + n) * T + m;
    assert.equal(Z[o], X.w[o]);
  }
});

test('head weighted sum: gradients of the weights and V match finite differences', () => {
  const rng = new Rng(12);
  const B = 2, T = 4, H = 2, d = 3;
  const lengths = Int32Array.from([3, 4]);
  const A = randParam('A', [B, H, T, T], rng);
  const V = randParam('V', [B, T, H, d], rng);
  const O = new Float32Array(B * T * H * d); // (B, T, H, d)
  checkOp(
    [A, V],
    () => (headWeightedSumForward(A.w, V.w, O, lengths, B, T, H, d), O),
    (dO) => headWeightedSumBackward(A.w, V.w, dO, A.g, V.g, lengths, B, T, H, d),
  );
  // values at padded positions never reach the output
  for (let h = 0; h < H; h++) for (let e = 0; e < d; e++) assert.equal(V.g[((0 * T + 3) * H + h) * d + e], 0);
});

test('the gradient check catches a wrong gradient (flipped sign of one param)', () => {
  const rng = new Rng(13);
  const N = 3, In = 4, Out = 2;
  const x = randParam('x', [N, In], rng);
  const W = randParam('W', [In, Out], rng);
  const b = randParam('b', [Out], rng);
  const y = new Float32Array(N * Out);
  const r = new Float32Array(N * Out);
  rng.fillNormal(r, 1);
  const loss = (): number => {
    linearForward(x.w, W.w, b.w, y, N, In, Out);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += r[i]! * y[i]!;
    return s;
  };
  for (const p of [x, W, b]) p.g.fill(0);
  linearBackward(x.w, W.w, r, x.g, W.g, b.g, N, In, Out);
  assertGradsClose(gradCheck([x, W, b], loss, { h: 1e-2 }));
  for (let i = 0; i < W.g.length; i++) W.g[i] = -W.g[i]!;
  assert.throws(() => assertGradsClose(gradCheck([x, W, b], loss, { h: 1e-2 })), /W: rel error/);
  // a missing term (bias gradient halved) is caught too
  for (let i = 0; i < W.g.length; i++) W.g[i] = -W.g[i]!;
  for (let i = 0; i < b.g.length; i++) b.g[i] = b.g[i]! * 0.5;
  assert.throws(() => assertGradsClose(gradCheck([x, W, b], loss, { h: 1e-2 })), /b: rel error/);
});
