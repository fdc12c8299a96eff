/**
 * The run store under damage: randomised corruption (fast-check) of every file of a run —
 * truncation at any offset, bit flips, duplicated, reordered and garbage records, overwritten
 * bytes — and one deterministic test per rule of issue 15 (bounded reads of any size; a bad
 * record does not hide those after it; an unreadable file does not hide the others; a damaged
 * meta.json does not hide the run; repeated steps and a meta.json that disagrees with the
 * streams are reported). Every case checks that what was intact before the damage reads back
 * exactly, that nothing read is wrong, that the damage is reported with its file and offset,
 * and that nothing but StoreError ever leaves the reader.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import type { AttentionMapData, MeasureChunk, RunInfo, StepData } from '../../src/protocol/messages';
import { spawn, spawnSync } from 'node:child_process';
import {
  annotateRun,
  checkMetaChecksum,
  configureReads,
  FILES,
  listRun,
  listRuns,
  openRun,
  parseTempFileName,
  RunFollower,
  RunWriter,
  StoreError,
  writeMetaAtomic,
  type RunMeta,
  type StoredRun,
  type RunListing,
  type StoreFs,
  type StoreProblem,
} from '../../src/runs/store';
import { StoredRun as ListedRun } from '../../src/runs/storedRun';

const ROOT = path.resolve(__dirname, '../../..');
interface Fixture {
  makeStep(step: number): StepData;
  expectedMeasures(steps: number[]): MeasureChunk;
  info: RunInfo;
  G: number;
  K: number;
  EVAL_EVERY: number;
  ATTENTION_EVERY: number;
}
const fx = require(path.join(ROOT, 'test/fixtures/store-writer.js')) as Fixture;
const f32 = Math.fround;

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'al-faults-'));
after(() => {
  configureReads({ reset: true });
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

/** Writes steps 1..n of the fixture into `dir` and closes the run. */
function writeRun(dir: string, n: number): void {
  const w = RunWriter.open(dir, { name: 'faults', seed: 7, source: 'test' }, {}, { fsync: 'never' });
  w.setInfo(fx.info);
  for (let s = 1; s <= n; s++) w.appendStep(fx.makeStep(s));
  w.close('completed', 'all steps done');
}

const N = 300;
const BASE = path.join(tmpRoot, 'base');
writeRun(BASE, N);
const ALL = {
  steps: Array.from({ length: N }, (_, i) => i + 1),
  evals: Array.from({ length: N / fx.EVAL_EVERY }, (_, i) => (i + 1) * fx.EVAL_EVERY),
  frames: Array.from({ length: N / fx.ATTENTION_EVERY }, (_, i) => (i + 1) * fx.ATTENTION_EVERY),
};

// ─── an independent look at the undamaged files ──────────────────────────────────────

/** The records of an undamaged stream file, by walking its framing: offset, size on disk, step. */
function layout(bytes: Uint8Array): { offset: number; size: number; step: number }[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  for (let o = 16; o + 8 <= bytes.length; ) {
    const n = dv.getUint32(o, true);
    out.push({ offset: o, size: n + 8, step: dv.getUint32(o + 4, true) });
    o += n + 8;
  }
  return out;
}

function readBytes(file: string): Uint8Array {
  const b = fs.readFileSync(file);
  return new Uint8Array(b.buffer, b.byteOffset, b.length).slice();
}

// ─── what a read must satisfy ────────────────────────────────────────────────────────

type Where = keyof typeof FILES;

/** Every row `run` returned is the fixture's (nothing wrong is ever read), steps strictly increasing; returns the steps of each stream. */
function genuine(run: StoredRun, skipMeasures: boolean): { steps: number[]; evals: number[]; identity: number[]; measures: number[]; events: number[]; frames: number[] } {
  const s = run.scalars;
  const steps = Array.from(s.step);
  for (let i = 0; i < s.n; i++) {
    const d = fx.makeStep(steps[i]!);
    if (i > 0) assert.ok(steps[i]! > steps[i - 1]!, `scalar steps increase at row ${i}`);
    if (s.loss[i] !== d.loss || s.trainAccuracy[i] !== f32(d.trainAccuracy) || s.stepMs[i] !== f32(d.stepMs)) assert.fail(`scalar row of step ${steps[i]} is wrong`);
    for (let g = 0; g < fx.G; g++) if (s.gradNorms[i * fx.G + g] !== f32(d.gradNorms[g]!) || s.weightNorms[i * fx.G + g] !== f32(d.weightNorms[g]!)) assert.fail(`norms of step ${steps[i]} are wrong`);
  }
  const evals = run.evals.map((e) => e.step);
  run.evals.forEach((e, i) => {
    if (i > 0) assert.ok(e.step > evals[i - 1]!, 'eval steps increase');
    assert.deepEqual(e, { step: e.step, ...fx.makeStep(e.step).eval }, `eval of step ${e.step}`);
  });
  const id = run.identity;
  const identity = Array.from(id.step);
  for (let i = 0; i < id.n; i++) {
    const d = fx.makeStep(identity[i]!).identity!;
    if (i > 0) assert.ok(identity[i]! > identity[i - 1]!, 'identity steps increase');
    for (let j = 0; j < fx.K; j++) if (id.score[i * fx.K + j] !== f32(d.score[j]!) || id.relError[i * fx.K + j] !== f32(d.relError[j]!)) assert.fail(`identity of step ${identity[i]} is wrong`);
  }
  let measures: number[] = [];
  let events: number[] = [];
  if (!skipMeasures) {
    const m = run.measures;
    const lr = m.series.find((x) => x.id === 'lr');
    measures = lr ? Array.from(lr.step) : [];
    const stepsOf = new Set<number>([...measures, ...m.matrices.map((x) => x.step), ...m.series.flatMap((x) => Array.from(x.step))]);
    assert.deepEqual({ ...m, events: [] }, { ...fx.expectedMeasures([...stepsOf].sort((a, b) => a - b)), events: [] }, 'measurements are the fixture\'s');
    const seen = new Set<string>();
    m.events.forEach((e, i) => {
      const want = fx.makeStep(e.step).events?.find((x) => x.id === e.id);
      assert.deepEqual(e, want, `event ${e.id} at step ${e.step}`);
      const k = `${e.step}/${e.id}`;
      assert.ok(!seen.has(k), `event ${k} read twice`);
      seen.add(k);
      if (i > 0) assert.ok(e.step >= m.events[i - 1]!.step, 'events in step order');
    });
    events = m.events.map((e) => e.step);
  }
  return { steps, evals, identity, measures, events, frames: [...run.attentionSteps] };
}

/** Reads every listed frame: each is the fixture's or a StoreError (nothing else is thrown); returns the steps that failed and their errors. */
function readFrames(run: StoredRun): { failed: Map<number, StoreError> } {
  const failed = new Map<number, StoreError>();
  for (const s of run.attentionSteps) {
    let fr;
    try {
      fr = run.readAttention(s);
    } catch (e) {
      if (!(e instanceof StoreError)) throw new Error(`readAttention threw something other than a StoreError: ${String(e)}`);
      failed.set(s, e);
      continue;
    }
    assert.equal(fr?.step, s);
    sameFrame(fr.probes, fx.makeStep(s).attention!);
  }
  return { failed };
}

function sameFrame(got: AttentionMapData[][], want: AttentionMapData[][]): void {
  assert.equal(got.length, want.length);
  got.forEach((maps, p) => maps.forEach((m, j) => assert.deepEqual(m, want[p]![j]!)));
}

const has = (all: number[], some: number[], what: string) => {
  const set = new Set(all);
  const lost = some.filter((s) => !set.has(s));
  assert.deepEqual(lost, [], `${what}: intact records before the damage were not read`);
};

/** Whether damaged meta.json bytes still hold the same document (whitespace only): no damage to report. */
function sameJson(a: Uint8Array, b: Uint8Array): boolean {
  try {
    const dec = new TextDecoder('utf-8', { fatal: true });
    return JSON.stringify(JSON.parse(dec.decode(a))) === JSON.stringify(JSON.parse(dec.decode(b)));
  } catch {
    return false;
  }
}

/** The property every damaged folder must satisfy. `damageAt`: the first byte that differs from the undamaged file. */
function checkDamaged(dir: string, where: Where, damageAt: number, original: Uint8Array, damaged: Uint8Array): void {
  const file = path.join(dir, FILES[where]);
  const benign = where === 'meta' && sameJson(original, damaged);
  let run: StoredRun;
  try {
    run = openRun(dir);
  } catch (e) {
    assert.fail(`openRun threw: ${String(e)}`);
  }
  const metaHurt = where === 'meta' && !benign;
  const got = genuine(run, metaHurt);
  const { failed } = readFrames(run);
  // Intact records before the damage are read; streams not damaged are read whole.
  const before = where === 'meta' || where === 'config' ? [] : layout(original).filter((r) => r.offset + r.size <= damageAt).map((r) => r.step);
  const whole = (w: Where) => where !== w;
  if (whole('scalars')) assert.deepEqual(got.steps, ALL.steps, 'scalars whole');
  else has(got.steps, before, 'scalars');
  if (whole('evals')) assert.deepEqual(got.evals, ALL.evals, 'evals whole');
  else has(got.evals, before, 'evals');
  if (whole('identity')) assert.deepEqual(got.identity, ALL.steps, 'identity whole');
  else has(got.identity, before, 'identity');
  if (!metaHurt) {
    if (whole('measures')) assert.deepEqual(got.measures, ALL.steps, 'measures whole');
    else has(got.measures, before, 'measures');
    if (where === 'events') has(got.events, before, 'events');
    else assert.deepEqual(run.measures.events, fx.expectedMeasures(ALL.steps).events, 'events whole');
  }
  if (where === 'attention') {
    has(got.frames, before, 'frames');
    const lostBefore = before.filter((s) => failed.has(s));
    assert.deepEqual(lostBefore, [], 'frames before the damage read back');
  } else {
    assert.deepEqual(got.frames, ALL.frames, 'every frame located (attention.bin is intact)');
    assert.deepEqual([...failed.keys()], [], 'every frame reads');
  }
  // The damage is reported, with its file and an offset (attention.bin's frames: when read).
  const mine = run.problems.filter((p) => p.file === file);
  const reported = mine.length > 0 || [...failed.values()].some((e) => e.problem.file === file);
  assert.ok(reported || benign, `the damage to ${FILES[where]} is reported; problems: ${JSON.stringify(run.problems)}`);
  if (where !== 'meta' && where !== 'config') for (const p of mine) assert.ok(p.offset !== undefined && p.offset >= 0, `an offset for ${JSON.stringify(p)}`);
  for (const p of run.problems) if (p.stepBefore !== undefined && p.stepAfter !== undefined) assert.ok(p.stepBefore < p.stepAfter, JSON.stringify(p));
  // Followers (live and final) and the listing never throw, and the listing keeps the run.
  try {
    const f = new RunFollower(dir);
    f.poll();
    f.poll({ final: true });
    const l = listRun(dir);
    assert.ok('run' in l, `the run is still listed: ${JSON.stringify(l)}`);
    if (metaHurt) assert.ok(l.run.damaged !== undefined && l.run.steps === N, 'a damaged meta.json: listed from scalars.bin, marked damaged');
    listRuns(path.dirname(dir));
  } catch (e) {
    assert.fail(`a follower or the listing threw: ${e instanceof Error ? e.stack : String(e)}`);
  }
}

// ─── faults ──────────────────────────────────────────────────────────────────────────

type Fault =
  | { kind: 'truncate'; x: number }
  | { kind: 'flip'; x: number; bit: number }
  | { kind: 'duplicate'; x: number }
  | { kind: 'reorder'; x: number }
  | { kind: 'garbage'; x: number; bytes: Uint8Array }
  | { kind: 'overwrite'; x: number; bytes: Uint8Array };

const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), x: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), x: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), x: fc.nat() }),
  fc.record({ kind: fc.constant('reorder' as const), x: fc.nat() }),
  fc.record({ kind: fc.constant('garbage' as const), x: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 96 }) }),
  fc.record({ kind: fc.constant('overwrite' as const), x: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 96 }) }),
);

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** The damaged bytes and the first offset that differs. Records are the stream's records, or meta.json's lines. */
function damage(b: Uint8Array, f: Fault, isJson: boolean): { bytes: Uint8Array; at: number } {
  const units = isJson ? lines(b) : layout(b);
  const unit = units[f.x % Math.max(1, units.length)];
  switch (f.kind) {
    case 'truncate': {
      const at = f.x % b.length; // strictly shorter
      return { bytes: b.subarray(0, at), at };
    }
    case 'flip': {
      const at = f.x % b.length;
      const out = b.slice();
      out[at] = out[at]! ^ (1 << f.bit);
      return { bytes: out, at };
    }
    case 'duplicate': {
      const u = unit!;
      const end = u.offset + u.size;
      return { bytes: concat(b.subarray(0, end), b.subarray(u.offset, end), b.subarray(end)), at: end };
    }
    case 'reorder': {
      const i = f.x % Math.max(1, units.length - 1);
      const u = units[i]!;
      const v = units[i + 1] ?? u;
      if (u === v) return damage(b, { kind: 'flip', x: f.x, bit: 0 }, isJson);
      return { bytes: concat(b.subarray(0, u.offset), b.subarray(v.offset, v.offset + v.size), b.subarray(u.offset, u.offset + u.size), b.subarray(v.offset + v.size)), at: u.offset };
    }
    case 'garbage': {
      const at = unit ? unit.offset : b.length;
      return { bytes: concat(b.subarray(0, at), f.bytes, b.subarray(at)), at };
    }
    case 'overwrite': {
      const at = f.x % b.length;
      const out = b.slice();
      out.set(f.bytes.subarray(0, b.length - at), at);
      // Overwriting with the same bytes changes nothing: find the first that differs.
      let first = at;
      while (first < b.length && out[first] === b[first]) first++;
      if (first === b.length) return damage(b, { kind: 'flip', x: f.x, bit: 1 }, isJson);
      return { bytes: out, at: first };
    }
  }
}

function lines(b: Uint8Array): { offset: number; size: number; step: number }[] {
  const out = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0a) {
      out.push({ offset: start, size: i + 1 - start, step: out.length });
      start = i + 1;
    }
  }
  return out;
}

/** Runs `prop` with fast-check and fails with fast-check's report (which names the seed and the counterexample). */
function check<T>(arb: fc.Arbitrary<T>, prop: (v: T) => void, numRuns: number): void {
  const seed = process.env['FAULT_SEED'] !== undefined ? Number(process.env['FAULT_SEED']) : undefined;
  const times = Number(process.env['FAULT_RUNS_TIMES'] ?? 1); // more cases for a longer local run
  const r = fc.check(fc.property(arb, prop), { numRuns: Math.round(numRuns * times), ...(seed !== undefined ? { seed } : {}) });
  if (r.failed) assert.fail(`${fc.defaultReportMessage(r)}\n(rerun with FAULT_SEED=${r.seed})`);
}

const STREAM_FILES: Where[] = ['scalars', 'evals', 'identity', 'attention', 'attentionIndex', 'measures', 'events', 'meta'];

for (const where of STREAM_FILES) {
  test(`random damage to ${FILES[where]}: intact records before it read back exactly, the damage is reported, nothing throws`, () => {
    const dir = path.join(tmpRoot, `fault-${where}`);
    fs.cpSync(BASE, dir, { recursive: true });
    const file = path.join(dir, FILES[where]);
    const original = readBytes(file);
    const counts: Record<string, number> = {};
    check(
      faultArb,
      (f) => {
        const { bytes, at } = damage(original, f, where === 'meta');
        counts[f.kind] = (counts[f.kind] ?? 0) + 1;
        fs.writeFileSync(file, bytes);
        try {
          checkDamaged(dir, where, at, original, bytes);
        } finally {
          fs.writeFileSync(file, original);
        }
      },
      where === 'meta' ? 60 : 45,
    );
    assert.deepEqual(openRun(dir).problems, [], 'restored');
    console.log(`# ${FILES[where]}: ${JSON.stringify(counts)}`);
  });
}

test('random damage while the run is being followed: each poll returns only new, genuine rows; a later poll sees the rest', () => {
  // A live writer (no meta.json end) with a damaged record in the part already written.
  check(
    fc.record({ cut: fc.integer({ min: 1, max: N - 1 }), bad: fc.integer({ min: 1, max: N - 1 }), bit: fc.integer({ min: 0, max: 7 }) }),
    ({ cut, bad, bit }) => {
      const dir = path.join(tmpRoot, `follow-${cut}-${bad}-${bit}-${Math.random().toString(36).slice(2)}`);
      const w = RunWriter.open(dir, { name: 'live' }, {}, { fsync: 'never' });
      w.setInfo(fx.info);
      for (let s = 1; s <= cut; s++) w.appendStep(fx.makeStep(s));
      w.flush();
      const file = path.join(dir, FILES.scalars);
      const rec = 28 + 8 * fx.G;
      const lost = ((bad - 1) % cut) + 1; // the step whose record is hit (in its payload or CRC)
      const at = 16 + (lost - 1) * rec + 4 + ((bad * 7) % (rec - 4));
      const b = readBytes(file);
      b[at] = b[at]! ^ (1 << bit);
      fs.writeFileSync(file, b);
      const f = new RunFollower(dir);
      const seen: number[] = [];
      const u1 = f.poll();
      seen.push(...u1.scalars.step);
      for (let s = cut + 1; s <= N; s++) w.appendStep(fx.makeStep(s));
      w.close('completed');
      const u2 = f.poll();
      seen.push(...u2.scalars.step);
      assert.deepEqual(seen, ALL.steps.filter((s) => s !== lost), `the hit step ${lost} is the only one missing`);
      const probs = [...u1.problems, ...u2.problems].filter((p) => p.file === file);
      assert.equal(probs.length, 1, JSON.stringify(probs));
      assert.equal(probs[0]!.offset, 16 + (lost - 1) * rec);
      if (lost > 1) assert.equal(probs[0]!.stepBefore, lost - 1);
      assert.equal(probs[0]!.stepAfter, lost + 1);
      fs.rmSync(dir, { recursive: true, force: true });
    },
    25,
  );
});

// ─── 1. bounded reads ────────────────────────────────────────────────────────────────

/** Everything openRun returns that can be compared (not the readAttention function). */
function snapshotOf(run: StoredRun): unknown {
  const { readAttention: _fn, ...rest } = run;
  return { ...rest, frames: run.attentionSteps.map((s) => run.readAttention(s)) };
}

test('1. reads in bounded chunks: any chunk and buffer size (down to 1 byte, smaller than a record) gives the same run, damaged or not', () => {
  const dir = path.join(tmpRoot, 'chunks');
  fs.cpSync(BASE, dir, { recursive: true });
  // Some damage too, so the scan past it crosses chunk boundaries.
  const sFile = path.join(dir, FILES.scalars);
  const s = readBytes(sFile);
  s[16 + 100 * 60 + 9] ^= 0x40;
  fs.writeFileSync(sFile, concat(s.subarray(0, 16 + 200 * 60), Uint8Array.from({ length: 37 }, (_, i) => (i * 53) & 0xff), s.subarray(16 + 200 * 60)));
  const mFile = path.join(dir, FILES.measures);
  const m = readBytes(mFile);
  m[m.length - 500] ^= 0x01;
  fs.writeFileSync(mFile, m);
  try {
    const want = snapshotOf(openRun(dir));
    assert.equal((want as { problems: StoreProblem[] }).problems.length, 3, 'a flipped and an inserted scalars record, a flipped measures record');
    for (const chunkBytes of [1, 3, 7, 13, 59, 60, 61, 64, 100, 999, 4096, 1 << 16]) {
      for (const bufferBytes of [1, 16, 61, 1024, 1 << 20]) {
        configureReads({ reset: true, chunkBytes, bufferBytes });
        assert.deepEqual(snapshotOf(openRun(dir)), want, `chunkBytes ${chunkBytes}, bufferBytes ${bufferBytes}`);
      }
    }
    // A follower reading a file as it grows, with tiny chunks.
    configureReads({ reset: true, chunkBytes: 5, bufferBytes: 7 });
    const live = path.join(tmpRoot, 'chunks-live');
    const w = RunWriter.open(live, { name: 'live' }, {}, { fsync: 'never' });
    w.setInfo(fx.info);
    const f = new RunFollower(live);
    const steps: number[] = [];
    for (let s0 = 1; s0 <= N; s0 += 37) {
      for (let s1 = s0; s1 < s0 + 37 && s1 <= N; s1++) w.appendStep(fx.makeStep(s1));
      w.flush();
      steps.push(...f.poll().scalars.step);
    }
    assert.deepEqual(steps, ALL.steps);
    w.close('completed');
  } finally {
    configureReads({ reset: true });
  }
});

test('1. a stream file over 2 GiB (sparse): the records at its front read, the rest is reported with file and offset, no 2 GiB buffer', (t) => {
  const dir = path.join(tmpRoot, 'sparse');
  writeRun(dir, 50);
  const file = path.join(dir, FILES.scalars);
  const size = 2 ** 31 + 4096;
  const end = 16 + 50 * 60;
  try {
    const fd = fs.openSync(file, 'r+');
    try {
      fs.ftruncateSync(fd, size);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    t.skip(`cannot make a ${size}-byte file here: ${String(e)}`);
    return;
  }
  const st = fs.statSync(file);
  if (st.blocks * 512 > 64 << 20) {
    fs.truncateSync(file, end);
    t.skip(`this filesystem does not keep the file sparse (${st.blocks * 512} bytes allocated)`);
    return;
  }
  try {
    const heapBefore = process.memoryUsage().arrayBuffers;
    let peak = heapBefore;
    const t0 = performance.now();
    const prev = configureReads({});
    // Watch memory while the reader scans.
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5);
    let run: StoredRun;
    try {
      run = openRun(dir);
    } finally {
      clearInterval(timer);
      configureReads(prev);
    }
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    const ms = performance.now() - t0;
    assert.equal(run.scalars.n, 50);
    assert.deepEqual(Array.from(run.scalars.step), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.equal(run.scalars.loss[49], fx.makeStep(50).loss);
    const mine = run.problems.filter((p) => p.file === file);
    assert.deepEqual(mine.map((p) => [p.kind, p.offset, p.end, p.stepBefore]), [['corrupt', end, size, 50]]);
    assert.equal(run.identity.n, 50, 'the other streams read');
    const l = listRun(dir);
    assert.ok('run' in l && l.run.steps === 50, 'meta.json counts the steps');
    assert.ok(peak - heapBefore < 256 << 20, `buffers grew by ${((peak - heapBefore) / 2 ** 20).toFixed(0)} MiB`);
    console.log(`# sparse ${size}-byte scalars.bin read in ${ms.toFixed(0)} ms; array buffers grew by at most ${((peak - heapBefore) / 2 ** 20).toFixed(1)} MiB`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ─── 2. a bad record does not hide the records after it ──────────────────────────────

test('2. one damaged record in scalars, identity or evals: skipped and reported with its offset and step range; every record after it reads', () => {
  const dir = path.join(tmpRoot, 'skip');
  fs.cpSync(BASE, dir, { recursive: true });
  const cases: [Where, number, number, number[]][] = [
    // stream, record index, record size, the steps read
    ['scalars', 150, 28 + 8 * fx.G, ALL.steps.filter((s) => s !== 151)],
    ['identity', 10, 12 + 16 * fx.K, ALL.steps.filter((s) => s !== 11)],
    ['evals', 7, 56, ALL.evals.filter((s) => s !== 160)],
  ];
  for (const [where, i, rec, want] of cases) {
    const file = path.join(dir, FILES[where]);
    const original = readBytes(file);
    const bad = original.slice();
    bad[16 + i * rec + 8] ^= 0x04;
    fs.writeFileSync(file, bad);
    try {
      const run = openRun(dir);
      const got = where === 'scalars' ? Array.from(run.scalars.step) : where === 'identity' ? Array.from(run.identity.step) : run.evals.map((e) => e.step);
      assert.deepEqual(got, want, `${where}: every record but the damaged one`);
      genuine(run, false);
      const stepBefore = where === 'evals' ? 140 : i;
      const stepAfter = where === 'evals' ? 180 : i + 2;
      assert.deepEqual(run.problems.map((p) => [p.file, p.kind, p.offset, p.end, p.stepBefore, p.stepAfter]), [[file, 'corrupt', 16 + i * rec, 16 + (i + 1) * rec, stepBefore, stepAfter]]);
      assert.match(run.problems[0]!.message, new RegExp(`after step ${stepBefore} and before step ${stepAfter}`));
    } finally {
      fs.writeFileSync(file, original);
    }
  }
  // A torn tail at the end is still a tear.
  const file = path.join(dir, FILES.scalars);
  fs.truncateSync(file, fs.statSync(file).size - 3);
  const run = openRun(dir);
  assert.deepEqual(run.problems.map((p) => [p.file, p.kind, p.offset]), [[file, 'torn', 16 + (N - 1) * 60]]);
  assert.equal(run.scalars.n, N - 1);
});

// ─── 3. an unreadable file does not make the run unreadable ──────────────────────────

test('3. a stream file that cannot be read (EACCES, or a directory: EISDIR) is reported by name; the rest of the run reads and lists', () => {
  const dir = path.join(tmpRoot, 'unreadable');
  fs.cpSync(BASE, dir, { recursive: true });
  const denied = path.join(dir, FILES.identity);
  // Tests run as root, so permission bits do not stop reads: a file layer that refuses this one file.
  const real = fs as unknown as StoreFs;
  const eacces = (file: string) => Object.assign(new Error(`EACCES: permission denied, open '${file}'`), { code: 'EACCES', errno: -13, syscall: 'open', path: file });
  const refusing: StoreFs = {
    statSync: (file) => real.statSync(file),
    fstatSync: (fd) => real.fstatSync(fd),
    readSync: (fd, b, o, n, pos) => real.readSync(fd, b, o, n, pos),
    closeSync: (fd) => real.closeSync(fd),
    openSync: (file, flags) => {
      if (path.resolve(file) === denied) throw eacces(file);
      return real.openSync(file, flags);
    },
    readFileSync: (file, enc) => {
      if (path.resolve(file) === denied) throw eacces(file);
      return real.readFileSync(file, enc);
    },
  };
  // And a directory where evals.bin should be.
  const asDir = path.join(dir, FILES.evals);
  fs.rmSync(asDir);
  fs.mkdirSync(asDir);
  configureReads({ fs: refusing });
  try {
    const run = openRun(dir);
    const probs = run.problems.map((p) => [p.file, p.kind]);
    assert.deepEqual(probs.sort(), [[asDir, 'unreadable'], [denied, 'unreadable']].sort());
    assert.match(run.problems.find((p) => p.file === denied)!.message, /^identity\.bin cannot be read \(permission denied, EACCES\)/);
    assert.match(run.problems.find((p) => p.file === asDir)!.message, /^evals\.bin cannot be read \(it is a directory, not a file, EISDIR\)/);
    assert.equal(run.scalars.n, N, 'the other streams read');
    assert.equal(run.identity.n, 0);
    assert.equal(run.evals.length, 0);
    assert.deepEqual(run.attentionSteps, ALL.frames);
    assert.deepEqual(run.measures, fx.expectedMeasures(ALL.steps));
    const l = listRun(dir);
    assert.ok('run' in l);
    assert.deepEqual(l.run.problems.map((p) => [p.file, p.kind, p.message.split(' (')[0]]).sort(), [[asDir, 'unreadable', 'evals.bin cannot be read'], [denied, 'unreadable', 'identity.bin cannot be read']].sort());
    assert.equal(l.run.steps, N);
    // A follower reports each once, not at every poll.
    const f = new RunFollower(dir);
    assert.equal(f.poll().problems.filter((p) => p.kind === 'unreadable').length, 2);
    assert.equal(f.poll().problems.length, 0);
  } finally {
    configureReads({ reset: true });
  }
  // An unreadable attention.bin: frames cannot be read, but reading them throws only StoreError.
  const frames = path.join(dir, FILES.attention);
  const original = readBytes(frames);
  const run = openRun(dir);
  fs.rmSync(frames);
  fs.mkdirSync(frames);
  assert.throws(() => run.readAttention(ALL.frames[3]!), (e: unknown) => e instanceof StoreError && e.problem.file === frames && e.problem.kind === 'unreadable');
  const again = openRun(dir);
  assert.ok(again.problems.some((p) => p.file === frames && p.kind === 'unreadable'));
  fs.rmdirSync(frames);
  fs.writeFileSync(frames, original);
});

// ─── 4. a damaged meta.json does not hide the run ────────────────────────────────────

test('4. meta.json with a bad checksum, unparseable or missing: the run is listed from its streams, marked damaged, and every record reads', () => {
  const root = path.join(tmpRoot, 'metas');
  const cases: [string, (file: string) => void, RegExp][] = [
    ['edited', (file) => fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"faults"', '"fau1ts"')), /checksum does not match/],
    ['unparseable', (file) => fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, 200)), /unreadable JSON/],
    ['missing', (file) => fs.rmSync(file), /meta\.json is missing/],
    ['no checksum', (file) => {
      const m = JSON.parse(fs.readFileSync(file, 'utf8')) as RunMeta;
      delete m.checksum;
      fs.writeFileSync(file, JSON.stringify(m));
    }, /format version 2 has no checksum/],
  ];
  for (const [name, hurt] of cases) {
    const dir = path.join(root, name);
    fs.cpSync(BASE, dir, { recursive: true });
    hurt(path.join(dir, FILES.meta));
  }
  const { runs, problems } = listRuns(root);
  assert.deepEqual(problems, []);
  assert.deepEqual(runs.map((r) => r.id).sort(), cases.map((c) => c[0]).sort());
  for (const [name, , why] of cases) {
    const r = runs.find((x) => x.id === name)!;
    assert.ok(r.damaged, `${name}: marked damaged`);
    assert.match(r.damaged.message, why);
    assert.equal(r.damaged.file, path.join(root, name, FILES.meta));
    assert.equal(r.steps, N, `${name}: steps counted from scalars.bin`);
    assert.equal(r.ended, true);
    const parsed = name === 'edited' || name === 'no checksum';
    assert.equal(r.meta.name, parsed ? (name === 'edited' ? 'fau1ts' : 'faults') : name, 'what survives of meta.json, else the folder name');
    assert.equal(r.meta.counts, undefined, 'counts are not trusted');
    if (!parsed) assert.equal(r.meta.status, 'failed');
    const run = openRun(r.dir);
    assert.match(run.problems.find((p) => p.file.endsWith(FILES.meta))!.message, why);
    const got = genuine(run, !parsed);
    assert.deepEqual(got.steps, ALL.steps);
    assert.deepEqual(got.evals, ALL.evals);
    assert.deepEqual(got.identity, ALL.steps);
    assert.deepEqual(got.frames, ALL.frames);
    if (parsed) assert.deepEqual(run.measures, fx.expectedMeasures(ALL.steps));
    else assert.ok(run.problems.some((p) => p.file.endsWith(FILES.measures) && p.kind === 'invalid'), 'samples without declarations are reported');
    // A damaged meta.json is not re-sealed by a rename (that would make it look sound).
    if (name === 'edited') assert.throws(() => annotateRun(r.dir, { name: 'x' }), /damaged/);
  }
  // A folder with neither meta.json nor streams but other files is still not a run; an empty one is an empty run (issue 15 item 7).
  fs.mkdirSync(path.join(root, 'other'));
  fs.writeFileSync(path.join(root, 'other', 'notes.txt'), 'not a run');
  fs.mkdirSync(path.join(root, 'empty'));
  const again = listRuns(root);
  assert.deepEqual(again.problems.map((p) => [p.file, p.message]), [[path.join(root, 'other'), 'not a run: no meta.json']]);
  const empty = again.runs.find((r) => r.id === 'empty')!;
  assert.equal(empty.empty, true);
  assert.equal(empty.meta.status, 'failed');
  assert.equal(empty.ended, true);
});

test('4. meta.json carries a checksum that every rewrite keeps valid; version-1 metas without one are accepted', () => {
  const dir = path.join(tmpRoot, 'sealed');
  fs.cpSync(BASE, dir, { recursive: true });
  const file = path.join(dir, FILES.meta);
  const sum = () => checkMetaChecksum(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>);
  assert.equal(sum(), 'ok');
  annotateRun(dir, { name: 'renamed', note: 'a note with "quotes", é and 😀' });
  assert.equal(sum(), 'ok', 'after annotateRun');
  annotateRun(dir, { note: '' });
  assert.equal(sum(), 'ok');
  const run = openRun(dir);
  assert.deepEqual(run.problems, []);
  assert.equal(run.meta!.name, 'renamed');
  // A writer rewrites it at start, on setInfo, on annotate and at close: each time sealed.
  const live = path.join(tmpRoot, 'sealed-live');
  const w = RunWriter.open(live, { name: 'x' }, {}, { fsync: 'never' });
  const liveSum = () => checkMetaChecksum(JSON.parse(fs.readFileSync(path.join(live, FILES.meta), 'utf8')) as Record<string, unknown>);
  assert.equal(liveSum(), 'ok');
  w.setInfo(fx.info);
  assert.equal(liveSum(), 'ok');
  w.annotate({ name: 'y' });
  assert.equal(liveSum(), 'ok');
  w.close('completed');
  assert.equal(liveSum(), 'ok');
  const v1 = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/runs/v1-completed', FILES.meta), 'utf8')) as Record<string, unknown>;
  assert.equal(checkMetaChecksum(v1), 'absent');
});

// ─── repeated steps; meta.json that disagrees with the streams ───────────────────────

test('a duplicated scalars record (the same step twice) is reported and read once', () => {
  const dir = path.join(tmpRoot, 'dup');
  fs.cpSync(BASE, dir, { recursive: true });
  const file = path.join(dir, FILES.scalars);
  const b = readBytes(file);
  const rec = 60;
  const at = 16 + 41 * rec; // after step 41
  fs.writeFileSync(file, concat(b.subarray(0, at), b.subarray(at - rec, at), b.subarray(at)));
  const run = openRun(dir);
  assert.deepEqual(Array.from(run.scalars.step), ALL.steps);
  assert.deepEqual(run.problems.map((p) => [p.file, p.kind, p.offset, p.stepBefore]), [[file, 'corrupt', at, 41]]);
  assert.match(run.problems[0]!.message, /step 41 is repeated/);
});

test("a meta.json whose group count does not match scalars.bin's width is reported (reader and listing)", () => {
  const dir = path.join(tmpRoot, 'width');
  fs.cpSync(BASE, dir, { recursive: true });
  const file = path.join(dir, FILES.meta);
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as RunMeta;
  m.info!.groups = ['a', 'b', 'c'];
  writeMetaAtomic(dir, m); // a sound checksum: the document is as written, it just does not fit the data
  const run = openRun(dir);
  assert.deepEqual(run.problems.map((p) => [p.file, p.kind]), [[file, 'invalid']]);
  assert.match(run.problems[0]!.message, /names 3 parameter groups, but scalars\.bin's records have 4/);
  assert.equal(run.scalars.n, N, 'the numbers still read');
  const l = listRun(dir);
  assert.ok('run' in l);
  assert.deepEqual(l.run.problems.map((p) => [p.file, p.kind]), [[file, 'invalid']]);
});

test('measurement samples that do not fit the declarations are reported, not thrown', () => {
  const dir = path.join(tmpRoot, 'misfit');
  fs.cpSync(BASE, dir, { recursive: true });
  const file = path.join(dir, FILES.meta);
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as RunMeta;
  // 'quant/bits' now declares 2 groups (its samples have 3), and the last declaration is gone.
  m.info!.measures = m.info!.measures!.slice(0, -1).map((d) => (d.id === 'quant/bits' ? { ...d, groups: ['g0', 'g1'] } : d));
  writeMetaAtomic(dir, m);
  const run = openRun(dir);
  const bad = run.problems.filter((p) => p.kind === 'invalid');
  assert.deepEqual(bad.map((p) => p.file).sort(), [path.join(dir, FILES.events), path.join(dir, FILES.measures)]);
  assert.match(bad.find((p) => p.file.endsWith(FILES.measures))!.message, /60 records or samples .*"quant\/bits" has 3 values, its declaration 2/);
  assert.deepEqual(run.measures.series.map((s) => s.id), ['lr'], 'the fitting samples read');
  assert.deepEqual(run.measures.events.map((e) => e.id), ['task', 'task', 'task'], "'mark' is no longer declared");
  assert.equal(run.measures.matrices.length, N / 50);
});


// ─── 7. a run killed (or out of disk space) while it starts ─────────────────────────

/** The pid of a process that has exited (for temp files whose writer is gone). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.ok(r.pid);
  return r.pid;
}

const tempsIn = (dir: string) => fs.readdirSync(dir).filter((n) => parseTempFileName(n) !== undefined);

test('7. a folder holding only what a starting writer leaves is listed once as an empty run that can be deleted; stale temp files are removed', () => {
  const root = path.join(tmpRoot, 'starting');
  const dead = deadPid();
  const make = (name: string, files: Record<string, string>) => {
    fs.mkdirSync(path.join(root, name), { recursive: true });
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(root, name, f), text);
  };
  make('empty', {});
  make('meta-tmp', { [`.meta.json.${dead}.tmp`]: '{"format": "attention-lens-run", "formatVe' });
  make('config-tmp', { [`.config.json.${dead}.tmp`]: '' });
  make('config-only', { [FILES.config]: '{}', [`.meta.json.${dead}.tmp`]: '' });
  make('live', { [`.meta.json.${process.pid}.tmp`]: '' }); // a writer starting it now (this process)
  make('other', { 'notes.txt': 'not a run', [`.meta.json.${dead}.tmp`]: '' });
  writeRun(path.join(root, 'run'), 20);
  fs.writeFileSync(path.join(root, 'run', `.meta.json.${dead}.tmp`), ''); // killed while rewriting meta.json

  const first = listRuns(root);
  assert.deepEqual(first.problems.map((p) => [path.basename(p.file), p.message]), [['other', 'not a run: no meta.json']]);
  const byId = new Map(first.runs.map((r) => [r.id, r]));
  assert.deepEqual([...byId.keys()].sort(), ['config-only', 'config-tmp', 'empty', 'live', 'meta-tmp', 'run']);
  for (const id of ['empty', 'meta-tmp', 'config-tmp', 'config-only']) {
    const r = byId.get(id)!;
    assert.equal(r.empty, true, id);
    assert.equal(r.steps, 0);
    assert.equal(r.ended, true);
    assert.equal(r.meta.status, 'failed');
    assert.match(r.meta.statusReason!, /nothing was recorded.*can be deleted/);
    assert.equal(r.damaged?.kind, 'missing');
    const shown = new ListedRun(r);
    assert.equal(shown.beingWritten, false, `${id}: Delete is allowed`);
    assert.equal(shown.status, 'failed');
  }
  const live = byId.get('live')!;
  assert.deepEqual([live.empty, live.ended, live.writerAlive, live.meta.status], [true, false, true, 'starting']);
  assert.equal(new ListedRun(live).beingWritten, true, 'a run being started is not deleted');
  assert.equal(byId.get('run')!.empty, undefined);
  assert.equal(byId.get('run')!.steps, 20);
  // Temp files of dead writers are gone, everywhere; the live writer's stays.
  for (const name of ['empty', 'meta-tmp', 'config-tmp', 'config-only', 'other', 'run']) assert.deepEqual(tempsIn(path.join(root, name)), [], name);
  assert.deepEqual(tempsIn(path.join(root, 'live')), [`.meta.json.${process.pid}.tmp`]);

  // The Python reader says so too, and reads no rows.
  const py = spawnSync('python3', [path.join(ROOT, 'scripts/read_run.py'), byId.get('empty')!.dir], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  assert.equal(py.stdout.trim().split('\n').length, 1, 'the header only');
  assert.match(py.stderr, /an empty run folder: meta\.json was never written/);

  const again = listRuns(root);
  assert.deepEqual(again.runs.map((r) => [r.id, r.empty, r.meta.status]), first.runs.map((r) => [r.id, r.empty, r.meta.status]), 'the same the second time');
  // Delete (RunCatalog.delete removes the folder) leaves the others listed.
  for (const id of ['empty', 'meta-tmp', 'config-tmp', 'config-only']) fs.rmSync(byId.get(id)!.dir, { recursive: true, force: true });
  assert.deepEqual(listRuns(root).runs.map((r) => r.id).sort(), ['live', 'run']);
  assert.deepEqual(listRun(path.join(root, 'no-such-run')), { problem: { file: path.join(root, 'no-such-run'), kind: 'missing', message: 'not a run: no such folder' } });
});

/**
 * Starts `args` (node), kills it with SIGKILL `delayMs` after it printed `go` (or after the
 * spawn when `fromSpawn`), and resolves once it has exited.
 */
function killAt(args: string[], delayMs: number, fromSpawn: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let armed = false;
    const arm = () => {
      if (armed) return;
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    };
    if (fromSpawn) arm();
    child.stdout.on('data', (b: Buffer) => {
      if (b.toString().includes('go')) arm();
    });
    child.on('error', reject);
    child.on('exit', () => resolve());
  });
}

/** Creates runs in `root` one after another, as fast as it can, until killed. */
const SERIAL_WRITER = `
const store = require(${JSON.stringify(path.join(ROOT, 'out/src/runs/store/index.js'))});
const fx = require(${JSON.stringify(path.join(ROOT, 'test/fixtures/store-writer.js'))});
const root = process.argv[1];
process.stdout.write('go\\n');
for (;;) {
  const { dir } = store.createRunDir(root, 'k');
  const w = store.RunWriter.open(dir, { name: 'k', source: 'test' }, fx.info.config, { fsync: 'never' });
  w.setInfo(fx.info);
  for (let s = 1; s <= 3; s++) w.appendStep(fx.makeStep(s));
  w.close('completed');
}`;

test('7. writers killed with SIGKILL in their first 100 ms: every folder is a readable run or listed once as an empty, deletable run, never "not a run"', async () => {
  const root = path.join(tmpRoot, 'early-kills');
  fs.mkdirSync(root);
  const roots = [root];
  const kills: string[] = [];
  for (let i = 0; i < 8; i++) {
    // The store-writer fixture, killed while Node starts, opens the run or writes its first steps.
    const delay = Math.floor(Math.random() * 100);
    kills.push(`fixture +${delay} ms`);
    await killAt([path.join(ROOT, 'test/fixtures/store-writer.js'), path.join(root, `fixture-${i}`), '', '5'], delay, true);
  }
  for (let i = 0; i < 8; i++) {
    // Runs started back to back, each in a runs root of its own: the kill lands at a random point of one run's start.
    const delay = Math.random() * 100;
    kills.push(`serial +${delay.toFixed(1)} ms`);
    const serial = path.join(tmpRoot, `early-serial-${i}`);
    fs.mkdirSync(serial);
    roots.push(serial);
    await killAt(['-e', SERIAL_WRITER, serial], delay, false);
  }
  const why = `kills: ${kills.join(', ')}`;
  // Every folder, as the kills left them.
  const folders = roots.flatMap((r) => fs.readdirSync(r).map((d) => path.join(r, d)));
  const states = new Map<string, number>();
  for (const d of folders) {
    const names = fs.readdirSync(d);
    const state = names.includes(FILES.meta) ? (tempsIn(d).length > 0 ? 'meta.json + temp file' : 'meta.json') : names.length === 0 ? 'empty' : `no meta.json: ${names.join(' ')}`;
    states.set(state, (states.get(state) ?? 0) + 1);
  }
  console.log(`# ${folders.length} folders after the kills: ${JSON.stringify(Object.fromEntries(states))}`);

  const listAll = () => {
    const runs = new Map<string, RunListing>();
    for (const r of roots) {
      const l = listRuns(r);
      assert.deepEqual(l.problems, [], `${r}: never "not a run" (${why})`);
      for (const run of l.runs) {
        assert.ok(!runs.has(run.dir), `${run.dir} listed twice`);
        runs.set(run.dir, run);
      }
    }
    return runs;
  };
  const runs = listAll();
  for (const d of folders) {
    const run = runs.get(d);
    assert.ok(run, `${d} is listed (${why})`);
    assert.deepEqual(tempsIn(d), [], `${d}: the dead writer's temp files are removed`);
    if (run.empty) {
      assert.deepEqual([run.ended, run.meta.status, run.steps, run.damaged?.kind], [true, 'failed', 0, 'missing'], d);
      assert.equal(new ListedRun(run).beingWritten, false, 'Delete is allowed');
      continue;
    }
    assert.ok(run.damaged === undefined, `${d}: ${JSON.stringify(run.damaged)}`);
    const opened = openRun(d);
    assert.ok(opened.meta, d);
    // A kill leaves at most a torn last record, and perhaps no config.json yet (meta.json comes first).
    for (const p of opened.problems) assert.ok(p.kind === 'torn' || (p.kind === 'missing' && p.file.endsWith(FILES.config)), `${d}: ${JSON.stringify(p)} (${why})`);
    for (let i = 0; i < opened.scalars.n; i++) assert.equal(opened.scalars.step[i], i + 1);
  }
  // Listed once: a second listing is the same, and deleting the empty runs leaves the rest.
  const shape = (m: Map<string, RunListing>) => [...m.values()].map((r) => [r.dir, r.empty ?? false]).sort();
  assert.deepEqual(shape(listAll()), shape(runs));
  for (const r of runs.values()) if (r.empty) fs.rmSync(r.dir, { recursive: true, force: true });
  for (const d of folders) assert.equal(fs.existsSync(d), !runs.get(d)!.empty);
});
