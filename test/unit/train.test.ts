/**
 * The training loop end to end on the fast presets: the paper's behaviour in miniature,
 * determinism, mini-batches and optimisers, and pause / step / stop between steps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { presetConfig } from '../../src/trainer/presets';
import { buildTrainer } from '../../src/trainer/setup';
import { TrainingLoop, type StepRecord, type Trainer } from '../../src/trainer/train';
import type { RunConfig } from '../../src/trainer/config';
import { parseRunConfig } from '../../src/trainer/configSchema';

function runAll(t: Trainer, onStep?: (r: StepRecord) => void): StepRecord[] {
  const recs: StepRecord[] = [];
  while (!t.done) {
    const r = t.trainStep();
    onStep?.(r);
    recs.push(r);
  }
  return recs;
}

const results = new Map<string, { recs: StepRecord[]; trainer: Trainer }>();
function fast(name: string, edit?: (c: RunConfig) => void) {
  const key = name + (edit ? edit.toString() : '');
  let r = results.get(key);
  if (!r) {
    const cfg = presetConfig(name);
    edit?.(cfg);
    const trainer = buildTrainer(cfg);
    r = { recs: runAll(trainer), trainer };
    results.set(key, r);
  }
  return r;
}

const m = 10; // the fast task's non-topic words per sentence

test('lu-fc-fast: loss starts at ln 4 and falls; test accuracy 1; topic word attention rises; identity within 2%', () => {
  const { recs, trainer } = fast('lu-fc-fast');
  assert.ok(Math.abs(recs[0]!.loss - Math.log(4)) < 1e-3, `first loss ${recs[0]!.loss}`);
  const s = trainer.summary();
  assert.ok(s.loss < 0.05, `final loss ${s.loss}`);
  assert.equal(s.testAccuracy, 1);
  assert.ok(s.topicAttention! > 0.5, `topic attention ${s.topicAttention} (uniform would be 1/${m + 1})`);
  assert.ok(s.identityMaxRelError! < 0.02, `identity error ${s.identityMaxRelError}`);
  // Slowly, then fast: the first tenth of training removes less loss than the second tenth.
  const n = recs.length;
  const d1 = recs[0]!.loss - recs[Math.floor(n / 10)]!.loss;
  const d2 = recs[Math.floor(n / 10)]!.loss - recs[Math.floor(n / 5)]!.loss;
  assert.ok(d1 < d2, `loss falls slowly first (${d1}) then faster (${d2})`);
  // The identity holds along the way, for every topic word, once the score has moved.
  for (const r of recs) for (const row of r.identity!) if (row.score > 0.5) assert.ok(row.relError < 0.02, `step ${r.step}: ${JSON.stringify(row)}`);
  assert.ok(s.identityMaxRelErrorMoved! > 0, 'scores moved by ≥ 1 during training');
});

for (const name of ['lu-tc-fast', 'lu-tl-fast']) {
  test(`${name}: converges with test accuracy 1 and the identity within 5%`, () => {
    const { trainer } = fast(name);
    const s = trainer.summary();
    assert.ok(s.loss < 0.25, `final loss ${s.loss}`);
    assert.equal(s.testAccuracy, 1);
    assert.ok(s.identityMaxRelError! < 0.05, `identity error ${s.identityMaxRelError}`);
    assert.ok(s.topicAttention! > 2 / (m + 1), `topic attention ${s.topicAttention}`);
  });
}

test('keys frozen: every attention weight is exactly 1/(m+1) at every step; loss ≥ 10× the keys-trainable run', () => {
  let captured = 0;
  const cfg = presetConfig('lu-fc-keys-frozen-fast');
  cfg.training.captureEvery = 1;
  const trainer = buildTrainer(cfg);
  const uniform = Math.fround(1 / (m + 1));
  runAll(trainer, (r) => {
    assert.ok(r.attention && r.attention.length === 8, `step ${r.step} has probe attention`);
    for (const maps of r.attention) for (const a of maps) for (const x of a.data) assert.equal(x, uniform);
    captured++;
  });
  assert.equal(captured, trainer.totalSteps);
  const frozen = trainer.summary();
  assert.ok(Math.abs(frozen.topicAttention! - 1 / (m + 1)) < 1e-12, `mean topic attention ${frozen.topicAttention}`);
  const trained = fast('lu-fc-fast').trainer.summary();
  assert.ok(frozen.loss >= 10 * trained.loss, `keys-frozen loss ${frozen.loss} vs keys-trainable ${trained.loss}`);
  assert.equal(trainer.model.params.find((p) => p.name === 'keys')!.w.every((x) => x === 0), true);
});

test('embeddings frozen: embeddings never change', () => {
  const cfg = presetConfig('lu-fc-emb-frozen-fast');
  cfg.training.epochs = 50;
  const trainer = buildTrainer(cfg);
  const before = Float32Array.from(trainer.model.params.find((p) => p.name === 'embeddings')!.w);
  runAll(trainer);
  assert.deepEqual(trainer.model.params.find((p) => p.name === 'embeddings')!.w, before);
});

test('determinism: the same config and seed give identical numbers; another seed does not', () => {
  const run = (seed: number) => {
    const cfg = presetConfig('lu-tc-fast');
    cfg.seed = seed;
    cfg.training.epochs = 60;
    return runAll(buildTrainer(cfg)).map((r) => [r.loss, ...r.gradNorms, ...r.weightNorms]);
  };
  assert.deepEqual(run(5), run(5));
  assert.notDeepEqual(run(5), run(6));
  const enc = (seed: number) => {
    const cfg = presetConfig('encoder-talking-heads-small-heads');
    cfg.seed = seed;
    cfg.training.epochs = 2;
    if (cfg.model.kind === 'encoder') cfg.model.dropout = 0.1;
    return runAll(buildTrainer(cfg)).map((r) => r.loss);
  };
  assert.deepEqual(enc(3), enc(3));
});

test('per-step measurements: grad and weight norm per group, eval and capture on schedule', () => {
  const cfg = presetConfig('lu-tl-fast');
  cfg.training.epochs = 20;
  cfg.training.evalEvery = 7;
  cfg.training.captureEvery = 5;
  const t = buildTrainer(cfg);
  assert.deepEqual(t.groups, ['embeddings', 'keys', 'query', 'classifier']);
  const recs = runAll(t);
  assert.deepEqual(recs.filter((r) => r.eval).map((r) => r.step), [7, 14, 20]);
  assert.deepEqual(recs.filter((r) => r.attention).map((r) => r.step), [1, 5, 10, 15, 20]);
  for (const r of recs) {
    assert.equal(r.gradNorms.length, 4);
    assert.equal(r.gradNorms[2], 0, 'the query is frozen');
    assert.ok(r.gradNorms[0]! > 0 && r.gradNorms[1]! > 0 && r.gradNorms[3]! > 0);
    assert.ok(r.weightNorms.every((w) => w > 0));
    assert.equal(r.identity!.length, 8);
  }
  assert.equal(t.probes.length, 8);
  assert.equal(t.probes[0]!.tokens.length, m + 1);
});

test('encoder presets train: multi-head and talking-heads, mini-batch Adam', () => {
  for (const name of ['encoder-mha-small-heads', 'encoder-talking-heads-small-heads']) {
    const cfg = presetConfig(name);
    cfg.training.epochs = 6;
    const t = buildTrainer(cfg);
    const recs = runAll(t);
    assert.equal(t.stepsPerEpoch, 8);
    assert.ok(recs.at(-1)!.loss < 0.5 * recs[0]!.loss, `${name}: ${recs[0]!.loss} → ${recs.at(-1)!.loss}`);
    const maps = recs.at(-1)!.attention![0]!;
    const stages = new Set(maps.map((a) => a.stage));
    if (name.includes('talking')) assert.deepEqual([...stages].sort(), ['logits', 'mixed', 'weights']);
    else assert.deepEqual([...stages], ['weights']);
    assert.equal(maps[0]!.rows, m + 1);
  }
});

test('SGD with momentum and weight decay, and Adam, each lower the loss on the Lu model with mini-batches', () => {
  for (const optimizer of [
    { kind: 'sgd', lr: 0.5, momentum: 0.9, weightDecay: 1e-4 },
    { kind: 'adam', lr: 0.05 },
  ]) {
    const base = presetConfig('lu-tc-fast');
    const cfg = parseRunConfig({ ...base, optimizer, training: { ...base.training, epochs: 30, batchSize: 64 } });
    const t = buildTrainer(cfg);
    const recs = runAll(t);
    assert.equal(t.stepsPerEpoch, 7);
    assert.ok(t.summary().loss < 0.7 * Math.log(4), `${optimizer.kind}: ${t.summary().loss}`);
    assert.ok(recs.length === 210);
  }
});

const tick = () => new Promise<void>((r) => setImmediate(r));

test('TrainingLoop: pause stops steps, stepOnce runs exactly one, resume continues, stop ends', async () => {
  const cfg = presetConfig('lu-fc-fast');
  cfg.training.epochs = 100000;
  const steps: number[] = [];
  const events: string[] = [];
  const loop = new TrainingLoop(
    buildTrainer(cfg),
    { onStep: (r) => steps.push(r.step), onPaused: (s, why) => events.push(`paused@${s}:${why}`), onResumed: (s) => events.push(`resumed@${s}`) },
    tick,
    1,
  );
  const done = loop.run();
  while (steps.length < 20) await tick();
  loop.pause();
  await tick();
  const atPause = steps.length;
  for (let i = 0; i < 20; i++) await tick();
  assert.equal(steps.length, atPause, 'no step while paused');
  loop.stepOnce();
  for (let i = 0; i < 10; i++) await tick();
  assert.equal(steps.length, atPause + 1, 'exactly one step');
  loop.resume();
  while (steps.length < atPause + 30) await tick();
  loop.stop();
  assert.equal(await done, 'stopped');
  const n = steps.length;
  await tick();
  assert.equal(steps.length, n);
  assert.deepEqual(steps, steps.map((_, i) => i + 1), 'steps in order, none skipped');
  assert.match(events[0]!, /^paused@\d+:paused$/);
  assert.match(events[1]!, /^resumed@\d+$/);
});

test('TrainingLoop pauses itself on a non-finite loss and says why', async () => {
  const cfg = presetConfig('lu-fc-fast');
  const trainer = buildTrainer(cfg);
  const reasons: string[] = [];
  const loop = new TrainingLoop(trainer, { onPaused: (_s, why) => reasons.push(why) }, tick, 1);
  trainer.model.params.find((p) => p.name === 'embeddings')!.w.fill(NaN);
  const done = loop.run();
  while (reasons.length === 0) await tick();
  assert.equal(loop.isPaused, true);
  assert.match(reasons[0]!, /step 1: loss is NaN/);
  assert.equal(trainer.step, 1);
  loop.stop();
  assert.equal(await done, 'stopped');
});

test('TrainingLoop runs a short preset to completion', async () => {
  const cfg = presetConfig('lu-fc-fast');
  cfg.training.epochs = 30;
  const t = buildTrainer(cfg);
  assert.equal(await new TrainingLoop(t, {}, tick).run(), 'done');
  assert.equal(t.step, 30);
  assert.throws(() => t.trainStep(), /complete/);
});

test('TrainingLoop at a pace: steps are spaced out, held after a capture in slow motion, and each is the same step as at full speed', async () => {
  const cfg = presetConfig('lu-fc-fast');
  cfg.training.epochs = 100000;
  const paced = buildTrainer(cfg);
  const recs: StepRecord[] = [];
  const loop = new TrainingLoop(paced, { onStep: (r) => recs.push(r) }, () => new Promise<void>((r) => setImmediate(r)));
  loop.setPace({ stepsPerSecond: 40 });
  const done = loop.run();
  await new Promise((r) => setTimeout(r, 1000));
  const at40 = recs.length;
  // 40 steps/s for 1 s; generous bounds (this checks the pace limits the rate, not the machine's speed).
  assert.ok(at40 >= 20 && at40 <= 60, `${at40} steps in 1 s at 40 steps/s`);
  // Slow motion: at most ~1 capture (every 10 steps) per hold of 300 ms.
  loop.setPace({ holdMs: 300 });
  const before = recs.length;
  await new Promise((r) => setTimeout(r, 1000));
  const captures = recs.slice(before).filter((r) => r.attention).length;
  assert.ok(captures >= 1 && captures <= 5, `${captures} captures in 1 s with a 300 ms hold`);
  // Full speed again: far more steps.
  loop.setPace({});
  const before2 = recs.length;
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(recs.length - before2 > 200, `${recs.length - before2} steps in 0.3 s at full speed`);
  loop.stop();
  assert.equal(await done, 'stopped');
  // The pace changed when steps happened, not what they are: the same steps as an unpaced run.
  const ref = buildTrainer(cfg);
  for (const r of recs) {
    const q = ref.trainStep();
    assert.equal(q.step, r.step);
    assert.equal(q.loss, r.loss);
    assert.deepEqual(q.gradNorms, r.gradNorms);
  }
});

test('TrainingLoop at a pace: pause, step and stop act at once, not after the wait', async () => {
  const cfg = presetConfig('lu-fc-fast');
  cfg.training.epochs = 100000;
  const t = buildTrainer(cfg);
  let steps = 0;
  const loop = new TrainingLoop(t, { onStep: () => steps++ }, () => new Promise<void>((r) => setImmediate(r)));
  loop.setPace({ stepsPerSecond: 1 });
  const done = loop.run();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(steps, 1, 'the first step, then a wait of a second');
  loop.pause();
  loop.stepOnce();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(steps, 2, 'a single step while paused does not wait for the pace');
  const t0 = performance.now();
  loop.stop();
  assert.equal(await done, 'stopped');
  assert.ok(performance.now() - t0 < 200, 'stop does not wait for the pace');
});
