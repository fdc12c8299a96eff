/** CSV and JSON exports of recorded runs, from real trainer runs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { presetConfig } from '../../src/trainer/presets';
import { buildTrainer } from '../../src/trainer/setup';
import { stepData, runInfo } from '../../src/io/convert';
import { RunHistory } from '../../src/runs/runHistory';
import { runJson, scalarsCsv } from '../../src/runs/export';

function record(preset: string, epochs: number) {
  const cfg = presetConfig(preset);
  cfg.training.epochs = epochs;
  const t = buildTrainer(cfg);
  const h = new RunHistory();
  h.setInfo(runInfo(t, cfg));
  while (!t.done) h.appendStep(stepData(t.trainStep()));
  return { name: preset, snapshot: h.snapshot(preset, 'completed') };
}

test('CSV of two runs: a header, one row per run and step, evals on their steps', () => {
  const a = record('lu-fc-fast', 120);
  const b = record('lu-fc-keys-frozen-fast', 80);
  const csv = scalarsCsv([a, b]);
  const lines = csv.trim().split('\n');
  assert.equal(lines.length, 1 + 120 + 80);
  const head = lines[0]!.split(',');
  assert.deepEqual(head.slice(0, 4), ['run', 'step', 'loss', 'train_accuracy']);
  assert.ok(head.includes('grad_norm/keys') && head.includes('weight_norm/embeddings') && head.includes('topic_attention'));
  const row1 = lines[1]!.split(',');
  assert.equal(row1[0], 'lu-fc-fast');
  assert.equal(row1[1], '1');
  assert.equal(Number(row1[2]), a.snapshot.scalars.loss[0]);
  const row50 = lines[50]!.split(',');
  assert.equal(row50[1], '50');
  assert.notEqual(row50[head.indexOf('test_accuracy')], '', 'eval at step 50');
  assert.equal(lines[121]!.split(',')[0], 'lu-fc-keys-frozen-fast');
  assert.equal(Number(lines[121]!.split(',')[head.indexOf('grad_norm/keys')]), 0, 'frozen keys have no gradient');
});

test('JSON of a run round-trips its numbers', () => {
  const a = record('lu-tc-fast', 60);
  const j = JSON.parse(runJson(a)) as { steps: number[]; loss: number[]; gradNorms: number[][]; info: { groups: string[] } };
  assert.equal(j.steps.length, 60);
  assert.deepEqual(j.loss, Array.from(a.snapshot.scalars.loss));
  assert.equal(j.gradNorms[0]!.length, j.info.groups.length);
});
