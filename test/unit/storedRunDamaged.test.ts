/** A run whose meta.json is damaged is still a run the Runs tree shows: from its streams, marked damaged, with the reason. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listRuns, RunWriter } from '../../src/runs/store';
import { StoredRun } from '../../src/runs/storedRun';
import { runInfo, scalarChunk } from '../fixtures/messages';

test('a damaged meta.json: the stored run is listed, says it is damaged and why, and shows every step', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'al-damaged-'));
  try {
    const dir = path.join(root, 'run1');
    const w = RunWriter.open(dir, { name: 'r', info: runInfo() }, {}, { fsync: 'never' });
    const c = scalarChunk(1, 30);
    for (let i = 0; i < c.n; i++) w.appendStep({ step: i + 1, epoch: 1, loss: c.loss[i]!, trainAccuracy: 0.5, gradNorms: Float64Array.of(1, 2), weightNorms: Float64Array.of(3, 4), stepMs: 0.1 });
    w.close('completed');
    // A valid-JSON edit the checksum catches.
    const metaFile = path.join(dir, 'meta.json');
    fs.writeFileSync(metaFile, fs.readFileSync(metaFile, 'utf8').replace('"completed"', '"stopped"'));
    const listed = listRuns(root);
    assert.equal(listed.runs.length, 1, 'still listed');
    const run = new StoredRun(listed.runs[0]!);
    assert.ok(run.damaged, 'marked damaged');
    assert.match(run.statusReason ?? '', /meta\.json is damaged \(.*checksum/);
    assert.ok(run.problems.includes(run.damaged!));
    assert.equal(run.snapshot().scalars.n, 30, 'every step shown');
    fs.rmSync(metaFile);
    const again = new StoredRun(listRuns(root).runs[0]!);
    assert.ok(again.damaged, 'a missing meta.json too');
    assert.equal(again.snapshot().scalars.n, 30);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
