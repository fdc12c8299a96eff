/**
 * The run store (src/runs/store): write → read back identical; a writer killed with SIGKILL
 * keeps every record it reported flushed; a file cut at every byte of its last record, or with
 * a flipped byte, loads the prefix and reports where; garbage folders are reported by path;
 * a follower sees what another process appends; the Python reader agrees with the TypeScript
 * one; bytes per step and open times measured (flush costs: test/bench/store.bench.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AttentionMapData, MeasureChunk, RunInfo, RunSummaryData, StepData } from '../../src/protocol/messages';
import {
  annotateRun,
  crc32,
  createRunDir,
  FILES,
  gitCommit,
  listRuns,
  makeRunId,
  openRun,
  rebuildAttentionIndex,
  RunFollower,
  RunWriter,
  scanAttention,
  StoreError,
  toScalarChunk,
  type StoredRun,
  type StoreProblem,
} from '../../src/runs/store';

const ROOT = path.resolve(__dirname, '../../..');
const FIXTURE = path.join(ROOT, 'test/fixtures/store-writer.js');
const PY_READER = path.join(ROOT, 'scripts/read_run.py');

interface Fixture {
  makeStep(step: number): StepData;
  expectedMeasures(steps: number[]): MeasureChunk;
  info: RunInfo;
  G: number;
  K: number;
  EVAL_EVERY: number;
  ATTENTION_EVERY: number;
}
// The fixture's generator is the single definition of what a step holds.
const fx = require(FIXTURE) as Fixture;

const f32 = Math.fround;

function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `al-store-${tag}-`));
}

const summary: RunSummaryData = { steps: 0, loss: 0.01, trainAccuracy: 0.99, validationAccuracy: 0.9, testAccuracy: 0.88, msPerStep: 1.5, topicAttention: 0.7, identityMaxRelError: 1e-7 };

/** Writes steps 1..n of the fixture's run into `dir` and closes it (unless `close` is false). */
function writeRun(dir: string, n: number, opts: { close?: boolean; scalarsOnly?: boolean } = {}): RunWriter {
  const w = RunWriter.open(dir, { name: 'test run', preset: 'lu-fc-fast', seed: 7, source: 'vscode', git: { commit: 'a'.repeat(40), branch: 'main' } }, { draft: true }, { fsync: 'never' });
  w.setInfo(fx.info);
  for (let s = 1; s <= n; s++) {
    const d = fx.makeStep(s);
    if (opts.scalarsOnly) {
      delete d.eval;
      delete d.attention;
      delete d.identity;
      delete d.measures;
      delete d.events;
    }
    w.appendStep(d);
  }
  if (opts.close !== false) w.close('completed', 'all steps done', { ...summary, steps: n });
  return w;
}

/**
 * Asserts that `run` holds exactly steps [1, n] of the fixture at stored precision (scalars,
 * evals, identity, attention up to the given counts), less the steps in `lost` (skipped damage).
 */
function checkSteps(run: StoredRun, want: { steps: number; evals?: number; identity?: number; attention?: number; measures?: boolean; lost?: { steps?: number[]; evals?: number[] } }): void {
  const s = run.scalars;
  const lostSteps = new Set(want.lost?.steps ?? []);
  const rows = Array.from({ length: want.steps }, (_, i) => i + 1).filter((step) => !lostSteps.has(step));
  assert.equal(s.n, rows.length, 'scalar rows');
  assert.equal(s.groups, fx.G);
  for (let i = 0; i < s.n; i++) {
    const d = fx.makeStep(rows[i]!);
    if (s.step[i] !== d.step || s.loss[i] !== d.loss || s.trainAccuracy[i] !== f32(d.trainAccuracy) || s.stepMs[i] !== f32(d.stepMs)) {
      assert.fail(`step row ${i}: ${s.step[i]} ${s.loss[i]} ${s.trainAccuracy[i]} ${s.stepMs[i]}`);
    }
    for (let g = 0; g < fx.G; g++) {
      if (s.gradNorms[i * fx.G + g] !== f32(d.gradNorms[g]!) || s.weightNorms[i * fx.G + g] !== f32(d.weightNorms[g]!)) assert.fail(`norms of step ${i + 1}`);
    }
  }
  if (want.evals !== undefined) {
    const lostEvals = new Set(want.lost?.evals ?? []);
    const evalSteps = Array.from({ length: want.evals }, (_, i) => (i + 1) * fx.EVAL_EVERY).filter((step) => !lostEvals.has(step));
    assert.equal(run.evals.length, evalSteps.length, 'evals');
    run.evals.forEach((e, i) => {
      const step = evalSteps[i]!;
      assert.deepEqual(e, { step, ...fx.makeStep(step).eval });
    });
  }
  if (want.identity !== undefined) {
    const id = run.identity;
    assert.equal(id.n, want.identity, 'identity rows');
    assert.equal(id.k, fx.K);
    for (let i = 0; i < id.n; i++) {
      const d = fx.makeStep(i + 1).identity!;
      assert.equal(id.step[i], i + 1);
      for (let j = 0; j < fx.K; j++) {
        const o = i * fx.K + j;
        if (id.score[o] !== f32(d.score[j]!) || id.measured[o] !== f32(d.measured[j]!) || id.theory[o] !== f32(d.theory[j]!) || id.relError[o] !== f32(d.relError[j]!)) assert.fail(`identity of step ${i + 1}`);
      }
    }
  }
  if (want.measures) assert.deepEqual(run.measures, fx.expectedMeasures(rows), 'measurements and events');
  if (want.attention !== undefined) {
    assert.deepEqual(
      run.attentionSteps,
      Array.from({ length: want.attention }, (_, i) => (i + 1) * fx.ATTENTION_EVERY),
    );
  }
}

function sameFrame(got: AttentionMapData[][], want: AttentionMapData[][]): void {
  assert.equal(got.length, want.length);
  got.forEach((maps, p) => {
    assert.equal(maps.length, want[p]!.length);
    maps.forEach((m, j) => {
      const w = want[p]![j]!;
      assert.deepEqual({ ...m, data: undefined }, { ...w, data: undefined });
      assert.ok(m.data instanceof Float32Array);
      assert.deepEqual(m.data, w.data);
      assert.equal(m.data.byteLength, m.data.buffer.byteLength, 'each map owns its buffer');
    });
  });
}

/** A file's bytes as a plain Uint8Array (a copy). */
function readBytes(file: string): Uint8Array {
  const b = fs.readFileSync(file);
  return new Uint8Array(b.buffer, b.byteOffset, b.length).slice();
}

const only = (problems: StoreProblem[], file: string) => problems.filter((p) => p.file === file);

// ─── round trip ──────────────────────────────────────────────────────────────────────

test('crc32 matches zlib (IEEE) test vectors', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(crc32(enc('')), 0);
  assert.equal(crc32(enc('123456789')), 0xcbf43926);
  assert.equal(crc32(enc('The quick brown fox jumps over the lazy dog')), 0x414fa339);
  // Continuation and every alignment of the 8-byte loop.
  const b = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
  for (let cut = 0; cut < 20; cut++) assert.equal(crc32(b, cut, 1000, crc32(b, 0, cut)), crc32(b));
});

test('write → read back identical: meta, config, scalars, evals, identity, attention, summary', () => {
  const dir = path.join(tmpDir('roundtrip'), 'run-1');
  const n = 500;
  writeRun(dir, n);
  const run = openRun(dir);
  assert.deepEqual(run.problems, []);
  assert.equal(run.id, 'run-1');
  const m = run.meta!;
  assert.equal(m.name, 'test run');
  assert.equal(m.preset, 'lu-fc-fast');
  assert.equal(m.seed, 7);
  assert.equal(m.source, 'vscode');
  assert.deepEqual(m.git, { commit: 'a'.repeat(40), branch: 'main' });
  assert.equal(m.status, 'completed');
  assert.equal(m.statusReason, 'all steps done');
  assert.ok(Date.parse(m.startedAt) <= Date.parse(m.endedAt!));
  assert.deepEqual(m.summary, { ...summary, steps: n });
  assert.deepEqual(m.counts, { steps: n, evals: n / fx.EVAL_EVERY, identity: n, attention: n / fx.ATTENTION_EVERY, measures: n, events: Math.floor(n / 100) + Math.floor(n / 70) });
  assert.match(m.checksum ?? '', /^[0-9a-f]{8}$/, 'meta.json carries its checksum');
  const { config, ...infoRest } = fx.info;
  assert.deepEqual(m.info, infoRest);
  assert.deepEqual(run.config, config, 'setInfo replaced the draft config with the validated one');

  checkSteps(run, { steps: n, evals: n / fx.EVAL_EVERY, identity: n, attention: n / fx.ATTENTION_EVERY, measures: true });
  assert.ok(run.measures.series.length === 2 && run.measures.matrices.length === n / 50 && run.measures.events.length === 12, 'every kind of measurement was stored');
  assert.ok(run.evals.some((e) => e.topicAttention !== undefined) && run.evals.some((e) => !('topicAttention' in e)), 'topicAttention kept present or absent');
  for (const step of run.attentionSteps) {
    const fr = run.readAttention(step)!;
    assert.equal(fr.step, step);
    sameFrame(fr.probes, fx.makeStep(step).attention!);
    assert.equal(run.readAttention(step + fx.ATTENTION_EVERY - 1)!.step, step, 'the latest frame at or before');
  }
  assert.equal(run.readAttention(fx.ATTENTION_EVERY - 1), undefined);

  const chunk = toScalarChunk(run.scalars, 10, 20);
  assert.equal(chunk.n, 10);
  assert.deepEqual(Array.from(chunk.step), Array.from({ length: 10 }, (_, i) => 11 + i));
  assert.equal(chunk.gradNorms.length, 10 * fx.G);
  assert.equal(chunk.gradNorms[0], f32(fx.makeStep(11).gradNorms[0]!));
});

test('the writer rejects bad input and leaves no trace of it', () => {
  const dir = path.join(tmpDir('reject'), 'r');
  const w = RunWriter.open(dir, { name: 'r', info: fx.info }, {}, { fsync: 'never' });
  w.appendStep(fx.makeStep(1));
  assert.throws(() => w.appendStep(fx.makeStep(1)), /step 1 after step 1/);
  const bad = fx.makeStep(2);
  bad.gradNorms = new Float64Array(3);
  bad.weightNorms = new Float64Array(3);
  assert.throws(() => w.appendStep(bad), /3 norms, the run has 4 groups/);
  const badMap = fx.makeStep(10);
  badMap.attention![0]![0]!.rows = 5;
  assert.throws(() => w.appendStep(badMap), /map has 9 values/);
  const undeclared = fx.makeStep(2);
  undeclared.measures = [{ id: 'nope', values: Float64Array.of(1) }];
  assert.throws(() => w.appendStep(undeclared), /"nope" is not declared/);
  const wide = fx.makeStep(2);
  wide.measures = [{ id: 'quant/bits', values: Float64Array.of(1, 2) }];
  assert.throws(() => w.appendStep(wide), /has 2 values, its declaration 3/);
  const lateEvent = fx.makeStep(2);
  lateEvent.events = [{ id: 'task', step: 1, text: 'x' }];
  assert.throws(() => w.appendStep(lateEvent), /says step 1/);
  assert.deepEqual(w.appended, { steps: 1, evals: 0, identity: 1, attention: 0, measures: 1, events: 0 }, 'a rejected step records nothing');
  w.appendStep(fx.makeStep(10));
  assert.throws(() => RunWriter.open(dir, { name: 'again' }, {}), /already holds a run/);
  w.close('stopped', 'by the user');
  assert.throws(() => w.appendStep(fx.makeStep(11)), /closed/);
  w.close('failed'); // a second close does nothing
  const run = openRun(dir);
  assert.deepEqual(run.problems, []);
  assert.deepEqual(Array.from(run.scalars.step), [1, 10]);
  assert.equal(run.meta!.status, 'stopped');
});

// ─── crash safety ────────────────────────────────────────────────────────────────────

/** Runs the fixture writer in DIR until `killAfter` flushes, then SIGKILLs it `delayMs` later; returns its flush reports. */
async function killWriter(dir: string, killAfter: number, delayMs: number): Promise<number[][]> {
  const child = spawn(process.execPath, [FIXTURE, dir, '', '15', '25'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const flushes: number[][] = [];
  let killScheduled = false;
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === null ? resolve() : reject(new Error(`writer exited with ${code} before it was killed`))));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const lines = out.split('\n');
      out = lines.pop()!; // an incomplete line is not a report
      for (const l of lines) if (l.startsWith('flushed ')) flushes.push(l.split(' ').slice(1).map(Number));
      if (flushes.length >= killAfter && !killScheduled) {
        killScheduled = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
  });
  return flushes;
}

test('a writer killed with SIGKILL mid-run loses nothing it reported flushed', async () => {
  const root = tmpDir('sigkill');
  // Killed at different instants of the 15 ms flush cycle.
  for (const [i, delayMs] of [0, 7, 13].entries()) {
    const dir = path.join(root, `killed-${i}`);
    const flushes = await killWriter(dir, 10 + i, delayMs);
    const [steps, evals, identity, attention] = flushes[flushes.length - 1]! as [number, number, number, number];
    assert.ok(steps > 100, `flushed ${steps} steps before the kill`);
    const run = openRun(dir);
    assert.ok(run.problems.every((p) => p.kind === 'torn'), JSON.stringify(run.problems));
    assert.ok(run.scalars.n >= steps, `${run.scalars.n} steps loaded, ${steps} reported flushed`);
    assert.ok(run.evals.length >= evals && run.identity.n >= identity && run.attentionSteps.length >= attention);
    checkSteps(run, { steps: run.scalars.n, evals: run.evals.length, identity: run.identity.n, attention: run.attentionSteps.length });
    for (const s of run.attentionSteps) sameFrame(run.readAttention(s)!.probes, fx.makeStep(s).attention!);
    assert.equal(run.meta!.status, 'running', 'a killed writer never closed the run');
    assert.equal(run.meta!.endedAt, undefined);
    console.log(`# SIGKILL ${delayMs} ms after flush ${flushes.length}: ${steps} steps reported flushed, ${run.scalars.n} on disk, problems ${JSON.stringify(run.problems)}`);
  }
  const listed = listRuns(root).runs;
  assert.equal(listed.length, 3);
  assert.ok(listed.every((r) => r.writerAlive === false && !r.ended), 'the listing tells a killed writer');
});

/** The offset of the last record of `file` (a .bin/.idx of a closed run) and the record size. */
function lastRecord(dir: string, name: keyof typeof FILES): { start: number; size: number } {
  const file = path.join(dir, FILES[name]);
  const size = fs.statSync(file).size;
  if (name === 'attention') {
    const frames = scanAttention(file).frames;
    return { start: frames[frames.length - 1]!.offset, size };
  }
  const per = { scalars: 20 + 8 * fx.G, evals: 48, identity: 4 + 16 * fx.K, attentionIndex: 16 }[name as 'scalars' | 'evals' | 'identity' | 'attentionIndex'] + 8;
  return { start: size - per, size };
}

test('a file cut at every byte offset of its last record loads the prefix and reports the tear', () => {
  const dir = path.join(tmpDir('torn'), 'run');
  const n = 60; // 3 evals, 6 frames
  writeRun(dir, n);
  const full = { steps: n, evals: 3, identity: n, attention: 6 };
  let cuts = 0;
  for (const name of ['scalars', 'evals', 'identity', 'attention', 'attentionIndex'] as const) {
    const file = path.join(dir, FILES[name]);
    const original = readBytes(file);
    const { start, size } = lastRecord(dir, name);
    const prefix = { ...full };
    if (name === 'scalars') prefix.steps--;
    if (name === 'evals') prefix.evals--;
    if (name === 'identity') prefix.identity--;
    if (name === 'attention') prefix.attention--;
    try {
      for (let cut = start; cut < size; cut++) {
        fs.writeFileSync(file, original.subarray(0, cut));
        const run = openRun(dir);
        const mine = only(run.problems, file);
        assert.equal(run.problems.length, 1, `${name} cut at ${cut}: ${JSON.stringify(run.problems)}`);
        assert.equal(mine.length, 1, `${name} cut at ${cut}`);
        assert.equal(mine[0]!.kind, 'torn', `${name} cut at ${cut}: ${mine[0]!.message}`);
        assert.equal(mine[0]!.offset, start, `${name} cut at ${cut}: the tear is reported at the last record`);
        checkSteps(run, prefix);
        cuts++;
      }
    } finally {
      fs.writeFileSync(file, original);
    }
  }
  assert.deepEqual(openRun(dir).problems, []);
  console.log(`# ${cuts} cuts checked`);
});

test('a flipped byte is caught by the checksum: the bad record is skipped and reported, the records around it load', () => {
  const dir = path.join(tmpDir('flip'), 'run');
  const n = 100;
  writeRun(dir, n);
  const flip = (name: keyof typeof FILES, at: number, fn: (run: StoredRun, file: string) => void) => {
    const file = path.join(dir, FILES[name]);
    const original = readBytes(file);
    const bad = original.slice();
    bad[at] = bad[at]! ^ 0x10;
    fs.writeFileSync(file, bad);
    try {
      fn(openRun(dir), file);
    } finally {
      fs.writeFileSync(file, original);
    }
  };
  const rec = 28 + 8 * fx.G;
  // Scalars: a flip in record 40's payload, in its length field, in its CRC.
  for (const [at, what] of [
    [16 + 40 * rec + 13, /checksum/],
    [16 + 40 * rec + 1, /record length/],
    [16 + 40 * rec + rec - 2, /checksum/],
  ] as const) {
    flip('scalars', at, (run, file) => {
      assert.deepEqual(run.problems.map((p) => [p.file, p.kind, p.offset, p.end, p.stepBefore, p.stepAfter]), [[file, 'corrupt', 16 + 40 * rec, 16 + 41 * rec, 40, 42]]);
      assert.match(run.problems[0]!.message, what);
      checkSteps(run, { steps: n, evals: 5, identity: n, attention: 10, lost: { steps: [41] } });
    });
  }
  // The header.
  flip('identity', 5, (run, file) => {
    assert.deepEqual(run.problems.map((p) => [p.file, p.kind, p.offset]), [[file, 'corrupt', 0]]);
    checkSteps(run, { steps: n, evals: 5, identity: n }); // read on with meta.json's width
  });
  // Evals: record 2 of 5.
  flip('evals', 16 + 2 * 56 + 20, (run, file) => {
    assert.deepEqual(run.problems.map((p) => [p.file, p.kind, p.offset, p.stepBefore, p.stepAfter]), [[file, 'corrupt', 16 + 2 * 56, 40, 80]]);
    checkSteps(run, { steps: n, evals: 5, identity: n, attention: 10, lost: { evals: [60] } });
  });
  // The index: frames past the bad entry are found by walking attention.bin.
  flip('attentionIndex', 16 + 3 * 24 + 9, (run, file) => {
    assert.deepEqual(run.problems.map((p) => [p.file, p.kind, p.offset]), [[file, 'corrupt', 16 + 3 * 24]]);
    checkSteps(run, { steps: n, attention: 10 });
    for (const s of run.attentionSteps) sameFrame(run.readAttention(s)!.probes, fx.makeStep(s).attention!);
  });
  // A frame's data: opening does not read frames, reading that one fails with its file and offset.
  const frames = scanAttention(path.join(dir, FILES.attention)).frames;
  const f4 = frames[4]!;
  flip('attention', f4.offset + 60, (run, file) => {
    assert.deepEqual(run.problems, []);
    assert.throws(
      () => run.readAttention(f4.step),
      (e: unknown) => e instanceof StoreError && e.problem.file === file && e.problem.offset === f4.offset && /checksum/.test(e.message),
    );
    sameFrame(run.readAttention(f4.step - 1)!.probes, fx.makeStep(f4.step - fx.ATTENTION_EVERY).attention!);
    sameFrame(run.readAttention(f4.step + fx.ATTENTION_EVERY)!.probes, fx.makeStep(f4.step + fx.ATTENTION_EVERY).attention!);
  });
});

test('a missing or torn attention index is rebuilt from attention.bin', () => {
  const dir = path.join(tmpDir('reindex'), 'run');
  writeRun(dir, 100);
  const idx = path.join(dir, FILES.attentionIndex);
  const original = readBytes(idx);
  fs.rmSync(idx);
  const run = openRun(dir);
  assert.deepEqual(run.problems.map((p) => [p.file, p.kind]), [[idx, 'missing']]);
  checkSteps(run, { steps: 100, attention: 10 });
  sameFrame(run.readAttention(70)!.probes, fx.makeStep(70).attention!);
  assert.deepEqual(rebuildAttentionIndex(dir), { frames: 10, problems: [] });
  assert.deepEqual(readBytes(idx), original, 'the rebuilt index is byte-identical');
  assert.deepEqual(openRun(dir).problems, []);
});

// ─── listing ─────────────────────────────────────────────────────────────────────────

test('garbage run folders are reported by path while the other runs list and open', () => {
  const root = tmpDir('list');
  writeRun(path.join(root, 'good-1'), 30);
  writeRun(path.join(root, 'good-2'), 20, { close: false }).flush();
  const garbageMeta = path.join(root, 'garbage-meta');
  fs.mkdirSync(garbageMeta);
  fs.writeFileSync(path.join(garbageMeta, 'meta.json'), Uint8Array.from(Array.from({ length: 300 }, (_, i) => (i * 131) & 0xff)));
  const notRun = path.join(root, 'not-a-run');
  fs.mkdirSync(notRun);
  fs.writeFileSync(path.join(notRun, 'notes.txt'), 'hello');
  const wrongMeta = path.join(root, 'wrong-meta');
  fs.mkdirSync(wrongMeta);
  fs.writeFileSync(path.join(wrongMeta, 'meta.json'), '{"format":"something-else"}');
  const badScalars = path.join(root, 'bad-scalars');
  writeRun(badScalars, 10);
  fs.writeFileSync(path.join(badScalars, FILES.scalars), Uint8Array.from(Array.from({ length: 999 }, (_, i) => (i * 37 + 11) & 0xff)));
  fs.writeFileSync(path.join(root, 'README.txt'), 'plain files in the root are ignored');

  const { runs, problems } = listRuns(root);
  assert.deepEqual(runs.map((r) => r.id).sort(), ['bad-scalars', 'good-1', 'good-2']);
  const good1 = runs.find((r) => r.id === 'good-1')!;
  assert.equal(good1.steps, 30);
  assert.equal(good1.ended, true);
  assert.equal(good1.writerAlive, undefined);
  const good2 = runs.find((r) => r.id === 'good-2')!;
  assert.equal(good2.steps, 20, 'estimated from the file size while running');
  assert.equal(good2.writerAlive, true, 'this process is its writer');
  const bad = runs.find((r) => r.id === 'bad-scalars')!;
  assert.deepEqual(bad.problems.map((p) => [p.file, p.kind]), [[path.join(badScalars, FILES.scalars), 'corrupt']]);
  assert.deepEqual(
    problems.map((p) => p.file).sort(),
    [path.join(garbageMeta, 'meta.json'), notRun, path.join(wrongMeta, 'meta.json')].sort(),
  );
  assert.ok(problems.every((p) => p.message.startsWith('not a run')));

  const opened = openRun(badScalars);
  assert.deepEqual(opened.problems.map((p) => [p.file, p.kind, p.offset]), [[path.join(badScalars, FILES.scalars), 'corrupt', 0]]);
  assert.equal(opened.scalars.n, 0);
  assert.equal(opened.identity.n, 10, 'the other streams load');
  const g = openRun(garbageMeta);
  assert.equal(g.meta, undefined);
  assert.deepEqual(g.problems.map((p) => [p.file, p.kind]), [[path.join(garbageMeta, 'meta.json'), 'invalid'], [path.join(garbageMeta, 'config.json'), 'missing']]);
  checkSteps(openRun(path.join(root, 'good-1')), { steps: 30, evals: 1, identity: 30, attention: 3 });
  assert.deepEqual(listRuns(path.join(root, 'no-such-folder')), { runs: [], problems: [] });
});

test('run ids sort by time and are unique; git commit read from .git without git', () => {
  const root = tmpDir('ids');
  const t = new Date(2024, 4, 1, 14, 22, 33);
  assert.equal(makeRunId('Lu FC (fast)!', t), '20240501-142233-lu-fc-fast');
  const a = createRunDir(root, 'x', t);
  const b = createRunDir(root, 'x', t);
  assert.equal(a.id, '20240501-142233-x');
  assert.equal(b.id, '20240501-142233-x-2');
  assert.ok(fs.statSync(b.dir).isDirectory());

  const ws = tmpDir('git');
  const sha1 = '1'.repeat(40);
  const sha2 = '2'.repeat(40);
  fs.mkdirSync(path.join(ws, '.git/refs/heads'), { recursive: true });
  fs.writeFileSync(path.join(ws, '.git/HEAD'), 'ref: refs/heads/main\n');
  fs.writeFileSync(path.join(ws, '.git/packed-refs'), `# pack-refs with: peeled\n${sha2} refs/heads/main\n`);
  fs.mkdirSync(path.join(ws, 'sub/dir'), { recursive: true });
  assert.deepEqual(gitCommit(path.join(ws, 'sub/dir')), { commit: sha2, branch: 'main' }, 'packed ref, found from a subfolder');
  fs.writeFileSync(path.join(ws, '.git/refs/heads/main'), `${sha1}\n`);
  assert.deepEqual(gitCommit(ws), { commit: sha1, branch: 'main' }, 'a loose ref wins');
  fs.writeFileSync(path.join(ws, '.git/HEAD'), `${sha2}\n`);
  assert.deepEqual(gitCommit(ws), { commit: sha2 }, 'detached HEAD');
  // A linked worktree: .git is a file naming its git dir, which names the common dir.
  const wt = tmpDir('worktree');
  fs.mkdirSync(path.join(ws, '.git/worktrees/wt'), { recursive: true });
  fs.writeFileSync(path.join(ws, '.git/worktrees/wt/HEAD'), 'ref: refs/heads/main\n');
  fs.writeFileSync(path.join(ws, '.git/worktrees/wt/commondir'), '../..\n');
  fs.writeFileSync(path.join(wt, '.git'), `gitdir: ${path.join(ws, '.git/worktrees/wt')}\n`);
  assert.deepEqual(gitCommit(wt), { commit: sha1, branch: 'main' });
  assert.equal(gitCommit(os.tmpdir()), undefined);
});

// ─── following ───────────────────────────────────────────────────────────────────────

test('follow mode reads only what was appended since the last poll, and waits for half-written records', () => {
  const dir = path.join(tmpDir('follow'), 'run');
  const w = RunWriter.open(dir, { name: 'f', info: fx.info }, fx.info.config, { fsync: 'never' });
  const f = new RunFollower(dir);
  const first = f.poll();
  assert.equal(first.meta!.name, 'f');
  assert.deepEqual(first.config, fx.info.config);
  assert.equal(first.scalars.n, 0);
  assert.deepEqual(first.problems, []);
  for (let s = 1; s <= 100; s++) w.appendStep(fx.makeStep(s));
  assert.equal(f.poll().scalars.n, 0, 'nothing is visible before a flush');
  w.flush();
  const u1 = f.poll();
  assert.equal(u1.meta, undefined, 'meta unchanged');
  assert.equal(u1.scalars.n, 100);
  assert.deepEqual(u1.attentionSteps, Array.from({ length: 10 }, (_, i) => 10 * (i + 1)));
  assert.equal(u1.evals.length, 5);
  assert.equal(u1.identity.n, 100);
  assert.deepEqual(u1.measures, fx.expectedMeasures(Array.from({ length: 100 }, (_, i) => i + 1)), 'measurements of the first 100 steps');
  for (let s = 101; s <= 150; s++) w.appendStep(fx.makeStep(s));
  w.flush();
  // A half-written record, as a concurrent reader can see one: it must wait, not be reported.
  const scalarsFile = path.join(dir, FILES.scalars);
  const frame = readBytes(scalarsFile).subarray(16, 16 + 30);
  fs.appendFileSync(scalarsFile, frame);
  const u2 = f.poll();
  assert.deepEqual(u2.problems, []);
  assert.deepEqual(Array.from(u2.scalars.step), Array.from({ length: 50 }, (_, i) => 101 + i));
  assert.equal(u2.scalars.loss[0], fx.makeStep(101).loss);
  assert.deepEqual(u2.attentionSteps, [110, 120, 130, 140, 150]);
  assert.deepEqual(u2.evals.map((e) => e.step), [120, 140]);
  assert.equal(u2.identity.step[0], 101);
  assert.deepEqual(u2.measures, fx.expectedMeasures(Array.from({ length: 50 }, (_, i) => 101 + i)), 'only the new measurements');
  assert.equal(f.readAttention(135)!.step, 130);
  const u3 = f.poll();
  assert.equal(u3.scalars.n + u3.evals.length + u3.identity.n + u3.attentionSteps.length, 0);
  assert.equal(u3.ended, false);
  // The junk is a tear once the run is final.
  const last = f.poll({ final: true });
  assert.deepEqual(last.problems.map((p) => [p.file, p.kind, p.offset]), [[scalarsFile, 'torn', 16 + 150 * (28 + 8 * fx.G)]]);
});

test('follow mode sees the records a second process appends, in order, none twice', async () => {
  const dir = path.join(tmpDir('follow2'), 'run');
  const total = 3000;
  const child = spawn(process.execPath, [FIXTURE, dir, String(total), '10', '15'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let done = false;
  void exited.then(() => (done = true));
  // Wait for the writer to create the folder.
  while (!fs.existsSync(path.join(dir, FILES.meta)) && !done) await new Promise((r) => setTimeout(r, 5));
  const f = new RunFollower(dir);
  const steps: number[] = [];
  const evals: number[] = [];
  const identity: number[] = [];
  const frames: number[] = [];
  let polls = 0;
  let polledWhileRunning = 0;
  for (;;) {
    const wasDone = done;
    const u = f.poll();
    polls++;
    if (!wasDone && u.scalars.n > 0) polledWhileRunning++;
    assert.deepEqual(u.problems, []);
    steps.push(...u.scalars.step);
    evals.push(...u.evals.map((e) => e.step));
    identity.push(...u.identity.step);
    frames.push(...u.attentionSteps);
    if (u.ended) break;
    await new Promise((r) => setTimeout(r, 3));
  }
  assert.equal(await exited, 0);
  assert.deepEqual(steps, Array.from({ length: total }, (_, i) => i + 1));
  assert.deepEqual(identity, steps);
  assert.deepEqual(evals, Array.from({ length: total / fx.EVAL_EVERY }, (_, i) => (i + 1) * fx.EVAL_EVERY));
  assert.deepEqual(frames, Array.from({ length: total / fx.ATTENTION_EVERY }, (_, i) => (i + 1) * fx.ATTENTION_EVERY));
  assert.ok(polledWhileRunning >= 3, `only ${polledWhileRunning} polls saw new steps while the writer ran`);
  checkSteps(openRun(dir), { steps: total, evals: total / fx.EVAL_EVERY, identity: total, attention: total / fx.ATTENTION_EVERY });
  console.log(`# followed ${total} steps in ${polls} polls (${polledWhileRunning} with new steps while writing)`);
});

// ─── the Python reader ───────────────────────────────────────────────────────────────

function python(args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync('python3', [PY_READER, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  return r;
}

test('scripts/read_run.py (standard-library Python) reads the same numbers as the TypeScript reader', () => {
  const dir = path.join(tmpDir('python'), 'run');
  writeRun(dir, 300);
  const run = openRun(dir);
  const r = python([dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  const names = fx.info.groups;
  assert.equal(lines[0], ['step', 'loss', 'train_accuracy', 'step_ms', ...names.map((n) => `grad_norm_${n}`), ...names.map((n) => `weight_norm_${n}`)].join(','));
  assert.equal(lines.length - 1, run.scalars.n);
  const s = run.scalars;
  const G = fx.G;
  for (let i = 0; i < s.n; i++) {
    const want = [s.step[i], s.loss[i], s.trainAccuracy[i], s.stepMs[i], ...s.gradNorms.subarray(i * G, i * G + G), ...s.weightNorms.subarray(i * G, i * G + G)];
    const got = lines[i + 1]!.split(',').map(Number);
    assert.deepEqual(got, want, `row ${i}`); // repr() round-trips doubles exactly
  }
  const ev = python([dir, '--evals']).stdout.trimEnd().split('\n').slice(1);
  assert.deepEqual(
    ev.map((l) => l.split(',').map((c) => (c === '' ? undefined : Number(c)))),
    run.evals.map((e) => [e.step, e.validationLoss, e.validationAccuracy, e.testLoss, e.testAccuracy, e.topicAttention]),
  );
  const fr = JSON.parse(python([dir, '--attention', '125']).stdout) as { step: number; probes: { data: number[] }[][] };
  assert.equal(fr.step, 120);
  assert.deepEqual(fr.probes[1]![0]!.data, Array.from(run.readAttention(120)!.probes[1]![0]!.data));

  // Measurements and events: the same samples, resolved to the same ids.
  const samples = python([dir, '--measures']);
  assert.equal(samples.stderr, '');
  const got = samples.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string; step: number; values: number[] });
  const want: { id: string; step: number; values: number[] }[] = [];
  for (const x of run.measures.series) {
    const w = x.values.length / x.step.length;
    x.step.forEach((step, i) => want.push({ id: x.id, step, values: Array.from(x.values.subarray(i * w, (i + 1) * w)) }));
  }
  for (const m of run.measures.matrices) want.push({ id: m.id, step: m.step, values: Array.from(m.values) });
  const order = (a: { id: string; step: number }, b: { id: string; step: number }) => a.step - b.step || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  // Matrices are returned as f32: compare Python's f64 values at f32.
  const f32s = (l: { id: string; step: number; values: number[] }[]) => l.map((x) => (x.id === 'acc/task' ? { ...x, values: x.values.map(f32) } : x)).sort(order);
  assert.deepEqual(f32s(got), f32s(want));
  assert.equal(got.length, 300 + 300 / 5 + 300 / 50);
  const events = python([dir, '--events']).stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(events, run.measures.events.map((e) => ({ payload: null, ...e })));

  // meta.json's checksum: Python computes the same one, and catches an edit.
  const metaFile = path.join(dir, FILES.meta);
  const metaText = fs.readFileSync(metaFile, 'utf8');
  fs.writeFileSync(metaFile, metaText.replace('"test run"', '"test rum"'));
  const edited = python([dir]);
  assert.equal(edited.status, 0);
  assert.match(edited.stderr, /checksum does not match/);
  fs.writeFileSync(metaFile, metaText);
  annotateRun(dir, { note: 'a "quoted"\tnote\nwith é, 😀, \u0001 and 1e-7', name: 'renamed ✓' });
  assert.equal(python([dir]).stderr, '', 'the same canonical JSON for any text');
  fs.writeFileSync(metaFile, metaText);

  // A damaged record in the middle: both readers skip it, report it and read on.
  const sFile = path.join(dir, FILES.scalars);
  const sBytes = readBytes(sFile);
  const hurt = sBytes.slice();
  hurt[16 + 40 * (28 + 8 * fx.G) + 9] ^= 0x08;
  fs.writeFileSync(sFile, hurt);
  const skipped = python([dir]);
  assert.equal(skipped.status, 0);
  assert.match(skipped.stderr, /corrupt at 2416: record checksum mismatch: bytes 2416-2476 skipped \(records after step 40 and before step 42 lost\)/);
  const pySteps = skipped.stdout.trimEnd().split('\n').slice(1).map((l) => Number(l.split(',')[0]));
  assert.deepEqual(pySteps, Array.from(openRun(dir).scalars.step));
  assert.equal(pySteps.length, 299);
  fs.writeFileSync(sFile, sBytes);

  // A torn tail: Python reports it on stderr and prints the prefix, as the TypeScript reader loads it.
  const file = path.join(dir, FILES.scalars);
  fs.truncateSync(file, fs.statSync(file).size - 5);
  const t = python([dir]);
  assert.equal(t.status, 0);
  assert.match(t.stderr, /torn at/);
  assert.equal(t.stdout.trimEnd().split('\n').length - 1, openRun(dir).scalars.n);
  assert.equal(openRun(dir).scalars.n, 299);
});

// ─── older folders ───────────────────────────────────────────────────────────────────

const V1_RUNS = path.join(ROOT, 'test/fixtures/runs');

test('run folders written by format version 1 open with every step (and the Python reader reads them)', () => {
  const done = openRun(path.join(V1_RUNS, 'v1-completed'));
  assert.deepEqual(done.problems, []);
  assert.equal(done.meta!.formatVersion, 1);
  assert.equal(done.meta!.checksum, undefined, 'no checksum in version 1: accepted');
  assert.deepEqual(done.meta!.counts, { steps: 200, evals: 10, identity: 200, attention: 20 });
  checkSteps(done, { steps: 200, evals: 10, identity: 200, attention: 20 });
  for (const s of done.attentionSteps) sameFrame(done.readAttention(s)!.probes, fx.makeStep(s).attention!);
  assert.deepEqual(done.measures, { series: [], matrices: [], events: [] }, 'no measurements in version 1');

  const killedDir = path.join(V1_RUNS, 'v1-killed');
  const killed = openRun(killedDir);
  assert.deepEqual(killed.problems.map((p) => [p.file, p.kind, p.offset]), [[path.join(killedDir, FILES.scalars), 'torn', 16 + 120 * (28 + 8 * fx.G)]]);
  assert.equal(killed.meta!.status, 'running');
  checkSteps(killed, { steps: 120, evals: 6, identity: 120, attention: 12 });
  for (const s of killed.attentionSteps) sameFrame(killed.readAttention(s)!.probes, fx.makeStep(s).attention!);

  const { runs, problems } = listRuns(V1_RUNS);
  assert.deepEqual(problems, []);
  assert.deepEqual(runs.map((r) => [r.id, r.steps, r.ended, r.damaged, r.problems]), [
    ['v1-completed', 200, true, undefined, []],
    ['v1-killed', 120, false, undefined, []],
  ]);

  const py = python([path.join(V1_RUNS, 'v1-completed')]);
  assert.equal(py.stderr, '');
  assert.equal(py.stdout.trimEnd().split('\n').length - 1, 200);
  const pyKilled = python([killedDir]);
  assert.match(pyKilled.stderr, /torn at 7216/);
  assert.equal(pyKilled.stdout.trimEnd().split('\n').length - 1, 120);
});

// ─── size and speed ──────────────────────────────────────────────────────────────────

test('scalars take at most 64 bytes per step on disk (G = 4)', () => {
  const dir = path.join(tmpDir('size'), 'run');
  const n = 10_000;
  writeRun(dir, n, { scalarsOnly: true });
  const bytes = fs.statSync(path.join(dir, FILES.scalars)).size;
  const perStep = bytes / n;
  console.log(`# scalars.bin: ${bytes} bytes for ${n} steps = ${perStep.toFixed(4)} B/step (G = ${fx.G})`);
  assert.ok(perStep <= 64, `${perStep} B/step`);
});

/** Writes an n-step Lu-like run (identity every step, a frame every 1,000) as fast as the writer goes. */
function writeBig(dir: string, n: number): { writeMs: number } {
  const t0 = performance.now();
  const w = RunWriter.open(dir, { name: 'big', info: fx.info }, {}, { fsync: 'never' });
  const d = fx.makeStep(1);
  delete d.eval;
  delete d.attention;
  const frame = fx.makeStep(10).attention!;
  for (let s = 1; s <= n; s++) {
    d.step = s;
    d.loss = 1 / s;
    d.gradNorms[0] = s;
    d.identity!.score[0] = s;
    w.appendStep(d);
    if (s % 1000 === 0) w.appendAttention(s, frame);
  }
  w.close('completed');
  return { writeMs: performance.now() - t0 };
}

function timeOpen(dir: string, n: number): number {
  const t0 = performance.now();
  const run = openRun(dir);
  const ms = performance.now() - t0;
  assert.deepEqual(run.problems, []);
  assert.equal(run.scalars.n, n);
  assert.equal(run.identity.n, n);
  assert.equal(run.scalars.gradNorms[(n - 1) * fx.G], n);
  assert.equal(run.attentionSteps.length, n / 1000);
  return ms;
}

test('opening a 100,000-step run (scalars + identity, frames indexed not read) is fast', () => {
  const dir = path.join(tmpDir('open100k'), 'run');
  const n = 100_000;
  const { writeMs } = writeBig(dir, n);
  const times = [timeOpen(dir, n), timeOpen(dir, n), timeOpen(dir, n)];
  const sizes = Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.statSync(path.join(dir, f)).size]));
  console.log(`# 100k steps: written in ${writeMs.toFixed(0)} ms; opened in ${times.map((t) => t.toFixed(0)).join(', ')} ms; files ${JSON.stringify(sizes)}`);
  assert.ok(Math.min(...times) < 1000, `open took ${Math.min(...times)} ms`);
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});

test('opening a 1,000,000-step run', { skip: process.env['STORE_BENCH_1M'] === '0' ? 'STORE_BENCH_1M=0' : false }, () => {
  const dir = path.join(tmpDir('open1m'), 'run');
  const n = 1_000_000;
  const { writeMs } = writeBig(dir, n);
  const times = [timeOpen(dir, n), timeOpen(dir, n)];
  console.log(`# 1M steps: written in ${writeMs.toFixed(0)} ms; opened in ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
  assert.ok(Math.min(...times) < 3000 * 2, `open took ${Math.min(...times)} ms`); // generous: 2 shared cores
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});
