/**
 * The Lu et al. attention classifier: its fused gradient against finite differences and
 * against a plain per-token reference forward, for every classifier and trainability switch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LuModel } from '../../src/trainer/models/lu';
import type { LuModelConfig } from '../../src/trainer/config';
import type { Batch } from '../../src/trainer/core';
import { Rng } from '../../src/trainer/rng';
import { assertGradsClose, gradCheck } from './gradcheck';

function cfg(classifier: 'FC' | 'TC' | 'TL', trainable = { query: false, keys: true, embeddings: true }): LuModelConfig {
  return { kind: 'lu', classifier, dEmb: 6, dKey: 5, queryStd: 0.8, embStd: 0.5, hidden: 7, trainable };
}

/** A random padded batch with sentences of different lengths. */
function randomBatch(rng: Rng, B: number, T: number, V: number, C: number): Batch {
  const tokens = new Int32Array(B * T);
  const lengths = new Int32Array(B);
  const labels = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    lengths[b] = 1 + rng.int(T);
    labels[b] = rng.int(C);
    for (let i = 0; i < lengths[b]!; i++) tokens[b * T + i] = 1 + rng.int(V - 1);
  }
  return { B, T, tokens, lengths, labels };
}

function model(c: LuModelConfig, V: number, C: number, seed = 3): LuModel {
  const m = new LuModel(c, V, C, new Rng(seed));
  // Keys start at zero in the paper; give them values so every term of the gradient is exercised.
  new Rng(seed + 1).fillNormal(m.keys.w, 0.7);
  return m;
}

/** Straightforward per-token forward: the reference the fused kernel must agree with. */
function referenceLoss(m: LuModel, batch: Batch): number {
  const { D, K } = m;
  const C = m.numClasses;
  let total = 0;
  for (let b = 0; b < batch.B; b++) {
    const len = batch.lengths[b]!;
    const toks = Array.from(batch.tokens.subarray(b * batch.T, b * batch.T + len));
    const s = toks.map((u) => {
      let acc = 0;
      for (let j = 0; j < K; j++) acc += m.query.w[j]! * m.keys.w[u * K + j]!;
      return acc;
    });
    const mx = Math.max(...s);
    const e = s.map((x) => Math.exp(x - mx));
    const z = e.reduce((x, y) => x + y, 0);
    const v = new Array<number>(D).fill(0);
    toks.forEach((u, i) => {
      for (let d = 0; d < D; d++) v[d]! += (e[i]! / z) * m.embeddings.w[u * D + d]!;
    });
    let logits: number[];
    const cls = m.classifier;
    if (m.cfg.classifier === 'TL') {
      const H = m.H;
      const hid = Array.from({ length: H }, (_, h) => {
        let acc = cls[1]!.w[h]!;
        for (let d = 0; d < D; d++) acc += v[d]! * cls[0]!.w[d * H + h]!;
        return Math.max(0, acc);
      });
      logits = Array.from({ length: C }, (_, c) => {
        let acc = cls[3]!.w[c]!;
        for (let h = 0; h < H; h++) acc += hid[h]! * cls[2]!.w[h * C + c]!;
        return acc;
      });
    } else {
      logits = Array.from({ length: C }, (_, c) => {
        let acc = 0;
        for (let d = 0; d < D; d++) acc += v[d]! * cls[0]!.w[d * C + c]!;
        return acc;
      });
    }
    const lm = Math.max(...logits);
    const lz = logits.reduce((acc, x) => acc + Math.exp(x - lm), 0);
    total += Math.log(lz) + lm - logits[batch.labels[b]!]!;
  }
  return total / batch.B;
}

const cases: [string, LuModelConfig, number][] = [
  ['FC, 4 classes', cfg('FC'), 4],
  ['TC, 4 classes', cfg('TC'), 4],
  ['TC, 3 classes (general path)', cfg('TC'), 3],
  ['TL', cfg('TL'), 4],
  ['FC, query trainable', cfg('FC', { query: true, keys: true, embeddings: true }), 4],
  ['TC, keys frozen', cfg('TC', { query: false, keys: false, embeddings: true }), 4],
  ['TL, embeddings frozen, query trainable', cfg('TL', { query: true, keys: true, embeddings: false }), 4],
];

for (const [name, c, C] of cases) {
  test(`Lu ${name}: gradients match central finite differences`, () => {
    const V = 12;
    const m = model(c, V, C);
    const batch = randomBatch(new Rng(11), 9, 6, V, C);
    m.trainBatch(batch);
    const res = gradCheck(m.params, () => m.evaluate(batch).lossSum / batch.B, { h: 1e-2, samples: 60 });
    assertGradsClose(res, 1e-2);
    // Frozen parts receive no gradient.
    for (const p of m.params) if (!p.trainable) assert.ok(p.g.every((x) => x === 0), `${p.name} is frozen but has a gradient`);
  });

  test(`Lu ${name}: fused forward equals the per-token reference`, () => {
    const V = 12;
    const m = model(c, V, C);
    const batch = randomBatch(new Rng(5), 9, 6, V, C);
    const fused = m.evaluate(batch).lossSum / batch.B;
    const ref = referenceLoss(m, batch);
    assert.ok(Math.abs(fused - ref) < 1e-6 * Math.max(1, Math.abs(ref)), `fused ${fused} vs reference ${ref}`);
  });
}

test('Lu gradient check catches a wrong sign', () => {
  const m = model(cfg('TC'), 12, 4);
  const batch = randomBatch(new Rng(11), 9, 6, 12, 4);
  m.trainBatch(batch);
  for (let i = 0; i < m.keys.g.length; i++) m.keys.g[i] = -m.keys.g[i]!;
  assert.throws(() => assertGradsClose(gradCheck(m.params, () => m.evaluate(batch).lossSum / batch.B, { h: 1e-2 })), /keys/);
});

test('Lu gradient check catches a missing term (the −Σ a_j da_j part of the softmax backward)', () => {
  const m = model(cfg('FC'), 12, 4);
  const batch = randomBatch(new Rng(11), 9, 6, 12, 4);
  m.trainBatch(batch);
  const analytic = Float32Array.from(m.keys.g);
  // Recompute the key gradient without the softmax's normalisation term: ∂s_i = a_i da_i.
  m.keys.g.fill(0);
  const s = m.computeScores();
  for (let b = 0; b < batch.B; b++) {
    const len = batch.lengths[b]!;
    const toks = Array.from(batch.tokens.subarray(b * batch.T, b * batch.T + len));
    const e = toks.map((u) => Math.exp(s[u]!));
    const z = e.reduce((x, y) => x + y, 0);
    const v = new Array<number>(m.D).fill(0);
    toks.forEach((u, i) => { for (let d = 0; d < m.D; d++) v[d]! += (e[i]! / z) * m.embeddings.w[u * m.D + d]!; });
    const W = m.classifier[0]!.w;
    const logits = Array.from({ length: 4 }, (_, c) => v.reduce((acc, vd, d) => acc + vd * W[d * 4 + c]!, 0));
    const lm = Math.max(...logits);
    const p = logits.map((x) => Math.exp(x - lm));
    const pz = p.reduce((x, y) => x + y, 0);
    const dl = p.map((x, c) => (x / pz - (c === batch.labels[b] ? 1 : 0)) / batch.B);
    const dv = v.map((_, d) => dl.reduce((acc, g, c) => acc + g * W[d * 4 + c]!, 0));
    toks.forEach((u, i) => {
      let da = 0;
      for (let d = 0; d < m.D; d++) da += m.embeddings.w[u * m.D + d]! * dv[d]!;
      for (let j = 0; j < m.K; j++) m.keys.g[u * m.K + j] += (e[i]! / z) * da * m.query.w[j]!;
    });
  }
  assert.ok(analytic.some((x, i) => Math.abs(x - m.keys.g[i]!) > 1e-6), 'the wrong gradient must differ');
  assert.throws(() => assertGradsClose(gradCheck([m.keys], () => m.evaluate(batch).lossSum / batch.B, { h: 1e-2 })), /keys/);
});

test('Lu attention: rows are softmax distributions over the sentence; uniform when keys are zero', () => {
  const m = new LuModel(cfg('FC'), 12, 4, new Rng(1)); // keys start at zero
  const batch = randomBatch(new Rng(2), 5, 7, 12, 4);
  const maps = m.attention(batch);
  assert.equal(maps.length, 5);
  maps.forEach((ms, b) => {
    const a = ms[0]!;
    assert.equal(a.cols, batch.lengths[b]);
    assert.equal(a.rows, 1);
    for (const x of a.data) assert.equal(x, Math.fround(1 / batch.lengths[b]!));
  });
  new Rng(3).fillNormal(m.keys.w, 1);
  for (const [b, ms] of m.attention(batch).entries()) {
    const sum = ms[0]!.data.reduce((x, y) => x + y, 0);
    assert.ok(Math.abs(sum - 1) < 1e-6, `row ${b} sums to ${sum}`);
  }
});

test('Lu init follows the paper: keys zero, FC diagonal one and frozen, query std ≈ 0.3', () => {
  const m = new LuModel({ ...cfg('FC'), dEmb: 10, dKey: 1000, queryStd: 0.3, embStd: 1e-6 }, 50, 4, new Rng(9));
  assert.ok(m.keys.w.every((x) => x === 0));
  const W = m.classifier[0]!;
  assert.equal(W.trainable, false);
  for (let i = 0; i < 4; i++) assert.equal(W.w[i * 4 + i], 1);
  const q = Array.from(m.query.w);
  const std = Math.sqrt(q.reduce((a, x) => a + x * x, 0) / q.length);
  assert.ok(Math.abs(std - 0.3) < 0.03, `query std ${std}`);
  const e = Array.from(m.embeddings.w);
  const estd = Math.sqrt(e.reduce((a, x) => a + x * x, 0) / e.length);
  assert.ok(estd > 0.5e-6 && estd < 2e-6, `embedding std ${estd}`);
});
