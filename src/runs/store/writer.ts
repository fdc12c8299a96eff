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
import { declsById, measuresProblem } from '../../protocol/measures';
import type { AttentionMapData, EvalData, IdentityData, MeasureDecl, MeasureEvent, MeasureSample, RunInfo, RunStatus, RunSummaryData, StepData } from '../../protocol/messages';
import { crc32 } from './crc32';
import { encodeHeader, FILES, FORMAT_VERSION, HEADER_BYTES, KIND, MAX_PAYLOAD_BYTES, META_FORMAT, checkMetaChecksum, metaProblem, sealMeta, STREAMS, type RunMeta, type StreamCounts, type StreamName } from './format';
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
  /** A timer-driven flush failed (appends and flush() throw instead). Default: ignored; the writer stops. */
  onError?: (e: Error) => void;
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
    if (this.buf.length > 1 << 20) this.setBuffer(new Uint8Array(4096)); // a big frame grew it
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

/** Writes meta.json: `meta` sealed with its checksum (format.ts, sealMeta), atomically. */
export function writeMetaAtomic(dir: string, meta: RunMeta, fsync = false): void {
  writeJsonAtomic(path.join(dir, FILES.meta), sealMeta(meta), fsync);
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
  private failure: Error | undefined;
  private closed = false;
  /** info.measures by id, and each id's index there (its store index). */
  private decls = new Map<string, MeasureDecl>();
  private declIndex = new Map<string, number>();

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
    if (info.config !== undefined) writeJsonAtomic(path.join(this.dir, FILES.config), info.config, this.fsyncMode !== 'never');
    this.writeMeta();
  }

  /**
   * What a person may change while the run is recorded: its display name and its note (an
   * empty note removes it). meta.json is rewritten at once, and again with them at close.
   */
  annotate(fields: { name?: string; note?: string }): void {
    applyAnnotation(this.meta, fields);
    if (!this.closed) this.writeMeta();
  }

  private writeMeta(): void {
    writeMetaAtomic(this.dir, this.meta, this.fsyncMode !== 'never');
  }

  private checkOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error(`run ${this.meta.id} is closed`);
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
      for (const name of STREAMS) {
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
    let error: Error | undefined;
    const note = (e: unknown) => (error ??= e instanceof Error ? e : new Error(String(e)));
    try {
      if (!this.failure) this.flush();
    } catch (e) {
      note(e);
    }
    for (const s of Object.values(this.streams)) {
      try {
        if (this.fsyncMode !== 'never' && !this.failure) s.fsync();
      } catch (e) {
        note(e);
      }
      try {
        s.close();
      } catch (e) {
        note(e);
      }
    }
    this.closed = true;
    // The final status is recorded even when the data could not all be written.
    const m = this.meta;
    m.status = status;
    if (reason !== undefined) m.statusReason = reason;
    m.endedAt = new Date().toISOString();
    const sum = summary ?? this.summary;
    if (sum) m.summary = sum;
    // Counts only when every record reached the files, so readers can trust them.
    if (!this.failure && !error) m.counts = this.flushed;
    this.writeMeta();
    const e = this.failure ?? error;
    if (e) throw e;
  }
}
