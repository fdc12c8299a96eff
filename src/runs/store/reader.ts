/**
 * Reading runs back: `openRun` (a whole run, for display), `RunFollower` (a run another
 * process is still writing: each poll reads only the records appended since the last), and
 * `readAttention` on demand. Every record's CRC is checked; reading a stream stops at its
 * first torn or corrupt record, which is reported as a StoreProblem, and everything before it
 * is returned. Attention frames are located through attention.idx (or, past its end, by
 * walking attention.bin's length fields) and read only when asked for.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AttentionFrame, AttentionMapData, EvalPoint, ScalarChunk } from '../../protocol/messages';
import { indexAtOrBefore } from '../../protocol/steps';
import { crc32 } from './crc32';
import {
  decodeHeader,
  EVAL_PAYLOAD_BYTES,
  FILES,
  HEADER_BYTES,
  identityPayloadBytes,
  INDEX_PAYLOAD_BYTES,
  KIND,
  MAX_PAYLOAD_BYTES,
  metaProblem,
  scalarPayloadBytes,
  STAGES,
  StoreError,
  type RunMeta,
  type StoreProblem,
  type StreamName,
} from './format';

const LITTLE_ENDIAN = os.endianness() === 'LE';

// ─── decoded data ────────────────────────────────────────────────────────────────────

/** Per-step scalars, columnar, at their stored precision. All columns have n rows. */
export interface StoredScalars {
  n: number;
  /** G, the parameter groups (meta.info.groups names them). */
  groups: number;
  /** (n) */
  step: Uint32Array;
  /** (n) */
  loss: Float64Array;
  /** (n) */
  trainAccuracy: Float32Array;
  /** (n) */
  stepMs: Float32Array;
  /** (n × G), row-major */
  gradNorms: Float32Array;
  /** (n × G), row-major */
  weightNorms: Float32Array;
}

/** Lu identity rows, columnar. */
export interface StoredIdentity {
  n: number;
  /** K, the topic words (meta.info.topicWords names them). */
  k: number;
  /** (n) */
  step: Uint32Array;
  /** (n × K) each, row-major */
  score: Float32Array;
  measured: Float32Array;
  theory: Float32Array;
  relError: Float32Array;
}

/** A run read from its folder. */
export interface StoredRun {
  dir: string;
  /** The folder's name. */
  id: string;
  /** undefined when meta.json is missing or unreadable (see problems). */
  meta: RunMeta | undefined;
  config: unknown;
  scalars: StoredScalars;
  evals: EvalPoint[];
  identity: StoredIdentity;
  /** Steps with a captured attention frame, increasing. */
  attentionSteps: number[];
  /** The frame captured at `step` or the latest before it; undefined if none is that early. Throws StoreError if the frame is unreadable. */
  readAttention(step: number): AttentionFrame | undefined;
  /** Torn or corrupt tails, unreadable files; empty for a healthy run. */
  problems: StoreProblem[];
}

/** What one RunFollower.poll found since the previous poll. */
export interface RunUpdate {
  /** meta.json, when it is new or changed since the last poll. */
  meta?: RunMeta;
  /** config.json, when it is new or changed since the last poll. */
  config?: unknown;
  /** New rows only. */
  scalars: StoredScalars;
  evals: EvalPoint[];
  identity: StoredIdentity;
  attentionSteps: number[];
  problems: StoreProblem[];
  /** The run has ended (meta.json says so) and every record has been read. */
  ended: boolean;
}

function emptyScalars(groups: number): StoredScalars {
  return { n: 0, groups, step: new Uint32Array(0), loss: new Float64Array(0), trainAccuracy: new Float32Array(0), stepMs: new Float32Array(0), gradNorms: new Float32Array(0), weightNorms: new Float32Array(0) };
}

function emptyIdentity(k: number): StoredIdentity {
  return { n: 0, k, step: new Uint32Array(0), score: new Float32Array(0), measured: new Float32Array(0), theory: new Float32Array(0), relError: new Float32Array(0) };
}

/** Rows [start, end) of stored scalars as the protocol's float64 ScalarChunk (what RunHistory.scalars returns). */
export function toScalarChunk(s: StoredScalars, start = 0, end = s.n): ScalarChunk {
  const n = Math.max(0, end - start);
  const g = s.groups;
  return {
    n,
    step: Float64Array.from(s.step.subarray(start, end)),
    loss: s.loss.slice(start, end),
    trainAccuracy: Float64Array.from(s.trainAccuracy.subarray(start, end)),
    gradNorms: Float64Array.from(s.gradNorms.subarray(start * g, end * g)),
    weightNorms: Float64Array.from(s.weightNorms.subarray(start * g, end * g)),
  };
}

// ─── file access ─────────────────────────────────────────────────────────────────────

function fileSize(file: string): number | undefined {
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined;
  }
}

/** Bytes [pos, pos + n) of `file` (fewer if it is shorter). */
function readAt(file: string, pos: number, n: number, fd?: number): Uint8Array {
  const own = fd === undefined;
  const f = fd ?? fs.openSync(file, 'r');
  try {
    const b = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = fs.readSync(f, b, got, n - got, pos + got);
      if (r === 0) break;
      got += r;
    }
    return got === n ? b : b.subarray(0, got);
  } finally {
    if (own) fs.closeSync(f);
  }
}

type JsonRead = { ok: true; value: unknown; stamp: string } | { ok: false; problem: StoreProblem; stamp: string };

/** A file's identity for change detection (atomic replacement changes the inode). */
function stampOf(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

function readJson(file: string): JsonRead {
  const stamp = stampOf(file);
  if (stamp === 'missing') return { ok: false, problem: { file, kind: 'missing', message: 'file is missing' }, stamp };
  try {
    return { ok: true, value: JSON.parse(fs.readFileSync(file, 'utf8')) as unknown, stamp };
  } catch (e) {
    return { ok: false, problem: { file, kind: 'invalid', message: `unreadable JSON: ${e instanceof Error ? e.message : String(e)}` }, stamp };
  }
}

// ─── fixed-size record streams ───────────────────────────────────────────────────────

/** Complete, checked records found by one read: payload i starts at buf[first + i·stride]. */
interface Batch {
  buf: Uint8Array;
  dv: DataView;
  first: number;
  stride: number;
  count: number;
  width: number;
}

/**
 * An incremental reader of a stream whose records all have one payload size (a function of
 * the header's width): scalars, evals, identity, attention.idx. Remembers where it stopped.
 */
class FixedStream {
  /** Next unread byte. */
  private pos = 0;
  width: number | undefined;
  /** Stopped at a corrupt record or header: nothing more is read. */
  stopped = false;
  /** A tear was reported at `pos` (final mode); not reported again. */
  private tornReported = false;
  records = 0;

  constructor(
    readonly file: string,
    private readonly kind: string,
    private readonly payloadBytes: (width: number) => number,
  ) {}

  /**
   * Reads the complete records appended since the last call. `final`: the writer is done,
   * so an incomplete tail is a tear (reported) rather than a record still being written.
   */
  read(final: boolean, problems: StoreProblem[]): Batch | undefined {
    if (this.stopped) return undefined;
    const size = fileSize(this.file);
    if (size === undefined) return undefined; // no records yet
    if (size < this.pos) {
      this.stop(problems, 'torn', this.pos, `file shrank to ${size} bytes after ${this.pos} were read`);
      return undefined;
    }
    if (size === this.pos) {
      if (final && this.pos === 0) this.tear(problems, 0, 'file is empty (no header)');
      return undefined;
    }
    const buf = readAt(this.file, this.pos, size - this.pos);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0; // within buf
    if (this.width === undefined) {
      if (buf.length < HEADER_BYTES) {
        if (final) this.tear(problems, 0, `file ends inside its header (${buf.length} of ${HEADER_BYTES} bytes)`);
        return undefined;
      }
      const h = decodeHeader(buf, this.kind);
      if ('error' in h) {
        this.stop(problems, 'corrupt', 0, h.error);
        return undefined;
      }
      this.width = h.width;
      at = HEADER_BYTES;
    }
    const n = this.payloadBytes(this.width);
    const stride = n + 8;
    const first = at + 4;
    let count = 0;
    while (true) {
      const left = buf.length - at;
      if (left === 0) break;
      if (left < 4) {
        if (final) this.tear(problems, this.pos + at, `file ends inside a record's length field (${left} of 4 bytes)`);
        break;
      }
      const len = dv.getUint32(at, true);
      if (len !== n) {
        if (!final && left <= stride) break; // possibly a record still being written: wait for it
        this.stop(problems, 'corrupt', this.pos + at, `record length ${len}, this stream's records have ${n} bytes`);
        break;
      }
      if (left < stride) {
        if (final) this.tear(problems, this.pos + at, `file ends inside a record (${left} of ${stride} bytes)`);
        break;
      }
      if (crc32(buf, at, at + 4 + n) !== dv.getUint32(at + 4 + n, true)) {
        // A record still being written can look like this to a concurrent reader: wait for it.
        if (!final && left === stride) break;
        this.stop(problems, 'corrupt', this.pos + at, 'record checksum mismatch');
        break;
      }
      count++;
      at += stride;
    }
    this.pos += at;
    this.records += count;
    if (count === 0) return undefined;
    return { buf, dv, first, stride, count, width: this.width };
  }

  /** Offset after the last complete record. */
  get end(): number {
    return this.pos;
  }

  private tear(problems: StoreProblem[], offset: number, message: string): void {
    if (this.tornReported) return;
    this.tornReported = true;
    problems.push({ file: this.file, offset, kind: 'torn', message });
  }

  private stop(problems: StoreProblem[], kind: StoreProblem['kind'], offset: number, message: string): void {
    this.stopped = true;
    problems.push({ file: this.file, offset, kind, message });
  }
}

function decodeScalars(b: Batch): StoredScalars {
  const { dv, first, stride, count: n, width: g } = b;
  const s: StoredScalars = {
    n,
    groups: g,
    step: new Uint32Array(n),
    loss: new Float64Array(n),
    trainAccuracy: new Float32Array(n),
    stepMs: new Float32Array(n),
    gradNorms: new Float32Array(n * g),
    weightNorms: new Float32Array(n * g),
  };
  const { step, loss, trainAccuracy, stepMs, gradNorms, weightNorms } = s;
  for (let i = 0, o = first; i < n; i++, o += stride) {
    step[i] = dv.getUint32(o, true);
    loss[i] = dv.getFloat64(o + 4, true);
    trainAccuracy[i] = dv.getFloat32(o + 12, true);
    stepMs[i] = dv.getFloat32(o + 16, true);
    const w = o + 20 + 4 * g;
    for (let j = 0; j < g; j++) {
      gradNorms[i * g + j] = dv.getFloat32(o + 20 + 4 * j, true);
      weightNorms[i * g + j] = dv.getFloat32(w + 4 * j, true);
    }
  }
  return s;
}

function decodeEvals(b: Batch): EvalPoint[] {
  const out: EvalPoint[] = [];
  const { dv, first, stride, count } = b;
  for (let i = 0, o = first; i < count; i++, o += stride) {
    const e: EvalPoint = {
      step: dv.getUint32(o, true),
      validationLoss: dv.getFloat64(o + 8, true),
      validationAccuracy: dv.getFloat64(o + 16, true),
      testLoss: dv.getFloat64(o + 24, true),
      testAccuracy: dv.getFloat64(o + 32, true),
    };
    if (dv.getUint32(o + 4, true) & 1) e.topicAttention = dv.getFloat64(o + 40, true);
    out.push(e);
  }
  return out;
}

function decodeIdentity(b: Batch): StoredIdentity {
  const { dv, first, stride, count: n, width: k } = b;
  const s: StoredIdentity = { n, k, step: new Uint32Array(n), score: new Float32Array(n * k), measured: new Float32Array(n * k), theory: new Float32Array(n * k), relError: new Float32Array(n * k) };
  const cols = [s.score, s.measured, s.theory, s.relError];
  for (let i = 0, o = first; i < n; i++, o += stride) {
    s.step[i] = dv.getUint32(o, true);
    for (let c = 0; c < 4; c++) {
      const col = cols[c]!;
      const base = o + 4 + 4 * k * c;
      for (let j = 0; j < k; j++) col[i * k + j] = dv.getFloat32(base + 4 * j, true);
    }
  }
  return s;
}

/** Decodes an attention payload (already checksummed). Throws a message on malformed contents. */
function decodeFrame(buf: Uint8Array, p: number, n: number): AttentionFrame {
  const end = p + n;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u32 = (o: number): number => {
    if (o + 4 > end) throw new Error('frame contents run past the record');
    return dv.getUint32(o, true);
  };
  const step = u32(p);
  const nProbes = u32(p + 4);
  let o = p + 8;
  const probes: AttentionMapData[][] = [];
  for (let i = 0; i < nProbes; i++) {
    const nMaps = u32(o);
    o += 4;
    const maps: AttentionMapData[] = [];
    for (let j = 0; j < nMaps; j++) {
      const stage = STAGES[u32(o + 8)];
      if (stage === undefined) throw new Error(`unknown stage code ${u32(o + 8)}`);
      const rows = u32(o + 12);
      const cols = u32(o + 16);
      const layer = u32(o);
      const head = u32(o + 4);
      o += 20;
      const bytes = 4 * rows * cols;
      if (o + bytes > end) throw new Error('frame contents run past the record');
      let data: Float32Array;
      if (LITTLE_ENDIAN) data = new Float32Array(buf.buffer.slice(buf.byteOffset + o, buf.byteOffset + o + bytes));
      else {
        data = new Float32Array(rows * cols);
        for (let q = 0; q < data.length; q++) data[q] = dv.getFloat32(o + 4 * q, true);
      }
      o += bytes;
      maps.push({ layer, head, stage, rows, cols, data });
    }
    probes.push(maps);
  }
  if (o !== end) throw new Error(`frame contents end at ${o - p} of ${n} bytes`);
  return { step, probes };
}

// ─── attention frames ────────────────────────────────────────────────────────────────

/**
 * Where each attention frame is: steps[i]'s record starts at offsets[i] in attention.bin and
 * has lengths[i] payload bytes. Built from attention.idx, then extended past the index's end by
 * walking attention.bin (checking each walked record's CRC), so a torn or missing index loses
 * nothing that attention.bin holds.
 */
class AttentionTrack {
  readonly steps: number[] = [];
  readonly offsets: number[] = [];
  readonly lengths: number[] = [];
  private readonly index: FixedStream | undefined;
  /** Index entries read but not yet confirmed against attention.bin's size. */
  private pendingIndex: { step: number; n: number; offset: number }[] = [];
  /** attention.bin: header checked; end of the last known record. */
  private headerOk = false;
  private end = HEADER_BYTES;
  private stopped = false;

  /** Without `indexFile`, frames are found by walking attention.bin alone. */
  constructor(
    readonly file: string,
    indexFile: string | undefined,
  ) {
    if (indexFile !== undefined) this.index = new FixedStream(indexFile, KIND.attentionIndex, () => INDEX_PAYLOAD_BYTES);
  }

  get indexFile(): string | undefined {
    return this.index?.file;
  }

  /** Entries read from attention.idx, and the offset after the last. */
  get indexRecords(): number {
    return this.index?.records ?? 0;
  }

  get indexEnd(): number {
    return this.index?.end ?? 0;
  }

  /** Locates the frames written since the last call; returns their steps. */
  read(final: boolean, problems: StoreProblem[]): number[] {
    const before = this.steps.length;
    const b = this.index?.read(final, problems);
    if (b) {
      for (let i = 0, o = b.first; i < b.count; i++, o += b.stride) {
        this.pendingIndex.push({ step: b.dv.getUint32(o, true), n: b.dv.getUint32(o + 4, true), offset: Number(b.dv.getBigUint64(o + 8, true)) });
      }
    }
    if (this.stopped) return [];
    const size = fileSize(this.file);
    if (size === undefined) {
      if (this.pendingIndex.length > 0 && final) this.stop(problems, 'missing', undefined, `attention.idx lists ${this.pendingIndex.length} frames but attention.bin is missing`);
      return [];
    }
    if (!this.headerOk) {
      const h = readAt(this.file, 0, HEADER_BYTES);
      if (h.length < HEADER_BYTES) {
        if (final) this.stop(problems, 'torn', 0, `file ends inside its header (${h.length} of ${HEADER_BYTES} bytes)`);
        return [];
      }
      const d = decodeHeader(h, KIND.attention);
      if ('error' in d) {
        this.stop(problems, 'corrupt', 0, d.error);
        return [];
      }
      this.headerOk = true;
    }
    // Index entries: trusted for location (their own CRC passed); the frame's CRC is checked when it is read.
    while (this.pendingIndex.length > 0) {
      const e = this.pendingIndex[0]!;
      if (e.offset < this.end) {
        this.pendingIndex.shift(); // already found by walking
        continue;
      }
      if (e.offset > this.end) break; // a gap: walk to it
      if (e.offset + 8 + e.n > size) {
        if (final) this.stop(problems, 'torn', e.offset, `file ends inside the frame of step ${e.step} (${size - e.offset} of ${e.n + 8} bytes)`);
        break;
      }
      if (!this.accept(e.step, e.offset, e.n, problems, FILES.attentionIndex)) return this.steps.slice(before);
      this.pendingIndex.shift();
    }
    // Frames past the index: walk attention.bin, checking each record.
    if (this.end < size) {
      const fd = fs.openSync(this.file, 'r');
      try {
        while (this.end < size && !this.stopped) {
          const at = this.end;
          const left = size - at;
          if (left < 8) {
            if (final) this.stop(problems, 'torn', at, `file ends inside a record's header (${left} bytes)`);
            break;
          }
          const h = readAt(this.file, at, 8, fd);
          const n = new DataView(h.buffer).getUint32(0, true);
          if (n < 8 || n % 4 !== 0 || n > MAX_PAYLOAD_BYTES) {
            this.stop(problems, 'corrupt', at, `record length ${n} is not a frame's`);
            break;
          }
          if (left < n + 8) {
            if (final) this.stop(problems, 'torn', at, `file ends inside a record (${left} of ${n + 8} bytes)`);
            break;
          }
          const rec = readAt(this.file, at, n + 8, fd);
          const rv = new DataView(rec.buffer);
          if (crc32(rec, 0, 4 + n) !== rv.getUint32(4 + n, true)) {
            if (!final && left === n + 8) break; // may still be being written
            this.stop(problems, 'corrupt', at, 'record checksum mismatch');
            break;
          }
          if (!this.accept(rv.getUint32(4, true), at, n, problems, FILES.attention)) break;
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    if (final && this.pendingIndex.length > 0 && !this.stopped) {
      const e = this.pendingIndex[0]!;
      this.stop(problems, 'corrupt', e.offset, `attention.idx lists a frame of step ${e.step} at offset ${e.offset}, which is not a record boundary of attention.bin`);
    }
    return this.steps.slice(before);
  }

  private accept(step: number, offset: number, n: number, problems: StoreProblem[], source: string): boolean {
    const last = this.steps[this.steps.length - 1];
    if (last !== undefined && step <= last) {
      this.stop(problems, 'corrupt', offset, `${path.basename(source)}: frame of step ${step} after step ${last}`);
      return false;
    }
    this.steps.push(step);
    this.offsets.push(offset);
    this.lengths.push(n);
    this.end = offset + 8 + n;
    return true;
  }

  private stop(problems: StoreProblem[], kind: StoreProblem['kind'], offset: number | undefined, message: string): void {
    this.stopped = true;
    const p: StoreProblem = { file: this.file, kind, message };
    if (offset !== undefined) p.offset = offset;
    problems.push(p);
  }

  /** The frame at `step` or the latest before it. */
  frameAt(step: number): AttentionFrame | undefined {
    const s = this.steps;
    const found = indexAtOrBefore(s, step);
    if (found < 0) return undefined;
    const offset = this.offsets[found]!;
    const n = this.lengths[found]!;
    const fail = (message: string): never => {
      throw new StoreError({ file: this.file, offset, kind: 'corrupt', message });
    };
    let rec: Uint8Array;
    try {
      rec = readAt(this.file, offset, n + 8);
    } catch (e) {
      return fail(`unreadable: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (rec.length < n + 8) fail(`file ends inside the frame of step ${s[found]} (${rec.length} of ${n + 8} bytes)`);
    const rv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
    if (rv.getUint32(0, true) !== n) fail(`record length ${rv.getUint32(0, true)}, the index says ${n}`);
    if (crc32(rec, 0, 4 + n) !== rv.getUint32(4 + n, true)) fail(`checksum mismatch in the frame of step ${s[found]}`);
    let frame: AttentionFrame;
    try {
      frame = decodeFrame(rec, 4, n);
    } catch (e) {
      return fail(e instanceof Error ? e.message : String(e));
    }
    if (frame.step !== s[found]) fail(`the frame holds step ${frame.step}, the index says ${s[found]}`);
    return frame;
  }
}

// ─── following a run ─────────────────────────────────────────────────────────────────

/**
 * Reads a run folder incrementally: each `poll()` returns what was appended since the last
 * poll, reading only the new bytes of each file. Usable on a run another process is writing:
 * an incomplete last record is left for a later poll rather than reported, until meta.json
 * says the run ended (or `poll({ final: true })`), when it is reported as a tear.
 */
export class RunFollower {
  readonly dir: string;
  private readonly scalars: FixedStream;
  private readonly evals: FixedStream;
  private readonly identity: FixedStream;
  private readonly attention: AttentionTrack;
  private metaStamp = '';
  private configStamp = '';
  private meta: RunMeta | undefined;
  private countsChecked = false;
  private counts = { steps: 0, evals: 0, identity: 0 };

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    const f = (name: StreamName) => path.join(this.dir, FILES[name]);
    this.scalars = new FixedStream(f('scalars'), KIND.scalars, scalarPayloadBytes);
    this.evals = new FixedStream(f('evals'), KIND.evals, () => EVAL_PAYLOAD_BYTES);
    this.identity = new FixedStream(f('identity'), KIND.identity, identityPayloadBytes);
    this.attention = new AttentionTrack(f('attention'), f('attentionIndex'));
  }

  /** Steps with a captured frame found so far. */
  get attentionSteps(): readonly number[] {
    return this.attention.steps;
  }

  /** The latest meta.json read. */
  get latestMeta(): RunMeta | undefined {
    return this.meta;
  }

  /** The frame captured at `step` or the latest before it (among frames found so far). Throws StoreError if unreadable. */
  readAttention(step: number): AttentionFrame | undefined {
    return this.attention.frameAt(step);
  }

  poll(opts: { final?: boolean } = {}): RunUpdate {
    const problems: StoreProblem[] = [];
    const update: RunUpdate = { scalars: emptyScalars(0), evals: [], identity: emptyIdentity(0), attentionSteps: [], problems, ended: false };

    // meta.json first: if it says the run ended, every record was flushed before it was written.
    const metaFile = path.join(this.dir, FILES.meta);
    if (stampOf(metaFile) !== this.metaStamp) {
      const r = readJson(metaFile);
      this.metaStamp = r.stamp;
      if (!r.ok) problems.push(r.problem);
      else {
        const why = metaProblem(r.value);
        if (why !== undefined) problems.push({ file: metaFile, kind: 'invalid', message: why });
        else {
          this.meta = r.value as RunMeta;
          update.meta = this.meta;
        }
      }
    }
    const configFile = path.join(this.dir, FILES.config);
    if (stampOf(configFile) !== this.configStamp) {
      const r = readJson(configFile);
      this.configStamp = r.stamp;
      if (r.ok) update.config = r.value;
      else problems.push(r.problem);
    }
    const ended = this.meta?.endedAt !== undefined;
    const final = opts.final === true || ended;

    const s = this.scalars.read(final, problems);
    update.scalars = s ? decodeScalars(s) : emptyScalars(this.scalars.width ?? this.meta?.info?.groups.length ?? 0);
    const e = this.evals.read(final, problems);
    if (e) update.evals = decodeEvals(e);
    const id = this.identity.read(final, problems);
    update.identity = id ? decodeIdentity(id) : emptyIdentity(this.identity.width ?? this.meta?.info?.topicWords?.length ?? 0);
    update.attentionSteps = this.attention.read(final, problems);
    this.counts.steps += update.scalars.n;
    this.counts.evals += update.evals.length;
    this.counts.identity += update.identity.n;

    // A closed run's counts catch a file cut exactly at a record boundary.
    const c = this.meta?.counts;
    if (final && c && !this.countsChecked) {
      this.countsChecked = true;
      const check = (file: string, have: number, want: number, end: number, alreadyReported: boolean) => {
        if (have < want && !alreadyReported) problems.push({ file, offset: end, kind: 'torn', message: `${have} records, meta.json counts ${want}` });
      };
      const reported = new Set(problems.map((p) => p.file));
      check(this.scalars.file, this.counts.steps, c.steps, this.scalars.end, reported.has(this.scalars.file));
      check(this.evals.file, this.counts.evals, c.evals, this.evals.end, reported.has(this.evals.file));
      check(this.identity.file, this.counts.identity, c.identity, this.identity.end, reported.has(this.identity.file));
      const idx = this.attention.indexFile!;
      const attentionReported = reported.has(this.attention.file) || reported.has(idx);
      check(this.attention.file, this.attention.steps.length, c.attention, fileSize(this.attention.file) ?? 0, attentionReported);
      // The frames may all have been found by walking attention.bin; a short index is still worth a rebuild.
      if (!attentionReported && this.attention.indexRecords < c.attention) {
        if (fileSize(idx) === undefined) problems.push({ file: idx, kind: 'missing', message: `file is missing; meta.json counts ${c.attention} frames (rebuildAttentionIndex restores it)` });
        else problems.push({ file: idx, offset: this.attention.indexEnd, kind: 'torn', message: `${this.attention.indexRecords} entries, meta.json counts ${c.attention} frames (rebuildAttentionIndex restores them)` });
      }
    }
    update.ended = ended;
    return update;
  }
}

/**
 * Every complete, checksummed frame record of `attentionFile`, found by walking its length
 * fields (no index): what attention.idx should list.
 */
export function scanAttention(attentionFile: string): { frames: { step: number; offset: number; n: number }[]; problems: StoreProblem[] } {
  const t = new AttentionTrack(path.resolve(attentionFile), undefined);
  const problems: StoreProblem[] = [];
  t.read(true, problems);
  return { frames: t.steps.map((step, i) => ({ step, offset: t.offsets[i]!, n: t.lengths[i]! })), problems };
}

/** Opens a run folder for display: metadata, config, every scalar, eval and identity row, the attention index. */
export function openRun(dir: string): StoredRun {
  const f = new RunFollower(dir);
  const u = f.poll({ final: true });
  return {
    dir: f.dir,
    id: path.basename(f.dir),
    meta: u.meta,
    config: u.config,
    scalars: u.scalars,
    evals: u.evals,
    identity: u.identity,
    attentionSteps: u.attentionSteps,
    readAttention: (step) => f.readAttention(step),
    problems: u.problems,
  };
}

// ─── reading back what a live run let go of ──────────────────────────────────────────

/**
 * The first `steps` scalar rows and the first `identity` identity rows of a run folder that
 * may still be being written (an incomplete last record is not an error here). Throws a
 * StoreError when the files hold fewer rows than asked for (torn, corrupt or deleted).
 */
export function readRows(dir: string, steps: number, identity: number): { scalars: StoredScalars; identity: StoredIdentity } {
  const problems: StoreProblem[] = [];
  const sFile = path.join(path.resolve(dir), FILES.scalars);
  const iFile = path.join(path.resolve(dir), FILES.identity);
  const sStream = new FixedStream(sFile, KIND.scalars, scalarPayloadBytes);
  const iStream = new FixedStream(iFile, KIND.identity, identityPayloadBytes);
  const sb = steps > 0 ? sStream.read(false, problems) : undefined;
  const ib = identity > 0 ? iStream.read(false, problems) : undefined;
  const sc = sb ? decodeScalars(sb) : emptyScalars(0);
  const id = ib ? decodeIdentity(ib) : emptyIdentity(0);
  const short = (file: string, have: number, want: number): never => {
    const p = problems.find((q) => q.file === file);
    throw new StoreError(p ?? { file, kind: have === 0 && fileSize(file) === undefined ? 'missing' : 'torn', message: `${have} records, ${want} were written` });
  };
  if (sc.n < steps) short(sFile, sc.n, steps);
  if (id.n < identity) short(iFile, id.n, identity);
  return { scalars: sliceScalars(sc, steps), identity: sliceIdentity(id, identity) };
}

function sliceScalars(s: StoredScalars, n: number): StoredScalars {
  if (s.n === n) return s;
  const g = s.groups;
  return { n, groups: g, step: s.step.subarray(0, n), loss: s.loss.subarray(0, n), trainAccuracy: s.trainAccuracy.subarray(0, n), stepMs: s.stepMs.subarray(0, n), gradNorms: s.gradNorms.subarray(0, n * g), weightNorms: s.weightNorms.subarray(0, n * g) };
}

function sliceIdentity(s: StoredIdentity, n: number): StoredIdentity {
  if (s.n === n) return s;
  const k = s.k;
  return { n, k, step: s.step.subarray(0, n), score: s.score.subarray(0, n * k), measured: s.measured.subarray(0, n * k), theory: s.theory.subarray(0, n * k), relError: s.relError.subarray(0, n * k) };
}

/** Reads attention frames of a run folder that may still be being written, finding new frames as they are asked for. */
export class AttentionReader {
  private readonly track: AttentionTrack;
  constructor(dir: string) {
    const d = path.resolve(dir);
    this.track = new AttentionTrack(path.join(d, FILES.attention), path.join(d, FILES.attentionIndex));
  }

  /** The frame captured at `step` or the latest before it. Throws StoreError if it is unreadable. */
  frameAt(step: number): AttentionFrame | undefined {
    const s = this.track.steps;
    if (s.length === 0 || s[s.length - 1]! < step) {
      const problems: StoreProblem[] = [];
      this.track.read(false, problems);
      if (problems.length > 0 && s.length === 0) throw new StoreError(problems[0]!);
    }
    return this.track.frameAt(step);
  }
}
