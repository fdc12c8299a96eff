/**
 * The protocol guards, for each of the four directions: real messages (built from a real
 * Trainer's steps, and sent through the same V8 serializer as `serialization: 'advanced'`)
 * are accepted; garbage (wrong types, missing fields, number[] where a typed array belongs,
 * length mismatches, unknown types) is rejected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import { presetConfig } from '../../src/trainer/presets';
import { buildTrainer } from '../../src/trainer/setup';
import type { StepRecord } from '../../src/trainer/train';
import { MAX_STEPS_PER_MESSAGE, PROTOCOL_VERSION, type HostToTrainer, type HostToWebview, type RunInfo, type StepData, type TrainerToHost, type WebviewToHost } from '../../src/protocol/messages';
import { isHostToTrainer, isHostToWebview, isTrainerToHost, isWebviewToHost } from '../../src/protocol/guards';
import { runInfo, stepData, summaryData } from '../../src/io/convert';
import { RunHistory } from '../../src/runs/runHistory';

// One real run, 50 steps: step 1 has attention and identity, step 50 an evaluation.
const config = presetConfig('lu-fc-fast');
const trainer = buildTrainer(config);
const records: StepRecord[] = [];
for (let i = 0; i < 50; i++) records.push(trainer.trainStep());
const info: RunInfo = runInfo(trainer, config);
const steps: StepData[] = records.map(stepData);
const G = info.groups.length;
const first = steps[0]!;
const withEval = steps.find((s) => s.eval)!;

/** Through V8's serializer and back, as over `fork(..., { serialization: 'advanced' })`. */
const overIpc = <T>(m: T): unknown => v8.deserialize(new Uint8Array(v8.serialize(m)));
/** A deep copy to corrupt. */
const copy = <T>(m: T): T => structuredClone(m);

test('real messages from a real Trainer have the expected shapes', () => {
  assert.equal(info.modelKind, 'lu');
  assert.deepEqual(info.groups, trainer.groups);
  assert.equal(info.topicWords!.length, 8);
  assert.equal(info.m, 10);
  assert.ok(first.gradNorms instanceof Float64Array && first.gradNorms.length === G);
  assert.ok(first.attention && first.attention.length === 8 && first.attention[0]![0]!.data instanceof Float32Array);
  assert.ok(first.identity && first.identity.score.length === 8);
  assert.ok(withEval.eval && withEval.step === 50);
});

// ─── trainer → host ──────────────────────────────────────────────────────────────────

const goodTrainerToHost: TrainerToHost[] = [
  { type: 'trainerReady', protocolVersion: PROTOCOL_VERSION, pid: 1234 },
  { type: 'runStarted', info },
  { type: 'stepCompleted', data: first },
  { type: 'stepCompleted', data: withEval },
  { type: 'stepCompleted', data: steps[1]! },
  { type: 'stepsCompleted', data: [first, withEval, steps[1]!] },
  { type: 'paused', step: 3, reason: 'step 3: loss is NaN' },
  { type: 'resumed', step: 3 },
  { type: 'runCompleted', summary: summaryData(trainer.summary()) },
  { type: 'runStopped', step: 7 },
  { type: 'runFailed', message: 'optimizer.lr must be a positive number' },
];

test('trainer → host: real messages are accepted, also after the IPC serializer', () => {
  for (const m of goodTrainerToHost) {
    assert.ok(isTrainerToHost(m, G), `accepts ${m.type}`);
    assert.ok(isTrainerToHost(overIpc(m), G), `accepts ${m.type} after serialization`);
    assert.ok(isTrainerToHost(m), `accepts ${m.type} before groups are known`);
  }
  // A NaN loss is a real value (the run pauses itself on it), not a malformed message.
  const nan = copy(first);
  nan.loss = NaN;
  nan.gradNorms[0] = Infinity;
  assert.ok(isTrainerToHost({ type: 'stepCompleted', data: nan }, G));
});

test('trainer → host: garbage is rejected', () => {
  const step = (edit: (d: Record<string, unknown>) => void): unknown => {
    const d = copy(first) as unknown as Record<string, unknown>;
    edit(d);
    return { type: 'stepCompleted', data: d };
  };
  const map0 = (d: Record<string, unknown>) => (d['attention'] as Record<string, unknown>[][])[0]![0]!;
  const bad: [string, unknown][] = [
    ['null', null],
    ['a string', 'stepCompleted'],
    ['an array', [first]],
    ['no type', { data: first }],
    ['unknown type', { type: 'stepDone', data: first }],
    ['type not a string', { type: 7 }],
    ['JSON round trip (typed arrays become objects)', JSON.parse(JSON.stringify({ type: 'stepCompleted', data: first }))],
    ['stepsCompleted with no steps', { type: 'stepsCompleted', data: [] }],
    ['stepsCompleted with one step not an array', { type: 'stepsCompleted', data: first }],
    ['stepsCompleted with one bad step', { type: 'stepsCompleted', data: [first, (step((d) => (d['loss'] = '1')) as { data: unknown }).data] }],
    ['stepsCompleted over MAX_STEPS_PER_MESSAGE', { type: 'stepsCompleted', data: new Array(MAX_STEPS_PER_MESSAGE + 1).fill(first) }],
    ['gradNorms as number[]', step((d) => (d['gradNorms'] = Array.from(first.gradNorms)))],
    ['weightNorms as Float32Array', step((d) => (d['weightNorms'] = Float32Array.from(first.weightNorms)))],
    ['gradNorms longer than the groups', step((d) => ((d['gradNorms'] = new Float64Array(G + 1)), (d['weightNorms'] = new Float64Array(G + 1))))],
    ['weightNorms and gradNorms differ in length', step((d) => (d['weightNorms'] = new Float64Array(G - 1)))],
    ['missing step', step((d) => delete d['step'])],
    ['fractional step', step((d) => (d['step'] = 1.5))],
    ['negative step', step((d) => (d['step'] = -1))],
    ['loss as a string', step((d) => (d['loss'] = '1.38'))],
    ['missing stepMs', step((d) => delete d['stepMs'])],
    ['attention data as number[]', step((d) => (map0(d)['data'] = [0.5, 0.5]))],
    ['attention data length ≠ rows × cols', step((d) => (map0(d)['cols'] = (map0(d)['cols'] as number) + 1))],
    ['attention data as Float64Array', step((d) => (map0(d)['data'] = Float64Array.from(map0(d)['data'] as Float32Array)))],
    ['attention of unknown stage', step((d) => (map0(d)['stage'] = 'scores'))],
    ['attention not nested per probe', step((d) => (d['attention'] = [map0(d)]))],
    ['identity relError of another length', step((d) => ((d['identity'] as Record<string, unknown>)['relError'] = new Float64Array(3)))],
    ['identity score as number[]', step((d) => ((d['identity'] as Record<string, unknown>)['score'] = Array.from(first.identity!.score)))],
    ['eval missing testAccuracy', step((d) => (d['eval'] = { validationLoss: 1, validationAccuracy: 1, testLoss: 1 }))],
    ['trainerReady without pid', { type: 'trainerReady', protocolVersion: PROTOCOL_VERSION }],
    ['trainerReady with a string version', { type: 'trainerReady', protocolVersion: '1', pid: 1 }],
    ['runStarted of an unknown model kind', { type: 'runStarted', info: { ...info, modelKind: 'cnn' } }],
    ['runStarted with groups as a string', { type: 'runStarted', info: { ...info, groups: 'embeddings,keys' } }],
    ['runStarted with numeric probe tokens', { type: 'runStarted', info: { ...info, probes: [{ tokens: [1, 2], label: 0 }] } }],
    ['runStarted without config', { type: 'runStarted', info: (({ config: _c, ...rest }) => rest)(info) }],
    ['paused without reason', { type: 'paused', step: 3 }],
    ['resumed with a negative step', { type: 'resumed', step: -3 }],
    ['runCompleted without summary', { type: 'runCompleted' }],
    ['runCompleted with a wrong summary', { type: 'runCompleted', summary: { steps: 'all' } }],
    ['runStopped without step', { type: 'runStopped' }],
    ['runFailed with a numeric message', { type: 'runFailed', message: 42 }],
  ];
  for (const [what, m] of bad) assert.equal(isTrainerToHost(m, G), false, `rejects ${what}`);
});

// ─── host → trainer ──────────────────────────────────────────────────────────────────

test('host → trainer: real commands are accepted, garbage rejected', () => {
  const good: HostToTrainer[] = [
    { type: 'startRun', protocolVersion: PROTOCOL_VERSION, config, baseDir: '/tmp', startPaused: false },
    { type: 'startRun', protocolVersion: PROTOCOL_VERSION, config: { anything: 'validated by the trainer' }, baseDir: '.', startPaused: true },
    { type: 'pause' },
    { type: 'resume' },
    { type: 'step' },
    { type: 'stop' },
  ];
  for (const m of good) {
    assert.ok(isHostToTrainer(m), `accepts ${m.type}`);
    assert.ok(isHostToTrainer(overIpc(m)), `accepts ${m.type} after serialization`);
  }
  const start = good[0] as Record<string, unknown>;
  const bad: [string, unknown][] = [
    ['null', null],
    ['a string', 'pause'],
    ['unknown type', { type: 'train' }],
    ['no type', { pause: true }],
    ['startRun without config', (({ config: _c, ...rest }) => rest)(start)],
    ['startRun without baseDir', (({ baseDir: _b, ...rest }) => rest)(start)],
    ['startRun with a string version', { ...start, protocolVersion: '1' }],
    ['startRun with startPaused "yes"', { ...start, startPaused: 'yes' }],
    ['startRun with a numeric baseDir', { ...start, baseDir: 0 }],
  ];
  for (const [what, m] of bad) assert.equal(isHostToTrainer(m), false, `rejects ${what}`);
});

// ─── host → webview ──────────────────────────────────────────────────────────────────

function realHistory(): RunHistory {
  const h = new RunHistory();
  h.setInfo(info);
  for (const s of steps) h.appendStep(s);
  return h;
}

test('host → webview: snapshot, update, status and attention built from real steps are accepted', () => {
  const h = realHistory();
  const update = h.drainUpdate('run-1');
  assert.ok(update);
  h.setSummary(summaryData(trainer.summary()));
  const good: HostToWebview[] = [
    { type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: h.snapshot('run-1', 'running') },
    { type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: h.snapshot('run-1', 'paused', 'step 3: loss is NaN') },
    { type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: new RunHistory().snapshot('run-2', 'starting') },
    update,
    { type: 'statusChanged', runId: 'run-1', status: 'completed', step: 50, summary: h.summary! },
    { type: 'statusChanged', runId: 'run-1', status: 'failed', step: 3, reason: 'trainer exited with code 3' },
    { type: 'attentionLoaded', runId: 'run-1', frame: h.attentionAt(25)! },
    { type: 'protocolMismatch', expected: PROTOCOL_VERSION, received: 0 },
  ];
  for (const m of good) {
    assert.ok(isHostToWebview(m), `accepts ${m.type}`);
    assert.ok(isHostToWebview(overIpc(m)), `accepts ${m.type} after serialization`);
  }
});

test('host → webview: garbage is rejected', () => {
  const h = realHistory();
  const snap = h.snapshot('run-1', 'running');
  const snapshot = (edit: (s: Record<string, unknown>) => void): unknown => {
    const s = copy(snap) as unknown as Record<string, unknown>;
    edit(s);
    return { type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: s };
  };
  const scalars = (s: Record<string, unknown>) => s['scalars'] as Record<string, unknown>;
  const update = h.drainUpdate('run-1')!;
  const bad: [string, unknown][] = [
    ['null', null],
    ['unknown type', { type: 'snapshotted', snapshot: snap }],
    ['snapshot without protocolVersion', { type: 'snapshot', snapshot: snap }],
    ['snapshot of an unknown status', snapshot((s) => (s['status'] = 'exploded'))],
    ['snapshot scalars.loss as number[]', snapshot((s) => (scalars(s)['loss'] = Array.from(snap.scalars.loss)))],
    ['snapshot scalars.step shorter than n', snapshot((s) => (scalars(s)['step'] = snap.scalars.step.subarray(1)))],
    ['snapshot gradNorms as Float32Array', snapshot((s) => (scalars(s)['gradNorms'] = Float32Array.from(snap.scalars.gradNorms)))],
    ['snapshot attentionSteps with a fraction', snapshot((s) => (s['attentionSteps'] = [1, 10.5]))],
    ['snapshot identity as number[]', snapshot((s) => (s['identity'] = [{ step: 1, score: [1], measured: [1], theory: [1], relError: [0] }]))],
    ['snapshot info of the wrong shape', snapshot((s) => (s['info'] = { name: 'x' }))],
    ['stepsAppended without runId', { ...update, runId: undefined }],
    ['stepsAppended with scalars as JSON', JSON.parse(JSON.stringify(update))],
    ['statusChanged with a negative step', { type: 'statusChanged', runId: 'run-1', status: 'running', step: -1 }],
    ['statusChanged with an unknown status', { type: 'statusChanged', runId: 'run-1', status: 'done', step: 1 }],
    ['attentionLoaded with number[] data', { type: 'attentionLoaded', runId: 'run-1', frame: { step: 1, probes: [[{ layer: 0, head: 0, stage: 'weights', rows: 1, cols: 2, data: [0.5, 0.5] }]] } }],
    ['protocolMismatch without expected', { type: 'protocolMismatch', received: 2 }],
  ];
  for (const [what, m] of bad) assert.equal(isHostToWebview(m), false, `rejects ${what}`);
});

// ─── webview → host ──────────────────────────────────────────────────────────────────

test('webview → host: real commands are accepted, garbage rejected', () => {
  const good: WebviewToHost[] = [
    { type: 'ready', protocolVersion: PROTOCOL_VERSION },
    { type: 'pauseRun', runId: 'r' },
    { type: 'resumeRun', runId: 'r' },
    { type: 'stepRun', runId: 'r' },
    { type: 'stopRun', runId: 'r' },
    { type: 'requestAttention', runId: 'r', step: 120 },
  ];
  for (const m of good) assert.ok(isWebviewToHost(m), `accepts ${m.type}`);
  const bad: [string, unknown][] = [
    ['null', null],
    ['a string', 'ready'],
    ['unknown type', { type: 'deleteRun', runId: 'r' }],
    ['ready without a version', { type: 'ready' }],
    ['ready with a string version', { type: 'ready', protocolVersion: '1' }],
    ['stopRun without runId', { type: 'stopRun' }],
    ['pauseRun with a numeric runId', { type: 'pauseRun', runId: 3 }],
    ['requestAttention with a string step', { type: 'requestAttention', runId: 'r', step: '120' }],
    ['requestAttention with an infinite step', { type: 'requestAttention', runId: 'r', step: Infinity }],
  ];
  for (const [what, m] of bad) assert.equal(isWebviewToHost(m), false, `rejects ${what}`);
});
