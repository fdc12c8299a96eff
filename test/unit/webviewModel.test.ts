/**
 * The webview's pure data modules, without a screen: the run store, min/max decimation, the
 * colour ramp, heatmap layout, the scrubber and the identity's theory curve.
 */
import { emptyMeasures } from '../../src/protocol/measures';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION } from '../../src/protocol/messages';
import type { AttentionFrame, HostToWebview, IdentityPoint, RunInfo, RunSnapshot, ScalarChunk } from '../../src/protocol/messages';
import { buildRamp, colorOf, contrast, fillRGBA, heatPalette, over, parseColor, rampIndex, RAMP_SIZE, scaleForStage } from '../../webview/model/colorRamp';
import { decimateMinMax, lowerBound, MinMaxIndex } from '../../webview/model/decimate';
import { argmax, cellAt, encoderLayer, layersOf, luGrid, tokenLabels } from '../../webview/model/layout';
import { Scrubber, stopAtOrBefore, stopIndexAtOrBefore } from '../../webview/model/scrubber';
import { Series } from '../../webview/model/series';
import { Changed, MAX_IDENTITY_POINTS, RunStore, thinKeepingLast } from '../../webview/model/store';
import { theoryCurve, theoryNorm } from '../../webview/model/theory';

// ─── fixtures ────────────────────────────────────────────────────────────────────────

function chunk(from: number, to: number, groups = 2): ScalarChunk {
  const n = to - from + 1;
  const step = Float64Array.from({ length: n }, (_, i) => from + i);
  return {
    n,
    step,
    loss: step.map((s) => 1 / s),
    trainAccuracy: step.map(() => 0.5),
    gradNorms: Float64Array.from({ length: n * groups }, (_, k) => 10 * (from + Math.floor(k / groups)) + (k % groups)),
    weightNorms: new Float64Array(n * groups).fill(1),
  };
}

const info: RunInfo = {
  name: 'test run',
  modelKind: 'lu',
  groups: ['keys', 'embeddings'],
  totalSteps: 100,
  stepsPerEpoch: 1,
  classes: ['a', 'b'],
  probes: [
    { tokens: ['x', 'y', 'z'], label: 0 },
    { tokens: ['p', 'q'], label: 1 },
  ],
  topicWords: ['y'],
  m: 2,
  config: {},
};

const frame = (step: number): AttentionFrame => ({
  step,
  probes: [
    [{ layer: 0, head: 0, stage: 'weights', rows: 1, cols: 3, data: Float32Array.from([0.2, 0.7, 0.1]) }],
    [{ layer: 0, head: 0, stage: 'weights', rows: 1, cols: 2, data: Float32Array.from([0.4, 0.6]) }],
  ],
});

const idPoint = (step: number): IdentityPoint => ({ step, score: Float64Array.of(step), measured: Float64Array.of(1), theory: Float64Array.of(1), relError: Float64Array.of(0) });

function snapshot(upTo: number, over: Partial<RunSnapshot> = {}): HostToWebview {
  return {
    type: 'snapshot',
    protocolVersion: PROTOCOL_VERSION,
    snapshot: { runId: 'r1', status: 'running', info, scalars: chunk(1, upTo), evals: [], attentionSteps: [1, 10], latestAttention: frame(10), identity: [idPoint(1)], measures: emptyMeasures(), ...over },
  };
}

const appended = (from: number, to: number, extra: Partial<Extract<HostToWebview, { type: 'stepsAppended' }>> = {}): HostToWebview => ({
  type: 'stepsAppended',
  runId: 'r1',
  scalars: chunk(from, to),
  evals: [],
  attentionSteps: [],
  identity: [], measures: emptyMeasures(),
  ...extra,
});

// ─── series ──────────────────────────────────────────────────────────────────────────

test('Series grows by doubling and keeps every value', () => {
  const s = new Series(4);
  for (let i = 0; i < 100; i++) s.push(i);
  assert.equal(s.length, 100);
  assert.equal(s.capacity, 128);
  assert.deepEqual(Array.from(s.values), Array.from({ length: 100 }, (_, i) => i));
  s.pushStrided(Float64Array.from([1, 2, 3, 4, 5, 6]), 1, 3, 2);
  assert.deepEqual(Array.from(s.values.subarray(100)), [2, 4, 6]);
  assert.equal(s.last, 6);
  assert.ok(Number.isNaN(s.at(1000)));
  s.clear();
  assert.equal(s.length, 0);
  assert.ok(Number.isNaN(s.last));
});

// ─── store ───────────────────────────────────────────────────────────────────────────

test('RunStore: a snapshot loads everything, appended steps extend it, re-sent steps are skipped', () => {
  const st = new RunStore();
  const r = st.apply(snapshot(10));
  assert.equal(r.changed & Changed.Run, Changed.Run);
  assert.equal(st.runId, 'r1');
  assert.equal(st.step.length, 10);
  assert.deepEqual(st.groups, ['keys', 'embeddings']);
  assert.deepEqual(Array.from(st.gradNorms[1]!.values.subarray(0, 3)), [11, 21, 31]);
  assert.equal(st.lastStep, 10);

  // Steps 8..15: 8, 9, 10 are already held.
  const a = st.apply(appended(8, 15, { attentionSteps: [10, 20], latestAttention: frame(20), identity: [idPoint(1), idPoint(20)], evals: [{ step: 15, validationLoss: 1, validationAccuracy: 0.5, testLoss: 1, testAccuracy: 0.5 }] }));
  assert.ok((a.changed & Changed.Scalars) !== 0 && (a.changed & Changed.Attention) !== 0 && (a.changed & Changed.Identity) !== 0 && (a.changed & Changed.Evals) !== 0);
  assert.deepEqual(Array.from(st.step.values), Array.from({ length: 15 }, (_, i) => i + 1));
  assert.deepEqual(st.attentionSteps, [1, 10, 20]);
  assert.equal(st.latestAttention?.step, 20);
  assert.deepEqual(st.identity.map((p) => p.step), [1, 20]);
  assert.ok(Number.isNaN(st.evals.topicAttention.last));
  assert.equal(st.lastStep, 15);
});

test('RunStore: status, other runs, scrubbed frames, protocol errors', () => {
  const st = new RunStore();
  assert.ok(st.apply(appended(1, 3)).warning !== undefined, 'appended before any snapshot is ignored');
  assert.equal(st.step.length, 0);
  st.apply(snapshot(5));
  const other = st.apply({ ...appended(6, 8), runId: 'r2' } as HostToWebview);
  assert.equal(other.changed, Changed.None);
  assert.match(other.warning ?? '', /r2/);
  assert.equal(st.step.length, 5);

  st.apply({ type: 'statusChanged', runId: 'r1', status: 'failed', step: 7, reason: 'NaN loss' });
  assert.equal(st.status, 'failed');
  assert.equal(st.statusReason, 'NaN loss');
  assert.equal(st.lastStep, 7);
  assert.ok(st.finished);

  assert.equal(st.apply({ type: 'attentionLoaded', runId: 'r1', frame: frame(1) }).changed, Changed.Loaded);
  assert.equal(st.frameAt(1)?.step, 1);
  assert.equal(st.frameAt(10)?.step, 10, 'the latest frame counts as loaded');
  assert.equal(st.frameAt(3), undefined);

  // A mismatched group count is refused, not mis-sliced.
  const bad = st.apply({ ...appended(6, 6), scalars: chunk(6, 6, 3) } as HostToWebview);
  assert.match(bad.warning ?? '', /3 norm groups/);
  assert.equal(st.step.length, 5);

  const v = st.apply({ ...snapshot(3), protocolVersion: PROTOCOL_VERSION + 1 } as HostToWebview);
  assert.equal(v.changed, Changed.Error);
  assert.match(st.protocolError ?? '', /protocol version/);
  st.apply({ type: 'protocolMismatch', expected: 7, received: 1 });
  assert.match(st.protocolError ?? '', /7/);

  // A new snapshot replaces everything (another run selected).
  st.apply(snapshot(2, { runId: 'r2', attentionSteps: [], latestAttention: undefined, identity: [] }));
  assert.equal(st.runId, 'r2');
  assert.equal(st.step.length, 2);
  assert.equal(st.protocolError, undefined);
  assert.equal(st.frameAt(1), undefined, 'the frame cache belongs to the old run');
});

test('RunStore keeps the identity points bounded, the newest always kept', () => {
  const st = new RunStore();
  st.apply(snapshot(1, { identity: [] }));
  const pts = Array.from({ length: MAX_IDENTITY_POINTS + 10 }, (_, i) => idPoint(i + 1));
  st.apply(appended(2, 2, { identity: pts }));
  assert.ok(st.identity.length <= MAX_IDENTITY_POINTS);
  assert.equal(st.identity[0]?.step, 1);
  assert.equal(st.identity[st.identity.length - 1]?.step, MAX_IDENTITY_POINTS + 10);
  assert.deepEqual(thinKeepingLast([1, 2, 3, 4]), [1, 3, 4]);
  assert.deepEqual(thinKeepingLast([1, 2, 3]), [1, 3]);
});

// ─── decimation ──────────────────────────────────────────────────────────────────────

test('decimateMinMax: few points pass through; non-finite and (log) non-positive are skipped', () => {
  const xs = [1, 2, 3, 4, 5];
  const ys = [1, NaN, 0, -1, Infinity];
  const d = decimateMinMax(xs, ys, 0, 5, 10);
  assert.deepEqual(Array.from(d.xs.subarray(0, d.length)), [1, 3, 4]);
  const p = decimateMinMax(xs, ys, 0, 5, 10, { positiveOnly: true });
  assert.deepEqual(Array.from(p.xs.subarray(0, p.length)), [1]);
  assert.equal(decimateMinMax([], [], 0, 0, 10).length, 0);
});

test('decimateMinMax keeps each bucket’s min and max in x order, ≤ 2 per bucket, spikes kept', () => {
  const n = 1_000_000;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = i;
    ys[i] = Math.sin(i / 5000);
  }
  ys[500_001] = 99;
  ys[3] = -99;
  const buckets = 300;
  const d = decimateMinMax(xs, ys, 0, n, buckets);
  assert.ok(d.length <= 2 * buckets);
  const oy = Array.from(d.ys.subarray(0, d.length));
  const ox = Array.from(d.xs.subarray(0, d.length));
  assert.equal(Math.max(...oy), 99);
  assert.equal(Math.min(...oy), -99);
  assert.ok(ox.includes(500_001) && ox.includes(3));
  for (let k = 1; k < ox.length; k++) assert.ok((ox[k] as number) > (ox[k - 1] as number), 'x increasing');
  const counts = new Map<number, number>();
  for (const x of ox) {
    const b = Math.min(buckets - 1, Math.floor((x / (n - 1)) * buckets));
    counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  assert.ok([...counts.values()].every((c) => c <= 2));
  assert.equal(counts.size, buckets, 'every bucket has points');
  // Each bucket's extremes are the true extremes of its points.
  const b0 = ox.filter((x) => Math.floor((x / (n - 1)) * buckets) === 10).map((x) => ys[x] as number);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++)
    if (Math.floor((i / (n - 1)) * buckets) === 10) {
      lo = Math.min(lo, ys[i] as number);
      hi = Math.max(hi, ys[i] as number);
    }
  assert.deepEqual([Math.min(...b0), Math.max(...b0)], [lo, hi]);
  // A sub-range and a reused output buffer.
  const again = decimateMinMax(xs, ys, 1000, 2000, 10, { out: d });
  assert.equal(again, d);
  assert.ok(again.length <= 20 && (again.xs[0] as number) >= 1000);
  assert.equal(lowerBound(xs, n, 1234.5), 1235);
  assert.equal(lowerBound(xs, n, -1), 0);
  assert.equal(lowerBound(xs, n, 2e6), n);
});

// ─── colour ──────────────────────────────────────────────────────────────────────────

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('MinMaxIndex.decimate gives exactly decimateMinMax, as the series grows in chunks, over any range, with ties, gaps and non-finite values', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const r = lcg(seed);
    const n = 3000 + Math.floor(r() * 20000);
    const xs = new Float64Array(n);
    const ys = new Float64Array(n);
    let x = 0;
    for (let i = 0; i < n; i++) {
      // Mostly consecutive steps, sometimes repeated or jumping (a resumed or thinned run).
      const u = r();
      x += u < 0.05 ? 0 : u < 0.1 ? 1 + Math.floor(r() * 500) : 1;
      xs[i] = x;
      const v = r();
      // Small integers make ties; a few NaN, ±Infinity, zeros and negatives.
      ys[i] = v < 0.02 ? NaN : v < 0.03 ? Infinity : v < 0.04 ? -Infinity : v < 0.08 ? 0 : Math.floor(r() * 9) - 2;
    }
    for (const positiveOnly of [false, true]) {
      const ix = new MinMaxIndex(positiveOnly);
      let have = 0;
      while (have < n) {
        have = Math.min(n, have + 1 + Math.floor(r() * 4000));
        ix.sync(ys, have);
        assert.equal(ix.length, have);
        for (let q = 0; q < 4; q++) {
          const from = q === 0 ? 0 : Math.floor(r() * have);
          const to = q === 0 ? have : from + Math.floor(r() * (have - from + 1));
          const buckets = [1, 7, 64, 300][q] as number;
          const want = decimateMinMax(xs, ys, from, to, buckets, { positiveOnly });
          const got = ix.decimate(xs, from, to, buckets);
          const label = `seed ${seed}, positiveOnly ${positiveOnly}, [${from}, ${to}) of ${have}, ${buckets} buckets`;
          assert.equal(got.length, want.length, label);
          assert.deepEqual(Array.from(got.xs.subarray(0, got.length)), Array.from(want.xs.subarray(0, want.length)), label);
          assert.deepEqual(Array.from(got.ys.subarray(0, got.length)), Array.from(want.ys.subarray(0, want.length)), label);
        }
      }
    }
  }
});

test('MinMaxIndex: a shorter series or a new epoch starts the index over; a redraw reads a small part of a long series', () => {
  const ix = new MinMaxIndex();
  ix.sync(Float64Array.from([5, 1, 9, 3, 7]), 5);
  ix.sync(Float64Array.from([2, 8]), 2);
  assert.equal(ix.length, 2);
  assert.deepEqual(ix.query(0, 2), [0, 1]);
  // A replaced series of the same length (a new epoch) is indexed anew.
  const a = Float64Array.from({ length: 32 }, (_, i) => i);
  const b = Float64Array.from({ length: 32 }, (_, i) => 31 - i);
  ix.sync(a, 32, 1);
  assert.deepEqual(ix.query(0, 32), [0, 31]);
  ix.sync(b, 32, 2);
  assert.deepEqual(ix.query(0, 32), [31, 0]);
  // 400,000 points: the first sync reads each once; a decimation over all of them into 300
  // buckets then reads only a few per bucket from ys (and O(log) from xs).
  const n = 400_000;
  const xs = new Float64Array(n);
  const raw = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = i + 1;
    raw[i] = Math.sin(i / 777) + (i === 123_457 ? 50 : 0);
  }
  let reads = 0;
  const ys = new Proxy(raw, {
    get(t, k) {
      if (typeof k === 'string' && k.length > 0 && k.charCodeAt(0) >= 48 && k.charCodeAt(0) <= 57) reads++;
      const v = Reflect.get(t, k, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  }) as Float64Array;
  const big = new MinMaxIndex();
  big.sync(ys, n);
  reads = 0;
  const d = big.decimate(xs, 0, n, 300);
  assert.ok(reads < n / 20, `ys reads for one redraw: ${reads} of ${n}`);
  assert.ok(Array.from(d.ys.subarray(0, d.length)).includes(raw[123_457] as number), 'the spike is kept');
  const want = decimateMinMax(xs, raw, 0, n, 300);
  assert.deepEqual(Array.from(d.xs.subarray(0, d.length)), Array.from(want.xs.subarray(0, want.length)));
});

test('parseColor reads the forms VS Code and the canvas produce', () => {
  assert.deepEqual(parseColor('#f14c4c'), { r: 241, g: 76, b: 76, a: 1 });
  assert.deepEqual(parseColor(' #FFF '), { r: 255, g: 255, b: 255, a: 1 });
  assert.deepEqual(parseColor('#80808059'), { r: 128, g: 128, b: 128, a: 0x59 / 255 });
  assert.deepEqual(parseColor('rgba(10, 20, 30, 0.5)'), { r: 10, g: 20, b: 30, a: 0.5 });
  assert.deepEqual(parseColor('rgb(10 20 30 / 50%)'), { r: 10, g: 20, b: 30, a: 0.5 });
  assert.equal(parseColor('var(--x)'), undefined);
  assert.equal(parseColor('#12345'), undefined);
  assert.deepEqual(over({ r: 255, g: 255, b: 255, a: 0.5 }, { r: 0, g: 0, b: 0, a: 1 }), { r: 128, g: 128, b: 128, a: 1 });
  assert.ok(contrast({ r: 0, g: 0, b: 0, a: 1 }, { r: 255, g: 255, b: 255, a: 1 }) > 20);
});

test('the heat ramp runs from the background to the hot colour; values map monotonically', () => {
  const pal = heatPalette({ background: '#1e1e1e', low: '#d18616', high: '#f14c4c', negative: '#3794ff' });
  assert.deepEqual(Array.from(pal.positive.subarray(0, 4)), [0x1e, 0x1e, 0x1e, 255]);
  assert.deepEqual(Array.from(pal.positive.subarray((RAMP_SIZE - 1) * 4)), [0xf1, 0x4c, 0x4c, 255]);
  assert.deepEqual(Array.from(pal.negative.subarray((RAMP_SIZE - 1) * 4)), [0x37, 0x94, 0xff, 255]);
  const ramp = buildRamp([
    { t: 0, color: { r: 0, g: 0, b: 0, a: 1 } },
    { t: 1, color: { r: 255, g: 0, b: 0, a: 1 } },
  ]);
  for (let i = 1; i < RAMP_SIZE; i++) assert.ok((ramp[i * 4] as number) >= (ramp[(i - 1) * 4] as number));

  const seq = scaleForStage('weights', 'fixed', 0.3);
  assert.deepEqual(seq, { kind: 'sequential', min: 0, max: 1 });
  assert.deepEqual(scaleForStage('weights', 'auto', 0.3), { kind: 'sequential', min: 0, max: 0.3 });
  assert.equal(scaleForStage('logits', 'fixed', 4).kind, 'diverging');
  assert.deepEqual(rampIndex(0.5, seq), { index: 128, negative: false });
  assert.deepEqual(rampIndex(-2, { kind: 'diverging', min: -4, max: 4 }), { index: 128, negative: true });
  assert.deepEqual(rampIndex(NaN, seq).index, -1);

  const values = Float32Array.from([0, 0.25, 1, NaN, 2]);
  const out = new Uint8ClampedArray(values.length * 4);
  fillRGBA(out, values, seq, pal);
  for (const [i, v] of [0, 0.25, 1].entries()) {
    const c = colorOf(v, seq, pal);
    assert.deepEqual(Array.from(out.subarray(i * 4, i * 4 + 4)), [c.r, c.g, c.b, Math.round(c.a * 255)]);
  }
  assert.equal(out[3 * 4 + 3], 0, 'no value: transparent');
  assert.deepEqual(Array.from(out.subarray(16, 20)), Array.from(out.subarray(8, 12)), 'clamped above the scale');
  const div = new Uint8ClampedArray(8);
  fillRGBA(div, [-1, 1], { kind: 'diverging', min: -1, max: 1 }, pal);
  assert.deepEqual(Array.from(div.subarray(0, 3)), [0x37, 0x94, 0xff]);
  assert.deepEqual(Array.from(div.subarray(4, 7)), [0xf1, 0x4c, 0x4c]);
});

// ─── layout ──────────────────────────────────────────────────────────────────────────

test('luGrid: probes as rows, each row its own tokens, NaN past a sentence end', () => {
  const g = luGrid(frame(5), info);
  assert.equal(g.rows, 2);
  assert.equal(g.cols, 3);
  assert.deepEqual(Array.from(g.values).map((v) => (Number.isNaN(v) ? null : Math.round(v * 10) / 10)), [0.2, 0.7, 0.1, 0.4, 0.6, null]);
  assert.deepEqual(g.tokens, [
    ['x', 'y', 'z'],
    ['p', 'q'],
  ]);
  assert.deepEqual(g.rowLabels, ['#0 a', '#1 b']);
  assert.ok(Math.abs(g.peak - 0.7) < 1e-6);
  assert.equal(argmax(g.values), 1);
  assert.deepEqual(tokenLabels(['a'], 3), ['a', '#1', '#2']);
  assert.deepEqual(cellAt(15, 5, 30, 10, 2, 3), { row: 1, col: 1 });
  assert.equal(cellAt(30, 5, 30, 10, 2, 3), undefined);
});

test('encoderLayer: stages in computation order J → W → U, heads sorted, tokens on the axes', () => {
  const m = (stage: 'weights' | 'logits' | 'mixed', head: number, layer = 0) => ({ layer, head, stage, rows: 2, cols: 2, data: Float32Array.from([head, -3, 0.5, 1]) });
  const f: AttentionFrame = { step: 1, probes: [[m('mixed', 1), m('weights', 0), m('logits', 0), m('weights', 1), m('mixed', 0), m('logits', 1), m('weights', 0, 1)]] };
  const l = encoderLayer(f, { ...info, modelKind: 'encoder', probes: [{ tokens: ['hi', 'there'], label: 0 }] }, 0, 0);
  assert.deepEqual(l.stages.map((s) => s.stage), ['logits', 'weights', 'mixed']);
  assert.deepEqual(l.stages[1]?.heads.map((h) => h.head), [0, 1]);
  assert.equal(l.stages[0]?.peak, 3, 'logits: peak |value|');
  assert.equal(l.stages[1]?.peak, 1, 'weights: peak value');
  assert.deepEqual(l.tokens, ['hi', 'there']);
  assert.deepEqual(layersOf(f), [0, 1]);
  assert.deepEqual(layersOf(undefined), []);
});

// ─── scrubber ────────────────────────────────────────────────────────────────────────

test('the scrubber snaps to the nearest recorded step at or before a position; the end is live', () => {
  const stops = [1, 10, 20, 30];
  assert.equal(stopAtOrBefore(stops, 25), 20);
  assert.equal(stopAtOrBefore(stops, 20), 20);
  assert.equal(stopAtOrBefore(stops, 0), 1);
  assert.equal(stopAtOrBefore(stops, 1e9), 30);
  assert.equal(stopAtOrBefore([], 5), undefined);
  assert.equal(stopIndexAtOrBefore(stops, 9.99), 0);

  const s = new Scrubber(stops);
  assert.equal(s.live, true);
  assert.equal(s.step, 30);
  assert.equal(s.moveTo(25), true);
  assert.deepEqual(s.state, { live: false, step: 20 });
  assert.equal(s.moveTo(22), false, 'same stop: no change');
  stops.push(40); // training goes on
  assert.equal(s.step, 20, 'a scrubbed view stays put');
  assert.equal(s.moveBy(-1), true);
  assert.equal(s.step, 10);
  assert.equal(s.moveBy(100), true);
  assert.equal(s.live, true, 'moving to the end goes live');
  assert.equal(s.step, 40);
  s.moveTo(10);
  assert.equal(s.goLive(), true);
  assert.equal(s.goLive(), false);

  const r = new Scrubber([1, 10, 20]);
  r.restore({ live: false, step: 15 });
  assert.deepEqual(r.state, { live: false, step: 10 });
  r.restore({ live: true, step: undefined });
  assert.equal(r.live, true);
});

// ─── theory ──────────────────────────────────────────────────────────────────────────

test('the theory curve is sqrt(max(0, 2(s + (e^s − 1)/m)))', () => {
  assert.equal(theoryNorm(0, 20), 0);
  assert.ok(Math.abs(theoryNorm(1, 20) - Math.sqrt(2 * (1 + (Math.E - 1) / 20))) < 1e-12);
  assert.equal(theoryNorm(-0.5, 1), 0, 'clamped at 0 for negative scores');
  const c = theoryCurve(10, 0, 4, 5);
  assert.deepEqual(Array.from(c.s), [0, 1, 2, 3, 4]);
  for (let i = 0; i < 5; i++) assert.equal(c.norm[i], theoryNorm(c.s[i] as number, 10));
  for (let i = 1; i < 5; i++) assert.ok((c.norm[i] as number) > (c.norm[i - 1] as number));
});
