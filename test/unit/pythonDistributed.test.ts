/**
 * torchrun / DDP (issue 13): `torchrun --nproc_per_node=2` with the gloo backend on CPU runs
 * python/examples/ddp_classifier.py; rank 0 records one run folder with every step; a pause
 * from the control file is collective (every rank waits at the same step, through pauses longer
 * than the helper's heartbeat), a single step moves every rank by one, resume goes on, and a
 * stop ends every rank at the same step with a clean exit.
 *
 * torchrun 1.13 on Python 3.11 fails with its default `--redirects 0 --tee 0` (its Std flag
 * parsing misses 0 on 3.11); `--redirects 1 --tee 1` works on every version, so it is passed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findTorchPython } from '../../src/runs/pythonTrainer';
import { sendControl } from '../../src/runs/controlFile';
import { listRuns, openRun } from '../../src/runs/store';

const ROOT = path.resolve(__dirname, '../../..');
const DDP = path.join(ROOT, 'python/examples/ddp_classifier.py');
const PYTHON = findTorchPython([process.env['ATTENTION_LENS_TEST_PYTHON'] ?? '', 'python3', '/usr/bin/python3']);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'al-ddp-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, timeoutMs = 60000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('torchrun --nproc_per_node=2 (gloo, CPU): one run folder with every step, a collective pause, a single step and resume, stop on every rank at the same step', { timeout: 180_000 }, async () => {
  assert.ok(PYTHON, 'no Python that can `import torch` (install python3-torch, which brings torchrun)');
  const runsDir = path.join(tmp, 'runs');
  const child = spawn(
    PYTHON,
    ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', '--redirects', '1', '--tee', '1', DDP, '--steps', '100000', '--print-every', '1', '--capture-every', '20'],
    { cwd: tmp, env: { ...process.env, ATTENTION_LENS_RUNS_DIR: runsDir, OMP_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let out = '';
  const last = [0, 0];
  const stoppedAt: (number | undefined)[] = [undefined, undefined];
  let buf = '';
  const onData = (c: Buffer) => {
    out += c.toString();
    buf += c.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      const m = /rank (\d) step (\d+)/.exec(l);
      if (m) last[Number(m[1])] = Number(m[2]);
      const s = /rank (\d) stopped after step (\d+)/.exec(l);
      if (s) stoppedAt[Number(s[1])] = Number(s[2]);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    await until(() => Math.min(...last) >= 20, 'both ranks at step 20');
    const runs = listRuns(runsDir).runs;
    assert.equal(runs.length, 1, 'rank 0 alone records: one run folder');
    const dir = runs[0]!.dir;
    const meta = () => openRun(dir).meta;

    sendControl(dir, 'pause');
    await until(() => meta()?.status === 'paused', 'paused');
    const at = openRun(dir).scalars.n;
    await sleep(2500); // longer than the heartbeat: the ranks wait through several broadcasts
    // A rank prints `step S` when step() returns: both have printed at - 1 and wait inside step at.
    assert.deepEqual(last, [at - 1, at - 1], `every rank waits at the paused step ${at}`);
    assert.equal(openRun(dir).scalars.n, at);

    sendControl(dir, 'step');
    await until(() => openRun(dir).scalars.n === at + 1 && last[0] === at && last[1] === at, 'one single step on every rank');
    await sleep(800);
    assert.deepEqual(last, [at, at], 'exactly one');
    assert.equal(openRun(dir).scalars.n, at + 1);
    assert.equal(meta()?.status, 'paused');

    sendControl(dir, 'resume');
    await until(() => Math.min(...last) >= at + 20, 'both ranks going on');
    sendControl(dir, 'stop');
    assert.equal(await exited, 0, out.slice(-3000));
    assert.ok(stoppedAt[0] !== undefined && stoppedAt[0] === stoppedAt[1], `ranks stopped after steps ${stoppedAt.join(' and ')}`);
    const r = openRun(dir);
    assert.deepEqual(r.problems, []);
    assert.equal(r.meta?.status, 'stopped');
    assert.equal(r.scalars.n, stoppedAt[0]);
    assert.deepEqual(Array.from(r.scalars.step), Array.from({ length: r.scalars.n }, (_, i) => i + 1), 'every step');
    assert.ok(r.attentionSteps.includes(20) && r.attentionSteps.includes(at) && r.attentionSteps.includes(at + 1));
    assert.equal((r.config as { config: { world: number } }).config.world, 2);
    assert.ok(Array.from(r.scalars.gradNorms).every((g) => Number.isFinite(g) && g >= 0));
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
