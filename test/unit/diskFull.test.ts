/**
 * A full disk (issue 15 item 6), on a small tmpfs mounted for each test (root only: CI runs as
 * root; elsewhere the tests are skipped with the reason printed). When a run folder stops
 * taking writes, the writer names the file it could not write and says what the folder keeps;
 * every step flushed before stays readable, no temp file or half record is left, and meta.json
 * says the run failed and why when it can still be written (else it is left as it was). The
 * same at start: a run that cannot write its meta.json leaves nothing. The command line and
 * RunRecorder (the extension's recording) pass the writer's message on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunInfo, StepData } from '../../src/protocol/messages';
import { RunRecorder } from '../../src/runs/runRecorder';
import { createRunDir, FILES, listRuns, openRun, parseTempFileName, RunWriter, StoreWriteError, type RunMeta, type StoredRun } from '../../src/runs/store';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'bin/attention-lens.js');
const fx = require(path.join(ROOT, 'test/fixtures/store-writer.js')) as { makeStep(step: number): StepData; info: RunInfo };

/** Why tmpfs tests cannot run here, or false when they can. */
function skipReason(): string | false {
  if (process.platform !== 'linux') return 'a tmpfs can only be mounted on Linux';
  if (process.getuid?.() !== 0) return 'not running as root, so no tmpfs can be mounted (CI runs as root)';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-tmpfs-probe-'));
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
    if (r.status !== 0) return `mount -t tmpfs is not permitted here (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()})`;
    spawnSync('umount', [dir]);
    return false;
  } finally {
    fs.rmdirSync(dir);
  }
}
const SKIP = skipReason();
if (SKIP) console.log(`# disk-full tests skipped: ${SKIP}`);

/** Runs `fn` in a fresh tmpfs of `size` (mount's syntax: 256k), unmounted afterwards. */
async function withTmpfs(size: string, fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `mount: ${r.stderr}`);
  try {
    await fn(dir);
  } finally {
    if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
    fs.rmdirSync(dir);
  }
}

/** Fills the filesystem of `dir` until a write fails with ENOSPC. */
function fillDisk(dir: string): void {
  const fd = fs.openSync(path.join(dir, 'filler'), 'w');
  try {
    for (let n = 4096; n >= 1; n >>= 1) {
      const b = new Uint8Array(n);
      try {
        for (;;) fs.writeSync(fd, b);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

const tempFiles = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.tmp') || parseTempFileName(n) !== undefined);
const metaOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, FILES.meta), 'utf8')) as RunMeta;
const STREAM_FILES = [FILES.scalars, FILES.evals, FILES.identity, FILES.attention, FILES.attentionIndex, FILES.measures, FILES.events] as string[];

/** Appends the fixture's steps from `from` on, flushing every 10, until the writer throws; returns the error. */
function appendUntilFull(w: RunWriter, from: number): unknown {
  let step = from;
  try {
    for (let i = 0; i < 100_000; i++) {
      w.appendStep(fx.makeStep(++step));
      if (i % 10 === 9) w.flush();
    }
  } catch (e) {
    return e;
  }
  assert.fail('the disk never filled up');
}

/** The folder holds exactly steps 1..n of the fixture, every stream as `kept` counts, with no problem reported. */
function checkKept(dir: string, kept: NonNullable<StoreWriteError['kept']>): StoredRun {
  const run = openRun(dir);
  assert.deepEqual(run.problems, [], 'the kept files hold whole records only');
  assert.equal(run.scalars.n, kept.steps);
  for (let i = 0; i < run.scalars.n; i++) {
    const d = fx.makeStep(i + 1);
    if (run.scalars.step[i] !== d.step || run.scalars.loss[i] !== d.loss) assert.fail(`step row ${i} reads ${run.scalars.step[i]} ${run.scalars.loss[i]}`);
  }
  assert.equal(run.identity.n, kept.identity);
  assert.equal(run.evals.length, kept.evals);
  assert.equal(run.attentionSteps.length, kept.attention);
  const lastFrame = run.attentionSteps[run.attentionSteps.length - 1];
  if (lastFrame !== undefined) assert.deepEqual(run.readAttention(lastFrame)!.probes[0]![0]!.data, fx.makeStep(lastFrame).attention![0]![0]!.data);
  // A stream with no record has no file; the others hold a header and whole records.
  for (const name of STREAM_FILES) {
    const f = path.join(dir, name);
    if (fs.existsSync(f)) assert.ok(fs.statSync(f).size > 16, `${name}: more than a header`);
  }
  return run;
}

const keeps = (k: { steps: number }, last = k.steps) => (k.steps === 0 ? 'no steps' : `${k.steps} step${k.steps === 1 ? '' : 's'}, up to step ${last}`);

test('a disk that fills up mid-run: the file is named, the flushed steps stay readable, the run is marked failed, no temp file is left', { skip: SKIP }, () =>
  withTmpfs('256k', (mnt) => {
    const dir = path.join(mnt, 'run');
    const w = RunWriter.open(dir, { name: 'full', source: 'test' }, fx.info.config);
    w.setInfo(fx.info);
    for (let s = 1; s <= 50; s++) w.appendStep(fx.makeStep(s));
    assert.equal(w.flush().steps, 50);
    fillDisk(mnt);
    const err = appendUntilFull(w, 50);
    assert.ok(err instanceof StoreWriteError, `a StoreWriteError, not ${String(err)}`);
    const kept = err.kept!;
    assert.ok(kept.steps >= 50, `${kept.steps} steps kept`);
    assert.equal(err.code, 'ENOSPC');
    assert.ok(STREAM_FILES.map((n) => path.join(dir, n)).includes(err.file), err.file);
    assert.equal(err.metaUpdated, true, 'the space kept for meta.json was enough');
    assert.equal(err.message, `could not write ${err.file} (no space left on device, ENOSPC). Recording stopped: the run folder keeps ${keeps(kept)}, and its meta.json marks the run failed with this reason`);
    console.log(`# ${err.message}`);

    checkKept(dir, kept);
    assert.deepEqual(tempFiles(dir), [], 'no temp file left');
    const meta = metaOf(dir);
    assert.equal(meta.status, 'failed');
    assert.equal(meta.statusReason, `could not write ${path.basename(err.file)} (no space left on device, ENOSPC); recording stopped, the folder keeps ${keeps(kept)}`);
    assert.ok(meta.endedAt);
    assert.deepEqual(meta.counts, kept);
    const py = spawnSync('python3', [path.join(ROOT, 'scripts/read_run.py'), dir], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    assert.equal(py.stdout.trim().split('\n').length, kept.steps + 1, 'the Python reader reads the kept steps');
    assert.equal(py.stderr, `read_run: ${dir}: the run failed: ${meta.statusReason}\n`);

    // The writer has stopped: later appends throw the same error, close neither throws nor changes meta.json.
    assert.throws(() => w.appendStep(fx.makeStep(100_000)), (e) => e === err);
    w.close('completed');
    assert.deepEqual(metaOf(dir), meta);
    const listed = listRuns(mnt);
    assert.deepEqual(listed.problems, []);
    assert.deepEqual(listed.runs.map((r) => [r.id, r.meta.status, r.ended, r.steps, r.problems.length]), [['run', 'failed', true, kept.steps, 0]]);
  }));

test('a disk full even for meta.json: the old meta.json is kept, and the message says so', { skip: SKIP }, () =>
  withTmpfs('256k', (mnt) => {
    const dir = path.join(mnt, 'run');
    const w = RunWriter.open(dir, { name: 'full', source: 'test', info: fx.info }, fx.info.config, { fsync: 'never' });
    for (let s = 1; s <= 30; s++) w.appendStep(fx.makeStep(s));
    w.flush();
    for (const t of tempFiles(dir)) fs.unlinkSync(path.join(dir, t)); // take away the space kept for the next meta.json
    fillDisk(mnt);
    const err = appendUntilFull(w, 30);
    assert.ok(err instanceof StoreWriteError, String(err));
    assert.equal(err.metaUpdated, false);
    assert.equal(err.message, `could not write ${err.file} (no space left on device, ENOSPC). Recording stopped: the run folder keeps ${keeps(err.kept!)}, and its meta.json could not be updated either and still says what it said before`);
    checkKept(dir, err.kept!);
    assert.deepEqual(tempFiles(dir), [], 'the failed attempt left no temp file');
    assert.equal(metaOf(dir).status, 'running', 'meta.json as it was');
    assert.equal(w.metadata.status, 'running', 'the writer says what meta.json says');
  }));

test('a disk full at start: meta.json cannot be written, the run is not started and leaves nothing behind', { skip: SKIP }, () =>
  withTmpfs('64k', (mnt) => {
    const root = path.join(mnt, 'runs');
    fs.mkdirSync(root);
    fillDisk(mnt);
    const { dir } = createRunDir(root, 'at-start');
    assert.throws(
      () => RunWriter.open(dir, { name: 'at-start', info: fx.info }, fx.info.config),
      (e) => e instanceof StoreWriteError && e.kept === undefined && e.message === `could not write ${path.join(dir, FILES.meta)} (no space left on device, ENOSPC): the run was not started, nothing was saved`,
    );
    assert.equal(fs.existsSync(dir), false, 'the empty run folder is removed');
    assert.deepEqual(fs.readdirSync(root), []);
    assert.deepEqual(listRuns(root), { runs: [], problems: [] });
  }));

test('a disk that fills up before the first step is written: no stream file, the run marked failed with no steps', { skip: SKIP }, () =>
  withTmpfs('256k', (mnt) => {
    const dir = path.join(mnt, 'run');
    const w = RunWriter.open(dir, { name: 'first', info: fx.info }, fx.info.config);
    fillDisk(mnt);
    for (let s = 1; s <= 5; s++) w.appendStep(fx.makeStep(s));
    assert.throws(
      () => w.flush(),
      (e) => e instanceof StoreWriteError && e.file === path.join(dir, FILES.scalars) && e.message === `could not write ${e.file} (no space left on device, ENOSPC). Recording stopped: the run folder keeps no steps, and its meta.json marks the run failed with this reason`,
    );
    assert.deepEqual(fs.readdirSync(dir).sort(), [FILES.config, FILES.meta], 'no empty or half-written stream file, no temp file');
    const meta = metaOf(dir);
    assert.equal(meta.status, 'failed');
    assert.match(meta.statusReason!, /^could not write scalars\.bin \(no space left on device, ENOSPC\); recording stopped, the folder keeps no steps$/);
    const { runs, problems } = listRuns(mnt);
    assert.deepEqual(problems, []);
    assert.deepEqual(runs.map((r) => [r.meta.status, r.steps, r.problems]), [['failed', 0, []]]);
  }));

test('the command line on a disk that fills up: it ends with the writer\'s message and exit code 1; the run is failed, its steps readable', { skip: SKIP }, () =>
  withTmpfs('256k', (mnt) => {
    const root = path.join(mnt, 'runs');
    const r = spawnSync(process.execPath, [CLI, 'train', '--preset', 'lu-fc-fast', '--epochs', '5000', '--runs-dir', root], { encoding: 'utf8', cwd: mnt });
    assert.equal(r.status, 1, r.stderr);
    const last = r.stderr.trim().split('\n').pop()!;
    const m = /^attention-lens: could not write (\S+) \(no space left on device, ENOSPC\)\. Recording stopped: the run folder keeps (\d+) steps, up to step \2, and its meta\.json marks the run failed with this reason$/.exec(last);
    assert.ok(m, last);
    const [, file, steps] = m;
    const dir = path.dirname(path.resolve(mnt, file!));
    assert.equal(path.dirname(dir), root);
    const run = openRun(dir);
    assert.deepEqual(run.problems, []);
    assert.equal(run.scalars.n, Number(steps));
    assert.equal(run.meta!.status, 'failed');
    assert.deepEqual(tempFiles(dir), []);
  }));

test('the command line on a full disk at start: one clear line, exit code 1, no folder left', { skip: SKIP }, () =>
  withTmpfs('64k', (mnt) => {
    const root = path.join(mnt, 'runs');
    fs.mkdirSync(root);
    fillDisk(mnt);
    const r = spawnSync(process.execPath, [CLI, 'train', '--preset', 'lu-fc-fast', '--runs-dir', root], { encoding: 'utf8', cwd: mnt });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr.trim().split('\n').pop()!, /^attention-lens: could not write \S+\/meta\.json \(no space left on device, ENOSPC\): the run was not started, nothing was saved$/);
    assert.deepEqual(fs.readdirSync(root), []);
  }));

test('RunRecorder (a run in VS Code) reports the writer\'s message once as its store error; the folder says failed', { skip: SKIP }, () =>
  withTmpfs('256k', async (mnt) => {
    const dir = path.join(mnt, 'run');
    const errors: string[] = [];
    const rec = RunRecorder.open(dir, { name: 'recorded', source: 'test' }, fx.info.config, (text) => errors.push(text))!;
    assert.ok(rec);
    rec.onMessage({ type: 'runStarted', info: fx.info });
    let step = 0;
    for (; step < 20; ) rec.onMessage({ type: 'stepCompleted', data: fx.makeStep(++step) });
    const end = Date.now() + 5000;
    while (rec.persisted.steps < 20 && Date.now() < end) await new Promise((r) => setTimeout(r, 20)); // the writer's timer flushes them
    assert.equal(rec.persisted.steps, 20);
    fillDisk(mnt);
    for (let i = 0; i < 600; i++) rec.onMessage({ type: 'stepCompleted', data: fx.makeStep(++step) });
    await new Promise((r) => setTimeout(r, 600)); // the writer's timer flushes and finds the disk full
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0]!, /^could not write \S+ \(no space left on device, ENOSPC\)\. Recording stopped: the run folder keeps \d+ steps, up to step \d+, and its meta\.json marks the run failed with this reason\. The run goes on but is no longer saved$/);
    assert.equal(rec.recording, false);
    rec.onMessage({ type: 'stepCompleted', data: fx.makeStep(++step) });
    rec.close('completed', undefined);
    assert.equal(errors.length, 1, 'reported once');
    const meta = metaOf(dir);
    assert.equal(meta.status, 'failed');
    assert.equal(rec.persisted.steps, meta.counts!.steps, 'what the history may read back from the folder');
    checkKept(dir, meta.counts!);
    assert.deepEqual(tempFiles(dir), []);
  }));
