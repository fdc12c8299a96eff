/**
 * RunHistory (the host's record of a run) and UpdateCoalescer: every step's scalars kept,
 * attention looked up by step, updates that carry only what is new, snapshots, and a memory
 * budget per step measured on the typed arrays' capacities.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION, type AttentionMapData, type RunInfo, type StepData } from '../../src/protocol/messages';
import { isHostToWebview } from '../../src/protocol/guards';
import { LIVE_IDENTITY_POINTS, MAX_IDENTITY_POINTS, RunHistory } from '../../src/runs/runHistory';
import { UpdateCoalescer } from '../../src/runs/coalescer';

const G = 4;
const K = 8;

const info: RunInfo = {
  name: 'test',
  modelKind: 'lu',
  groups: ['embeddings', 'keys', 'query', 'classifier'],
  totalSteps: 1_000_000,
  stepsPerEpoch: 1,
  classes: ['a', 'b', 'c', 'd'],
  probes: [{ tokens: ['x', 'y'], label: 1 }],
  topicWords: ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7'],
  m: 10,
  config: {},
};

function maps(step: number): AttentionMapData[][] {
  return [[{ layer: 0, head: 0, stage: 'weights', rows: 1, cols: 2, data: new Float32Array([step / 1e6, 1 - step / 1e6]) }]];
}

/** A synthetic step whose every number is derived from the step, so it can be checked. */
function makeStep(step: number, opts: { eval?: boolean; attention?: boolean; identity?: boolean } = {}): StepData {
  const d: StepData = {
    step,
    epoch: step,
    loss: 1 / step,
    trainAccuracy: (step % 100) / 100,
    gradNorms: Float64Array.from({ length: G }, (_, g) => step + g / 8),
    weightNorms: Float64Array.from({ length: G }, (_, g) => -step - g / 8),
    stepMs: 0.5,
  };
  if (opts.eval) d.eval = { validationLoss: 2 / step, validationAccuracy: 0.5, testLoss: 3 / step, testAccuracy: 0.25, topicAttention: 0.1 };
  if (opts.attention) d.attention = maps(step);
  if (opts.identity) {
    const v = (k: number) => Float64Array.from({ length: K }, (_, i) => step + i + k);
    d.identity = { score: v(0), measured: v(0.25), theory: v(0.5), relError: v(0.75) };
  }
  return d;
}

test('scalars are kept for every step, across chunk boundaries', () => {
  const h = new RunHistory();
  h.setInfo(info);
  const N = 10_000; // several chunks (1,024, 2,048, 4,096, ...)
  for (let s = 1; s <= N; s++) h.appendStep(makeStep(s));
  assert.equal(h.length, N);
  assert.equal(h.lastStep, N);
  const all = h.scalars();
  assert.equal(all.n, N);
  assert.equal(all.gradNorms.length, N * G);
  for (let i = 0; i < N; i++) {
    const s = i + 1;
    assert.equal(all.step[i], s);
    assert.equal(all.loss[i], 1 / s);
    assert.equal(all.trainAccuracy[i], (s % 100) / 100);
    for (let g = 0; g < G; g++) {
      assert.equal(all.gradNorms[i * G + g], Math.fround(s + g / 8)); // stored as float32
      assert.equal(all.weightNorms[i * G + g], Math.fround(-s - g / 8));
    }
  }
  // A range that straddles chunk boundaries.
  const part = h.scalars(1000, 3100);
  assert.equal(part.n, 2100);
  assert.deepEqual(Array.from(part.step), Array.from({ length: 2100 }, (_, i) => 1001 + i));
  assert.equal(part.gradNorms[2099 * G + 3], Math.fround(3100 + 3 / 8));
});

test('appendStep refuses steps that do not increase and norms of the wrong length', () => {
  const h = new RunHistory();
  h.setInfo(info);
  h.appendStep(makeStep(1));
  assert.throws(() => h.appendStep(makeStep(1)), /step 1 after step 1/);
  const wrong = makeStep(2);
  wrong.gradNorms = new Float64Array(G + 1);
  wrong.weightNorms = new Float64Array(G + 1);
  assert.throws(() => h.appendStep(wrong), /groups/);
  assert.equal(h.length, 1);
});

test('attentionAt returns the latest frame at or before a step', () => {
  const h = new RunHistory();
  h.setInfo(info);
  for (let s = 1; s <= 100; s++) h.appendStep(makeStep(s, { attention: s === 1 || s % 10 === 0 }));
  assert.equal(h.attentionAt(0), undefined);
  assert.equal(h.attentionAt(1)!.step, 1);
  assert.equal(h.attentionAt(9)!.step, 1);
  assert.equal(h.attentionAt(10)!.step, 10);
  assert.equal(h.attentionAt(55)!.step, 50);
  assert.equal(h.attentionAt(99.5)!.step, 90);
  assert.equal(h.attentionAt(100)!.step, 100);
  assert.equal(h.attentionAt(1e9)!.step, 100);
  assert.equal(h.attentionAt(37)!.probes[0]![0]!.data[0], Math.fround(30 / 1e6), 'the frame of that step');
  assert.equal(h.latestAttention()!.step, 100);
});

test('drainUpdate returns only what is new, then nothing', () => {
  const h = new RunHistory();
  assert.equal(h.drainUpdate('r'), undefined, 'nothing yet');
  h.setInfo(info);
  for (let s = 1; s <= 5; s++) h.appendStep(makeStep(s, { eval: s === 5, attention: s === 1, identity: true }));
  const u1 = h.drainUpdate('r')!;
  assert.ok(isHostToWebview(u1));
  assert.equal(u1.runId, 'r');
  assert.deepEqual(Array.from(u1.scalars.step), [1, 2, 3, 4, 5]);
  assert.deepEqual(u1.evals.map((e) => e.step), [5]);
  assert.deepEqual(u1.attentionSteps, [1]);
  assert.equal(u1.latestAttention!.step, 1);
  assert.deepEqual(u1.identity.map((p) => p.step), [1, 2, 3, 4, 5]);
  assert.equal(h.drainUpdate('r'), undefined, 'drained');

  for (let s = 6; s <= 8; s++) h.appendStep(makeStep(s, { identity: true }));
  const u2 = h.drainUpdate('r')!;
  assert.deepEqual(Array.from(u2.scalars.step), [6, 7, 8]);
  assert.equal(u2.scalars.gradNorms.length, 3 * G);
  assert.deepEqual(u2.evals, []);
  assert.deepEqual(u2.attentionSteps, []);
  assert.equal(u2.latestAttention, undefined, 'no new frame, no frame');
  assert.deepEqual(u2.identity.map((p) => p.step), [6, 7, 8]);
  assert.equal(u2.identity[2]!.measured[3], Math.fround(8 + 3 + 0.25));
  assert.equal(h.drainUpdate('r'), undefined);
});

test('a live update carries at most LIVE_IDENTITY_POINTS identity points, with the latest; the snapshot has them all', () => {
  const h = new RunHistory();
  h.setInfo(info);
  for (let s = 1; s <= 300; s++) h.appendStep(makeStep(s, { identity: true }));
  const u = h.drainUpdate('r')!;
  assert.equal(u.scalars.n, 300, 'every step');
  assert.equal(u.identity.length, LIVE_IDENTITY_POINTS);
  assert.equal(u.identity[0]!.step, 1);
  assert.equal(u.identity[u.identity.length - 1]!.step, 300);
  for (let i = 1; i < u.identity.length; i++) assert.ok(u.identity[i]!.step > u.identity[i - 1]!.step);
  assert.equal(h.snapshot('r', 'running').identity.length, 300);
});

test('snapshot holds the whole run; identity is subsampled with the first and latest point', () => {
  const h = new RunHistory();
  h.setInfo(info);
  const N = 5000;
  for (let s = 1; s <= N; s++) h.appendStep(makeStep(s, { eval: s % 50 === 0, attention: s === 1 || s % 10 === 0, identity: true }));
  const summary = { steps: N, loss: 0.01, trainAccuracy: 1, validationAccuracy: 1, testAccuracy: 1, msPerStep: 0.5 };
  h.setSummary(summary);
  const snap = h.snapshot('r', 'completed');
  assert.ok(isHostToWebview({ type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: snap }));
  assert.equal(snap.runId, 'r');
  assert.equal(snap.status, 'completed');
  assert.equal(snap.statusReason, undefined);
  assert.equal(snap.info, info);
  assert.deepEqual(snap.summary, summary);
  assert.equal(snap.scalars.n, N);
  assert.equal(snap.evals.length, N / 50);
  assert.equal(snap.evals[0]!.step, 50);
  assert.equal(snap.attentionSteps.length, 1 + N / 10);
  assert.equal(snap.latestAttention!.step, N);
  assert.equal(h.identityLength, N);
  assert.ok(snap.identity.length <= MAX_IDENTITY_POINTS && snap.identity.length > 1000, `identity points ${snap.identity.length}`);
  assert.equal(snap.identity[0]!.step, 1);
  assert.equal(snap.identity[snap.identity.length - 1]!.step, N, 'the latest identity point is always there');
  for (let i = 1; i < snap.identity.length; i++) assert.ok(snap.identity[i]!.step > snap.identity[i - 1]!.step);

  const paused = h.snapshot('r', 'paused', 'step 3: loss is NaN');
  assert.equal(paused.statusReason, 'step 3: loss is NaN');
  // A snapshot does not consume the pending update.
  assert.equal(h.drainUpdate('r')!.scalars.n, N);
});

test('memory: a million steps stay within 64 bytes per step (typed-array capacities)', () => {
  const h = new RunHistory();
  h.setInfo(info);
  const N = 1_000_000;
  const d = makeStep(1);
  for (let s = 1; s <= N; s++) {
    d.step = s;
    d.loss = 1 / s;
    h.appendStep(d);
  }
  assert.equal(h.length, N);
  const perStep = h.scalarBytes / N;
  assert.ok(perStep <= 64, `${perStep.toFixed(1)} bytes/step`);
  assert.ok(perStep >= 24 + 8 * G, 'capacity covers every step');
  assert.equal(h.scalars(N - 1, N).step[0], N);
});

test('UpdateCoalescer flushes soon after a notify, never more often than its interval', async () => {
  const times: number[] = [];
  const c = new UpdateCoalescer(40, () => times.push(performance.now()));
  const t0 = performance.now();
  c.notify();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(times.length, 1, 'the first notify of a quiet period flushes at once');
  // A burst of notifies for 300 ms: at most one flush per 40 ms.
  const end = performance.now() + 300;
  while (performance.now() < end) {
    c.notify();
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 100));
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 38, `gap ${times[i]! - times[i - 1]!} ms`);
  assert.ok(times.length >= 4 && times.length <= Math.ceil((performance.now() - t0) / 40) + 1, `${times.length} flushes`);
  const n = times.length;
  c.notify();
  c.dispose();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(times.length, n, 'nothing after dispose');
});

/** A backing over a full in-memory copy of every step, counting what it was asked for. */
function fakeBacking(all: RunHistory, persisted: { steps: number; identity: number; attention: number }) {
  const calls = { read: 0, attention: [] as number[] };
  return {
    calls,
    persisted,
    backing: {
      persisted: () => persisted,
      read: (steps: number, identity: number) => {
        calls.read++;
        const snap = all.snapshot('x', 'running');
        const id = snap.identity;
        const k = id[0]?.score.length ?? 0;
        const col = (f: 'score' | 'measured' | 'theory' | 'relError') => Float64Array.from({ length: identity * k }, (_, i) => id[Math.floor(i / k)]![f][i % k]!);
        return {
          scalars: all.scalars(0, steps),
          identity: { n: identity, k, step: id.slice(0, identity).map((p) => p.step), score: col('score'), measured: col('measured'), theory: col('theory'), relError: col('relError') },
        };
      },
      readAttention: (step: number) => {
        calls.attention.push(step);
        return all.attentionAt(step);
      },
    },
  };
}

test('with a backing, rows in the files and handed out are let go; snapshots and old frames are read back', () => {
  const N = 1500; // < MAX_IDENTITY_POINTS, so identity is not subsampled and can be compared row by row
  const full = new RunHistory();
  const h = new RunHistory();
  full.setInfo(info);
  h.setInfo(info);
  const fb = fakeBacking(full, { steps: 0, identity: 0, attention: 0 });
  h.backing = fb.backing;
  for (let s = 1; s <= N; s++) {
    const d = makeStep(s, { attention: true, identity: true, eval: s % 100 === 0 });
    full.appendStep(d);
    h.appendStep(d);
  }
  h.drainUpdate('x');
  assert.equal(h.retained, 0, 'nothing is let go before the files hold it');
  assert.equal(h.framesHeld, N);
  fb.persisted.steps = 1200;
  fb.persisted.identity = 1200;
  fb.persisted.attention = 1200;
  h.letGo();
  assert.equal(h.retained, 1024, 'the first chunk (1,024 rows) is let go: every row of it is in the files');
  assert.equal(h.framesHeld, N - 1200, 'frames up to the persisted count are let go (more than FRAMES_KEPT remain)');
  assert.throws(() => h.scalars(0, 10), /no longer held/);

  const got = h.snapshot('x', 'running');
  const want = full.snapshot('x', 'running');
  assert.equal(fb.calls.read, 1);
  assert.deepEqual(Array.from(got.scalars.step), Array.from(want.scalars.step), 'every step, from files then memory');
  assert.deepEqual(Array.from(got.scalars.gradNorms), Array.from(want.scalars.gradNorms));
  assert.deepEqual(Array.from(got.scalars.loss), Array.from(want.scalars.loss));
  assert.deepEqual(got.identity.map((p) => p.step), want.identity.map((p) => p.step));
  assert.deepEqual(Array.from(got.identity[5]!.relError), Array.from(want.identity[5]!.relError));
  assert.deepEqual(Array.from(got.identity[N - 1]!.score), Array.from(want.identity[N - 1]!.score));
  assert.equal(got.attentionSteps.length, N);
  assert.equal(got.latestAttention?.step, N);

  assert.equal(h.attentionAt(1400)?.step, 1400, 'a recent frame from memory');
  assert.deepEqual(fb.calls.attention, []);
  assert.equal(h.attentionAt(10)?.step, 10, 'an old frame from the backing');
  assert.deepEqual(fb.calls.attention, [10]);

  // Not handed out yet: kept, whatever the files hold.
  for (let s = N + 1; s <= N + 3000; s++) h.appendStep(makeStep(s));
  fb.persisted.steps = N + 3000;
  h.letGo();
  assert.ok(h.retained <= N, 'rows not yet drained stay in memory');
  const u = h.drainUpdate('x')!;
  assert.equal(u.scalars.step[0], N + 1, 'the update starts where the last one ended');
  assert.equal(u.scalars.n, 3000);
});

test('with a backing, the scalar memory of a long run stays flat', () => {
  const h = new RunHistory();
  h.setInfo(info);
  const persisted = { steps: 0, identity: 0, attention: 0 };
  h.backing = { persisted: () => persisted, read: () => assert.fail('no snapshot here'), readAttention: () => undefined };
  const bytes: number[] = [];
  for (let s = 1; s <= 1_000_000; s++) {
    h.appendStep(makeStep(s));
    if (s % 1000 === 0) {
      persisted.steps = s;
      h.drainUpdate('x');
    }
    if (s % 250_000 === 0) bytes.push(h.scalarBytes);
  }
  // At most two of the largest chunks (65,536 rows) are held: 2 × 65,536 × 56 B ≈ 7.3 MB.
  for (const b of bytes) assert.ok(b <= 2 * 65536 * (24 + 8 * G), `${b} bytes held`);
  assert.ok(h.retained > 900_000);
  assert.equal(h.lastStep, 1_000_000);
});

test('a backing that cannot be read back: the snapshot holds the rows in memory and the error is reported', () => {
  const h = new RunHistory();
  h.setInfo(info);
  const errors: unknown[] = [];
  h.backing = { persisted: () => ({ steps: 5000, identity: 0, attention: 0 }), read: () => { throw new Error('scalars.bin is missing'); }, readAttention: () => undefined };
  h.onBackingError = (e) => errors.push(e);
  for (let s = 1; s <= 5000; s++) h.appendStep(makeStep(s));
  h.drainUpdate('x');
  assert.ok(h.retained > 0);
  const snap = h.snapshot('x', 'running');
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /scalars\.bin is missing/);
  assert.equal(snap.scalars.step[0], h.retained + 1);
  assert.equal(snap.scalars.step[snap.scalars.n - 1], 5000);
  assert.ok(isHostToWebview({ type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: snap }));
});
