/**
 * RunWriter: records one run into its folder as it trains (format.ts has the bytes).
 *
 * Records are encoded into per-stream buffers and written with one `fs.writeSync` per stream
 * per flush. A flush happens when `flush()` is called, when an append finds the oldest
 * unflushed record older than `flushIntervalMs` or the buffers over `maxPendingBytes`, and
 * from an unref'd timer so a paused run's tail is not held back. A process killed at any
 * instant therefore loses at most the records appended since the last flush; everything a
 * flush reported (return value, `flushed`, `onFlush`) is in the files and stays readable
 * after a SIGKILL. Durability against power loss needs fsync (`fsync: 'always'`), which costs
 * a disk round trip per flush; by default files are fsynced once, at close.
 *
 * No 'vscode' import: the extension host and the command line both use this.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AttentionMapData, EvalData, IdentityData, RunInfo, RunStatus, RunSummaryData, StepData } from '../../protocol/messages';
import { crc32 } from './crc32';
import {
  encodeHeader,
  EVAL_PAYLOAD_BYTES,
  evalFlags,
  FILES,
  FORMAT_VERSION,
  HEADER_BYTES,
  identityPayloadBytes,
  INDEX_PAYLOAD_BYTES,
  KIND,
  MAX_PAYLOAD_BYTES,
  META_FORMAT,
  scalarPayloadBytes,
  STAGES,
  type RunMeta,
  type StreamCounts,
  type StreamName,
} from './format';

const LITTLE_ENDIAN = os.endianness() === 'LE';

/** What the caller knows when a run starts; the writer fills in the rest of RunMeta. */
export interface RunMetaInit {
  name: string;
  preset?: string;
  configFile?: string;
  seed?: number;
  source?: string;
  git?: { commit: string; branch?: string };
  /** The trainer's RunInfo, if already known (else `setInfo` later). Its config is ignored here. */
  info?: RunInfo | Omit<RunInfo, 'config'>;
  /** Default: now. */
  startedAt?: Date;
  /** Default 'running'. */
  status?: RunStatus;
}

export interface RunWriterOptions {
  /** Longest a record waits in memory before it is written, in ms. Default 200. */
  flushIntervalMs?: number;
  /** Buffered bytes (all streams) that force a flush. Default 1 MiB. */
  maxPendingBytes?: number;
  /** 'close' (default): fsync data files and meta.json once, at close. 'always': also after every flush. 'never'. */
  fsync?: 'never' | 'close' | 'always';
  /** Called after every flush that wrote something, with the records now in the files. */
  onFlush?: (flushed: StreamCounts) => void;
  /** A timer-driven flush failed (appends and flush() throw instead). Default: ignored; the writer stops. */
  onError?: (e: Error) => void;
}

/** One stream's file and its unflushed bytes. */
class Stream {
  private fd: number | undefined;
  private buf = Buffer.alloc(4096);
  /** Unflushed bytes in buf. */
  private used = 0;
  /** Bytes in the file (written). */
  private written = 0;
  /** Records appended / records in the file. */
  records = 0;
  flushedRecords = 0;
  /** Header width, fixed by the first record. */
  width: number | undefined;
  /** Last step appended (streams keyed by step must increase). */
  lastStep = -1;

  constructor(
    readonly file: string,
    readonly kind: string,
  ) {}

  get pendingBytes(): number {
    return this.used;
  }

  /** File offset the next record will start at. */
  get endOffset(): number {
    return this.written + this.used;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.used + n) cap *= 2;
    const b = Buffer.alloc(cap);
    this.buf.copy(b, 0, 0, this.used);
    this.buf = b;
  }

  /**
   * Starts a record of `n` payload bytes (the header first, for the stream's first record);
   * returns the buffer and the payload's offset in it. Call `end` after filling the payload.
   */
  begin(n: number, width: number): { b: Buffer; p: number } {
    if (n % 4 !== 0 || n > MAX_PAYLOAD_BYTES) throw new Error(`record of ${n} bytes`);
    if (this.width === undefined) {
      this.width = width;
      this.reserve(HEADER_BYTES);
      encodeHeader(this.kind, width).copy(this.buf, this.used);
      this.used += HEADER_BYTES;
    }
    this.reserve(n + 8);
    this.buf.writeUInt32LE(n, this.used);
    return { b: this.buf, p: this.used + 4 };
  }

  end(n: number): void {
    const start = this.used;
    this.buf.writeUInt32LE(crc32(this.buf, start, start + 4 + n), start + 4 + n);
    this.used += n + 8;
    this.records++;
  }

  /** Writes the buffered bytes to the file. Returns whether anything was written. */
  writeOut(): boolean {
    if (this.used === 0) return false;
    if (this.fd === undefined) this.fd = fs.openSync(this.file, 'wx');
    let off = 0;
    while (off < this.used) off += fs.writeSync(this.fd, this.buf, off, this.used - off);
    this.written += this.used;
    this.used = 0;
    this.flushedRecords = this.records;
    if (this.buf.length > 1 << 20) this.buf = Buffer.alloc(4096); // a big frame grew it
    return true;
  }

  fsync(): void {
    if (this.fd !== undefined) fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Writes `value` as JSON to `file` so a reader sees the old or the new file, never half of one. */
export function writeJsonAtomic(file: string, value: unknown, fsync = false): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, JSON.stringify(value, null, 2) + '\n');
    if (fsync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (fsync) fsyncDir(path.dirname(file));
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Directories cannot be opened for fsync on every platform (Windows); rename is then as durable as it gets.
  }
}

function checkStep(step: number, s: Stream): void {
  if (!Number.isInteger(step) || step < 0 || step > 0xffffffff) throw new Error(`step ${step} is not a u32`);
  if (step <= s.lastStep) throw new Error(`${path.basename(s.file)}: step ${step} after step ${s.lastStep}`);
}

/** f32 bytes of `a` (any float array) into `b` at `o`. */
function putF32(b: Buffer, o: number, a: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) b.writeFloatLE(a[i]!, o + 4 * i);
}

export class RunWriter {
  private readonly streams: Record<StreamName, Stream>;
  private meta: RunMeta;
  private summary: RunSummaryData | undefined;
  private readonly flushIntervalMs: number;
  private readonly maxPendingBytes: number;
  private readonly fsyncMode: 'never' | 'close' | 'always';
  /** When the oldest unflushed record was appended (performance.now()); undefined when none is. */
  private pendingSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private closed = false;

  /**
   * Starts recording a run into `dir` (created if absent; it must not already hold a run).
   * Writes config.json and meta.json (status 'running' unless `meta.status` says otherwise).
   */
  static open(dir: string, meta: RunMetaInit, config: unknown, opts: RunWriterOptions = {}): RunWriter {
    fs.mkdirSync(dir, { recursive: true });
    if (fs.existsSync(path.join(dir, FILES.meta))) throw new Error(`${dir} already holds a run`);
    return new RunWriter(dir, meta, config, opts);
  }

  private constructor(
    readonly dir: string,
    init: RunMetaInit,
    config: unknown,
    private readonly opts: RunWriterOptions,
  ) {
    this.flushIntervalMs = opts.flushIntervalMs ?? 200;
    this.maxPendingBytes = opts.maxPendingBytes ?? 1 << 20;
    this.fsyncMode = opts.fsync ?? 'close';
    const s = (name: StreamName) => new Stream(path.join(dir, FILES[name]), KIND[name]);
    this.streams = { scalars: s('scalars'), evals: s('evals'), identity: s('identity'), attention: s('attention'), attentionIndex: s('attentionIndex') };
    const m: RunMeta = {
      format: META_FORMAT,
      formatVersion: FORMAT_VERSION,
      id: path.basename(path.resolve(dir)),
      name: init.name,
      startedAt: (init.startedAt ?? new Date()).toISOString(),
      status: init.status ?? 'running',
      writer: { pid: process.pid, hostname: os.hostname() },
    };
    if (init.preset !== undefined) m.preset = init.preset;
    if (init.configFile !== undefined) m.configFile = init.configFile;
    if (init.seed !== undefined) m.seed = init.seed;
    if (init.source !== undefined) m.source = init.source;
    if (init.git !== undefined) m.git = init.git;
    this.meta = m;
    if (init.info) this.applyInfo(init.info);
    writeJsonAtomic(path.join(dir, FILES.config), config ?? null, this.fsyncMode !== 'never');
    this.writeMeta();
  }

  get id(): string {
    return this.meta.id;
  }

  /** A copy of the metadata as last written. */
  get metadata(): RunMeta {
    return JSON.parse(JSON.stringify(this.meta)) as RunMeta;
  }

  /** Records appended so far (flushed or not). */
  get appended(): StreamCounts {
    const s = this.streams;
    return { steps: s.scalars.records, evals: s.evals.records, identity: s.identity.records, attention: s.attention.records };
  }

  /** Records in the files: what survives if the process is killed now. */
  get flushed(): StreamCounts {
    const s = this.streams;
    return { steps: s.scalars.flushedRecords, evals: s.evals.flushedRecords, identity: s.identity.flushedRecords, attention: s.attention.flushedRecords };
  }

  private applyInfo(info: RunInfo | Omit<RunInfo, 'config'>): void {
    const { config: _config, ...rest } = info as RunInfo;
    this.meta.info = JSON.parse(JSON.stringify(rest)) as Omit<RunInfo, 'config'>;
    if (this.meta.name === '' && info.name) this.meta.name = info.name;
  }

  /** Records the trainer's RunInfo in meta.json, and its config (when it has one) as config.json. */
  setInfo(info: RunInfo): void {
    this.checkOpen();
    this.applyInfo(info);
    if (info.config !== undefined) writeJsonAtomic(path.join(this.dir, FILES.config), info.config, this.fsyncMode !== 'never');
    this.writeMeta();
  }

  private writeMeta(): void {
    writeJsonAtomic(path.join(this.dir, FILES.meta), this.meta, this.fsyncMode !== 'never');
  }

  private checkOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error(`run ${this.meta.id} is closed`);
  }

  /**
   * Records one step: its scalars, and its eval, attention and identity when it carries them
   * (so do not also pass those to appendEval / appendAttention / appendIdentity). Everything
   * is checked before anything is recorded: a step that throws leaves no trace.
   */
  appendStep(d: StepData): void {
    this.checkOpen();
    const s = this.streams.scalars;
    checkStep(d.step, s);
    const g = d.gradNorms.length;
    if (d.weightNorms.length !== g) throw new Error(`step ${d.step}: ${g} gradNorms, ${d.weightNorms.length} weightNorms`);
    const groups = s.width ?? this.meta.info?.groups.length ?? g;
    if (g !== groups) throw new Error(`step ${d.step} has ${g} norms, the run has ${groups} groups`);
    if (d.eval) checkStep(d.step, this.streams.evals);
    const attentionBytes = d.attention ? this.checkAttention(d.step, d.attention) : 0;
    if (d.identity) this.checkIdentity(d.step, d.identity);

    const n = scalarPayloadBytes(g);
    const { b, p } = s.begin(n, g);
    b.writeUInt32LE(d.step, p);
    b.writeDoubleLE(d.loss, p + 4);
    b.writeFloatLE(d.trainAccuracy, p + 12);
    b.writeFloatLE(d.stepMs, p + 16);
    putF32(b, p + 20, d.gradNorms);
    putF32(b, p + 20 + 4 * g, d.weightNorms);
    s.end(n);
    s.lastStep = d.step;
    if (d.eval) this.encodeEval(d.step, d.eval);
    if (d.attention) this.encodeAttention(d.step, d.attention, attentionBytes);
    if (d.identity) this.encodeIdentity(d.step, d.identity);
    this.afterAppend();
  }

  appendEval(step: number, e: EvalData): void {
    this.checkOpen();
    checkStep(step, this.streams.evals);
    this.encodeEval(step, e);
    this.afterAppend();
  }

  appendIdentity(step: number, id: IdentityData): void {
    this.checkOpen();
    this.checkIdentity(step, id);
    this.encodeIdentity(step, id);
    this.afterAppend();
  }

  /** Records the attention of every probe at `step`: probes[p] is probe p's maps. */
  appendAttention(step: number, probes: AttentionMapData[][]): void {
    this.checkOpen();
    const n = this.checkAttention(step, probes);
    this.encodeAttention(step, probes, n);
    this.afterAppend();
  }

  private encodeEval(step: number, e: EvalData): void {
    const s = this.streams.evals;
    const { b, p } = s.begin(EVAL_PAYLOAD_BYTES, 0);
    b.writeUInt32LE(step, p);
    b.writeUInt32LE(evalFlags(e), p + 4);
    b.writeDoubleLE(e.validationLoss, p + 8);
    b.writeDoubleLE(e.validationAccuracy, p + 16);
    b.writeDoubleLE(e.testLoss, p + 24);
    b.writeDoubleLE(e.testAccuracy, p + 32);
    b.writeDoubleLE(e.topicAttention ?? NaN, p + 40);
    s.end(EVAL_PAYLOAD_BYTES);
    s.lastStep = step;
  }

  private checkIdentity(step: number, id: IdentityData): void {
    const s = this.streams.identity;
    checkStep(step, s);
    const k = id.score.length;
    if (id.measured.length !== k || id.theory.length !== k || id.relError.length !== k) throw new Error(`identity at step ${step}: columns differ in length`);
    if (s.width !== undefined && s.width !== k) throw new Error(`identity at step ${step} has ${k} topic words, the run has ${s.width}`);
  }

  private encodeIdentity(step: number, id: IdentityData): void {
    const s = this.streams.identity;
    const k = id.score.length;
    const n = identityPayloadBytes(k);
    const { b, p } = s.begin(n, k);
    b.writeUInt32LE(step, p);
    putF32(b, p + 4, id.score);
    putF32(b, p + 4 + 4 * k, id.measured);
    putF32(b, p + 4 + 8 * k, id.theory);
    putF32(b, p + 4 + 12 * k, id.relError);
    s.end(n);
    s.lastStep = step;
  }

  /** Checks a frame; returns its payload bytes. */
  private checkAttention(step: number, probes: AttentionMapData[][]): number {
    checkStep(step, this.streams.attention);
    let n = 8;
    for (const maps of probes) {
      n += 4;
      for (const m of maps) {
        if (m.data.length !== m.rows * m.cols) throw new Error(`attention at step ${step}: a ${m.rows}×${m.cols} map has ${m.data.length} values`);
        if (!STAGES.includes(m.stage)) throw new Error(`attention at step ${step}: unknown stage ${String(m.stage)}`);
        n += 20 + 4 * m.data.length;
      }
    }
    if (n > MAX_PAYLOAD_BYTES) throw new Error(`attention at step ${step}: ${n} bytes`);
    return n;
  }

  private encodeAttention(step: number, probes: AttentionMapData[][], n: number): void {
    const s = this.streams.attention;
    const offset = s.endOffset + (s.width === undefined ? HEADER_BYTES : 0);
    const { b, p } = s.begin(n, 0);
    let o = p;
    b.writeUInt32LE(step, o);
    b.writeUInt32LE(probes.length, o + 4);
    o += 8;
    for (const maps of probes) {
      b.writeUInt32LE(maps.length, o);
      o += 4;
      for (const m of maps) {
        b.writeUInt32LE(m.layer, o);
        b.writeUInt32LE(m.head, o + 4);
        b.writeUInt32LE(STAGES.indexOf(m.stage), o + 8);
        b.writeUInt32LE(m.rows, o + 12);
        b.writeUInt32LE(m.cols, o + 16);
        o += 20;
        if (LITTLE_ENDIAN) b.set(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength), o);
        else putF32(b, o, m.data);
        o += 4 * m.data.length;
      }
    }
    s.end(n);
    s.lastStep = step;
    // The index entry goes in the same flush, after the frame (streams are written in order).
    const x = this.streams.attentionIndex;
    const xi = x.begin(INDEX_PAYLOAD_BYTES, 0);
    xi.b.writeUInt32LE(step, xi.p);
    xi.b.writeUInt32LE(n, xi.p + 4);
    xi.b.writeBigUInt64LE(BigInt(offset), xi.p + 8);
    x.end(INDEX_PAYLOAD_BYTES);
  }

  /** After each append: flush when the oldest pending record is old enough or the buffers are big. */
  private afterAppend(): void {
    const now = performance.now();
    if (this.pendingSince === undefined) {
      this.pendingSince = now;
      if (this.timer === undefined) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          try {
            if (!this.closed && !this.failure) this.flush();
          } catch (e) {
            this.opts.onError?.(e instanceof Error ? e : new Error(String(e)));
          }
        }, this.flushIntervalMs);
        this.timer.unref();
      }
      return;
    }
    if (now - this.pendingSince >= this.flushIntervalMs || this.pendingBytes() >= this.maxPendingBytes) this.flush();
  }

  private pendingBytes(): number {
    let n = 0;
    for (const s of Object.values(this.streams)) n += s.pendingBytes;
    return n;
  }

  /**
   * Writes everything appended so far to the files (and fsyncs them with `fsync: 'always'`).
   * Returns the records now in the files. After a write error the writer refuses further use.
   */
  flush(): StreamCounts {
    if (this.failure) throw this.failure;
    if (this.closed) return this.flushed;
    this.pendingSince = undefined;
    let wrote = false;
    try {
      // Order matters: attention.bin before attention.idx, so the index never points ahead of the frames.
      for (const name of ['scalars', 'evals', 'identity', 'attention', 'attentionIndex'] as const) {
        const s = this.streams[name];
        if (s.writeOut()) {
          wrote = true;
          if (this.fsyncMode === 'always') s.fsync();
        }
      }
    } catch (e) {
      this.failure = e instanceof Error ? e : new Error(String(e));
      throw this.failure;
    }
    const counts = this.flushed;
    if (wrote) this.opts.onFlush?.(counts);
    return counts;
  }

  /** The summary to record at close (close may also be given it). */
  setSummary(summary: RunSummaryData): void {
    this.summary = summary;
  }

  /**
   * Flushes, fsyncs (unless `fsync: 'never'`), closes the files, and records the final status,
   * end time, summary and record counts in meta.json. Closing twice does nothing.
   */
  close(status: RunStatus, reason?: string, summary?: RunSummaryData): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      if (!this.failure) this.flush();
      for (const s of Object.values(this.streams)) {
        if (this.fsyncMode !== 'never' && !this.failure) s.fsync();
        s.close();
      }
    } finally {
      this.closed = true;
    }
    const m = this.meta;
    m.status = status;
    if (reason !== undefined) m.statusReason = reason;
    m.endedAt = new Date().toISOString();
    const sum = summary ?? this.summary;
    if (sum) m.summary = sum;
    // Counts only when every record reached the files, so readers can trust them.
    if (!this.failure) m.counts = this.flushed;
    this.writeMeta();
    if (this.failure) throw this.failure;
  }
}
