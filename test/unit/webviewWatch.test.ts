/**
 * The dashboard's pure modules for watching a run, without a screen: the step axis (linear or
 * log, the last N steps, its ticks), log-bucketed decimation, the ▶ play clock, the cards'
 * order, the labels that say which step a view shows, the pace control's choices, the frozen
 * parameter groups, the run store's pace and note, and the view state that keeps it all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyMeasures } from '../../src/protocol/measures';
import { PROTOCOL_VERSION, type RunSnapshot } from '../../src/protocol/messages';
import { PACE_CHOICES } from '../../src/protocol/pace';
import { moveCard, orderCards, setCollapsed } from '../../webview/model/cardOrder';
import { decimateMinMax, MinMaxIndex } from '../../webview/model/decimate';
import { Player } from '../../webview/model/player';
import { axisValue, decadeTicks, formatStepTick, linearTick, logBounds, logStepTicks, stepAtAxis, windowRange } from '../../webview/model/stepAxis';
import { Scrubber } from '../../webview/model/scrubber';
import { Changed, RunStore } from '../../webview/model/store';
import { attentionLabel, FrozenGroups, groupLabel, paceOptions, paceSettable, stepNote } from '../../webview/model/watchText';
import { parseViewState } from '../../webview/viewState';
import { parseCompareState } from '../../webview/compareState';

test('step axis: a step and its axis coordinate, linear and log; the last N steps; log bounds', () => {
  for (const s of [1, 2, 7, 50, 999, 1000, 123_457, 2_000_000]) {
    assert.equal(stepAtAxis(axisValue(s, 'log'), 'log'), s, `log ${s}`);
    assert.equal(stepAtAxis(axisValue(s, 'linear'), 'linear'), s, `linear ${s}`);
  }
  assert.equal(axisValue(0, 'log'), 0, 'step 0 sits at step 1 on a log axis');
  assert.equal(axisValue(1000, 'log'), 3);
  // Half way along a log scrubber over 1 … 10,000 is step 100, not 5,000.
  assert.equal(stepAtAxis((axisValue(1, 'log') + axisValue(10_000, 'log')) / 2, 'log'), 100);
  assert.deepEqual(windowRange(1, 5000, 0), { x0: 1, x1: 5000 });
  assert.deepEqual(windowRange(1, 5000, 1000), { x0: 4001, x1: 5000 });
  assert.deepEqual(windowRange(1, 300, 1000), { x0: 1, x1: 300 }, 'fewer steps than the window: all of them');
  assert.deepEqual(windowRange(NaN, NaN, 100), { x0: NaN, x1: NaN });
  assert.deepEqual(logBounds(0, 1500), { min: 1, max: 1500 });
  assert.deepEqual(logBounds(4001, 5000), { min: 4001, max: 5000 });
  assert.equal(logBounds(NaN, 3), undefined);
  assert.ok((logBounds(1, 1)?.max ?? 0) > 1, 'a one-step axis still has a width');
});

test('step axis ticks: decades on a log axis (2× and 5× when under three), steps written short, no "-0"', () => {
  assert.deepEqual(decadeTicks(1, 1500), [1, 10, 100, 1000]);
  assert.deepEqual(decadeTicks(3, 2_000_000), [10, 100, 1000, 1e4, 1e5, 1e6]);
  assert.deepEqual(logStepTicks(1, 1500), [1, 10, 100, 1000]);
  assert.deepEqual(logStepTicks(4001, 5000), [5000], 'a narrow range: what lies in it');
  assert.deepEqual(logStepTicks(300, 9000), [500, 1000, 2000, 5000]);
  assert.deepEqual([1, 10, 100, 1000, 20_000, 1_500_000, 2e9].map(formatStepTick), ['1', '10', '100', '1k', '20k', '1.5M', '2G']);
  assert.equal(linearTick(-0.004, 0.5), '0');
  assert.equal(linearTick(-0.00001, 0.1), '0');
  assert.equal(linearTick(0, 0.5), '0');
  assert.equal(linearTick(0.25, 0.25), '0.25');
  assert.equal(linearTick(2.5, 0.5), '2.5');
  assert.equal(linearTick(-1.5, 0.5), '-1.5');
  assert.equal(linearTick(200, 50), '200');
});

test('log decimation: buckets equal in log step keep the first steps whole; MinMaxIndex agrees with decimateMinMax', () => {
  const n = 1_000_000;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = i + 1;
    ys[i] = Math.sin(i * 0.37) + 1 / Math.sqrt(i + 1);
  }
  const buckets = 600;
  const lin = decimateMinMax(xs, ys, 0, n, buckets);
  const log = decimateMinMax(xs, ys, 0, n, buckets, { logX: true });
  assert.ok(log.length <= 2 * buckets && lin.length <= 2 * buckets);
  const early = (d: typeof log): number => Array.from(d.xs.subarray(0, d.length)).filter((x) => x <= 100).length;
  assert.ok(early(lin) <= 2, `linear buckets: ${early(lin)} of the first 100 steps`);
  assert.equal(early(log), 100, 'log buckets: every one of the first 100 steps (each its own bucket)');
  // Every point drawn is a real point, in step order.
  for (let k = 1; k < log.length; k++) assert.ok((log.xs[k] as number) > (log.xs[k - 1] as number));
  const idx = new MinMaxIndex();
  idx.sync(ys, n);
  for (const [from, to] of [
    [0, n],
    [10, 777_777],
    [999_000, n],
  ] as const) {
    const a = decimateMinMax(xs, ys, from, to, buckets, { logX: true });
    const b = idx.decimate(xs, from, to, buckets, undefined, true);
    assert.deepEqual(Array.from(b.xs.subarray(0, b.length)), Array.from(a.xs.subarray(0, a.length)), `[${from}, ${to})`);
    assert.deepEqual(Array.from(b.ys.subarray(0, b.length)), Array.from(a.ys.subarray(0, a.length)));
  }
  // Steps at or below 0 have no place on a log axis.
  const z = decimateMinMax([0, 1, 2, 3], [5, 6, 7, 8], 0, 4, 10, { logX: true });
  assert.deepEqual(Array.from(z.xs.subarray(0, z.length)), [1, 2, 3]);
});

test('play: one frame per 1/fps, only once the frame on screen is the scrubbed one', () => {
  const p = new Player(5);
  assert.equal(p.due(0, true), false, 'not playing');
  p.start();
  assert.equal(p.due(0, true), true, 'the first move at once');
  assert.equal(p.due(100, true), false, '100 ms later: too early at 5 frames/s');
  assert.equal(p.due(200, false), false, 'due, but the frame is still loading');
  assert.equal(p.due(250, true), true);
  p.fps = 20;
  assert.equal(p.due(300, true), true, '50 ms at 20 frames/s');
  assert.equal(p.stop(), true);
  assert.equal(p.stop(), false);
  assert.equal(p.due(1000, true), false);
  // Play through the stops with a scrubber: each captured frame once, in order, to the latest.
  const sc = new Scrubber([1, 10, 20, 30]);
  sc.moveTo(1);
  const seen = [sc.step];
  p.start();
  for (let t = 0; t < 5000 && !sc.live; t += 10) if (p.due(t, true)) {
    sc.moveBy(1);
    seen.push(sc.step);
  }
  assert.deepEqual(seen, [1, 10, 20, 30]);
  assert.equal(sc.live, true, 'the last frame is the latest: live again');
});

test('cards: attention first by default; a saved order is kept, new cards go after their predecessor; moves skip hidden cards', () => {
  const present = ['attention', 'loss', 'accuracy', 'gradients', 'identity', 'measure:lr', 'matrix:acc'];
  assert.deepEqual(orderCards(present, []), present);
  assert.deepEqual(orderCards(present, ['loss', 'attention', 'gone', 'loss']), ['loss', 'accuracy', 'gradients', 'identity', 'measure:lr', 'matrix:acc', 'attention'], 'saved ones in their order (unknown and repeated ids dropped), the rest after their predecessor');
  assert.deepEqual(orderCards(present, ['loss', 'attention', 'accuracy', 'gradients', 'identity']), ['loss', 'attention', 'accuracy', 'gradients', 'identity', 'measure:lr', 'matrix:acc'], 'a whole saved order, and the measurements new to this run after it');
  assert.deepEqual(orderCards(present, ['identity', 'attention']), ['identity', 'measure:lr', 'matrix:acc', 'attention', 'loss', 'accuracy', 'gradients'], 'each card not saved follows its predecessor in the default order');
  assert.deepEqual(orderCards(['attention', 'loss', 'measure:lr'], ['measure:lr', 'attention']), ['measure:lr', 'attention', 'loss']);
  assert.deepEqual(orderCards(['attention', 'loss'], ['loss']), ['attention', 'loss'], 'a card before every saved one goes first');
  const order = ['attention', 'loss', 'accuracy', 'gradients', 'identity'];
  assert.deepEqual(moveCard(order, 'loss', -1), ['loss', 'attention', 'accuracy', 'gradients', 'identity']);
  assert.deepEqual(moveCard(order, 'attention', -1), order, 'the first card stays first');
  assert.deepEqual(moveCard(order, 'gradients', 1, (id) => id !== 'identity'), order, 'nothing shown below it');
  assert.deepEqual(moveCard(['attention', 'identity', 'loss'], 'attention', 1, (id) => id !== 'identity'), ['identity', 'loss', 'attention'], 'past the hidden identity card');
  assert.deepEqual(moveCard(order, 'accuracy', 2), ['attention', 'loss', 'gradients', 'identity', 'accuracy']);
  assert.deepEqual(setCollapsed([], 'loss', true), ['loss']);
  assert.deepEqual(setCollapsed(['loss', 'identity'], 'loss', false), ['identity']);
  assert.deepEqual(setCollapsed(['loss'], 'loss', true), ['loss']);
});

test('labels: "the latest step" only at the run\'s latest step; otherwise the frame\'s step and the run\'s', () => {
  const fmt = (n: number): string => n.toLocaleString('en');
  assert.equal(attentionLabel({ step: undefined, live: true, shownStep: undefined, loading: false, lastStep: 0 }), 'no attention captured yet');
  assert.equal(attentionLabel({ step: 608, live: true, shownStep: 608, loading: false, lastStep: 608 }), 'step 608 · the latest step');
  const old = attentionLabel({ step: 600, live: true, shownStep: 600, loading: false, lastStep: 608 });
  assert.equal(old, 'step 600 · latest capture, run at step 608');
  assert.doesNotMatch(old, /live|the latest step/, 'a frame 8 steps old is not called live');
  assert.equal(attentionLabel({ step: 150, live: false, shownStep: 150, loading: false, lastStep: 34_000, fmt }), 'step 150 · run at step 34,000');
  assert.equal(attentionLabel({ step: 150, live: false, shownStep: 140, loading: true, lastStep: 340 }), 'step 150 · loading… (showing step 140)');
  assert.equal(attentionLabel({ step: 150, live: false, shownStep: undefined, loading: true, lastStep: 340 }), 'step 150 · loading…');
  assert.equal(stepNote(300, true, 300), 'step 300 · the latest step');
  assert.equal(stepNote(290, true, 300), 'step 290 · the latest recorded, run at step 300');
  assert.equal(stepNote(150, false, 300), 'step 150 · run at step 300');
});

test('pace control: the choices, the one the host reports, a pace that is none of them; only a training run has one', () => {
  const none = paceOptions(undefined);
  assert.deepEqual(none.options.map((o) => o.value), PACE_CHOICES.map((c) => c.id));
  assert.equal(none.value, 'max');
  assert.equal(paceOptions({ stepsPerSecond: 10 }).value, '10');
  assert.equal(paceOptions({ stepsPerSecond: 100, holdMs: 400 }).value, 'slow-motion');
  const odd = paceOptions({ stepsPerSecond: 37 });
  assert.equal(odd.value, 'custom');
  assert.equal(odd.options[odd.options.length - 1]?.label, '37 steps/s');
  assert.deepEqual(['starting', 'running', 'paused', 'completed', 'stopped', 'failed'].map(paceSettable), [true, true, true, false, false, false]);
});

test('frozen groups: a group with no positive gradient norm at any step is "(frozen)"; scanned incrementally', () => {
  const f = new FrozenGroups();
  const g = (values: number[]): { values: number[]; length: number } => ({ values, length: values.length });
  assert.deepEqual(f.update([g([]), g([])], 1), [false, false], 'no steps yet: not frozen');
  assert.deepEqual(f.update([g([0, 0]), g([0, 1e-6])], 1), [true, false]);
  assert.deepEqual(f.update([g([0, 0, NaN, 0]), g([0, 1e-6, 0])], 1), [true, false], 'once moving, always moving');
  assert.deepEqual(f.update([g([0, 0, NaN, 0, 3e-9]), g([0])], 1), [false, false], 'a gradient at last');
  assert.deepEqual(f.update([g([0]), g([1])], 2), [true, false], 'a new run starts over');
  assert.equal(groupLabel('keys', true), 'keys (frozen)');
  assert.equal(groupLabel('keys', false), 'keys');
});

test('run store: the pace and the note come with the snapshot and every status message', () => {
  const snap = (extra: Partial<RunSnapshot>): RunSnapshot => ({
    runId: 'r',
    status: 'running',
    info: undefined,
    scalars: { n: 0, step: new Float64Array(0), loss: new Float64Array(0), trainAccuracy: new Float64Array(0), gradNorms: new Float64Array(0), weightNorms: new Float64Array(0) },
    evals: [],
    attentionSteps: [],
    latestAttention: undefined,
    identity: [],
    measures: emptyMeasures(),
    ...extra,
  });
  const s = new RunStore();
  s.apply({ type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: snap({ pace: { stepsPerSecond: 100 }, note: 'keys frozen on purpose' }) });
  assert.deepEqual([s.pace, s.note], [{ stepsPerSecond: 100 }, 'keys frozen on purpose']);
  const r = s.apply({ type: 'statusChanged', runId: 'r', status: 'paused', step: 3, pace: { stepsPerSecond: 1 }, note: 'edited' });
  assert.ok((r.changed & Changed.Status) !== 0);
  assert.deepEqual([s.pace, s.note], [{ stepsPerSecond: 1 }, 'edited']);
  s.apply({ type: 'statusChanged', runId: 'r', status: 'running', step: 4 });
  assert.deepEqual([s.pace, s.note], [undefined, undefined], 'absent: full speed, no note');
  s.apply({ type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: snap({ runId: 'q' }) });
  assert.deepEqual([s.pace, s.note], [undefined, undefined]);
});

test('view state: the step axis, window, play speed, token mode and cards survive; bad values fall back', () => {
  const v = parseViewState({ stepScale: 'log', stepWindow: 1000, playFps: 10, tokens: 'compact', cardOrder: ['loss', 3, 'attention'], collapsed: ['gradients'] });
  assert.deepEqual([v.stepScale, v.stepWindow, v.playFps, v.tokens, v.cardOrder, v.collapsed], ['log', 1000, 10, 'compact', ['loss', 'attention'], ['gradients']]);
  const d = parseViewState({ stepScale: 'cubic', stepWindow: 7, playFps: 1e9, tokens: 'huge', cardOrder: 'x' });
  assert.deepEqual([d.stepScale, d.stepWindow, d.playFps, d.tokens, d.cardOrder, d.collapsed], ['linear', 0, 5, 'auto', [], []]);
  // The compare view keeps which runs it compares, in order (the host restores the panel from them).
  assert.deepEqual(parseCompareState({ runIds: ['b', 'a', 7] }).runIds, ['b', 'a']);
  assert.deepEqual(parseCompareState(undefined).runIds, []);
});
