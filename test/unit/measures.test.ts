/**
 * Measurements as data, end to end: a test model (test/models/taskSequence.ts) declares one
 * measurement of each kind with trainer-side code only; its run goes through a real trainer
 * process (serveTrainer), the host's guard and history, the run store and the exports, and
 * every measurement comes out of each. Plus the one guard for declarations, samples and events.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isHostToWebview, isRunInfo, isStepData, isTrainerToHost } from '../../src/protocol/guards';
import { concatMeasures, declsById, isMeasureChunk, isMeasureDecl, isMeasureDecls, measuresProblem, measureWidth } from '../../src/protocol/measures';
import { PROTOCOL_VERSION, type MeasureChunk, type MeasureDecl, type RunSnapshot, type StepData } from '../../src/protocol/messages';
import { Measures } from '../../src/trainer/measures';
import { RunManager } from '../../src/runs/runManager';
import { openRun } from '../../src/runs/store';
import { StoredRun } from '../../src/runs/storedRun';
import { listRuns } from '../../src/runs/store';
import { runJson, scalarsCsv } from '../../src/runs/export';
import type { TaskSequence } from '../models/taskSequence';
import { recordTaskSequence } from '../models/taskSequenceRun';

const TRAINER = path.resolve(__dirname, '../models/taskSequenceTrainer.js');
const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-measures-'));
const manager = new RunManager({ trainerPath: TRAINER, runsDir, source: 'test' });
const protocolErrors: string[] = [];
manager.on('protocolError', (_run, text) => protocolErrors.push(text));
after(() => {
  manager.disposeAll();
  fs.rmSync(runsDir, { recursive: true, force: true });
});

const series: MeasureDecl = { id: 'lr', kind: 'series', label: 'learning rate', scale: 'log' };
const groups: MeasureDecl = { id: 'disp', kind: 'groups', label: 'displacement', groups: ['a', 'b'] };
const matrix: MeasureDecl = { id: 'acc/matrix', kind: 'matrix', label: 'accuracy', rows: ['t1', 't2'], cols: ['i1', 'i2', 'i3'] };
const event: MeasureDecl = { id: 'task', kind: 'event', label: 'task', display: 'band' };

test('guard: declarations of each kind are accepted; kind-specific fields must fit the kind', () => {
  for (const d of [series, groups, matrix, event]) assert.ok(isMeasureDecl(d), d.kind);
  assert.deepEqual([series, groups, matrix, event].map(measureWidth), [1, 2, 6, 0]);
  const bad: unknown[] = [
    { ...series, id: '' },
    { ...series, id: 'has space' },
    { ...series, id: 'x'.repeat(101) },
    { ...series, kind: 'histogram' },
    { ...series, label: 3 },
    { ...series, groups: ['a'] }, // groups on a series
    { ...groups, groups: [] },
    { ...groups, groups: undefined },
    { ...matrix, cols: undefined },
    { ...series, display: 'band' }, // display is for events
    { ...series, scale: 'sqrt' },
    { ...series, min: Infinity },
    { ...series, convention: 'x'.repeat(1001) },
  ];
  for (const d of bad) assert.equal(isMeasureDecl(d), false, JSON.stringify(d));
  assert.equal(isMeasureDecls([series, { ...series }]), false, 'ids are unique');
  assert.equal(isMeasureDecls(Array.from({ length: 257 }, (_, i) => ({ ...series, id: `s${i}` }))), false, 'at most MAX_MEASURES');
});

test('guard: a step is checked against the run declarations (id, kind, width, events at the step)', () => {
  const decls = declsById([series, groups, matrix, event]);
  const v = (n: number) => new Float64Array(n);
  assert.equal(measuresProblem(5, [{ id: 'lr', values: v(1) }, { id: 'disp', values: v(2) }, { id: 'acc/matrix', values: v(6) }], [{ id: 'task', step: 5, text: 'task 2' }], decls), undefined);
  assert.match(measuresProblem(5, [{ id: 'nope', values: v(1) }], [], decls)!, /not declared/);
  assert.match(measuresProblem(5, [{ id: 'disp', values: v(3) }], [], decls)!, /3 values, its declaration 2/);
  assert.match(measuresProblem(5, [{ id: 'task', values: v(0) }], [], decls)!, /is an event/);
  assert.match(measuresProblem(5, [{ id: 'lr', values: v(1) }, { id: 'lr', values: v(1) }], [], decls)!, /twice/);
  assert.match(measuresProblem(5, [], [{ id: 'lr', step: 5, text: 'x' }], decls)!, /not an event/);
  assert.match(measuresProblem(5, [], [{ id: 'task', step: 4, text: 'x' }], decls)!, /says step 4/);

  const step: StepData = { step: 5, epoch: 1, loss: 1, trainAccuracy: 0, gradNorms: v(1), weightNorms: v(1), stepMs: 0, measures: [{ id: 'disp', values: v(2) }], events: [{ id: 'task', step: 5, text: 'go', payload: { from: 3, to: [1, 2] } }] };
  assert.ok(isStepData(step, 1, decls));
  assert.equal(isStepData({ ...step, measures: [{ id: 'disp', values: v(5) }] }, 1, decls), false);
  assert.equal(isStepData({ ...step, measures: [{ id: 'disp', values: [1, 2] }] }, 1), false, 'values are a Float64Array');
  assert.equal(isStepData({ ...step, events: [{ id: 'task', step: 5, text: 'x'.repeat(201) }] }, 1), false, 'event text ≤ 200');
  assert.equal(isStepData({ ...step, events: [{ id: 'task', step: 5, text: 'x', payload: { big: 'y'.repeat(17000) } }] }, 1), false, 'payload ≤ 16 KiB');
  assert.equal(isStepData({ ...step, events: [{ id: 'task', step: 5, text: 'x', payload: { f: NaN } }] }, 1), false, 'payload is JSON');
  assert.equal(isTrainerToHost({ type: 'stepsCompleted', data: [step, { ...step, step: 6, events: [{ id: 'task', step: 6, text: 'x' }] }] }, 1, decls), true);
  assert.equal(isTrainerToHost({ type: 'stepsCompleted', data: [step, { ...step, step: 6 }] }, 1, declsById([series])), false, 'undeclared in this run');
});

test('guard: measure chunks in snapshots and updates', () => {
  const c: MeasureChunk = { series: [{ id: 'lr', step: Float64Array.of(1, 2), values: Float64Array.of(0.1, 0.2) }], matrices: [{ id: 'm', step: 3, values: new Float32Array(6) }], events: [{ id: 'task', step: 1, text: 'task 1' }] };
  assert.ok(isMeasureChunk(c));
  assert.equal(isMeasureChunk({ ...c, series: [{ id: 'lr', step: Float64Array.of(1, 2), values: Float64Array.of(0.1, 0.2, 0.3) }] }), false, 'a whole number of rows');
  assert.equal(isMeasureChunk({ ...c, matrices: [{ id: 'm', step: 3, values: new Float64Array(6) }] }), false, 'matrices travel as Float32Array');
  assert.equal(isMeasureChunk({ series: [], matrices: [] }), false);
  const joined = concatMeasures(c, { series: [{ id: 'lr', step: Float64Array.of(3), values: Float64Array.of(0.3) }, { id: 'd', step: Float64Array.of(3), values: Float64Array.of(1, 2) }], matrices: [], events: [{ id: 'task', step: 3, text: 'task 2' }] });
  assert.deepEqual(Array.from(joined.series[0]!.step), [1, 2, 3]);
  assert.deepEqual(Array.from(joined.series[0]!.values), [0.1, 0.2, 0.3]);
  assert.equal(joined.series[1]!.id, 'd');
  assert.deepEqual(joined.events.map((e) => e.step), [1, 3]);
  const { history } = recordTaskSequence({}, 50);
  const snap = history.snapshot('r', 'running');
  assert.ok(isHostToWebview({ type: 'snapshot', protocolVersion: 1, snapshot: snap }));
  assert.equal(isHostToWebview({ type: 'snapshot', protocolVersion: 1, snapshot: { ...snap, measures: undefined } }), false);
  assert.ok(isRunInfo(snap.info));
  assert.equal(isRunInfo({ ...snap.info, measures: [{ ...series, kind: 'nope' }] }), false);
});

test('trainer side: Measures refuses what the protocol would refuse, and hands each step its values once', () => {
  const m = new Measures();
  m.declare({ id: 'lr', kind: 'series', label: 'lr' });
  assert.throws(() => m.declare({ id: 'lr', kind: 'series', label: 'again' }), /declared twice/);
  assert.throws(() => m.declare({ id: 'bad id', kind: 'series', label: 'x' }), /measurement id/);
  assert.throws(() => m.declare({ id: 'g', kind: 'groups', label: 'x' }), /group names/);
  assert.throws(() => m.declare({ id: 'm', kind: 'matrix', label: 'x', rows: ['a'] }), /row and column/);
  m.declare({ id: 'g', kind: 'groups', label: 'g', groups: ['a', 'b'] });
  m.declare({ id: 'e', kind: 'event', label: 'e' });
  assert.throws(() => m.series('nope', 1), /not declared/);
  assert.throws(() => m.groups('g', [1]), /1 values, declared 2/);
  assert.throws(() => m.series('e', 1), /is a event/);
  assert.equal(m.take(), undefined);
  m.series('lr', 0.5);
  m.series('lr', 0.25); // the last value of a step wins
  m.event('e', 'happened', { a: 1 });
  const t = m.take()!;
  assert.deepEqual(t.samples.map((s) => [s.id, Array.from(s.values)]), [['lr', [0.25]]]);
  assert.deepEqual(t.events, [{ id: 'e', text: 'happened', payload: { a: 1 } }]);
  assert.equal(m.take(), undefined, 'taken once');
  assert.ok(isMeasureDecls(m.declared), 'what the trainer declares passes the protocol guard');
});

/** The in-process run's measurements, as the reference for every other path. */
function reference(config: unknown): { snapshot: RunSnapshot; model: TaskSequence } {
  const { history, model } = recordTaskSequence(config);
  return { snapshot: history.snapshot('ref', 'completed'), model };
}

function assertSameMeasures(got: MeasureChunk, want: MeasureChunk, where: string): void {
  assert.deepEqual(got.series.map((s) => s.id).sort(), want.series.map((s) => s.id).sort(), `${where}: series ids`);
  for (const w of want.series) {
    const g = got.series.find((s) => s.id === w.id)!;
    assert.deepEqual(Array.from(g.step), Array.from(w.step), `${where}: ${w.id} steps`);
    assert.deepEqual(Array.from(g.values), Array.from(w.values), `${where}: ${w.id} values`);
  }
  assert.deepEqual(got.matrices.map((m) => [m.id, m.step, Array.from(m.values)]), want.matrices.map((m) => [m.id, m.step, Array.from(m.values)]), `${where}: matrices`);
  assert.deepEqual(got.events, want.events, `${where}: events`);
}

test('the test model through a real trainer process: the host, the run folder and the exports hold every measurement', async () => {
  const config = { name: 'task-sequence', seed: 3 };
  const ref = reference(config);
  // What the reference holds, so this test cannot pass on empty chunks.
  const acc = ref.model.accuracyMatrix;
  assert.equal(ref.snapshot.measures.series.find((s) => s.id === 'lr')!.step.length, 120);
  assert.equal(ref.snapshot.measures.series.find((s) => s.id === 'displacement')!.values.length, 240);
  assert.deepEqual(ref.snapshot.measures.matrices.map((m) => m.step), [40, 80, 120]);
  assert.deepEqual(ref.snapshot.measures.events.map((e) => [e.step, e.text]), [[1, 'task 1'], [41, 'task 2'], [81, 'task 3']]);
  assert.ok(acc[0]![0]! > acc[2]![0]!, 'task 1 is forgotten a little by the end (the matrix carries information)');

  const run = manager.launch({ config, baseDir: os.tmpdir() });
  assert.equal(await run.finished, 'completed');
  assert.deepEqual(protocolErrors, []);
  assert.deepEqual(run.history.info?.measures, ref.snapshot.info?.measures);
  const live = run.history.snapshot(run.id, 'completed');
  assertSameMeasures(live.measures, ref.snapshot.measures, 'host');

  // The run folder: read back whole, and followed as a stored run.
  const stored = openRun(run.dir!);
  assert.deepEqual(stored.problems, []);
  assert.deepEqual(stored.meta?.info?.measures, ref.snapshot.info?.measures);
  assertSameMeasures(stored.measures, ref.snapshot.measures, 'store');
  const listing = listRuns(runsDir).runs.find((r) => r.id === run.id)!;
  const again = new StoredRun(listing).snapshot();
  assertSameMeasures(again.measures, ref.snapshot.measures, 'stored run snapshot');

  // CSV: a column per series, group, matrix cell and event, on the steps that recorded them.
  const csv = scalarsCsv([{ name: 'ts', snapshot: again }]).trim().split('\n');
  const head = csv[0]!.split(',');
  for (const c of ['lr', 'displacement/weights', 'displacement/bias', 'acc/matrix[after task 1][task 1]', 'acc/matrix[after task 3][task 2]', 'task']) assert.ok(head.includes(c), `CSV column ${c}`);
  const row = (step: number) => Object.fromEntries(csv[step]!.split(',').map((v, i) => [head[i]!, v]));
  assert.equal(Number(row(41)['lr']), 0.25);
  assert.equal(row(41)['task'], 'task 2');
  assert.equal(row(42)['task'], '');
  assert.equal(Number(row(120)['acc/matrix[after task 3][task 2]']), Math.fround(acc[2]![1]!));
  assert.equal(row(39)['acc/matrix[after task 1][task 1]'], '');
  assert.equal(Number(row(40)['acc/matrix[after task 1][task 1]']), Math.fround(acc[0]![0]!));
  const d = ref.snapshot.measures.series.find((s) => s.id === 'displacement')!;
  assert.equal(Number(row(7)['displacement/bias']), d.values[6 * 2 + 1]);

  // JSON: every measurement, matrices as rows.
  const json = JSON.parse(runJson({ name: 'ts', snapshot: again })) as { measures: { series: { id: string; steps: number[]; values: unknown[] }[]; matrices: { id: string; step: number; values: unknown[][] }[]; events: unknown[] } };
  assert.equal(json.measures.series.find((s) => s.id === 'lr')!.values[0], 0.5);
  assert.deepEqual(json.measures.series.find((s) => s.id === 'displacement')!.values[6], Array.from(d.values.subarray(12, 14)));
  assert.deepEqual(json.measures.matrices[2]!.values, acc.map((r) => r.map((x) => Math.fround(x))));
  assert.deepEqual(json.measures.events, ref.snapshot.measures.events);
});

test('steps whose measurements do not fit the declarations are rejected by the host and reported; the fitting ones kept', async () => {
  const errors: string[] = [];
  const m = new RunManager({ trainerPath: path.resolve(__dirname, '../../../test/fixtures/bad-measures.js') });
  m.on('protocolError', (_run, text) => errors.push(text));
  try {
    const run = m.launch({ config: {}, baseDir: os.tmpdir(), args: [String(PROTOCOL_VERSION)] });
    assert.equal(await run.finished, 'completed');
    assert.equal(errors.length, 4, errors.join('\n'));
    const snap = run.history.snapshot(run.id, 'completed');
    assert.deepEqual(Array.from(snap.scalars.step), [1, 2]);
    assert.deepEqual(snap.measures.series.map((s) => [s.id, Array.from(s.step), Array.from(s.values)]), [['lr', [1], [0.1]], ['disp', [2], [1, 2]]]);
    assert.deepEqual(snap.measures.events, [{ id: 'task', step: 1, text: 'task 1' }]);
  } finally {
    m.disposeAll();
  }
});
