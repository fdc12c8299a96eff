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
 * A write that fails (a full disk, an I/O error) ends the recording at once: each stream file
 * is cut back to its last whole record (a file that holds none is removed), the run is marked
 * failed in meta.json with the reason, and a StoreWriteError says which file failed and what
 * the folder keeps. So that meta.json can still be rewritten on a full disk, the writer keeps
 * its next temp file (`.meta.json.<pid>.tmp`) filled with spare bytes while the run is open.
 * meta.json is the first file of a run, so a folder holding anything holds a listable run.
 *
 * No 'vscode' import: the extension host and the command line both use this.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { declsById, measuresProblem } from '../../protocol/measures';
import type { AttentionMapData, EvalData, IdentityData, MeasureDecl, MeasureEvent, MeasureSample, RunInfo, RunStatus, RunSummaryData, StepData } from '../../protocol/messages';
import { crc32 } from './crc32';
import { encodeHeader, FILES, FORMAT_VERSION, HEADER_BYTES, KIND, MAX_PAYLOAD_BYTES, META_FORMAT, checkMetaChecksum, metaProblem, sealMeta, STREAMS, tempFileName, type RunMeta, type StreamCounts, type StreamName } from './format';
import { errorCode, errorText } from './io';
import { attentionRecord, evalRecord, eventRecord, identityRecord, indexRecord, MAX_EVENTS_PER_STEP, measuresRecord, scalarRecord, type IndexedSample } from './records';

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
  /**
   * A timer-driven flush failed (appends and flush() throw instead): a StoreWriteError, the
   * recording has ended. Default: the error is thrown by the next append, flush or close.
   */
  onError?: (e: Error) => void;
}

/**
 * A run folder could not be written (a full disk, an I/O error, no permission): `file` is the
 * file that failed and the message says it in plain words, with what the folder keeps and
 * whether meta.json records the failure. The writer has stopped; nothing more is recorded.
 */
export class StoreWriteError extends Error {
  constructor(
    message: string,
    /** The file that could not be written (or created). */
    readonly file: string,
    /** The error's code (ENOSPC, EIO, EACCES…), if it has one. */
    readonly code: string | undefined,
    /** Records each stream file holds now; undefined when the run was not started. */
    readonly kept: StreamCounts | undefined,
    /** Whether meta.json now says the run failed, with this reason (false: it was left as it was). */
    readonly metaUpdated: boolean,
    override readonly cause: unknown,
  ) {
    super(message);
    this.name = 'StoreWriteError';
  }
}

/** One stream's file and its unflushed bytes. */
class Stream {
  private fd: number | undefined;
  private buf: Uint8Array = new Uint8Array(4096);
  private dv: DataView = new DataView(this.buf.buffer);
  /** Unflushed bytes in buf. */
  private used = 0;
  /** Bytes in the file (written). */
  private written = 0;
  /** Records appended / records in the file. */
  records = 0;
  flushedRecords = 0;
  /** Header width, fixed by the first record. */
  width: number | undefined;
  /** Last step appended (streams keyed by step must increase), and last step in the file. */
  lastStep = -1;
  flushedLastStep = -1;

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

  private setBuffer(b: Uint8Array): void {
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }

  private reserve(n: number): void {
    if (this.used + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.used + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.used));
    this.setBuffer(b);
  }

  /**
   * Starts a record of `n` payload bytes (the header first, for the stream's first record);
   * returns the buffer and the payload's offset in it. Call `end` after filling the payload.
   */
  begin(n: number, width: number): { b: Uint8Array; dv: DataView; p: number } {
    if (n % 4 !== 0 || n > MAX_PAYLOAD_BYTES) throw new Error(`record of ${n} bytes`);
    if (this.width === undefined) {
      if (width > 0xffff) throw new Error(`${path.basename(this.file)}: width ${width} does not fit the header's u16`);
      this.width = width;
      this.reserve(HEADER_BYTES);
      this.buf.set(encodeHeader(this.kind, width), this.used);
      this.used += HEADER_BYTES;
    }
    this.reserve(n + 8);
    this.dv.setUint32(this.used, n, true);
    return { b: this.buf, dv: this.dv, p: this.used + 4 };
  }

  end(n: number): void {
    const start = this.used;
    this.dv.setUint32(start + 4 + n, crc32(this.buf, start, start + 4 + n), true);
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
    this.flushedLastStep = this.lastStep;
    if (this.buf.length > 1 << 20) this.setBuffer(new Uint8Array(4096)); // a big frame grew it
    return true;
  }

  fsync(): void {
    if (this.fd !== undefined) fs.fsyncSync(this.fd);
  }

  close(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) fs.closeSync(fd);
  }

  /**
   * Stops writing after a failed write: drops what was not written, cuts the file back to its
   * last whole record (a failed write may have left part of one), fsyncs it when asked, closes
   * it, and removes it when it holds no record. Best effort; false when the file could not be
   * cut (it then ends in a torn record, which readers skip).
   */
  abandon(fsync: boolean): boolean {
    this.used = 0;
    this.records = this.flushedRecords;
    this.lastStep = this.flushedLastStep;
    let cut = true;
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) {
      try {
        fs.ftruncateSync(fd, this.written);
        if (fsync && this.written > 0) fs.fsyncSync(fd);
      } catch {
        cut = false;
      }
      try {
        fs.closeSync(fd);
      } catch {
        // the descriptor is gone either way
      }
    }
    if (fd !== undefined && this.written === 0) {
      try {
        fs.unlinkSync(this.file);
        cut = true;
      } catch (e) {
        if (errorCode(e) === 'ENOENT') cut = true;
      }
    }
    return cut;
  }
}

/**
 * Writes `value` as JSON to `file` so a reader sees the old or the new file, never half of
 * one: into the temp file `.NAME.<pid>.tmp` (format.ts, tempFileName), then renamed over
 * `file`. A failed write removes its temp file. `reserveBytes` > 0 then leaves the next temp
 * file in place, that many bytes long, so the next replacement writes into space already
 * allocated and succeeds on a full disk (on filesystems that overwrite in place: ext4, xfs,
 * tmpfs, NTFS; not copy-on-write ones).
 */
export function writeJsonAtomic(file: string, value: unknown, fsync = false, reserveBytes = 0): void {
  const tmp = path.join(path.dirname(file), tempFileName(path.basename(file)));
  const bytes = new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n');
  let fd: number | undefined;
  try {
    // No O_TRUNC: a temp file kept as a reserve keeps its blocks while it is overwritten.
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o666);
    writeAll(fd, bytes);
    fs.ftruncateSync(fd, bytes.length);
    if (fsync) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // reported below
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      // absent, or the folder is gone
    }
    throw e;
  }
  if (fsync) fsyncDir(path.dirname(file));
  if (reserveBytes > 0) reserve(tmp, reserveBytes);
}

function writeAll(fd: number, b: Uint8Array): void {
  for (let off = 0; off < b.length; ) off += fs.writeSync(fd, b, off, b.length - off, off);
}

/** Creates `file` holding `n` zero bytes; on a failure (the disk is full already) leaves nothing. */
function reserve(file: string, n: number): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'wx');
    writeAll(fd, new Uint8Array(n));
    fs.closeSync(fd);
  } catch {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // removed below
      }
    }
    try {
      fs.unlinkSync(file);
    } catch {
      // nothing was created
    }
  }
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

/** Writes meta.json: `meta` sealed with its checksum (format.ts, sealMeta), atomically (writeJsonAtomic). */
export function writeMetaAtomic(dir: string, meta: RunMeta, fsync = false, reserveBytes = 0): void {
  writeJsonAtomic(path.join(dir, FILES.meta), sealMeta(meta), fsync, reserveBytes);
}

/** Spare bytes kept for the next meta.json (its final version adds the end, summary, counts and a reason). */
function metaReserve(meta: RunMeta): number {
  const n = Buffer.byteLength(JSON.stringify(meta, null, 2));
  return Math.min(1 << 20, Math.max(16 << 10, 2 * n + 4096));
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

/** Sets `name` and `note` (an empty note removes the field) on a metadata document. */
export function applyAnnotation(meta: RunMeta, fields: { name?: string; note?: string }): void {
  if (fields.name !== undefined) meta.name = fields.name;
  if (fields.note !== undefined) {
    if (fields.note === '') delete meta.note;
    else meta.note = fields.note;
  }
}

/**
 * Renames or re-notes a run no writer has open (a closed run, or one whose writer died):
 * meta.json is read, checked, changed and replaced atomically. The folder keeps its name.
 */
export function annotateRun(dir: string, fields: { name?: string; note?: string }): RunMeta {
  const file = path.join(dir, FILES.meta);
  const v = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  const why = metaProblem(v);
  if (why !== undefined) throw new Error(`${file}: not a run: meta.json ${why}`);
  // Re-sealing a document whose checksum fails would make damaged contents look sound.
  const sum = checkMetaChecksum(v as Record<string, unknown>);
  if (sum === 'mismatch' || sum === 'missing') throw new Error(`${file}: meta.json is damaged (its checksum does not match); it was not changed`);
  const meta = v as RunMeta;
  applyAnnotation(meta, fields);
  writeMetaAtomic(dir, meta, true);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as RunMeta;
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
  /** The write failure that ended the recording (failWrite); the writer is then closed. */
  private failure: StoreWriteError | undefined;
  /** The failure has reached the caller (thrown, or given to onError), so close() need not throw it again. */
  private failureReported = false;
  private closed = false;
  /** info.measures by id, and each id's index there (its store index). */
  private decls = new Map<string, MeasureDecl>();
  private declIndex = new Map<string, number>();

  /**
   * Starts recording a run into `dir` (created if absent; it must not already hold a run).
   * Writes meta.json (status 'running' unless `meta.status` says otherwise), then config.json.
   * Throws StoreWriteError when the folder cannot be written: if meta.json could not be
   * written the run was not started, and the folder, left empty, is removed.
   */
  static open(dir: string, meta: RunMetaInit, config: unknown, opts: RunWriterOptions = {}): RunWriter {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new StoreWriteError(`could not create the run folder ${dir} (${errorText(e)}): the run was not started, nothing was saved`, dir, errorCode(e), undefined, false, e);
    }
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
    this.streams = { scalars: s('scalars'), evals: s('evals'), identity: s('identity'), attention: s('attention'), attentionIndex: s('attentionIndex'), measures: s('measures'), events: s('events') };
    // In the order a person reading meta.json wants; undefined fields are left out of the JSON.
    const m: RunMeta = {
      format: META_FORMAT,
      formatVersion: FORMAT_VERSION,
      id: path.basename(path.resolve(dir)),
      name: init.name,
      preset: init.preset,
      configFile: init.configFile,
      seed: init.seed,
      source: init.source,
      startedAt: (init.startedAt ?? new Date()).toISOString(),
      status: init.status ?? 'running',
      git: init.git,
      writer: { pid: process.pid, hostname: os.hostname() },
    };
    this.meta = m;
    if (init.info) this.applyInfo(init.info);
    // meta.json first: a folder holding anything of this writer then lists as its run.
    const metaFile = path.join(dir, FILES.meta);
    try {
      this.writeMeta();
    } catch (e) {
      try {
        fs.rmdirSync(dir); // only when empty: nothing of this run is in it
      } catch {
        // something else is in it; leave it
      }
      throw new StoreWriteError(`could not write ${metaFile} (${errorText(e)}): the run was not started, nothing was saved`, metaFile, errorCode(e), undefined, false, e);
    }
    this.writeConfig(config ?? null);
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
    return { steps: s.scalars.records, evals: s.evals.records, identity: s.identity.records, attention: s.attention.records, measures: s.measures.records, events: s.events.records };
  }

  /** Records in the files: what survives if the process is killed now. */
  get flushed(): StreamCounts {
    const s = this.streams;
    return { steps: s.scalars.flushedRecords, evals: s.evals.flushedRecords, identity: s.identity.flushedRecords, attention: s.attention.flushedRecords, measures: s.measures.flushedRecords, events: s.events.flushedRecords };
  }

  private applyInfo(info: RunInfo | Omit<RunInfo, 'config'>): void {
    const { config: _config, ...rest } = info as RunInfo;
    const next = JSON.parse(JSON.stringify(rest)) as Omit<RunInfo, 'config'>;
    // Stored samples name their measurement by its index in info.measures: once any is written, the list may only grow.
    if (this.streams.measures.records + this.streams.events.records > 0) {
      const old = this.meta.info?.measures ?? [];
      const neu = next.measures ?? [];
      if (old.some((d, i) => neu[i]?.id !== d.id)) throw new Error(`run ${this.meta.id}: info.measures may only be extended once measurements are recorded`);
    }
    this.meta.info = next;
    this.decls = declsById(next.measures);
    this.declIndex = new Map((next.measures ?? []).map((d, i) => [d.id, i]));
    if (this.meta.name === '' && info.name) this.meta.name = info.name;
  }

  /** Records the trainer's RunInfo in meta.json, and its config (when it has one) as config.json. */
  setInfo(info: RunInfo): void {
    this.checkOpen();
    this.applyInfo(info);
    if (info.config !== undefined) this.writeConfig(info.config);
    this.writeMetaOrFail();
  }

  /**
   * What a person may change while the run is recorded: its display name and its note (an
   * empty note removes it). meta.json is rewritten at once, and again with them at close.
   */
  annotate(fields: { name?: string; note?: string }): void {
    if (this.failure) this.fail(this.failure); // the folder takes no more writes
    applyAnnotation(this.meta, fields);
    if (!this.closed) this.writeMetaOrFail();
  }

  /** Writes meta.json; while the run is open, keeps spare space for the next one (see writeJsonAtomic). */
  private writeMeta(): void {
    writeMetaAtomic(this.dir, this.meta, this.fsyncMode !== 'never', this.closed ? 0 : metaReserve(this.meta));
  }

  private writeMetaOrFail(): void {
    try {
      this.writeMeta();
    } catch (e) {
      this.fail(this.failWrite(path.join(this.dir, FILES.meta), e));
    }
  }

  private writeConfig(config: unknown): void {
    const file = path.join(this.dir, FILES.config);
    try {
      writeJsonAtomic(file, config, this.fsyncMode !== 'never');
    } catch (e) {
      this.fail(this.failWrite(file, e));
    }
  }

  /** Throws the write failure to the caller (who has then been told of it). */
  private fail(e: StoreWriteError): never {
    this.failureReported = true;
    throw e;
  }

  private checkOpen(): void {
    if (this.failure) this.fail(this.failure);
    if (this.closed) throw new Error(`run ${this.meta.id} is closed`);
  }

  /**
   * Ends the recording after `file` could not be written: every stream is cut back to its
   * last whole record (and removed when it holds none), and meta.json is rewritten, if it
   * still can be, to say the run failed and why (else it is left as it was). Returns the
   * error to throw; later calls return the first.
   */
  private failWrite(file: string, e: unknown): StoreWriteError {
    if (this.failure) return this.failure;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pendingSince = undefined;
    let whole = true;
    for (const s of Object.values(this.streams)) if (!s.abandon(this.fsyncMode !== 'never')) whole = false;
    this.closed = true;
    const kept = this.flushed;
    const last = this.streams.scalars.flushedLastStep;
    const keeps = kept.steps === 0 ? 'no steps' : `${plural(kept.steps, 'step')}, up to step ${last}`;
    const why = `could not write ${path.basename(file)} (${errorText(e)})`;
    const before = this.meta;
    const m: RunMeta = JSON.parse(JSON.stringify(before)) as RunMeta;
    m.status = 'failed';
    m.statusReason = `${why}; recording stopped, the folder keeps ${keeps}`;
    m.endedAt = new Date().toISOString();
    // Counts only when every file was cut back to whole records: then they are what the files hold.
    if (whole) m.counts = kept;
    else delete m.counts;
    this.meta = m;
    let metaUpdated = true;
    try {
      this.writeMeta(); // into the reserved temp file: this works on a full disk
    } catch {
      metaUpdated = false;
      this.meta = before; // meta.json is the old one, as `metadata` says
    }
    const said = metaUpdated ? 'its meta.json marks the run failed with this reason' : 'its meta.json could not be updated either and still says what it said before';
    this.failure = new StoreWriteError(`could not write ${file} (${errorText(e)}). Recording stopped: the run folder keeps ${keeps}, and ${said}`, file, errorCode(e), kept, metaUpdated, e);
    return this.failure;
  }

  /**
   * Records one step: its scalars, and its eval, attention, identity, measurement samples and
   * events when it carries them (so do not also pass those to appendEval / appendAttention /
   * appendIdentity). Samples and events must fit info.measures (setInfo). Everything is checked
   * before anything is recorded: a step that throws leaves no trace.
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
    const measured = this.checkMeasures(d.step, d.measures, d.events);

    const n = scalarRecord.bytes(g);
    const { dv, p } = s.begin(n, g);
    scalarRecord.encode(dv, p, d);
    s.end(n);
    s.lastStep = d.step;
    if (d.eval) this.encodeEval(d.step, d.eval);
    if (d.attention) this.encodeAttention(d.step, d.attention, attentionBytes);
    if (d.identity) this.encodeIdentity(d.step, d.identity);
    if (measured) this.encodeMeasures(d.step, measured);
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
    const n = evalRecord.bytes();
    const { dv, p } = s.begin(n, 0);
    evalRecord.encode(dv, p, step, e);
    s.end(n);
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
    const n = identityRecord.bytes(k);
    const { dv, p } = s.begin(n, k);
    identityRecord.encode(dv, p, step, id);
    s.end(n);
    s.lastStep = step;
  }

  /** Checks a frame; returns its payload bytes. */
  private checkAttention(step: number, probes: AttentionMapData[][]): number {
    checkStep(step, this.streams.attention);
    const n = attentionRecord.bytes(step, probes);
    if (n > MAX_PAYLOAD_BYTES) throw new Error(`attention at step ${step}: ${n} bytes`);
    return n;
  }

  private encodeAttention(step: number, probes: AttentionMapData[][], n: number): void {
    const s = this.streams.attention;
    const offset = s.endOffset + (s.width === undefined ? HEADER_BYTES : 0);
    const { b, dv, p } = s.begin(n, 0);
    attentionRecord.encode(b, dv, p, step, probes);
    s.end(n);
    s.lastStep = step;
    // The index entry goes in the same flush, after the frame (streams are written in order).
    const x = this.streams.attentionIndex;
    const xn = indexRecord.bytes();
    const xi = x.begin(xn, 0);
    indexRecord.encode(xi.dv, xi.p, { step, n, offset });
    x.end(xn);
  }

  /** Checks a step's samples and events against info.measures; returns them with their store indices, or undefined when there are none. */
  private checkMeasures(step: number, samples: MeasureSample[] | undefined, events: MeasureEvent[] | undefined): { samples: IndexedSample[]; events: { index: number; body: Uint8Array }[] } | undefined {
    if (!samples?.length && !events?.length) return undefined;
    const why = measuresProblem(step, samples, events, this.decls);
    if (why !== undefined) throw new Error(why);
    if (samples?.length) checkStep(step, this.streams.measures);
    const indexed = (samples ?? []).map((m) => ({ index: this.declIndex.get(m.id)!, values: m.values }));
    if (measuresRecord.bytes(indexed) > MAX_PAYLOAD_BYTES) throw new Error(`measurements at step ${step}: too many values`);
    const evs = (events ?? []).map((e) => ({ index: this.declIndex.get(e.id)!, body: eventRecord.body(e.text, e.payload) }));
    for (const e of evs) if (eventRecord.bytes(e.body) > MAX_PAYLOAD_BYTES) throw new Error(`event at step ${step}: too large`);
    const last = this.streams.events.lastStep;
    if (evs.length > 0 && step < last) throw new Error(`events.bin: step ${step} after step ${last}`);
    if (evs.length > MAX_EVENTS_PER_STEP) throw new Error(`step ${step}: ${evs.length} events, at most ${MAX_EVENTS_PER_STEP}`);
    return { samples: indexed, events: evs };
  }

  private encodeMeasures(step: number, m: { samples: IndexedSample[]; events: { index: number; body: Uint8Array }[] }): void {
    if (m.samples.length > 0) {
      const s = this.streams.measures;
      const n = measuresRecord.bytes(m.samples);
      const { dv, p } = s.begin(n, 0);
      measuresRecord.encode(dv, p, step, m.samples);
      s.end(n);
      s.lastStep = step;
    }
    const ev = this.streams.events;
    m.events.forEach((e, seq) => {
      const n = eventRecord.bytes(e.body);
      const { b, dv, p } = ev.begin(n, 0);
      eventRecord.encode(b, dv, p, step, seq, e.index, e.body);
      ev.end(n);
      ev.lastStep = step; // several events may share a step (numbered by seq)
    });
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
            if (!this.opts.onError) return; // the next append, flush or close throws it
            this.failureReported = true;
            this.opts.onError(e instanceof Error ? e : new Error(String(e)));
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
   * Returns the records now in the files. A write error ends the recording (failWrite) and is
   * thrown as a StoreWriteError, then again by every later call.
   */
  flush(): StreamCounts {
    if (this.failure) this.fail(this.failure);
    if (this.closed) return this.flushed;
    this.pendingSince = undefined;
    let wrote = false;
    // Order matters: attention.bin before attention.idx, so the index never points ahead of the frames.
    for (const name of STREAMS) {
      const s = this.streams[name];
      try {
        if (s.writeOut()) {
          wrote = true;
          if (this.fsyncMode === 'always') s.fsync();
        }
      } catch (e) {
        this.fail(this.failWrite(s.file, e));
      }
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
   *
   * A write that fails here ends the recording as in flush (the run is then marked failed,
   * whatever `status` says) and throws a StoreWriteError. After a write failure the writer is
   * closed already: close then does nothing, or throws that failure when the caller has not
   * been told of it (a background flush failed and there is no onError).
   */
  close(status: RunStatus, reason?: string, summary?: RunSummaryData): void {
    if (this.failure) {
      if (!this.failureReported) this.fail(this.failure);
      return;
    }
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
    for (const s of Object.values(this.streams)) {
      try {
        if (this.fsyncMode !== 'never') s.fsync();
        s.close(); // some filesystems (NFS) report a failed write only here
      } catch (e) {
        this.fail(this.failWrite(s.file, e));
      }
    }
    this.closed = true;
    const before = this.meta;
    const m: RunMeta = JSON.parse(JSON.stringify(before)) as RunMeta;
    m.status = status;
    if (reason !== undefined) m.statusReason = reason;
    m.endedAt = new Date().toISOString();
    const sum = summary ?? this.summary;
    if (sum) m.summary = sum;
    m.counts = this.flushed;
    this.meta = m;
    try {
      this.writeMeta();
    } catch (e) {
      // Every record is in the files; only the final meta.json is not.
      this.meta = before;
      const file = path.join(this.dir, FILES.meta);
      const kept = this.flushed;
      const keeps = kept.steps === 0 ? 'no steps' : `all its ${plural(kept.steps, 'step')}, up to step ${this.streams.scalars.flushedLastStep}`;
      this.failure = new StoreWriteError(`could not write ${file} (${errorText(e)}). The run folder keeps ${keeps}, but its meta.json could not be updated and still says the run is ${before.status}`, file, errorCode(e), kept, false, e);
      this.fail(this.failure);
    }
  }
}
