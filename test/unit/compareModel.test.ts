/**
 * The compare view's pure model: one RunStore per run in the chosen order, routing of per-run
 * messages, the shared scrubber's stops, each run's frame at or before a step, legend toggles,
 * the derived total gradient norm and zoom ranges.
 */
import { emptyMeasures } from '../../src/protocol/measures';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION } from '../../src/protocol/messages';
import type { AttentionFrame, HostToWebview, RunInfo, RunSnapshot, ScalarChunk } from '../../src/protocol/messages';
import { CompareStore, luProbeGrid, luRow, rangeIndices, unionSorted } from '../../webview/model/compareStore';
import { indexAtOrBefore } from '../../src/protocol/steps';
import { Changed } from '../../webview/model/store';

function chunk(from: number, to: number, groups = 2): ScalarChunk {
  const n = to - from + 1;
  const step = Float64Array.from({ length: n }, (_, i) => from + i);
  return {
    n,
    step,
    loss: step.map((s) => 1 / s),
    trainAccuracy: step.map(() => 0.5),
    gradNorms: Float64Array.from({ length: n * groups }, (_, k) => (k % groups === 0 ? 3 : 4)),
    weightNorms: new Float64Array(n * groups).fill(1),
  };
}

const info = (name: string, modelKind: 'lu' | 'encoder' = 'lu'): RunInfo => ({
  name,
  modelKind,
  groups: ['keys', 'embeddings'],
  totalSteps: 100,
  stepsPerEpoch: 1,
  classes: ['a', 'b'],
  probes: [
    { tokens: ['x', 'y', 'z'], label: 0 },
    { tokens: ['p', 'q'], label: 1 },
  ],
  config: {},
});

const frame = (step: number, v = 0.7): AttentionFrame => ({
  step,
  probes: [
    [{ layer: 0, head: 0, stage: 'weights', rows: 1, cols: 3, data: Float32Array.from([0.2, v, 0.1]) }],
    [{ layer: 0, head: 0, stage: 'weights', rows: 1, cols: 2, data: Float32Array.from([0.4, 0.6]) }],
  ],
});

function snap(runId: string, upTo: number, attentionSteps: number[], over: Partial<RunSnapshot> = {}): RunSnapshot {
  const last = attentionSteps[attentionSteps.length - 1];
  return { runId, status: 'running', info: info(runId), scalars: chunk(1, upTo), evals: [], attentionSteps, latestAttention: last === undefined ? undefined : frame(last), identity: [], measures: emptyMeasures(), ...over };
}

const compare = (runs: RunSnapshot[]): HostToWebview => ({ type: 'compareSnapshot', protocolVersion: PROTOCOL_VERSION, runs, configDiff: [{ path: 'training.seed', values: runs.map((_, i) => String(i)) }] });

test('compareSnapshot: one RunStore per run, in the chosen order; the stops are the union of captures', () => {
  const c = new CompareStore();
  const r = c.apply(compare([snap('b', 30, [1, 10, 20, 30]), snap('a', 25, [1, 5, 15, 25])]));
  assert.ok((r.changed & Changed.Run) !== 0);
  assert.deepEqual(c.runIds, ['b', 'a']);
  assert.equal(c.run('a')?.step.length, 25);
  assert.equal(c.run('b')?.step.length, 30);
  assert.deepEqual(c.stops, [1, 5, 10, 15, 20, 25, 30]);
  assert.deepEqual(c.configDiff, [{ path: 'training.seed', values: ['0', '1'] }]);
  assert.equal(c.indexOf('a'), 1);
  assert.deepEqual(c.stepRange(), { x0: 1, x1: 30 });
});

test('per-run messages go to their run by runId; unknown runs are reported, not applied', () => {
  const c = new CompareStore();
  c.apply(compare([snap('a', 10, [1, 10]), snap('b', 10, [1, 10])]));
  const r = c.apply({ type: 'stepsAppended', runId: 'b', scalars: chunk(11, 20), evals: [], attentionSteps: [15], latestAttention: frame(20), identity: [], measures: emptyMeasures() });
  assert.equal(r.runId, 'b');
  assert.ok((r.changed & Changed.Scalars) !== 0 && (r.changed & Changed.Attention) !== 0);
  assert.equal(c.run('a')?.step.length, 10);
  assert.equal(c.run('b')?.step.length, 20);
  assert.deepEqual(c.stops, [1, 10, 15, 20]);
  c.apply({ type: 'statusChanged', runId: 'a', status: 'completed', step: 10 });
  assert.equal(c.run('a')?.status, 'completed');
  assert.equal(c.run('b')?.status, 'running');
  const bad = c.apply({ type: 'stepsAppended', runId: 'zzz', scalars: chunk(1, 2), evals: [], attentionSteps: [], identity: [], measures: emptyMeasures() });
  assert.equal(bad.changed, Changed.None);
  assert.match(bad.warning ?? '', /not compared/);
  const wrongVersion = new CompareStore().apply({ type: 'compareSnapshot', protocolVersion: 999, runs: [], configDiff: [] });
  assert.equal(wrongVersion.changed, Changed.Error);
});

test('the shared scrubber: each run shows its capture at or before the step; live shows each run’s latest', () => {
  const c = new CompareStore();
  c.apply(compare([snap('a', 30, [1, 10, 20, 30]), snap('b', 25, [1, 5, 15, 25])]));
  assert.equal(c.runStepAt('a', 17, false), 10);
  assert.equal(c.runStepAt('b', 17, false), 15);
  assert.equal(c.runStepAt('b', 29, false), 25);
  assert.equal(c.runStepAt('a', 0, false), undefined, 'nothing captured by step 0');
  assert.equal(c.runStepAt('a', 17, true), 30);
  assert.equal(c.runStepAt('b', 17, true), 25);
  // Frames: the latest is held; older ones once loaded.
  assert.equal(c.frameFor('a', 30, false).frame?.step, 30);
  assert.deepEqual(c.frameFor('a', 17, false), { step: 10, frame: undefined });
  c.apply({ type: 'attentionLoaded', runId: 'a', frame: frame(10, 0.9) });
  assert.equal(c.frameFor('a', 17, false).frame?.step, 10);
  assert.equal(c.frameFor('b', 17, false).frame, undefined, 'a frame of run a is not run b’s');
});

test('legend toggles hide runs; hidden runs survive a new compareSnapshot only if still compared', () => {
  const c = new CompareStore();
  c.apply(compare([snap('a', 10, [1]), snap('b', 10, [1])]));
  assert.equal(c.toggle('b'), true);
  assert.deepEqual(
    c.visibleRuns.map((r) => r.runId),
    ['a'],
  );
  assert.deepEqual(c.stepRange(true), { x0: 1, x1: 10 });
  assert.equal(c.toggle('b'), false);
  c.toggle('a');
  assert.equal(c.toggle('nope'), false);
  c.apply(compare([snap('a', 10, [1]), snap('c', 10, [1])]));
  assert.equal(c.isHidden('a'), true);
  c.apply(compare([snap('c', 10, [1])]));
  assert.deepEqual([...c.hidden], []);
});

test('total gradient norm per run, extended as steps arrive', () => {
  const c = new CompareStore();
  c.apply(compare([snap('a', 5, [])]));
  assert.deepEqual(Array.from(c.gradTotal('a')?.values ?? []), [5, 5, 5, 5, 5]);
  c.apply({ type: 'stepsAppended', runId: 'a', scalars: chunk(6, 8), evals: [], attentionSteps: [], identity: [], measures: emptyMeasures() });
  assert.equal(c.gradTotal('a')?.length, 8);
});

test('helpers: union of stops, index at or before, zoom ranges, Lu probe row, Lu table row', () => {
  assert.deepEqual(unionSorted([[1, 3, 5], [2, 3, 6], []]), [1, 2, 3, 5, 6]);
  assert.deepEqual(unionSorted([]), []);
  assert.equal(indexAtOrBefore([1, 5, 9], 0), -1);
  assert.equal(indexAtOrBefore([1, 5, 9], 5), 1);
  assert.equal(indexAtOrBefore([1, 5, 9], 100), 2);
  const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  assert.deepEqual(rangeIndices(xs, 100, 10, 20, 0), { lo: 9, hi: 20 }, 'steps 10…20');
  assert.deepEqual(rangeIndices(xs, 100, 10, 20), { lo: 8, hi: 21 }, 'one point beyond each end');
  assert.deepEqual(rangeIndices(xs, 100, 500, 600, 0), { lo: 100, hi: 100 });
  const g = luProbeGrid(frame(10), info('a'), 1);
  assert.deepEqual([g.rows, g.cols, Array.from(g.values), g.tokens, g.rowLabels], [1, 2, [Math.fround(0.4), Math.fround(0.6)], [['p', 'q']], ['#1 b']]);

  const c = new CompareStore();
  c.apply(
    compare([
      snap('a', 10, [1], {
        evals: [{ step: 10, validationLoss: 1, validationAccuracy: 0.5, testLoss: 1, testAccuracy: 0.75, topicAttention: 0.6 }],
        identity: [{ step: 10, score: Float64Array.of(1, 2), measured: Float64Array.of(1, 2), theory: Float64Array.of(1, 2), relError: Float64Array.of(0.01, 0.03) }],
      }),
    ]),
  );
  const row = luRow(c.run('a')!);
  assert.deepEqual({ ...row }, { runId: 'a', name: 'a', step: 10, finalLoss: 0.1, testAccuracy: 0.75, topicAttention: 0.6, identityMaxRelError: 0.03 });
});
