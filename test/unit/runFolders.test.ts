/**
 * Runs that last: a RunManager with a runsDir records every run into its folder as it trains
 * (against the real trainer, dist/trainer.js), and stored runs come back as a run source
 * (StoredRun, RunCatalog) whose snapshot matches the live run's.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { presetConfig } from '../../src/trainer/presets';
import type { RunConfig } from '../../src/trainer/config';
import { RunManager } from '../../src/runs/runManager';
import { LIVE_IDENTITY_POINTS } from '../../src/runs/runHistory';
import { listRuns, openRun } from '../../src/runs/store';
import { isStored, RunCatalog } from '../../src/runs/runCatalog';
import { StoredRun } from '../../src/runs/storedRun';

// Tests run from out/test/unit/.
const TRAINER = path.resolve(__dirname, '../../../dist/trainer.js');
assert.ok(fs.existsSync(TRAINER), `${TRAINER} is missing: run \`node esbuild.mjs\` first`);

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-runs-'));
const manager = new RunManager({ trainerPath: TRAINER, runsDir, source: 'test' });
const storeErrors: string[] = [];
manager.on('storeError', (_run, text) => storeErrors.push(text));
after(() => {
  manager.disposeAll();
  fs.rmSync(runsDir, { recursive: true, force: true });
});
const baseDir = os.tmpdir();

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function shortConfig(epochs = 40, seed = 2): RunConfig {
  const c = presetConfig('lu-fc-fast');
  c.training.epochs = epochs;
  c.seed = seed;
  return c;
}

test('a completed run: its folder holds every step, the summary and status completed', async () => {
  const run = manager.launch({ config: shortConfig(), baseDir, preset: 'lu-fc-fast' });
  assert.ok(run.dir, 'the run has a folder');
  assert.equal(path.dirname(run.dir), runsDir);
  assert.equal(path.basename(run.dir), run.id, 'the run id is the folder name');
  assert.equal(await run.finished, 'completed');
  assert.equal(run.recorder?.recording, false, 'the writer is closed when finished resolves');

  const stored = openRun(run.dir);
  assert.deepEqual(stored.problems, []);
  assert.equal(stored.meta?.status, 'completed');
  assert.ok(stored.meta?.endedAt);
  assert.equal(stored.meta?.name, run.name);
  assert.equal(stored.meta?.preset, 'lu-fc-fast');
  assert.equal(stored.meta?.source, 'test');
  assert.equal(stored.meta?.seed, 2);
  assert.deepEqual(stored.meta?.summary, run.summary);
  assert.deepEqual(stored.meta?.info?.groups, run.info?.groups);
  assert.equal(stored.scalars.n, run.history.length);
  const live = run.history.scalars();
  assert.deepEqual(Array.from(stored.scalars.step), Array.from(live.step));
  assert.deepEqual(Array.from(stored.scalars.loss), Array.from(live.loss), 'losses are stored as f64, exactly');
  const snap = run.snapshot();
  assert.deepEqual(stored.attentionSteps, snap.attentionSteps);
  assert.equal(stored.evals.length, snap.evals.length);
  assert.ok(stored.attentionSteps.length > 0);
  const lastStep = stored.attentionSteps[stored.attentionSteps.length - 1]!;
  const frame = stored.readAttention(lastStep);
  assert.equal(frame?.step, lastStep);
  assert.deepEqual(Array.from(frame!.probes[0]![0]!.data), Array.from(snap.latestAttention!.probes[0]![0]!.data));
  assert.deepEqual(storeErrors, []);
});

test('a trainer killed with SIGKILL: the flushed steps stay and meta.json says it did not end cleanly', async () => {
  const run = manager.launch({ config: shortConfig(1_000_000, 5), baseDir, name: 'killed' });
  await until(() => run.history.length >= 300, '300 steps');
  // Let at least one flush reach the files (the writer flushes every 200 ms).
  await sleep(400);
  assert.equal(run.recorder?.recording, true);
  process.kill(run.process.pid!, 'SIGKILL');
  assert.equal(await run.finished, 'failed');
  const stored = openRun(run.dir!);
  assert.deepEqual(stored.problems, []);
  assert.equal(stored.meta?.status, 'failed');
  assert.match(stored.meta?.statusReason ?? '', /SIGKILL/);
  assert.equal(stored.meta?.summary, undefined);
  // Every step the host received was recorded (the host flushes at close).
  assert.equal(stored.scalars.n, run.history.length);
  assert.ok(stored.scalars.n >= 300);
  for (let i = 0; i < stored.scalars.n; i++) if (stored.scalars.step[i] !== i + 1) assert.fail(`row ${i} is step ${stored.scalars.step[i]}`);
});

test('a host killed mid-run: the run folder keeps what was flushed, and the listing shows its writer is gone', async () => {
  // A separate host process records a run, then is SIGKILLed (its trainer loses its parent and exits).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-host-'));
  const script = path.join(dir, 'host.js');
  const managerModule = path.resolve(__dirname, '../../src/runs/runManager.js');
  const presetsModule = path.resolve(__dirname, '../../src/trainer/presets.js');
  fs.writeFileSync(
    script,
    `const { RunManager } = require(${JSON.stringify(managerModule)});
const { presetConfig } = require(${JSON.stringify(presetsModule)});
const m = new RunManager({ trainerPath: ${JSON.stringify(TRAINER)}, runsDir: ${JSON.stringify(dir)} });
const c = presetConfig('lu-fc-fast'); c.training.epochs = 1000000;
const run = m.launch({ config: c, baseDir: ${JSON.stringify(os.tmpdir())}, name: 'host-killed' });
run.process.on('message', (msg) => { if (msg.type === 'stepCompleted' && msg.data.step === 200) process.send('200'); });
`,
  );
  const { fork } = await import('node:child_process');
  const host = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    host.once('message', () => resolve());
    host.once('exit', (code) => reject(new Error(`host exited early (${code})`)));
  });
  await sleep(500); // a flush or two after step 200
  host.kill('SIGKILL');
  await new Promise((r) => host.once('exit', r));
  const { runs, problems } = listRuns(dir);
  assert.deepEqual(problems, []);
  assert.equal(runs.length, 1);
  const listing = runs[0]!;
  assert.equal(listing.ended, false, 'no endedAt: the writer never closed');
  assert.equal(listing.meta.status, 'running', 'meta.json still says running…');
  assert.equal(listing.writerAlive, false, '…but its writer is gone');
  const stored = openRun(listing.dir);
  assert.ok(stored.scalars.n >= 200, `${stored.scalars.n} steps survived`);
  for (let i = 0; i < stored.scalars.n; i++) if (stored.scalars.step[i] !== i + 1) assert.fail(`row ${i} is step ${stored.scalars.step[i]}`);
  // Only complete records: at most a torn tail, reported, never garbage.
  for (const p of stored.problems) assert.equal(p.kind, 'torn');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a runsDir that cannot be created: the run still trains, the error is reported', async () => {
  const file = path.join(runsDir, 'not-a-folder');
  fs.writeFileSync(file, '');
  const m = new RunManager({ trainerPath: TRAINER, runsDir: path.join(file, 'runs') });
  const errors: string[] = [];
  m.on('storeError', (_r, text) => errors.push(text));
  const run = m.launch({ config: shortConfig(5), baseDir });
  assert.equal(run.dir, undefined);
  assert.equal(await run.finished, 'completed');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /could not create a run folder/);
  m.disposeAll();
});

test('StoredRun.snapshot of a finished run equals the live run\'s final snapshot', async () => {
  const run = manager.launch({ config: shortConfig(60, 7), baseDir, name: 'compare' });
  assert.equal(await run.finished, 'completed');
  const live = run.snapshot();
  const stored = StoredRun.fromDir(run.dir!)!;
  assert.ok(stored);
  assert.equal(stored.id, run.id);
  assert.equal(stored.name, 'compare');
  assert.equal(stored.status, 'completed');
  assert.equal(stored.step, run.step);
  const snap = stored.snapshot();
  assert.equal(snap.runId, live.runId);
  assert.equal(snap.status, live.status);
  assert.deepEqual(snap.summary, live.summary);
  assert.equal(snap.scalars.n, live.scalars.n);
  assert.deepEqual(Array.from(snap.scalars.step), Array.from(live.scalars.step));
  assert.deepEqual(Array.from(snap.scalars.loss), Array.from(live.scalars.loss));
  // Stored as f32 on disk: equal at f32 precision.
  assert.deepEqual(Array.from(snap.scalars.trainAccuracy), Array.from(Float32Array.from(live.scalars.trainAccuracy)));
  assert.deepEqual(Array.from(snap.scalars.gradNorms), Array.from(Float32Array.from(live.scalars.gradNorms)));
  assert.deepEqual(Array.from(snap.scalars.weightNorms), Array.from(Float32Array.from(live.scalars.weightNorms)));
  assert.deepEqual(snap.evals.map((e) => e.step), live.evals.map((e) => e.step));
  assert.deepEqual(snap.evals.map((e) => e.testAccuracy), live.evals.map((e) => e.testAccuracy));
  assert.deepEqual(snap.attentionSteps, live.attentionSteps);
  assert.equal(snap.latestAttention?.step, live.latestAttention?.step);
  assert.deepEqual(Array.from(snap.latestAttention!.probes[1]![0]!.data), Array.from(live.latestAttention!.probes[1]![0]!.data));
  assert.deepEqual(snap.info?.groups, live.info?.groups);
  assert.deepEqual(snap.info?.topicWords, live.info?.topicWords);
  assert.equal(snap.identity.length, live.identity.length);
  assert.ok(snap.identity.length <= 2000);
  assert.deepEqual(snap.identity.map((p) => p.step), live.identity.map((p) => p.step));
  // The scrubber: a step between two captures gives the capture at or before it, from the cache the second time.
  const s1 = live.attentionSteps[1]!;
  const f = stored.attentionAt(s1 + 1)!;
  assert.equal(f.step, s1);
  assert.equal(stored.attentionAt(s1 + 1), f, 'cached');
  assert.deepEqual(Array.from(f.probes[0]![0]!.data), Array.from(run.attentionAt(s1 + 1)!.probes[0]![0]!.data));
  assert.equal(stored.attentionAt(0), undefined);
});

test('RunCatalog: stored runs merged with live ones, each listed once; get, rename, note, delete', async () => {
  const catalog = new RunCatalog(manager);
  catalog.refresh();
  const ids = catalog.list().map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length, 'no run listed twice');
  for (const r of manager.list()) assert.ok(ids.includes(r.id));
  // A second manager (a window reload) sees the first one's runs as stored runs.
  const reloadManager = new RunManager({ trainerPath: TRAINER, runsDir });
  const reloaded = new RunCatalog(reloadManager);
  reloaded.refresh();
  const stored = reloaded.list();
  assert.equal(stored.length, 3);
  assert.ok(stored.every(isStored));
  const completed = manager.list().find((r) => r.name === 'compare')!;
  const s = reloaded.get(completed.id)!;
  assert.ok(isStored(s));
  assert.equal(s.status, 'completed');
  assert.equal(s.snapshot().scalars.n, completed.history.length);
  const killed = stored.find((r) => r.name === 'killed')!;
  assert.equal(killed.status, 'failed');

  // A live run's folder appears once; renaming it while recording reaches its meta.json at once and at close.
  const run = manager.launch({ config: shortConfig(30, 9), baseDir, name: 'to-rename' });
  catalog.refresh();
  assert.equal(catalog.list().filter((r) => r.id === run.id).length, 1);
  assert.equal(catalog.get(run.id), run);
  assert.throws(() => catalog.delete(run), /still training/);
  catalog.rename(run, 'renamed live');
  catalog.setNote(run, 'first note');
  assert.equal(run.name, 'renamed live');
  await run.finished;
  const meta = openRun(run.dir!).meta!;
  assert.equal(meta.name, 'renamed live');
  assert.equal(meta.note, 'first note');
  assert.equal(path.basename(run.dir!), run.id, 'the folder keeps its name');

  // Stored: rename and note rewrite meta.json; delete removes the folder.
  reloaded.refresh();
  const sr = reloaded.get(run.id)!;
  assert.ok(isStored(sr));
  reloaded.rename(sr, 'renamed stored');
  reloaded.setNote(sr, 'a longer note\nwith two lines');
  const again = reloaded.get(run.id)!;
  assert.equal(again.name, 'renamed stored');
  assert.equal(reloaded.noteOf(again), 'a longer note\nwith two lines');
  reloaded.setNote(again, '');
  assert.equal(openRun(run.dir!).meta!.note, undefined);
  reloaded.delete(again);
  assert.equal(fs.existsSync(run.dir!), false);
  assert.equal(reloaded.get(run.id), undefined);
  // The live manager's catalog forgets it too once it refreshes (the live run is gone from the first manager only when deleted there).
  catalog.delete(run);
  assert.equal(manager.get(run.id), undefined);
  reloadManager.disposeAll();
});

test('a run the command line is writing is followed live: snapshot + polled updates = every step, then its end', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-follow-'));
  const { spawn } = await import('node:child_process');
  const cli = path.resolve(__dirname, '../../../bin/attention-lens.js');
  const child = spawn(process.execPath, [cli, 'train', '--preset', 'lu-fc-fast', '--epochs', '20000', '--runs-dir', dir], { stdio: 'ignore' });
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const m = new RunManager({ trainerPath: TRAINER, runsDir: dir });
  const catalog = new RunCatalog(m);
  await until(() => {
    catalog.refresh();
    const r = catalog.list()[0];
    return r !== undefined && r.step >= 10;
  }, 'the command line run to have steps');
  const s = catalog.list()[0]!;
  assert.ok(isStored(s));
  assert.equal(s.beingWritten, true);
  assert.equal(s.status, 'running');
  const snap = s.snapshot();
  assert.ok(snap.scalars.n > 0);
  assert.equal(s.following, true);
  const steps: number[] = Array.from(snap.scalars.step);
  const statuses: string[] = [];
  let identityMost = 0;
  let identityLast = 0;
  catalog.on('runUpdate', (_r, msg) => {
    steps.push(...Array.from(msg.scalars.step));
    identityMost = Math.max(identityMost, msg.identity.length);
    if (msg.identity.length > 0) identityLast = msg.identity[msg.identity.length - 1]!.step;
  });
  catalog.on('runChanged', (r) => statuses.push(r.status));
  const stop = catalog.follow(50);
  const code = await exited;
  assert.equal(code, 0);
  await until(() => !s.following, 'the followed run to be read to its end');
  stop();
  assert.equal(s.status, 'completed');
  assert.equal(statuses[statuses.length - 1], 'completed');
  assert.equal(steps.length, 20000);
  for (let i = 0; i < steps.length; i++) if (steps[i] !== i + 1) assert.fail(`update row ${i} is step ${steps[i]}`);
  // Live updates carry a few identity points each (with the latest), as a live run's do.
  assert.ok(identityMost > 0 && identityMost <= LIVE_IDENTITY_POINTS, `identity points per update, at most: ${identityMost}`);
  assert.equal(identityLast, 20000);
  // Nothing more is polled once it ended.
  const before = steps.length;
  catalog.pollFollowed();
  assert.equal(steps.length, before);
  assert.equal(s.snapshot().scalars.n, 20000);
  m.disposeAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a recorded run keeps only recent steps in host memory; its snapshot and old frames are read back from the folder', async () => {
  const c = shortConfig(6000, 4);
  c.training.captureEvery = 1;
  const run = manager.launch({ config: c, baseDir, preset: 'lu-fc-fast' });
  assert.equal(await run.finished, 'completed');
  const h = run.history;
  assert.equal(h.length, 6000);
  assert.ok(h.retained > 0, `early rows were let go (first row held: ${h.retained})`);
  assert.ok(h.framesHeld < 6000, `early frames were let go (${h.framesHeld} held)`);

  const stored = openRun(run.dir!);
  assert.deepEqual(stored.problems, []);
  const snap = run.snapshot();
  assert.equal(snap.scalars.n, 6000);
  assert.deepEqual(Array.from(snap.scalars.step), Array.from(stored.scalars.step), 'every step, in order');
  assert.deepEqual(Array.from(snap.scalars.loss), Array.from(stored.scalars.loss));
  assert.deepEqual(Array.from(snap.scalars.gradNorms), Array.from(stored.scalars.gradNorms));
  assert.equal(snap.attentionSteps.length, 6000);
  assert.equal(snap.identity[0]?.step, stored.identity.step[0]);
  const early = run.attentionAt(3);
  assert.equal(early?.step, 3);
  assert.deepEqual(Array.from(early!.probes[0]![0]!.data), Array.from(stored.readAttention(3)!.probes[0]![0]!.data));
  assert.equal(run.attentionAt(5999)?.step, 5999);
  assert.deepEqual(storeErrors, []);
});
