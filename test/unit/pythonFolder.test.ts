/**
 * Transport 2, a PyTorch script the host did not launch: it writes the run folder itself
 * (python/attention_lens/runfolder.py) and obeys the control file the host writes
 * (src/runs/controlFile.ts). Cross-language: the store's test vectors
 * (test/fixtures/store-writer.js, and its Python twin python_store_vectors.py) written by
 * either language give the same stream bytes and read back the same in both readers; a real
 * training script in a terminal is followed live, paused, single-stepped, resumed and stopped.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findTorchPython } from '../../src/runs/pythonTrainer';
import { readControl, sendControl } from '../../src/runs/controlFile';
import { listRuns, openRun, RunFollower, type StoredRun } from '../../src/runs/store';

const ROOT = path.resolve(__dirname, '../../..');
const FIXTURES = path.join(ROOT, 'test/fixtures');
const EXAMPLE = path.join(ROOT, 'python/examples/encoder_classifier.py');
const PYTHON = findTorchPython([process.env['ATTENTION_LENS_TEST_PYTHON'] ?? '', 'python3', '/usr/bin/python3']);
const NEED = 'no Python that can `import torch` (tried $ATTENTION_LENS_TEST_PYTHON, python3, /usr/bin/python3): install python3-torch (Debian: apt install python3-torch)';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'al-pyfolder-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, timeoutMs = 30000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function python(): string {
  assert.ok(PYTHON, NEED);
  return PYTHON;
}

const STREAMS = ['scalars.bin', 'evals.bin', 'identity.bin', 'attention.bin', 'attention.idx', 'measures.bin', 'events.bin'];

/** Everything a reader gets from a run, without what names the writing process and its times. */
function readable(r: StoredRun): unknown {
  const { id: _i, startedAt: _s, endedAt: _e, writer: _w, checksum: _c, ...meta } = r.meta!;
  const frames = r.attentionSteps.map((s) => r.readAttention(s));
  return { meta, config: r.config, scalars: r.scalars, evals: r.evals, identity: r.identity, attentionSteps: r.attentionSteps, frames, measures: r.measures, problems: r.problems };
}

test('the store test vectors written by Python and by TypeScript: the same stream bytes, read back the same by both readers', () => {
  const ts = path.join(tmp, 'vectors-ts');
  const py = path.join(tmp, 'vectors-py');
  const w = spawnSync(process.execPath, [path.join(FIXTURES, 'store-writer.js'), ts, '420'], { encoding: 'utf8' });
  assert.equal(w.status, 0, w.stderr);
  const p = spawnSync(python(), [path.join(FIXTURES, 'python_store_vectors.py'), 'write', py, '420'], { encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  for (const f of [...STREAMS, 'config.json']) assert.ok(fs.readFileSync(path.join(py, f), 'hex') === fs.readFileSync(path.join(ts, f), 'hex'), `${f} differs`);
  const a = openRun(ts);
  const b = openRun(py);
  assert.deepEqual(b.problems, []);
  assert.equal(b.scalars.n, 420);
  assert.equal(b.measures.events.length, 4 + 6);
  assert.deepEqual(readable(b), readable(a));
  // Python reads the TypeScript writer's folder, every record checked against its own copy of the vectors.
  const c = spawnSync(python(), [path.join(FIXTURES, 'python_store_vectors.py'), 'check', ts, '420'], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stdout + c.stderr);
  assert.equal(c.stdout.trim(), 'ok');
});

test('the version-1 folders of the store fixtures read in the Python package too', () => {
  const r = spawnSync(python(), ['-c', `import sys, json; sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'python'))}); from attention_lens import read_run; r = read_run(sys.argv[1]); print(json.dumps([len(r["scalars"]), sorted(r["attention"])[:3], r["meta"]["formatVersion"]]))`, path.join(FIXTURES, 'runs/v1-completed')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const stored = openRun(path.join(FIXTURES, 'runs/v1-completed'));
  const [n, first, version] = JSON.parse(r.stdout) as [number, number[], number];
  assert.equal(version, 1);
  assert.equal(n, stored.scalars.n);
  assert.deepEqual(first, stored.attentionSteps.slice(0, 3));
});

/** A training script started as a person would in a terminal: no extension, a folder of runs. */
function terminal(args: string[], runsDir: string): ChildProcess & { output: () => string } {
  const child = spawn(python(), [EXAMPLE, ...args], { cwd: tmp, env: { ...process.env, ATTENTION_LENS_RUNS_DIR: runsDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return Object.assign(child, { output: () => out });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));
}

test('a script run in a terminal writes a run folder the host follows live, and obeys pause, single step, resume and stop from the control file', async () => {
  const runsDir = path.join(tmp, 'terminal-runs');
  const child = terminal(['--steps', '100000', '--capture-every', '25', '--name', 'from a terminal'], runsDir);
  try {
    await until(() => listRuns(runsDir).runs.length === 1, 'the run folder', 30000);
    const dir = listRuns(runsDir).runs[0]!.dir;
    assert.match(path.basename(dir), /^\d{8}-\d{6}-from-a-terminal$/);
    const follower = new RunFollower(dir);
    let steps = 0;
    let meta = follower.poll().meta;
    const poll = () => {
      const u = follower.poll();
      steps += u.scalars.n;
      if (u.meta) meta = u.meta;
      return u;
    };
    await until(() => (poll(), steps >= 30), '30 steps in the folder');
    assert.equal(meta?.status, 'running');
    assert.equal(meta?.source, 'python');
    assert.deepEqual(meta?.info?.groups, ['embed', 'pos', 'encoder.layers.0', 'encoder.layers.1', 'head']);

    sendControl(dir, 'pause');
    await until(() => (poll(), meta?.status === 'paused'), 'meta.json says paused');
    assert.equal(meta?.statusReason, 'paused on request');
    await sleep(300);
    poll();
    const at = steps;
    await sleep(400);
    poll();
    assert.equal(steps, at, 'no step while paused');
    const stored = openRun(dir);
    assert.equal(stored.scalars.n, at, 'everything before the pause is in the files');
    assert.equal(stored.attentionSteps[stored.attentionSteps.length - 1], at, 'the pause captured the step it is at');

    sendControl(dir, 'step');
    sendControl(dir, 'step');
    await until(() => (poll(), steps === at + 2), 'two single steps');
    await sleep(400);
    poll();
    assert.equal(steps, at + 2, 'exactly two steps');
    assert.equal(meta?.status, 'paused');

    sendControl(dir, 'resume');
    await until(() => (poll(), meta?.status === 'running' && steps >= at + 20), 'running again');
    sendControl(dir, 'stop');
    assert.equal(await exited(child), 0, child.output());
    const done = openRun(dir);
    assert.deepEqual(done.problems, []);
    assert.equal(done.meta?.status, 'stopped');
    assert.ok(done.meta?.endedAt);
    const n = done.scalars.n;
    assert.deepEqual(Array.from(done.scalars.step), Array.from({ length: n }, (_, i) => i + 1), 'every step, in order');
    const updates = done.measures.series.find((s) => s.id === 'updates')!;
    assert.deepEqual(Array.from(updates.values), Array.from({ length: n }, (_, i) => i + 1), 'one optimizer update per recorded step');
    assert.ok(done.attentionSteps.includes(at + 1) && done.attentionSteps.includes(at + 2), 'single steps capture');
    const frame = done.readAttention(25)!;
    assert.equal(frame.probes.length, 4);
    assert.equal(frame.probes[0]!.length, 8);
    assert.equal(readControl(dir)?.seq, 5);
  } finally {
    child.kill('SIGKILL');
  }
});

test('a script killed with SIGKILL leaves a folder that reads back: every flushed step, the run shown as not closed', async () => {
  const runsDir = path.join(tmp, 'killed-runs');
  const child = terminal(['--steps', '100000', '--capture-every', '10'], runsDir);
  await until(() => listRuns(runsDir).runs.length === 1 && listRuns(runsDir).runs[0]!.steps >= 40, '40 steps', 30000);
  child.kill('SIGKILL');
  await exited(child);
  const listing = listRuns(runsDir).runs[0]!;
  assert.equal(listing.ended, false);
  assert.equal(listing.writerAlive, false, 'its writer is gone');
  const r = openRun(listing.dir);
  assert.ok(r.problems.every((p) => p.kind === 'torn'), JSON.stringify(r.problems));
  assert.ok(r.scalars.n >= 40);
  assert.deepEqual(Array.from(r.scalars.step), Array.from({ length: r.scalars.n }, (_, i) => i + 1));
});

test('a stopped script in a terminal exits cleanly after SIGTERM too, the folder closed as stopped with the reason', async () => {
  const runsDir = path.join(tmp, 'sigterm-runs');
  const child = terminal(['--steps', '100000'], runsDir);
  await until(() => listRuns(runsDir).runs.length === 1 && listRuns(runsDir).runs[0]!.steps >= 5, '5 steps', 30000);
  child.kill('SIGTERM');
  assert.equal(await exited(child), 143);
  const r = openRun(listRuns(runsDir).runs[0]!.dir);
  assert.deepEqual(r.problems, []);
  assert.equal(r.meta?.status, 'stopped');
  assert.equal(r.meta?.statusReason, 'the trainer was sent SIGTERM');
});
