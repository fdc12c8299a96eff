/**
 * A stored Lu run keeps a thinned identity (a view shows at most MAX_IDENTITY_POINTS of it),
 * so a million-step run does not hold every topic word at every step in the host; the
 * snapshot still spans the first to the last step.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunInfo } from '../../src/protocol/messages';
import { MAX_IDENTITY_POINTS } from '../../src/runs/runHistory';
import { RunWriter } from '../../src/runs/store';
import { StoredRun } from '../../src/runs/storedRun';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-thin-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const K = 4;
const info: RunInfo = { name: 'thin', modelKind: 'lu', groups: ['e', 'k', 'q', 'c'], totalSteps: 50_000, stepsPerEpoch: 1, classes: ['a', 'b'], probes: [], topicWords: ['w0', 'w1', 'w2', 'w3'], m: 10, config: {} };

test('a stored run with 50,000 identity rows keeps at most 16,000; its snapshot spans the first to the last step', () => {
  const runDir = path.join(dir, 'run');
  const w = RunWriter.open(runDir, { name: 'thin', source: 'test', info }, {}, { fsync: 'never' });
  const g = new Float64Array(4).fill(0.5);
  for (let s = 1; s <= 50_000; s++) {
    const v = Float64Array.from({ length: K }, (_, j) => s + j / 10);
    w.appendStep({ step: s, epoch: s, loss: 1 / s, trainAccuracy: 1, gradNorms: g, weightNorms: g, stepMs: 0.1, identity: { score: v, measured: v, theory: v, relError: v } });
  }
  w.close('completed');
  const run = StoredRun.fromDir(runDir);
  assert.ok(run);
  const snap = run.snapshot();
  assert.equal(snap.scalars.n, 50_000, 'every step of the scalars');
  assert.equal(snap.identity.length, MAX_IDENTITY_POINTS);
  assert.equal(snap.identity[0]!.step, 1);
  assert.equal(snap.identity[MAX_IDENTITY_POINTS - 1]!.step, 50_000);
  assert.deepEqual(Array.from(snap.identity[MAX_IDENTITY_POINTS - 1]!.score), [50000, 50000.1, 50000.2, 50000.3].map(Math.fround));
  const steps = snap.identity.map((p) => p.step);
  const gaps = steps.slice(1).map((s, i) => s - steps[i]!);
  assert.ok(Math.max(...gaps) <= 2 * (50_000 / MAX_IDENTITY_POINTS), `evenly spread (largest gap ${Math.max(...gaps)})`);
  const held = (run as unknown as { data: { identity: { n: number }[] } }).data.identity.reduce((a, p) => a + p.n, 0);
  assert.ok(held <= 4 * MAX_IDENTITY_POINTS * 2, `${held} identity rows held`);
  assert.ok(held < 50_000);
});
