/**
 * The webview's measurement model without a screen (webview/model/measures.ts): the store of
 * declared measurements (columns, matrices, events), the chart cards, matrix cards and event
 * markers made from the declarations, a matrix's colour scale and the matrix cards' step
 * cursor; and the run and compare stores that hold it, fed by the task-sequence test model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyMeasures } from '../../src/protocol/measures';
import { PROTOCOL_VERSION } from '../../src/protocol/messages';
import type { HostToWebview, MeasureChunk, MeasureDecl, RunInfo, ScalarChunk } from '../../src/protocol/messages';
import { CompareStore } from '../../webview/model/compareStore';
import {
  BAND_ALPHA,
  cardsKey,
  eventMarkers,
  LINE_ALPHA,
  matrixAtOrBefore,
  matrixDecls,
  matrixPaintValues,
  matrixScale,
  matrixStepNote,
  MeasureStore,
  mergeCards,
  mergeMatrices,
  seriesCards,
  StepCursor,
  styleMarkers,
} from '../../webview/model/measures';
import { Changed, RunStore } from '../../webview/model/store';
import { recordTaskSequence } from '../models/taskSequenceRun';

const DECLS: MeasureDecl[] = [
  { id: 'lr', kind: 'series', label: 'learning rate', scale: 'log', convention: 'per step' },
  { id: 'disp', kind: 'groups', label: 'displacement', groups: ['w', 'b'], min: 0 },
  { id: 'acc', kind: 'matrix', label: 'accuracy', rows: ['r0', 'r1'], cols: ['c0', 'c1'], min: 0, max: 1 },
  { id: 'task', kind: 'event', label: 'task', display: 'band' },
  { id: 'note', kind: 'event', label: 'note' },
];

const f64 = (...xs: number[]): Float64Array => Float64Array.from(xs);

function chunk(over: Partial<MeasureChunk>): MeasureChunk {
  return { ...emptyMeasures(), ...over };
}

// ─── the store ───────────────────────────────────────────────────────────────────────

test('MeasureStore: series and groups in columns (a Series per group), appended, re-sent rows skipped', () => {
  const m = new MeasureStore();
  m.reset(DECLS);
  assert.deepEqual([...m.columns.keys()], ['lr', 'disp']);
  assert.deepEqual([...m.matrices.keys()], ['acc']);
  const r = m.append(chunk({ series: [{ id: 'lr', step: f64(1, 2, 3), values: f64(0.5, 0.5, 0.25) }, { id: 'disp', step: f64(1, 2), values: f64(1, 10, 2, 20) }] }));
  assert.deepEqual(r, { changed: true });
  const disp = m.columns.get('disp')!;
  assert.deepEqual(Array.from(disp.step.values), [1, 2]);
  assert.deepEqual(disp.values.map((s) => Array.from(s.values)), [
    [1, 2],
    [10, 20],
  ]);
  // Steps 2..4 of disp: 2 is held already; out-of-order rows inside a chunk are skipped too.
  m.append(chunk({ series: [{ id: 'disp', step: f64(2, 3, 3, 4), values: f64(9, 90, 3, 30, 8, 80, 4, 40) }] }));
  assert.deepEqual(Array.from(disp.step.values), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(disp.values[1]!.values), [10, 20, 30, 40]);
  assert.deepEqual(m.seriesRange(), { x0: 1, x1: 4 });
  // A chunk that only repeats what is held changes nothing.
  const v = m.version;
  assert.deepEqual(m.append(chunk({ series: [{ id: 'lr', step: f64(3), values: f64(0.25) }] })), { changed: false });
  assert.equal(m.version, v);
});

test('MeasureStore: values of undeclared ids, of the wrong kind or width are dropped and reported; values are copied', () => {
  const m = new MeasureStore();
  m.reset(DECLS);
  const values = f64(1, 2, 3);
  const r = m.append(
    chunk({
      series: [
        { id: 'nope', step: f64(1), values: f64(1) },
        { id: 'disp', step: f64(1), values },
        { id: 'acc', step: f64(1), values: f64(1, 2, 3, 4) },
      ],
      matrices: [
        { id: 'acc', step: 5, values: Float32Array.of(1, 2, 3) },
        { id: 'lr', step: 5, values: Float32Array.of(1) },
      ],
      events: [{ id: 'lr', step: 1, text: 'x' }],
    }),
  );
  assert.equal(r.changed, false);
  for (const what of ['"nope"', '"disp" has 3 values for 1 steps', '"acc", which the run does not declare as a series', 'a matrix of "acc" has 3 values', 'a matrix of "lr"', 'an event of "lr"']) assert.ok(r.warning?.includes(what), `${what} in ${r.warning}`);
  // Copies: the message's buffer can be let go or reused.
  const src = f64(7);
  m.append(chunk({ series: [{ id: 'lr', step: f64(1), values: src }] }));
  src[0] = 0;
  assert.equal(m.columns.get('lr')!.values[0]!.at(0), 7);
  const mv = Float32Array.of(0.5, NaN, NaN, NaN);
  m.append(chunk({ matrices: [{ id: 'acc', step: 10, values: mv }] }));
  mv[0] = 0;
  assert.equal(m.matrixAt('acc', 10)?.values[0], 0.5);
});

test('MeasureStore: every matrix in step order; the one at or before a step', () => {
  const m = new MeasureStore();
  m.reset(DECLS);
  const at = (s: number): number[] => Array.from(Float32Array.of(s, s, s, s));
  m.append(chunk({ matrices: [10, 20].map((s) => ({ id: 'acc', step: s, values: Float32Array.from(at(s)) })) }));
  m.append(chunk({ matrices: [20, 30].map((s) => ({ id: 'acc', step: s, values: Float32Array.from(at(s)) })) }));
  assert.deepEqual(m.matrices.get('acc')!.map((x) => x.step), [10, 20, 30], 'the re-sent step 20 is kept once');
  assert.equal(m.matrixAt('acc', 9), undefined);
  assert.equal(m.matrixAt('acc', 10)?.step, 10);
  assert.equal(m.matrixAt('acc', 29)?.step, 20);
  assert.equal(m.matrixAt('acc', 1e9)?.step, 30);
  assert.equal(m.matrixAt('nope', 30), undefined);
  assert.equal(matrixAtOrBefore([], 5), undefined);
  assert.equal(m.lastStep, 30);
});

test('MeasureStore: events in step order, a re-sent one taken once; new declarations replace everything', () => {
  const m = new MeasureStore();
  m.reset(DECLS);
  m.append(chunk({ events: [{ id: 'task', step: 1, text: 'task 1', payload: { task: 1 } }, { id: 'task', step: 41, text: 'task 2' }] }));
  m.append(chunk({ events: [{ id: 'task', step: 41, text: 'task 2' }, { id: 'note', step: 20, text: 'late' }, { id: 'note', step: 41, text: 'same step' }] }));
  assert.deepEqual(m.events.map((e) => [e.id, e.step, e.text]), [
    ['task', 1, 'task 1'],
    ['note', 20, 'late'],
    ['task', 41, 'task 2'],
    ['note', 41, 'same step'],
  ]);
  assert.deepEqual(m.events[0]?.payload, { task: 1 });
  assert.equal(m.lastStep, 41);

  const epoch = m.epoch;
  assert.equal(m.declare(DECLS.map((d) => ({ ...d }))), false, 'the same declarations: kept');
  assert.equal(m.events.length, 4);
  assert.equal(m.declare(DECLS.slice(0, 2)), true);
  assert.ok(m.epoch > epoch);
  assert.deepEqual([m.events.length, m.matrices.size, m.columns.get('lr')?.step.length], [0, 0, 0]);
  assert.ok(Number.isNaN(m.lastStep));
});

// ─── cards and markers ───────────────────────────────────────────────────────────────

test('seriesCards: a chart per series or groups measurement, or one per `card`; axis, bounds, unit, conventions', () => {
  const cards = seriesCards(DECLS);
  assert.deepEqual(
    cards.map((c) => [c.key, c.title, c.log, c.min, c.lines.map((l) => `${l.id}[${l.column}] ${l.label}`), c.conventions]),
    [
      ['lr', 'learning rate (log)', true, undefined, ['lr[0] learning rate'], ['per step']],
      ['disp', 'displacement', false, 0, ['disp[0] w', 'disp[1] b'], []],
    ],
  );
  const shared = seriesCards([
    { id: 'bits/w', kind: 'series', label: 'weight bits', unit: 'bits', card: 'bits', min: 2, max: 8, convention: 'of the weights' },
    { id: 'x', kind: 'matrix', label: 'x', rows: ['a'], cols: ['b'] },
    { id: 'bits/g', kind: 'groups', label: 'gradient bits', unit: 'bits', groups: ['l0', 'l1'], card: 'bits', max: 16 },
    { id: 'under', kind: 'series', label: 'underflow', unit: '%', card: 'bits' },
  ]);
  assert.equal(shared.length, 1);
  const c = shared[0]!;
  assert.deepEqual([c.key, c.title, c.ids, c.min, c.max, c.unit], ['bits', 'weight bits · gradient bits · underflow', ['bits/w', 'bits/g', 'under'], 2, 16, 'bits, %']);
  assert.deepEqual(c.lines.map((l) => l.label), ['weight bits', 'gradient bits · l0', 'gradient bits · l1', 'underflow']);
  assert.deepEqual(c.conventions, ['weight bits: of the weights']);
  // A log axis ignores bounds ≤ 0.
  assert.equal(seriesCards([{ id: 'a', kind: 'series', label: 'a', scale: 'log', min: 0, max: 10 }])[0]?.min, undefined);
  assert.deepEqual(matrixDecls(DECLS).map((d) => d.id), ['acc']);
  assert.equal(cardsKey(DECLS), cardsKey(DECLS.map((d) => ({ ...d }))));
  assert.notEqual(cardsKey(DECLS), cardsKey(DECLS.slice(1)));
  assert.equal(cardsKey(DECLS), cardsKey(DECLS.filter((d) => d.kind !== 'event')), 'events make no cards');
});

test('mergeCards / mergeMatrices: the union over compared runs, each run its own (or none)', () => {
  const a = seriesCards(DECLS);
  const b = seriesCards([{ id: 'disp', kind: 'groups', label: 'displacement', groups: ['w', 'b', 'c'] }, { id: 'other', kind: 'series', label: 'other' }]);
  const merged = mergeCards([a, b]);
  assert.deepEqual(merged.map((m) => [m.card.key, m.runs.map((r) => r?.lines.length)]), [
    ['lr', [1, undefined]],
    ['disp', [2, 3]],
    ['other', [undefined, 1]],
  ]);
  const mm = mergeMatrices([DECLS, [], [{ id: 'acc', kind: 'matrix', label: 'acc', rows: ['x'], cols: ['y'] }]]);
  assert.deepEqual(mm.map((m) => [m.decl.id, m.runs.map((r) => r?.rows?.length)]), [['acc', [2, undefined, 1]]]);
});

test('eventMarkers: a band to the next event of its id (the last to the end), a line at its step; kinds and shades', () => {
  const ms = eventMarkers(DECLS, [
    { id: 'task', step: 1, text: 'task 1' },
    { id: 'note', step: 10, text: 'n' },
    { id: 'task', step: 41, text: 'task 2' },
    { id: 'undeclared', step: 50, text: '?' },
    { id: 'task', step: 81, text: 'task 3' },
  ]);
  assert.deepEqual(
    ms.map((m) => [m.id, m.step, m.end, m.display, m.kind, m.nth]),
    [
      ['task', 1, 41, 'band', 0, 0],
      ['note', 10, undefined, 'line', 1, 0],
      ['task', 41, 81, 'band', 0, 1],
      ['task', 81, undefined, 'band', 0, 2],
    ],
  );
  const styled = styleMarkers(ms, ['#cca700', 'rgb(10, 20, 30)'], 2, 'run-a');
  assert.deepEqual(styled.map((m) => [m.fill, m.stroke, m.color, m.row, m.runId]), [
    [`rgba(204, 167, 0, ${BAND_ALPHA[0]})`, `rgba(204, 167, 0, ${LINE_ALPHA})`, '#cca700', 2, 'run-a'],
    [`rgba(10, 20, 30, ${BAND_ALPHA[0]})`, `rgba(10, 20, 30, ${LINE_ALPHA})`, 'rgb(10, 20, 30)', 2, 'run-a'],
    [`rgba(204, 167, 0, ${BAND_ALPHA[1]})`, `rgba(204, 167, 0, ${LINE_ALPHA})`, '#cca700', 2, 'run-a'],
    [`rgba(204, 167, 0, ${BAND_ALPHA[0]})`, `rgba(204, 167, 0, ${LINE_ALPHA})`, '#cca700', 2, 'run-a'],
  ]);
  assert.ok(BAND_ALPHA[0] < BAND_ALPHA[1], 'consecutive bands differ in shade');
  assert.deepEqual(styleMarkers(ms, []), []);
});

// ─── matrices ────────────────────────────────────────────────────────────────────────

test('matrixScale: declared bounds, else the values shown; both signs undeclared: diverging; log: log10', () => {
  const acc = DECLS[2]!;
  const v = Float32Array.of(0.2, NaN, 0.6, NaN);
  assert.deepEqual(matrixScale(acc, v), { kind: 'sequential', min: 0, max: 1 });
  const free: MeasureDecl = { id: 'm', kind: 'matrix', label: 'm', rows: ['a', 'b'], cols: ['c', 'd'] };
  assert.deepEqual(matrixScale(free, v), { kind: 'sequential', min: 0.20000000298023224, max: 0.6000000238418579 });
  assert.deepEqual(matrixScale(free, Float32Array.of(-2, 1, NaN, 0)), { kind: 'diverging', min: -2, max: 2 });
  assert.deepEqual(matrixScale({ ...free, max: 0.5 }, Float32Array.of(0.5, 0.5)), { kind: 'sequential', min: -0.5, max: 0.5 }, 'a flat matrix still has a span');
  assert.deepEqual(matrixScale(free, Float32Array.of(NaN)), { kind: 'sequential', min: 0, max: 1 }, 'nothing to show');
  const log: MeasureDecl = { ...free, scale: 'log', min: 1e-3, max: 10 };
  const s = matrixScale(log, Float32Array.of(0.01, 1));
  assert.ok(Math.abs(s.min + 3) < 1e-12 && Math.abs(s.max - 1) < 1e-12);
  assert.deepEqual(Array.from(matrixPaintValues(log, Float32Array.of(100, 0, -1, NaN))), [2, NaN, NaN, NaN]);
  assert.equal(matrixPaintValues(free, v), v, 'a linear scale paints the values themselves');
});

test('matrixStepNote says which step a card shows, for the step its scrubber is at', () => {
  assert.equal(matrixStepNote(40, 60, false), 'step 40 · the latest at or before step 60');
  assert.equal(matrixStepNote(40, 40, false), 'step 40');
  assert.equal(matrixStepNote(120, 120, true), 'step 120 · the latest recorded');
  assert.equal(matrixStepNote(undefined, 10, false), 'none recorded by step 10');
  assert.equal(matrixStepNote(undefined, 10, true), 'none recorded yet');
  assert.equal(matrixStepNote(undefined, undefined, true), 'no steps yet');
  assert.equal(matrixStepNote(4000, 5000, false, (n) => n.toLocaleString('en-US')), 'step 4,000 · the latest at or before step 5,000');
});

test('StepCursor: any step of the run, clamped to it; at the last step live, following the run', () => {
  const c = new StepCursor();
  assert.equal(c.at(1, 50), 50);
  assert.equal(c.at(1, NaN), undefined, 'no steps yet');
  assert.equal(c.moveTo(30, 50), true);
  assert.deepEqual([c.live, c.step, c.at(1, 50), c.at(1, 120)], [false, 30, 30, 30], 'stays while steps arrive');
  assert.equal(c.moveTo(30, 50), false);
  assert.equal(c.at(40, 50), 40, 'clamped into the range');
  assert.equal(c.moveTo(50, 50), true);
  assert.deepEqual([c.live, c.step, c.at(1, 70)], [true, undefined, 70]);
  c.restore(12);
  assert.deepEqual([c.live, c.at(1, 70)], [false, 12]);
  assert.equal(c.goLive(), true);
  assert.equal(c.goLive(), false);
  c.restore(undefined);
  assert.equal(c.live, true);
});

// ─── the stores that hold it ─────────────────────────────────────────────────────────

const scalars = (from: number, to: number): ScalarChunk => {
  const n = to - from + 1;
  const step = Float64Array.from({ length: n }, (_, i) => from + i);
  return { n, step, loss: step.map(() => 1), trainAccuracy: step.map(() => 0.5), gradNorms: new Float64Array(n * 2), weightNorms: new Float64Array(n * 2) };
};
const info = (measures?: MeasureDecl[]): RunInfo => ({ name: 'm', modelKind: 'other', groups: ['a', 'b'], totalSteps: 100, stepsPerEpoch: 1, classes: [], probes: [], config: {}, ...(measures !== undefined ? { measures } : {}) });

test('RunStore keeps the declared measurements: a snapshot replaces them, updates extend them, late run info declares them', () => {
  const st = new RunStore();
  const snap = (measures: MeasureChunk, withInfo = true): HostToWebview => ({
    type: 'snapshot',
    protocolVersion: PROTOCOL_VERSION,
    snapshot: { runId: 'r', status: 'running', info: withInfo ? info(DECLS) : undefined, scalars: scalars(1, 5), evals: [], attentionSteps: [], latestAttention: undefined, identity: [], measures },
  });
  const r = st.apply(snap(chunk({ series: [{ id: 'lr', step: f64(3, 4, 5), values: f64(1, 1, 1) }], events: [{ id: 'task', step: 3, text: 't' }] })));
  assert.ok((r.changed & Changed.Measures) !== 0);
  assert.equal(st.measures.columns.get('lr')?.step.length, 3);
  assert.deepEqual(st.stepRange(), { x0: 1, x1: 5 });
  const up = (measures: MeasureChunk, extra: object = {}): HostToWebview => ({ type: 'stepsAppended', runId: 'r', scalars: scalars(6, 6), evals: [], attentionSteps: [], identity: [], measures, ...extra });
  const u = st.apply(up(chunk({ series: [{ id: 'lr', step: f64(6, 7), values: f64(2, 2) }], matrices: [{ id: 'acc', step: 6, values: new Float32Array(4) }] })));
  assert.ok((u.changed & Changed.Measures) !== 0);
  assert.deepEqual(st.stepRange(), { x0: 1, x1: 7 }, 'a measurement ahead of the scalars widens the charts');
  assert.equal(st.apply(up(emptyMeasures())).changed & Changed.Measures, 0, 'nothing new: no change');
  const bad = st.apply(up(chunk({ series: [{ id: 'nope', step: f64(8), values: f64(1) }] })));
  assert.match(bad.warning ?? '', /nope/);
  // A new snapshot replaces everything.
  st.apply(snap(emptyMeasures()));
  assert.deepEqual([st.measures.columns.get('lr')?.step.length, st.measures.events.length, st.measures.matrices.get('acc')?.length], [0, 0, 0]);
  // A snapshot taken before the run info came: the first update declares the measurements.
  st.apply(snap(emptyMeasures(), false));
  assert.deepEqual(st.measures.decls, []);
  const late = st.apply(up(chunk({ series: [{ id: 'lr', step: f64(6), values: f64(3) }] }), { info: info(DECLS) }));
  assert.ok((late.changed & Changed.Measures) !== 0 && (late.changed & Changed.Run) !== 0);
  assert.equal(st.measures.columns.get('lr')?.values[0]?.last, 3);
});

test('the task-sequence run in the stores: every declaration and value, and across compared runs', () => {
  const a = recordTaskSequence({});
  const b = recordTaskSequence({ decay: 1, seed: 2 }, 60);
  const st = new RunStore();
  st.apply({ type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: a.history.snapshot('a', 'completed') });
  const m = st.measures;
  assert.deepEqual(m.decls.map((d) => `${d.id}:${d.kind}`), ['lr:series', 'displacement:groups', 'acc/matrix:matrix', 'task:event']);
  assert.equal(m.columns.get('lr')?.step.length, 120);
  assert.deepEqual(m.columns.get('displacement')?.values.map((s) => s.length), [120, 120]);
  assert.deepEqual(m.matrices.get('acc/matrix')?.map((x) => x.step), [40, 80, 120]);
  assert.deepEqual(Array.from(m.matrixAt('acc/matrix', 60)!.values).map((v) => (Number.isNaN(v) ? 'NaN' : 'v')), ['v', 'v', 'v', 'NaN', 'NaN', 'NaN', 'NaN', 'NaN', 'NaN']);
  assert.deepEqual(eventMarkers(m.decls, m.events).map((x) => [x.step, x.end]), [
    [1, 41],
    [41, 81],
    [81, undefined],
  ]);
  assert.deepEqual(seriesCards(m.decls).map((c) => [c.key, c.log, c.lines.map((l) => l.label)]), [
    ['lr', true, ['learning rate']],
    ['displacement', false, ['weights', 'bias']],
  ]);

  const cs = new CompareStore();
  const r = cs.apply({ type: 'compareSnapshot', protocolVersion: PROTOCOL_VERSION, runs: [a.history.snapshot('a', 'completed'), b.history.snapshot('b', 'running')], configDiff: [] });
  assert.ok((r.changed & Changed.Measures) !== 0);
  assert.deepEqual(cs.runs.map((s) => s.measures.columns.get('lr')?.step.length), [120, 60]);
  assert.deepEqual(cs.stepRange(), { x0: 1, x1: 120 });
  assert.deepEqual(mergeCards(cs.runs.map((s) => seriesCards(s.measures.decls))).map((x) => [x.card.key, x.runs.length]), [
    ['lr', 2],
    ['displacement', 2],
  ]);
});
