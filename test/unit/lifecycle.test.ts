/**
 * The run lifecycle against real child processes: the real trainer (dist/trainer.js, built
 * by `node esbuild.mjs` before the tests) for pause / step / resume / stop, completion,
 * concurrency, bad configs and NaN; fixture trainers (test/fixtures/*.js) for the ways a
 * trainer can crash, lie or hang.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { presetConfig } from '../../src/trainer/presets';
import type { RunConfig } from '../../src/trainer/config';
import { PROTOCOL_VERSION, type HostToWebview } from '../../src/protocol/messages';
import { isTrainerToHost } from '../../src/protocol/guards';
import { RunManager, type Run } from '../../src/runs/runManager';
import { RunProcess } from '../../src/runs/runProcess';
import { openRun } from '../../src/runs/store';

// Tests run from out/test/unit/.
const TRAINER = path.resolve(__dirname, '../../../dist/trainer.js');
const FIXTURES = path.resolve(__dirname, '../../../test/fixtures');
const fixture = (name: string) => ({ trainerPath: path.join(FIXTURES, `${name}.js`), args: [String(PROTOCOL_VERSION)] });

assert.ok(fs.existsSync(TRAINER), `${TRAINER} is missing: run \`node esbuild.mjs\` first`);

const manager = new RunManager({ trainerPath: TRAINER });
after(() => manager.disposeAll());
const baseDir = os.tmpdir();

/** lu-fc-fast, long enough that it is still training when the test is done with it. */
function longConfig(seed = 1): RunConfig {
  const c = presetConfig('lu-fc-fast');
  c.training.epochs = 1_000_000;
  c.seed = seed;
  return c;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function assertContiguous(run: Run): void {
  const steps = run.history.scalars().step;
  for (let i = 0; i < steps.length; i++) if (steps[i] !== i + 1) assert.fail(`step ${i + 1} is ${steps[i]}`);
}

test('pause stops steps, step runs exactly one, resume continues, stop ends the process', async () => {
  const updates: HostToWebview[] = [];
  const off = manager.on('runUpdate', (r, msg) => r === run && updates.push(msg));
  const run = manager.launch({ config: longConfig(), baseDir });
  const pid = run.process.pid!;
  await until(() => run.history.length >= 50, '50 steps');
  assert.equal(run.status, 'running');
  assert.ok(run.info && run.info.groups.length === 4 && run.info.topicWords?.length === 8);
  assertContiguous(run);

  run.pause();
  await until(() => run.status === 'paused', 'paused');
  assert.equal(run.statusReason, 'paused on request');
  const n0 = run.history.length;
  await sleep(500);
  assert.equal(run.history.length, n0, 'no step while paused');

  run.stepOnce();
  await until(() => run.history.length > n0, 'one step');
  await sleep(200);
  assert.equal(run.history.length, n0 + 1, 'exactly one step');
  assert.equal(run.status, 'paused');

  run.resume();
  await until(() => run.history.length >= n0 + 50, 'steps after resume');
  assert.equal(run.status, 'running');

  run.stop();
  assert.equal(await run.finished, 'stopped');
  assert.equal(run.status, 'stopped');
  assert.equal(run.statusReason, undefined);
  assert.equal(alive(pid), false, 'the process is gone');
  assertContiguous(run);
  assert.equal(run.process.rejectedMessages, 0);

  // The coalesced updates carried every step exactly once, in order, at a bounded rate.
  off();
  const fromUpdates: number[] = [];
  for (const u of updates) if (u.type === 'stepsAppended') fromUpdates.push(...u.scalars.step);
  assert.deepEqual(fromUpdates, Array.from(run.history.scalars().step));
  const elapsed = Date.now() - run.startedAt;
  assert.ok(updates.length <= elapsed / 25 + 5, `${updates.length} updates in ${elapsed} ms`);
});

test('a run to completion: completed with its summary, every step, captures and identity', async () => {
  const config = presetConfig('lu-fc-fast');
  config.training.epochs = 300;
  const run = manager.launch({ config, baseDir });
  assert.equal(await run.finished, 'completed');
  assert.equal(run.status, 'completed');
  assert.equal(run.history.length, 300);
  assertContiguous(run);
  assert.ok(run.summary && run.summary.steps === 300 && run.summary.topicAttention !== undefined);
  const snap = run.snapshot();
  assert.equal(snap.status, 'completed');
  assert.deepEqual(snap.attentionSteps, [1, ...Array.from({ length: 30 }, (_, i) => 10 * (i + 1))]);
  assert.deepEqual(snap.evals.map((e) => e.step), [50, 100, 150, 200, 250, 300]);
  assert.equal(snap.identity.length, 300);
  assert.deepEqual(run.statusMessage(), { type: 'statusChanged', runId: run.id, status: 'completed', step: 300, summary: run.summary, name: run.name });
});

test('a fast trainer batches its steps: far fewer messages than steps, every step once and in order', async () => {
  const config = presetConfig('lu-fc-fast');
  config.training.epochs = 3000;
  const run = manager.launch({ config, baseDir });
  const seen: number[] = [];
  run.process.on('message', (m) => {
    if (m.type === 'stepCompleted') seen.push(m.data.step);
  });
  await until(() => seen.length > 0, 'the first step');
  if (run.process.pid !== undefined && seen.length < 3000) {
    assert.equal(os.getPriority(run.process.pid), os.constants.priority.PRIORITY_BELOW_NORMAL, 'the trainer runs below normal priority');
  }
  assert.equal(await run.finished, 'completed');
  assert.deepEqual(seen, Array.from({ length: 3000 }, (_, i) => i + 1), 'listeners see every step as its own stepCompleted');
  assertContiguous(run);
  assert.equal(run.process.rejectedMessages, 0);
  // trainerReady, runStarted, runCompleted and the step batches (a batch holds what ~4 ms of training finished).
  assert.ok(run.process.acceptedMessages < 3000 * 0.75, `${run.process.acceptedMessages} messages for 3,000 steps`);
});

test('four runs at once, each in its own process, all complete', async () => {
  const runs = [1, 2, 3, 4].map((seed) => {
    const config = presetConfig('lu-fc-fast');
    config.training.epochs = 300;
    config.seed = seed;
    return manager.launch({ config, baseDir, name: 'four' });
  });
  assert.equal(new Set(runs.map((r) => r.process.pid)).size, 4);
  assert.deepEqual(runs.map((r) => r.name), ['four', 'four (2)', 'four (3)', 'four (4)']);
  await until(() => runs.every((r) => r.history.length > 0), 'all four training');
  const statuses = await Promise.all(runs.map((r) => r.finished));
  assert.deepEqual(statuses, ['completed', 'completed', 'completed', 'completed']);
  for (const r of runs) {
    assert.equal(r.history.length, 300);
    assertContiguous(r);
  }
  assert.notEqual(runs[0]!.summary!.loss, runs[1]!.summary!.loss, 'different seeds, different runs');
  // The manager keeps launch order and selection.
  assert.equal(manager.mostRecent(), runs[3]);
  assert.equal(manager.selected(), runs[3], 'no selection: the most recent');
  assert.ok(manager.select(runs[1]!.id));
  assert.equal(manager.selected(), runs[1]);
  assert.equal(manager.select('no-such-run'), false);
  assert.equal(manager.get(runs[2]!.id), runs[2]);
  const ids = manager.list().map((r) => r.id);
  assert.deepEqual(ids.slice(-4), runs.map((r) => r.id));
});

test('a config that fails validation fails the run with the field path', async () => {
  const config = { ...presetConfig('lu-fc-fast'), optimizer: { kind: 'sgd', lr: -1 } };
  const run = manager.launch({ config, baseDir });
  assert.equal(await run.finished, 'failed');
  assert.match(run.statusReason!, /optimizer\.lr must be a positive number/);
  assert.equal(run.history.length, 0);
});

test('a data file that does not exist fails the run naming the file', async () => {
  const config = { name: 'text', data: { kind: 'text', train: 'no-such-file.jsonl' }, model: { kind: 'lu' } };
  const run = manager.launch({ config, baseDir });
  assert.equal(await run.finished, 'failed');
  assert.match(run.statusReason!, /no-such-file\.jsonl/);
});

test('a diverging run (Lu TC, lr 1e30) pauses itself on NaN and says so', async () => {
  const config = presetConfig('lu-tc-fast');
  config.optimizer.lr = 1e30;
  const run = manager.launch({ config, baseDir });
  await until(() => run.status === 'paused', 'self-pause');
  assert.match(run.statusReason!, /NaN|not finite/);
  assert.match(run.statusReason!, /NaN/);
  const n = run.history.length;
  const last = run.history.scalars(n - 1, n);
  assert.ok(!Number.isFinite(last.loss[0]!) || last.gradNorms.some((g) => !Number.isFinite(g)), 'the last step is the bad one');
  await sleep(300);
  assert.equal(run.history.length, n, 'stays paused');
  run.stop();
  assert.equal(await run.finished, 'stopped');
});

test('startPaused: paused before the first step; a single step; then stop', async () => {
  const run = manager.launch({ config: longConfig(), baseDir, startPaused: true });
  await until(() => run.status === 'paused', 'paused at start');
  assert.equal(run.statusReason, 'started paused');
  await sleep(300);
  assert.equal(run.history.length, 0);
  run.stepOnce();
  await until(() => run.history.length === 1, 'one step');
  run.stop();
  assert.equal(await run.finished, 'stopped');
  assert.equal(run.history.length, 1);
});

test('the trainer refuses a startRun of another protocol version and ignores invalid commands', async () => {
  const child = fork(TRAINER, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const messages: unknown[] = [];
  child.on('message', (m) => messages.push(m));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  await until(() => messages.length > 0, 'trainerReady');
  assert.ok(isTrainerToHost(messages[0]));
  assert.deepEqual(messages[0], { type: 'trainerReady', protocolVersion: PROTOCOL_VERSION, pid: child.pid });
  child.send({ type: 'launch' });
  child.send({ type: 'startRun', protocolVersion: PROTOCOL_VERSION + 1, config: presetConfig('lu-fc-fast'), baseDir, startPaused: false });
  assert.equal(await exited, 1);
  assert.deepEqual(messages[1], { type: 'runFailed', message: `protocol version mismatch: host speaks ${PROTOCOL_VERSION + 1}, trainer speaks ${PROTOCOL_VERSION}` });
  assert.match(stderr, /ignored an invalid message/);
});

// ─── fixture trainers ────────────────────────────────────────────────────────────────

test('a trainer that throws: failed with the exception text; the steps it sent stay', async () => {
  const run = manager.launch({ config: {}, baseDir, ...fixture('crash-throw') });
  assert.equal(await run.finished, 'failed');
  assert.match(run.statusReason!, /trainer exited with code 1/);
  assert.match(run.statusReason!, /fixture exploded on purpose/);
  assert.match(run.process.stderrTail, /fixture exploded on purpose/);
  assert.equal(run.history.length, 5);
  assertContiguous(run);
  assert.deepEqual(run.history.snapshot(run.id, run.status).attentionSteps, [5]);
});

test('a trainer that exits with code 3: failed "exited with code 3"', async () => {
  const run = manager.launch({ config: {}, baseDir, ...fixture('exit-code-3') });
  assert.equal(await run.finished, 'failed');
  assert.match(run.statusReason!, /exited with code 3/);
  assert.match(run.process.stderrTail, /giving up with code 3/);
  assert.equal(run.history.length, 3);
});

test('a trainer killed with SIGKILL: failed mentioning SIGKILL', async () => {
  const run = manager.launch({ config: {}, baseDir, ...fixture('hang') });
  await until(() => run.history.length === 3, 'three steps');
  process.kill(run.process.pid!, 'SIGKILL');
  assert.equal(await run.finished, 'failed');
  assert.match(run.statusReason!, /trainer was killed \(SIGKILL\)/);
  assert.equal(run.history.length, 3);
});

test('garbage from a trainer is rejected and counted, never trusted, never fatal', async () => {
  const errors: string[] = [];
  const off = manager.on('protocolError', (r, text) => r === run && errors.push(text));
  const run = manager.launch({ config: {}, baseDir, ...fixture('garbage') });
  assert.equal(await run.finished, 'completed');
  off();
  assert.equal(run.process.rejectedMessages, 16, errors.join('\n'));
  assert.equal(errors.length, 16);
  assert.ok(errors.some((e) => /step 2 after step 2/.test(e)));
  assert.deepEqual(Array.from(run.history.scalars().step), [1, 2]);
  assert.deepEqual(Array.from(run.history.scalars().gradNorms), [0.1, 0.2, 0.2, 0.2].map(Math.fround));
});

test('a trainer of another protocol version: rejected, counted, the run fails saying so', async () => {
  const run = manager.launch({ config: {}, baseDir, ...fixture('wrong-version') });
  const pid = run.process.pid!;
  assert.equal(await run.finished, 'failed');
  assert.match(run.statusReason!, /protocol version mismatch: host speaks 1, trainer speaks 99/);
  assert.equal(run.process.rejectedMessages, 4, 'three malformed messages and the mismatched handshake');
  assert.equal(alive(pid), false);
});

test('a stop that is not obeyed is killed after the timeout', async () => {
  const run = manager.launch({ config: {}, baseDir, stopTimeoutMs: 500, ...fixture('ignore-stop') });
  const pid = run.process.pid!;
  await until(() => run.history.length >= 3, 'steps');
  const t0 = Date.now();
  run.stop();
  assert.equal(await run.finished, 'stopped');
  const waited = Date.now() - t0;
  assert.ok(waited >= 450, `killed after ${waited} ms`);
  assert.equal(run.statusReason, 'killed after not stopping within 500 ms');
  assert.equal(alive(pid), false);
  assert.ok(run.history.length >= 3, 'the steps before stay');
});

test('RunProcess.kill: the run ends stopped at once', async () => {
  const p = RunProcess.start({ trainerPath: TRAINER, config: longConfig(), baseDir });
  await new Promise<void>((r) => p.on('message', (m) => m.type === 'stepCompleted' && r()));
  const exited = new Promise((r) => p.once('exit', r));
  p.kill();
  await exited;
  assert.equal(p.status, 'stopped');
  assert.equal(p.statusReason, 'killed by the host');
  assert.equal(alive(p.pid!), false);
});

test('SIGTERM to the trainer process: it finishes the step, sends every step, and the run ends stopped with the reason', async () => {
  const run = manager.launch({ config: longConfig(), baseDir });
  const pid = run.process.pid!;
  await until(() => run.history.length >= 200, '200 steps');
  process.kill(pid, 'SIGTERM');
  assert.equal(await run.finished, 'stopped');
  assert.equal(run.statusReason, 'the trainer was sent SIGTERM');
  assert.equal(run.process.exitCode, 143);
  assert.equal(alive(pid), false, 'the process is gone');
  assert.ok(run.history.length >= 200);
  assertContiguous(run);
});

test('a pace over the real channel: launched at 50 steps/s it trains about that fast, setPace({}) lets it go, every step recorded', async () => {
  const statuses: (number | undefined)[] = [];
  const run = manager.launch({ config: longConfig(), baseDir, pace: { stepsPerSecond: 50 } });
  const off = manager.on('runChanged', (r) => r === run && statuses.push(r.statusMessage().pace?.stepsPerSecond));
  await until(() => run.history.length >= 1, 'the first step');
  await sleep(1000);
  const at50 = run.history.length;
  assert.ok(at50 >= 25 && at50 <= 90, `${at50} steps in about 1 s at 50 steps/s`);
  assert.deepEqual(run.pace, { stepsPerSecond: 50 });
  assert.equal(run.snapshot().pace?.stepsPerSecond, 50, 'a snapshot says the pace');
  run.setPace({});
  await until(() => run.history.length >= at50 + 2000, 'full speed after setPace({})');
  assert.ok(statuses.includes(undefined), 'views hear of the new pace');
  run.stop();
  assert.equal(await run.finished, 'stopped');
  off();
  assertContiguous(run);
});

test('a paused run shows the step it is at: the pause and every single step capture attention, in memory and in the run folder', async () => {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-pause-capture-'));
  const m = new RunManager({ trainerPath: TRAINER, runsDir });
  try {
    const config = longConfig();
    config.training.captureEvery = 1000; // far apart: a pause lands between two captures
    const run = m.launch({ config, baseDir });
    await until(() => run.history.length >= 30, '30 steps');
    run.pause();
    await until(() => run.status === 'paused', 'paused');
    const at = run.step;
    assert.ok(at % 1000 !== 0 && at !== 1, `paused at step ${at}, not a scheduled capture`);
    await until(() => run.history.latestAttention()?.step === at, `the frame of step ${at}`);
    for (let i = 1; i <= 3; i++) {
      run.stepOnce();
      await until(() => run.history.latestAttention()?.step === at + i, `the frame of single step ${at + i}`);
    }
    assert.equal(run.history.length, at + 3);
    const snap = run.snapshot();
    assert.deepEqual(snap.attentionSteps.slice(-4), [at, at + 1, at + 2, at + 3]);
    assert.equal(snap.latestAttention?.step, at + 3);
    run.stop();
    assert.equal(await run.finished, 'stopped');
    const stored = openRun(run.dir!);
    assert.deepEqual(stored.problems, []);
    assert.deepEqual(stored.attentionSteps.slice(-4), [at, at + 1, at + 2, at + 3]);
    assert.equal(stored.readAttention(at)?.step, at, 'the pause frame reads back from the folder');
  } finally {
    m.disposeAll();
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});
