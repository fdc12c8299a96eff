/**
 * Reading runs back: `openRun` (a whole run, for display), `RunFollower` (a run another
 * process is still writing: each poll reads only the records appended since the last), and
 * `readAttention` on demand. Every record's CRC is checked. Damage never hides what is intact:
 * a torn tail is reported and everything before it returned; a damaged record in the middle
 * of a stream (bad length, checksum, a repeated or out-of-order step) is skipped and reported
 * with its byte range and the steps around it, and reading goes on at the next record that
 * checks; a file that cannot be read is reported and the run's other files are read. Files are
 * read in bounded chunks (io.ts), so a stream of any size reads in bounded memory beyond its
 * decoded rows. Attention frames are located through attention.idx (or, past its end, by
 * walking attention.bin's length fields) and read only when asked for.
 */
import * as path from 'node:path';
import { emptyMeasures, isMeasureEvent, measureWidth } from '../../protocol/measures';
import type { AttentionFrame, EvalPoint, MeasureChunk, MeasureDecl, MeasureEvent, ScalarChunk } from '../../protocol/messages';
import { indexAtOrBefore } from '../../protocol/steps';
import { crc32 } from './crc32';
import { checkMetaChecksum, decodeHeader, FILES, FORMAT_VERSION, HEADER_BYTES, KIND, MAX_PAYLOAD_BYTES, metaProblem, StoreError, type RunMeta, type StoreProblem, type StreamName } from './format';
import { closeQuietly, crcOfRange, errorCode, openRead, probeFile, readAt, readOptions, unreadableMessage, Window } from './io';
import { attentionRecord, emptyIdentity, emptyScalars, evalRecord, eventRecord, identityRecord, indexRecord, measuresRecord, recordStep, scalarRecord, type StoredIdentity, type StoredScalars } from './records';

export type { StoredIdentity, StoredScalars } from './records';

// ─── decoded data ────────────────────────────────────────────────────────────────────

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
  /** Declared measurements' values (meta.info.measures declares them), ids resolved. */
  measures: MeasureChunk;
  /** The frame captured at `step` or the latest before it; undefined if none is that early. Throws StoreError if the frame is unreadable. */
  readAttention(step: number): AttentionFrame | undefined;
  /** Torn or corrupt tails, skipped records, unreadable files; empty for a healthy run. */
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
  /** New measurement values only. */
  measures: MeasureChunk;
  problems: StoreProblem[];
  /** The run has ended (meta.json says so) and every record has been read. */
  ended: boolean;
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

// ─── growing columns ─────────────────────────────────────────────────────────────────

/** Rows are decoded into columns that grow by doubling: memory follows the records found, not the file's size. */
const FIRST_ROWS = 1024;

class ScalarRows {
  s: StoredScalars;
  n = 0;
  constructor(readonly groups: number) {
    this.s = emptyScalars(groups, FIRST_ROWS);
  }
  /** The next row to fill (call it before reading `s`: it may replace `s` with a larger one). */
  next(): number {
    if (this.n === this.s.n) {
      const g = this.groups;
      const b = emptyScalars(g, 2 * this.s.n);
      b.step.set(this.s.step);
      b.loss.set(this.s.loss);
      b.trainAccuracy.set(this.s.trainAccuracy);
      b.stepMs.set(this.s.stepMs);
      b.gradNorms.set(this.s.gradNorms);
      b.weightNorms.set(this.s.weightNorms);
      this.s = b;
    }
    return this.n++;
  }
  done(): StoredScalars {
    const { s, n } = this;
    const g = this.groups;
    const cut = <T extends Float32Array | Float64Array | Uint32Array>(a: T, k: number): T => (n === s.n ? a : (a.slice(0, n * k) as T));
    return { n, groups: g, step: cut(s.step, 1), loss: cut(s.loss, 1), trainAccuracy: cut(s.trainAccuracy, 1), stepMs: cut(s.stepMs, 1), gradNorms: cut(s.gradNorms, g), weightNorms: cut(s.weightNorms, g) };
  }
}

class IdentityRows {
  s: StoredIdentity;
  n = 0;
  constructor(readonly k: number) {
    this.s = emptyIdentity(k, FIRST_ROWS);
  }
  next(): number {
    if (this.n === this.s.n) {
      const b = emptyIdentity(this.k, 2 * this.s.n);
      for (const f of ['step', 'score', 'measured', 'theory', 'relError'] as const) b[f].set(this.s[f]);
      this.s = b;
    }
    return this.n++;
  }
  done(): StoredIdentity {
    const { s, n, k } = this;
    if (n === s.n) return s;
    return { n, k, step: s.step.slice(0, n), score: s.score.slice(0, n * k), measured: s.measured.slice(0, n * k), theory: s.theory.slice(0, n * k), relError: s.relError.slice(0, n * k) };
  }
}

class F64Rows {
  a = new Float64Array(64);
  n = 0;
  push(v: ArrayLike<number>): void {
    if (this.n + v.length > this.a.length) {
      let cap = this.a.length * 2;
      while (cap < this.n + v.length) cap *= 2;
      const b = new Float64Array(cap);
      b.set(this.a.subarray(0, this.n));
      this.a = b;
    }
    for (let i = 0; i < v.length; i++) this.a[this.n + i] = v[i]!;
    this.n += v.length;
  }
  done(): Float64Array {
    return this.a.slice(0, this.n);
  }
}

// ─── JSON files ──────────────────────────────────────────────────────────────────────

type JsonRead = { ok: true; value: unknown; stamp: string } | { ok: false; problem: StoreProblem; stamp: string };

/** A file's identity for change detection (atomic replacement changes the inode). */
function stampOf(file: string): string {
  try {
    const st = readOptions().fs.statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch (e) {
    return errorCode(e) === 'ENOENT' ? 'missing' : `error:${errorCode(e) ?? '?'}`;
  }
}

/** Reads a JSON file through the configured fs: its value, or why not (missing, unreadable, invalid). */
export function readJsonFile(file: string): JsonRead {
  const stamp = stampOf(file);
  if (stamp === 'missing') return { ok: false, problem: { file, kind: 'missing', message: `${path.basename(file)} is missing` }, stamp };
  let text: string;
  try {
    const p = probeFile(file);
    if (p.state === 'unreadable') throw p.error;
    text = readOptions().fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return { ok: false, problem: { file, kind: 'missing', message: `${path.basename(file)} is missing` }, stamp: 'missing' };
    return { ok: false, problem: { file, kind: 'unreadable', message: unreadableMessage(path.basename(file), e) }, stamp };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown, stamp };
  } catch (e) {
    return { ok: false, problem: { file, kind: 'invalid', message: `unreadable JSON: ${e instanceof Error ? e.message : String(e)}` }, stamp };
  }
}

/**
 * meta.json checked: the document (without counts when its checksum fails, since they cannot
 * be trusted) and what is wrong with it. `meta` is undefined when it is missing, unreadable or
 * not a run's metadata.
 */
export function readMeta(file: string): { meta?: RunMeta; problem?: StoreProblem; stamp: string } {
  const r = readJsonFile(file);
  if (!r.ok) return { problem: r.problem, stamp: r.stamp };
  const why = metaProblem(r.value);
  if (why !== undefined) return { problem: { file, kind: 'invalid', message: `meta.json ${why}` }, stamp: r.stamp };
  const doc = r.value as Record<string, unknown>;
  const sum = checkMetaChecksum(doc);
  if (sum === 'mismatch' || sum === 'missing') {
    const { counts: _untrusted, ...rest } = doc;
    const what = sum === 'missing' ? `meta.json of format version ${String(doc['formatVersion'])} has no checksum` : "meta.json's checksum does not match its contents";
    return {
      meta: rest as unknown as RunMeta,
      problem: { file, kind: 'corrupt', message: `${what} (it was damaged or edited after it was written); its fields are shown as they are, its record counts are not used` },
      stamp: r.stamp,
    };
  }
  return { meta: r.value as RunMeta, stamp: r.stamp };
}

// ─── record streams ──────────────────────────────────────────────────────────────────

/** One record found: its payload is at buf[p] in `dv`'s buffer (only its first 4 bytes when the stream does not load payloads). */
interface Found {
  dv: DataView;
  buf: Uint8Array;
  p: number;
  n: number;
  /** File offset of the record (its length field). */
  offset: number;
  step: number;
}

interface StreamSpec {
  kind: string;
  /** The payload size for a header width, for streams of fixed-size records. */
  fixed?: (width: number) => number;
  /** Smallest payload of a variable-size record. */
  minPayload: number;
  /** What strictly increases along the stream (default: the step; events: step, then seq). */
  key?: (dv: DataView, p: number) => number;
  /** The consumer decodes payloads (false: it needs only step, offset and size, and large records are checked in chunks). */
  payload: boolean;
}

const SPECS: Record<StreamName, StreamSpec> = {
  scalars: { kind: KIND.scalars, fixed: scalarRecord.bytes, minPayload: 0, payload: true },
  evals: { kind: KIND.evals, fixed: evalRecord.bytes, minPayload: 0, payload: true },
  identity: { kind: KIND.identity, fixed: identityRecord.bytes, minPayload: 0, payload: true },
  attentionIndex: { kind: KIND.attentionIndex, fixed: indexRecord.bytes, minPayload: 0, payload: true },
  attention: { kind: KIND.attention, minPayload: 8, payload: false },
  measures: { kind: KIND.measures, minPayload: 8, payload: true },
  events: { kind: KIND.events, minPayload: 16, key: eventRecord.key, payload: true },
};

/**
 * An incremental, bounded-memory reader of one stream file. Remembers where it stopped, so a
 * follower reads only new bytes. A record whose length or checksum is wrong opens a gap: the
 * reader scans forward, byte by byte, to the next record that checks, and reports the gap's
 * bytes and the steps around it once it closes (or, at the end, reports a tear when nothing
 * follows a record cut short). A damaged header is reported and, when the width is known
 * otherwise (0 for most kinds; meta.json's for scalars and identity), reading goes on.
 */
class RecordStream {
  /** Next byte to look at (in a gap: the scan position). 0 until the header is read. */
  pos = 0;
  width: number | undefined;
  version: number | undefined;
  /** The header is unreadable: nothing more is read. */
  stopped = false;
  records = 0;
  /** Step and order key of the last record accepted (−1: none). */
  lastStep = -1;
  private lastKey = -1;
  /** End of the last record accepted. */
  goodEnd = 0;
  private tornReported = false;
  private unreadableReported = false;
  /** Some damage in this file has been reported (by any poll). */
  damaged = false;
  private gap: { start: number; why: string; torn: boolean; stepBefore: number | undefined } | undefined;

  constructor(
    readonly file: string,
    private readonly spec: StreamSpec,
    private readonly fallbackWidth: () => number | undefined = () => undefined,
  ) {}

  /** Continue from `offset` (records before it were located another way; attention.bin past its index). */
  skipTo(offset: number, lastStep: number): void {
    if (offset > this.pos && this.gap === undefined) {
      this.pos = offset;
      this.goodEnd = offset;
    }
    if (lastStep > this.lastStep) this.lastStep = this.lastKey = lastStep;
  }

  /** Reads the header if not yet read; false while it is absent or unreadable. */
  header(final: boolean, problems: StoreProblem[]): boolean {
    if (this.width !== undefined) return true;
    this.read(final, problems, () => undefined, true);
    return this.width !== undefined;
  }

  /**
   * Visits the complete, checked records appended since the last call. `final`: the writer is
   * done, so an incomplete tail is a tear (reported) rather than a record still being written.
   */
  read(final: boolean, problems: StoreProblem[], visit: (r: Found) => void, headerOnly = false): void {
    if (this.stopped) return;
    const probe = probeFile(this.file);
    if (probe.state === 'absent') return; // no records yet
    if (probe.state === 'unreadable') {
      this.unreadable(problems, probe.error);
      return;
    }
    const size = probe.size;
    if (size < this.pos) {
      this.stop(problems, 'torn', this.pos, `file shrank to ${size} bytes after ${this.pos} were read`);
      return;
    }
    if (size === this.pos) {
      if (final && this.pos === 0) this.tear(problems, 0, 'file is empty (no header)');
      if (final) this.closeGap(problems, size, undefined);
      return;
    }
    let fd: number;
    try {
      fd = openRead(this.file);
    } catch (e) {
      if (errorCode(e) !== 'ENOENT') this.unreadable(problems, e);
      return;
    }
    try {
      const w = new Window(fd, size, this.pos);
      if (this.width === undefined) {
        if (!w.ensure(0, HEADER_BYTES)) {
          if (final) this.tear(problems, 0, `file ends inside its header (${size} of ${HEADER_BYTES} bytes)`);
          return;
        }
        const h = decodeHeader(w.buf.subarray(0, HEADER_BYTES), this.spec.kind);
        if ('error' in h) {
          const fb = this.fallbackWidth();
          if (fb === undefined) {
            this.stop(problems, 'corrupt', 0, h.error);
            return;
          }
          // The records may be intact: read on with the width known from elsewhere.
          this.width = fb;
          this.version = FORMAT_VERSION;
          const why = `${h.error} in the header (records read on${fb > 0 ? ` with meta.json's width ${fb}` : ''})`;
          // Read with the header alone (attention.bin, whose frames the index locates): report it now.
          if (headerOnly) this.report(problems, { file: this.file, offset: 0, end: HEADER_BYTES, kind: 'corrupt', message: why });
          else this.gap = { start: 0, why, torn: false, stepBefore: undefined };
        } else {
          this.width = h.width;
          this.version = h.version;
        }
        this.pos = this.goodEnd = HEADER_BYTES;
      }
      if (headerOnly) return;
      this.scan(fd, w, size, final, problems, visit);
      this.unreadableReported = false;
    } catch (e) {
      // A read that failed midway (EIO, EISDIR): report it and try again at the next poll.
      this.unreadable(problems, e, this.pos);
      return;
    } finally {
      closeQuietly(fd);
    }
    if (final) this.closeGap(problems, size, undefined);
  }

  private scan(fd: number, w: Window, size: number, final: boolean, problems: StoreProblem[], visit: (r: Found) => void): void {
    const spec = this.spec;
    const fixedN = spec.fixed?.(this.width!);
    const { bufferBytes } = readOptions();
    const plausible = (len: number): boolean => (fixedN !== undefined ? len === fixedN : len >= spec.minPayload && (len & 3) === 0 && len <= MAX_PAYLOAD_BYTES);
    for (;;) {
      let at = this.pos;
      if (this.gap !== undefined) {
        at = this.nextCandidate(w, at, size, fixedN, plausible);
        this.pos = at;
      }
      const left = size - at;
      if (left === 0) return;
      if (left < 4) {
        if (this.gap === undefined) {
          if (final) this.tear(problems, at, `file ends inside a record's length field (${left} of 4 bytes)`);
          return;
        }
        this.pos = size; // the gap runs to the end
        return;
      }
      w.ensure(at, 4);
      const len = w.dv.getUint32(at - w.base, true);
      let why: string;
      if (plausible(len)) {
        if (left < len + 8) {
          if (!final) return; // possibly a record still being written: wait for it
          if (this.gap === undefined) this.gap = { start: at, why: `file ends inside a record (${left} of ${len + 8} bytes)`, torn: true, stepBefore: this.stepBefore() };
          this.pos = at + 1; // a length field cut short, or damage: look for a record after it
          continue;
        }
        let ok: boolean;
        let step: number;
        let key: number;
        if (spec.payload || len + 8 <= bufferBytes) {
          if (!w.ensure(at, len + 8)) return; // the file shrank
          const o = at - w.base;
          ok = crc32(w.buf, o, o + 4 + len) === w.dv.getUint32(o + 4 + len, true);
          step = recordStep(w.dv, o + 4);
          key = spec.key && len >= 8 ? spec.key(w.dv, o + 4) : step;
        } else {
          // A large record the consumer does not load: check it in chunks.
          const c = crcOfRange(fd, at, 4 + len, crc32);
          const tail = readAt(fd, at + 4 + len, 4);
          ok = c !== undefined && tail.length === 4 && c === new DataView(tail.buffer, tail.byteOffset, 4).getUint32(0, true);
          if (!w.ensure(at, 8)) return;
          step = recordStep(w.dv, at - w.base + 4);
          key = step;
        }
        if (ok) {
          if (this.gap !== undefined) this.closeGap(problems, at, step);
          this.pos = at + 8 + len;
          const last = this.lastStep;
          if (this.lastKey >= 0 && key <= this.lastKey) {
            this.report(problems, {
              file: this.file,
              offset: at,
              end: at + 8 + len,
              stepBefore: last,
              kind: 'corrupt',
              message: key === this.lastKey ? `the record of step ${step} is repeated (again at byte ${at}); the repeat was skipped` : `a record of step ${step} after step ${last} (out of order) at byte ${at}; it was skipped`,
            });
            continue;
          }
          this.lastStep = step;
          this.lastKey = key;
          this.goodEnd = this.pos;
          this.records++;
          visit({ dv: w.dv, buf: w.buf, p: at - w.base + 4, n: len, offset: at, step });
          continue;
        }
        why = 'record checksum mismatch';
      } else {
        why = fixedN !== undefined ? `record length ${len}, this stream's records have ${fixedN} bytes` : `record length ${len} is not a valid record's`;
      }
      // A bad record at `at`.
      if (this.gap === undefined) {
        // The last bytes of a live file may be a record still being written: wait for it.
        if (!final && (fixedN !== undefined ? left <= fixedN + 8 : left < 8 || (plausible(len) && at + 8 + len === size))) return;
        this.gap = { start: at, why, torn: false, stepBefore: this.stepBefore() };
      }
      this.pos = at + 1;
    }
  }

  /** The first offset ≥ at whose u32 could be a record's length; `size` when none. Fixed-size streams search natively for their length's bytes. */
  private nextCandidate(w: Window, at: number, size: number, fixedN: number | undefined, plausible: (len: number) => boolean): number {
    let needle: Uint8Array | undefined;
    if (fixedN !== undefined) {
      needle = new Uint8Array(4);
      new DataView(needle.buffer).setUint32(0, fixedN, true);
    }
    while (at + 4 <= size) {
      if (!w.ensure(at, 4)) return size;
      const base = w.base;
      const avail = w.len;
      let o = at - base;
      if (needle) {
        const i = Buffer.from(w.buf.buffer, w.buf.byteOffset, avail).indexOf(needle, o);
        if (i >= 0) return base + i;
        o = avail - 3; // a match may start in the last 3 bytes and end past the window
      } else {
        const dv = w.dv;
        for (; o + 4 <= avail; o++) if (plausible(dv.getUint32(o, true))) return base + o;
      }
      at = base + o;
    }
    return size;
  }

  private report(problems: StoreProblem[], p: StoreProblem): void {
    this.damaged = true;
    problems.push(p);
  }

  private stepBefore(): number | undefined {
    return this.lastStep >= 0 ? this.lastStep : undefined;
  }

  /** Reports the open gap, which ends at `end` where a record of `stepAfter` was found (undefined: the end of the file). */
  private closeGap(problems: StoreProblem[], end: number, stepAfter: number | undefined): void {
    const g = this.gap;
    if (g === undefined) return;
    this.gap = undefined;
    if (stepAfter === undefined && g.torn) {
      this.tear(problems, g.start, g.why);
      this.pos = end;
      return;
    }
    const p: StoreProblem = { file: this.file, offset: g.start, end, kind: 'corrupt', message: '' };
    if (g.stepBefore !== undefined) p.stepBefore = g.stepBefore;
    if (stepAfter !== undefined) p.stepAfter = stepAfter;
    if (g.start === 0) {
      p.message = `${g.why}${end > HEADER_BYTES ? `; bytes ${HEADER_BYTES}–${end} after it skipped too` : ''}; ${stepAfter !== undefined ? `records read from step ${stepAfter} on` : 'no readable record after it'}`;
      this.report(problems, p);
      return;
    }
    const around = [g.stepBefore !== undefined ? `after step ${g.stepBefore}` : '', stepAfter !== undefined ? `before step ${stepAfter}` : ''].filter((x) => x).join(' and ') || 'after the header';
    p.message = `${g.why}: bytes ${g.start}–${end} skipped (records ${around} lost); ${stepAfter !== undefined ? `reading went on at the record of step ${stepAfter}` : 'no readable record after them'}`;
    this.report(problems, p);
  }

  private tear(problems: StoreProblem[], offset: number, message: string): void {
    if (this.tornReported) return;
    this.tornReported = true;
    this.report(problems, { file: this.file, offset, kind: 'torn', message });
  }

  private unreadable(problems: StoreProblem[], e: unknown, offset?: number): void {
    if (this.unreadableReported) return;
    this.unreadableReported = true;
    const p: StoreProblem = { file: this.file, kind: 'unreadable', message: unreadableMessage(path.basename(this.file), e) };
    if (offset !== undefined && offset > 0) p.offset = offset;
    this.report(problems, p);
  }

  private stop(problems: StoreProblem[], kind: StoreProblem['kind'], offset: number, message: string): void {
    this.stopped = true;
    this.report(problems, { file: this.file, offset, kind, message });
  }
}

// ─── attention frames ────────────────────────────────────────────────────────────────

/**
 * Where each attention frame is: steps[i]'s record starts at offsets[i] in attention.bin and
 * has lengths[i] payload bytes. Built from attention.idx, then extended past the index's end by
 * walking attention.bin (checking each walked record's CRC, skipping damage), so a torn,
 * damaged or missing index loses nothing that attention.bin holds.
 */
class AttentionTrack {
  readonly steps: number[] = [];
  readonly offsets: number[] = [];
  readonly lengths: number[] = [];
  private readonly index: RecordStream | undefined;
  private readonly bin: RecordStream;
  /** Index entries read but not yet confirmed against attention.bin's size. */
  private pendingIndex: { step: number; n: number; offset: number }[] = [];
  /** End of the last known record. */
  private end = HEADER_BYTES;
  private reported = new Set<string>();

  /** Without `indexFile`, frames are found by walking attention.bin alone. */
  constructor(
    readonly file: string,
    indexFile: string | undefined,
  ) {
    this.bin = new RecordStream(file, SPECS.attention, () => 0);
    if (indexFile !== undefined) this.index = new RecordStream(indexFile, SPECS.attentionIndex, () => 0);
  }

  get indexFile(): string | undefined {
    return this.index?.file;
  }

  /** Entries read from attention.idx, and the offset after the last. */
  get indexRecords(): number {
    return this.index?.records ?? 0;
  }

  get indexEnd(): number {
    return this.index?.goodEnd ?? 0;
  }

  /** Damage in attention.bin or attention.idx has been reported. */
  get damaged(): boolean {
    return this.bin.damaged || this.index?.damaged === true || this.reported.size > 0;
  }

  /** Locates the frames written since the last call; returns their steps. */
  read(final: boolean, problems: StoreProblem[]): number[] {
    const before = this.steps.length;
    this.index?.read(final, problems, (r) => this.pendingIndex.push(indexRecord.decode(r.dv, r.p)));
    const probe = probeFile(this.file);
    if (probe.state === 'absent') {
      if (this.pendingIndex.length > 0 && final) this.once(problems, 'missing', { file: this.file, kind: 'missing', message: `attention.idx lists ${this.pendingIndex.length} frames but attention.bin is missing` });
      return [];
    }
    if (!this.bin.header(final, problems)) return [];
    const size = probe.state === 'file' ? probe.size : 0;
    // Index entries: trusted for location (their own CRC passed); the frame's CRC is checked when it is read.
    while (this.pendingIndex.length > 0) {
      const e = this.pendingIndex[0]!;
      if (e.offset < this.end) {
        this.pendingIndex.shift(); // already found by walking
        continue;
      }
      if (e.offset > this.end) break; // a gap: walk to it
      if (e.offset + 8 + e.n > size) break; // not (yet) all there: the walk below waits for it or reports the tear
      this.pendingIndex.shift();
      this.accept(e.step, e.offset, e.n);
    }
    // Frames past the index: walk attention.bin, checking each record.
    if (probe.state === 'file' && this.end < size) {
      this.bin.skipTo(this.end, this.steps[this.steps.length - 1] ?? -1);
      this.bin.read(final, problems, (r) => {
        const last = this.steps[this.steps.length - 1];
        if (last !== undefined && r.step <= last) return; // the stream reported it
        this.accept(r.step, r.offset, r.n);
      });
      if (this.bin.goodEnd > this.end) this.end = this.bin.goodEnd;
      while (this.pendingIndex.length > 0 && this.pendingIndex[0]!.offset < this.end) this.pendingIndex.shift(); // found by walking
    }
    if (final && this.pendingIndex.length > 0) {
      const e = this.pendingIndex[0]!;
      if (e.offset + 8 + e.n <= size) this.once(problems, 'boundary', { file: this.file, offset: e.offset, kind: 'corrupt', message: `attention.idx lists a frame of step ${e.step} at offset ${e.offset}, which is not a record boundary of attention.bin` });
    }
    return this.steps.slice(before);
  }

  private once(problems: StoreProblem[], key: string, p: StoreProblem): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    problems.push(p);
  }

  private accept(step: number, offset: number, n: number): void {
    const last = this.steps[this.steps.length - 1];
    if (last !== undefined && step <= last) return; // the index stream already reported a repeat
    this.steps.push(step);
    this.offsets.push(offset);
    this.lengths.push(n);
    this.end = offset + 8 + n;
  }

  /** The frame at `step` or the latest before it. Throws StoreError (only) when it cannot be read. */
  frameAt(step: number): AttentionFrame | undefined {
    const s = this.steps;
    const found = indexAtOrBefore(s, step);
    if (found < 0) return undefined;
    const offset = this.offsets[found]!;
    const n = this.lengths[found]!;
    const fail = (message: string, kind: StoreProblem['kind'] = 'corrupt'): never => {
      throw new StoreError({ file: this.file, offset, kind, message });
    };
    let rec: Uint8Array;
    try {
      const fd = openRead(this.file);
      try {
        rec = readAt(fd, offset, n + 8);
      } finally {
        closeQuietly(fd);
      }
    } catch (e) {
      return fail(unreadableMessage(path.basename(this.file), e), 'unreadable');
    }
    if (rec.length < n + 8) fail(`file ends inside the frame of step ${s[found]} (${rec.length} of ${n + 8} bytes)`);
    const rv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
    if (rv.getUint32(0, true) !== n) fail(`record length ${rv.getUint32(0, true)}, the index says ${n}`);
    if (crc32(rec, 0, 4 + n) !== rv.getUint32(4 + n, true)) fail(`checksum mismatch in the frame of step ${s[found]}`);
    let frame: AttentionFrame;
    try {
      frame = attentionRecord.decode(rec, 4, n);
    } catch (e) {
      return fail(e instanceof Error ? e.message : String(e));
    }
    if (frame.step !== s[found]) fail(`the frame holds step ${frame.step}, the index says ${s[found]}`);
    return frame;
  }
}

// ─── measurements ────────────────────────────────────────────────────────────────────

/** Samples and events of one poll, resolved against info.measures; what does not fit is counted and reported once per file. */
class MeasureCollector {
  private readonly series = new Map<string, { steps: F64Rows; values: F64Rows }>();
  private readonly matrices: MeasureChunk['matrices'] = [];
  private readonly events: MeasureEvent[] = [];
  private readonly bad = new Map<string, { count: number; offset: number; step: number; why: string }>();

  constructor(private readonly decls: readonly MeasureDecl[]) {}

  private reject(file: string, offset: number, step: number, why: string): void {
    const b = this.bad.get(file);
    if (b) b.count++;
    else this.bad.set(file, { count: 1, offset, step, why });
  }

  sample(file: string, r: Found): void {
    let rec: ReturnType<typeof measuresRecord.decode>;
    try {
      rec = measuresRecord.decode(r.dv, r.p, r.n);
    } catch (e) {
      this.reject(file, r.offset, r.step, e instanceof Error ? e.message : String(e));
      return;
    }
    for (const s of rec.samples) {
      const d = this.decls[s.index];
      if (!d) this.reject(file, r.offset, rec.step, `measurement index ${s.index}, meta.json's info.measures declares ${this.decls.length}`);
      else if (d.kind === 'event') this.reject(file, r.offset, rec.step, `${JSON.stringify(d.id)} is an event, not a value`);
      else if (s.values.length !== measureWidth(d)) this.reject(file, r.offset, rec.step, `${JSON.stringify(d.id)} has ${s.values.length} values, its declaration ${measureWidth(d)}`);
      else if (d.kind === 'matrix') this.matrices.push({ id: d.id, step: rec.step, values: Float32Array.from(s.values) });
      else {
        let e = this.series.get(d.id);
        if (!e) this.series.set(d.id, (e = { steps: new F64Rows(), values: new F64Rows() }));
        e.steps.push([rec.step]);
        e.values.push(s.values);
      }
    }
  }

  event(file: string, r: Found): void {
    let ev: ReturnType<typeof eventRecord.decode>;
    try {
      ev = eventRecord.decode(r.buf, r.dv, r.p, r.n);
    } catch (e) {
      this.reject(file, r.offset, r.step, e instanceof Error ? e.message : String(e));
      return;
    }
    const d = this.decls[ev.index];
    if (!d) return this.reject(file, r.offset, ev.step, `event index ${ev.index}, meta.json's info.measures declares ${this.decls.length}`);
    if (d.kind !== 'event') return this.reject(file, r.offset, ev.step, `${JSON.stringify(d.id)} is a ${d.kind}, not an event`);
    const out: MeasureEvent = { id: d.id, step: ev.step, text: ev.text };
    if (ev.payload !== undefined) out.payload = ev.payload;
    if (!isMeasureEvent(out)) return this.reject(file, r.offset, ev.step, 'text or payload too large');
    this.events.push(out);
  }

  done(problems: StoreProblem[]): MeasureChunk {
    for (const [file, b] of this.bad) {
      problems.push({ file, offset: b.offset, kind: 'invalid', message: `${b.count} record${b.count === 1 ? '' : 's'} or sample${b.count === 1 ? '' : 's'} do not fit meta.json's info.measures and were skipped (the first at step ${b.step}, byte ${b.offset}: ${b.why})` });
    }
    if (this.series.size === 0 && this.matrices.length === 0 && this.events.length === 0) return emptyMeasures();
    return { series: [...this.series].map(([id, e]) => ({ id, step: e.steps.done(), values: e.values.done() })), matrices: this.matrices, events: this.events };
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
  private readonly scalars: RecordStream;
  private readonly evals: RecordStream;
  private readonly identity: RecordStream;
  private readonly measures: RecordStream;
  private readonly events: RecordStream;
  private readonly attention: AttentionTrack;
  private metaStamp = '';
  private configStamp = '';
  private meta: RunMeta | undefined;
  private countsChecked = false;
  private widthsChecked = '';

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    const f = (name: StreamName, width: () => number | undefined = () => 0) => new RecordStream(path.join(this.dir, FILES[name]), SPECS[name], width);
    this.scalars = f('scalars', () => this.meta?.info?.groups.length);
    this.evals = f('evals');
    this.identity = f('identity', () => this.meta?.info?.topicWords?.length);
    this.measures = f('measures');
    this.events = f('events');
    this.attention = new AttentionTrack(path.join(this.dir, FILES.attention), path.join(this.dir, FILES.attentionIndex));
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
    const update: RunUpdate = { scalars: emptyScalars(0), evals: [], identity: emptyIdentity(0), attentionSteps: [], measures: emptyMeasures(), problems, ended: false };

    // meta.json first: if it says the run ended, every record was flushed before it was written.
    const metaFile = path.join(this.dir, FILES.meta);
    if (stampOf(metaFile) !== this.metaStamp) {
      const r = readMeta(metaFile);
      this.metaStamp = r.stamp;
      if (r.problem) problems.push(r.problem);
      if (r.meta) {
        this.meta = r.meta;
        update.meta = r.meta;
      }
    }
    const configFile = path.join(this.dir, FILES.config);
    if (stampOf(configFile) !== this.configStamp) {
      const r = readJsonFile(configFile);
      this.configStamp = r.stamp;
      if (r.ok) update.config = r.value;
      else problems.push(r.problem);
    }
    const ended = this.meta?.endedAt !== undefined;
    const final = opts.final === true || ended;

    const groups = this.meta?.info?.groups.length;
    const topicWords = this.meta?.info?.topicWords?.length;
    let sc: ScalarRows | undefined;
    this.scalars.read(final, problems, (r) => {
      sc ??= new ScalarRows(this.scalars.width!);
      const i = sc.next();
      scalarRecord.decodeInto(r.dv, r.p, sc.s, i);
    });
    update.scalars = sc ? sc.done() : emptyScalars(this.scalars.width ?? groups ?? 0);
    this.evals.read(final, problems, (r) => update.evals.push(evalRecord.decode(r.dv, r.p)));
    let id: IdentityRows | undefined;
    this.identity.read(final, problems, (r) => {
      id ??= new IdentityRows(this.identity.width!);
      const i = id.next();
      identityRecord.decodeInto(r.dv, r.p, id.s, i);
    });
    update.identity = id ? id.done() : emptyIdentity(this.identity.width ?? topicWords ?? 0);
    update.attentionSteps = this.attention.read(final, problems);
    const mc = new MeasureCollector(this.meta?.info?.measures ?? []);
    this.measures.read(final, problems, (r) => mc.sample(this.measures.file, r));
    this.events.read(final, problems, (r) => mc.event(this.events.file, r));
    update.measures = mc.done(problems);

    // meta.json and the streams' headers must agree on the widths (checked once per meta.json version).
    const widthKey = `${this.metaStamp}|${this.scalars.width}|${this.identity.width}`;
    if (this.meta && widthKey !== this.widthsChecked && (this.scalars.width !== undefined || this.identity.width !== undefined)) {
      this.widthsChecked = widthKey;
      if (groups !== undefined && this.scalars.width !== undefined && groups !== this.scalars.width) {
        problems.push({ file: metaFile, kind: 'invalid', message: `meta.json names ${groups} parameter groups, but scalars.bin's records have ${this.scalars.width}: the group names do not belong to these numbers` });
      }
      if (topicWords !== undefined && this.identity.width !== undefined && topicWords !== this.identity.width) {
        problems.push({ file: metaFile, kind: 'invalid', message: `meta.json names ${topicWords} topic words, but identity.bin's records have ${this.identity.width}` });
      }
    }

    // A closed run's counts catch a file cut exactly at a record boundary.
    const c = this.meta?.counts;
    if (final && c && !this.countsChecked) {
      this.countsChecked = true;
      const reported = new Set(problems.map((p) => p.file));
      // A shortfall in a file already reported damaged (now or by an earlier poll) is that damage.
      const check = (s: RecordStream, want: number | undefined) => {
        if (want !== undefined && s.records < want && !reported.has(s.file) && !s.damaged) problems.push({ file: s.file, offset: s.goodEnd, kind: 'torn', message: `${s.records} records, meta.json counts ${want}` });
      };
      check(this.scalars, c.steps);
      check(this.evals, c.evals);
      check(this.identity, c.identity);
      check(this.measures, c.measures);
      check(this.events, c.events);
      const idx = this.attention.indexFile!;
      const attentionReported = reported.has(this.attention.file) || reported.has(idx) || this.attention.damaged;
      if (this.attention.steps.length < c.attention && !attentionReported) {
        problems.push({ file: this.attention.file, offset: probeSize(this.attention.file), kind: 'torn', message: `${this.attention.steps.length} records, meta.json counts ${c.attention}` });
      }
      // The frames may all have been found by walking attention.bin; a short index is still worth a rebuild.
      if (!attentionReported && this.attention.indexRecords < c.attention) {
        if (probeFile(idx).state === 'absent') problems.push({ file: idx, kind: 'missing', message: `file is missing; meta.json counts ${c.attention} frames (rebuildAttentionIndex restores it)` });
        else problems.push({ file: idx, offset: this.attention.indexEnd, kind: 'torn', message: `${this.attention.indexRecords} entries, meta.json counts ${c.attention} frames (rebuildAttentionIndex restores them)` });
      }
    }
    update.ended = ended;
    return update;
  }
}

function probeSize(file: string): number {
  const p = probeFile(file);
  return p.state === 'file' ? p.size : 0;
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

/** Opens a run folder for display: metadata, config, every scalar, eval, identity and measurement row, the attention index. */
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
    measures: u.measures,
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
  const sStream = new RecordStream(path.join(path.resolve(dir), FILES.scalars), SPECS.scalars);
  const iStream = new RecordStream(path.join(path.resolve(dir), FILES.identity), SPECS.identity);
  /** Reads a stream's first `want` rows; a problem met before they are all read fails the read (a skipped record would shift the rows). */
  const first = <R extends ScalarRows | IdentityRows>(s: RecordStream, want: number, make: (width: number) => R, decode: (r: Found, rows: R) => void): R | undefined => {
    const problems: StoreProblem[] = [];
    let rows: R | undefined;
    let failed: StoreProblem | undefined;
    if (want > 0)
      s.read(false, problems, (r) => {
        rows ??= make(s.width!);
        if (rows.n >= want || failed) return;
        if (problems.length > 0) failed = problems[0];
        else decode(r, rows);
      });
    const have = rows?.n ?? 0;
    if (have < want) failed ??= problems[0] ?? { file: s.file, kind: have === 0 && probeFile(s.file).state === 'absent' ? 'missing' : 'torn', message: `${have} records, ${want} were written` };
    if (failed) throw new StoreError(failed);
    return rows;
  };
  const sc = first(sStream, steps, (g) => new ScalarRows(g), (r, rows) => {
    const i = rows.next();
    scalarRecord.decodeInto(r.dv, r.p, rows.s, i);
  });
  const id = first(iStream, identity, (k) => new IdentityRows(k), (r, rows) => {
    const i = rows.next();
    identityRecord.decodeInto(r.dv, r.p, rows.s, i);
  });
  return { scalars: sc ? sc.done() : emptyScalars(0), identity: id ? id.done() : emptyIdentity(0) };
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
