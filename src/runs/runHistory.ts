/**
 * The host's record of one run: everything its trainer reported, kept for the life of the
 * run so a webview opened at any time can be given the whole picture (`snapshot`) and then
 * what is new (`drainUpdate`).
 *
 * Memory. Per-step scalars live in columns of typed-array chunks, never in per-step objects:
 *   step, loss, trainAccuracy        Float64   3 × 8 B
 *   gradNorms, weightNorms (G each)  Float32   2 × 4·G B
 * i.e. 24 + 8·G bytes per step (56 B for the Lu model's 4 groups), plus the unfilled part of
 * the last chunk (chunks grow 1,024 → 65,536 rows, so at most max(n, 65,536) rows of slack;
 * about 59 B/step at a million steps with G = 4). Nothing is copied when a column grows.
 * Identity rows (Lu on the synthetic task, every step) add 8 + 16·K bytes per step for K
 * topic words (Float32). Evaluations and attention frames are sparse (every evalEvery /
 * captureEvery steps) and kept as they arrived.
 *
 * A recorded run (one with a `backing`, its run folder) keeps in memory only what the folder
 * does not hold yet or drainUpdate has not handed out, plus at most one chunk and the latest
 * FRAMES_KEPT attention frames: host memory stays flat however long the run (measured by
 * `npm run bench`). Snapshots and scrubbing to an old step read the rest back from the files.
 */
import type {
  AttentionFrame,
  AttentionMapData,
  EvalPoint,
  HostToWebview,
  IdentityData,
  IdentityPoint,
  MeasureChunk,
  MeasureEvent,
  RunInfo,
  RunSnapshot,
  RunStatus,
  RunSummaryData,
  ScalarChunk,
  StepData,
} from '../protocol/messages';
import { measureWidth } from '../protocol/measures';
import { copyProbes, indexAtOrBefore } from '../protocol/steps';

export type StepsAppended = Extract<HostToWebview, { type: 'stepsAppended' }>;

/** Rows of the first chunk; each next chunk doubles, up to MAX_CHUNK_ROWS. */
const FIRST_CHUNK_ROWS = 1024;
const MAX_CHUNK_ROWS = 65536;
/** Identity points in a snapshot, at most (subsampled, always with the latest). */
export const MAX_IDENTITY_POINTS = 2000;
/**
 * Identity points in one live update, at most (subsampled, with the latest). A page keeps about
 * a thousand over the whole run, thinning as it goes, so at thousands of steps a second it
 * would drop nearly all of every step's points; sent anyway, they were nine tenths of each
 * update (hundreds of small arrays), which VS Code's webview transport pays for per array.
 */
export const LIVE_IDENTITY_POINTS = 8;

/** A growable column of fixed-width rows stored in typed-array chunks; growth never copies. */
export class Column {
  private readonly chunks: (Float32Array | Float64Array)[] = [];
  /** First row of each chunk. */
  private readonly starts: number[] = [];
  private cur: Float32Array | Float64Array | undefined;
  private curRows = 0;
  private curCap = 0;
  /** Chunks allocated so far (dropped ones included): sizes double with it. */
  private grown = 0;
  /** Rows appended. */
  length = 0;
  /** The first row still held (rows before it were let go by dropBefore). */
  first = 0;

  constructor(
    /** Values per row. */
    readonly width: number,
    readonly precision: 'f32' | 'f64',
  ) {}

  /** Bytes allocated (capacity, not length). */
  get byteLength(): number {
    let b = 0;
    for (const c of this.chunks) b += c.byteLength;
    return b;
  }

  private grow(): Float32Array | Float64Array {
    const rows = Math.min(FIRST_CHUNK_ROWS * 2 ** Math.min(this.grown++, 10), MAX_CHUNK_ROWS);
    const n = rows * this.width;
    const c = this.precision === 'f32' ? new Float32Array(n) : new Float64Array(n);
    this.chunks.push(c);
    this.starts.push(this.length);
    this.cur = c;
    this.curRows = 0;
    this.curCap = rows;
    return c;
  }

  /** Appends one row of `width` values. */
  push(row: ArrayLike<number>): void {
    const c = this.cur && this.curRows < this.curCap ? this.cur : this.grow();
    const w = this.width;
    const o = this.curRows * w;
    for (let j = 0; j < w; j++) c[o + j] = row[j]!;
    this.curRows++;
    this.length++;
  }

  /** Appends one value (width-1 columns). */
  push1(v: number): void {
    const c = this.cur && this.curRows < this.curCap ? this.cur : this.grow();
    c[this.curRows] = v;
    this.curRows++;
    this.length++;
  }

  private chunkOf(row: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= row) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Lets go of the leading chunks whose rows all lie before `row` (whole chunks only, so at
   * most one chunk's worth of rows before `row` stays). Returns the new first row held.
   */
  dropBefore(row: number): number {
    let k = 0;
    while (k < this.chunks.length - 1 && this.starts[k + 1]! <= row) k++;
    if (k > 0) {
      this.chunks.splice(0, k);
      this.starts.splice(0, k);
      this.first = this.starts[0]!;
    }
    return this.first;
  }

  /** Value j of row i (NaN for a row not held). */
  get(i: number, j = 0): number {
    if (i < this.first || i >= this.length) return NaN;
    const k = this.chunkOf(i);
    return this.chunks[k]![(i - this.starts[k]!) * this.width + j]!;
  }

  /** Rows [start, end) into `out` at row offset `at` (rows), as float64. Rows before `first` are not held. */
  copyRows(start: number, end: number, out: Float64Array, at = 0): Float64Array {
    if (start < end && start < this.first) throw new Error(`rows before ${this.first} are no longer held in memory (asked from ${start})`);
    const w = this.width;
    let row = start;
    let k = row < end ? this.chunkOf(row) : 0;
    while (row < end) {
      const c = this.chunks[k]!;
      const from = row - this.starts[k]!;
      const rowsHere = Math.min(end - row, c.length / w - from);
      out.set(c.subarray(from * w, (from + rowsHere) * w), (at + row - start) * w);
      row += rowsHere;
      k++;
    }
    return out;
  }
}

/** How many of the latest attention frames stay in memory when older ones can be read back. */
export const FRAMES_KEPT = 64;
/** Rows are let go in batches of at least this many (columns drop whole chunks anyway). */
const MIN_LET_GO_ROWS = 1024;

/** Identity rows as columns (the run store's StoredIdentity has this shape). */
export interface IdentityRows {
  n: number;
  k: number;
  step: ArrayLike<number>;
  score: ArrayLike<number>;
  measured: ArrayLike<number>;
  theory: ArrayLike<number>;
  relError: ArrayLike<number>;
}

/**
 * Where a history can read back what it let go of: the run's folder, as its recorder wrote
 * it. With a backing, the history keeps in memory only what is not yet in the files or not
 * yet handed out by drainUpdate (plus up to one chunk), so its memory stays flat however
 * long the run; a snapshot reads the older rows from the files.
 */
export interface HistoryBacking {
  /** Records of each stream that are in the files now. */
  persisted(): { steps: number; identity: number; attention: number };
  /** The first `steps` scalar rows and `identity` identity rows, from the files. Throws if they cannot be read. */
  read(steps: number, identity: number): { scalars: ScalarChunk; identity: IdentityRows };
  /** The frame at `step` or the latest before it, from the files. Throws if it cannot be read. */
  readAttention(step: number): AttentionFrame | undefined;
}

/** Identity row i of `rows` as a point (own float64 copies). */
export function identityPointOf(rows: IdentityRows, i: number): IdentityPoint {
  const k = rows.k;
  const row = (a: ArrayLike<number>) => Float64Array.from({ length: k }, (_, j) => a[i * k + j]!);
  return { step: rows.step[i]!, score: row(rows.score), measured: row(rows.measured), theory: row(rows.theory), relError: row(rows.relError) };
}

/** Indices of at most `max` of the rows [start, end), evenly spread, always with the first and last. */
export function subsample(start: number, end: number, max: number): number[] {
  const n = end - start;
  if (n <= 0) return [];
  if (n <= max) return Array.from({ length: n }, (_, i) => start + i);
  const out: number[] = [];
  for (let i = 0; i < max; i++) out.push(start + Math.round((i * (n - 1)) / (max - 1)));
  return out;
}

/**
 * Declared measurements' values (RunInfo.measures), as they arrived: series and groups as
 * columns (a step column and a values column each), matrices and events as lists (they are
 * sparse). Kept whole in memory: a per-step series costs 16 B per step (8 + 8·width for groups).
 */
export class MeasureHistory {
  private readonly series = new Map<string, { step: Column; values: Column; drained: number }>();
  private readonly matrices: { id: string; step: number; values: Float32Array }[] = [];
  private readonly events: MeasureEvent[] = [];
  private drainedMatrices = 0;
  private drainedEvents = 0;

  /** Records one step's samples and events (already checked against the declarations by the guard). */
  append(d: StepData, info: RunInfo | undefined): void {
    for (const smp of d.measures ?? []) {
      const decl = info?.measures?.find((m) => m.id === smp.id);
      if (!decl) throw new Error(`step ${d.step}: measurement ${JSON.stringify(smp.id)} is not declared`);
      if (decl.kind === 'matrix') {
        this.matrices.push({ id: smp.id, step: d.step, values: Float32Array.from(smp.values) });
        continue;
      }
      let col = this.series.get(smp.id);
      if (!col) {
        col = { step: new Column(1, 'f64'), values: new Column(measureWidth(decl), 'f64'), drained: 0 };
        this.series.set(smp.id, col);
      }
      col.step.push1(d.step);
      col.values.push(smp.values);
    }
    for (const e of d.events ?? []) this.events.push(e.payload === undefined ? { id: e.id, step: e.step, text: e.text } : { id: e.id, step: e.step, text: e.text, payload: structuredClone(e.payload) });
  }

  get hasUndrained(): boolean {
    if (this.drainedMatrices < this.matrices.length || this.drainedEvents < this.events.length) return true;
    for (const c of this.series.values()) if (c.drained < c.step.length) return true;
    return false;
  }

  /** Everything (`all`) or what arrived since the last drain (which then counts as handed out). */
  chunk(all: boolean): MeasureChunk {
    const out: MeasureChunk = { series: [], matrices: [], events: [] };
    for (const [id, c] of this.series) {
      const from = all ? 0 : c.drained;
      const n = c.step.length - from;
      if (n > 0) out.series.push({ id, step: c.step.copyRows(from, c.step.length, new Float64Array(n)), values: c.values.copyRows(from, c.step.length, new Float64Array(n * c.values.width)) });
      if (!all) c.drained = c.step.length;
    }
    out.matrices = this.matrices.slice(all ? 0 : this.drainedMatrices).map((m) => ({ ...m, values: m.values.slice() }));
    out.events = this.events.slice(all ? 0 : this.drainedEvents).map((e) => ({ ...e }));
    if (!all) {
      this.drainedMatrices = this.matrices.length;
      this.drainedEvents = this.events.length;
    }
    return out;
  }
}

export class RunHistory {
  /** From runStarted. */
  info: RunInfo | undefined;
  /** From runCompleted. */
  summary: RunSummaryData | undefined;

  // Scalars, one row per step.
  private readonly stepCol = new Column(1, 'f64');
  private readonly lossCol = new Column(1, 'f64');
  private readonly accCol = new Column(1, 'f64');
  private gradCol: Column | undefined; // (n × G)
  private weightCol: Column | undefined; // (n × G)

  private readonly evals: EvalPoint[] = [];
  private readonly attentionSteps: number[] = [];
  /** Frames of attentionSteps[framesBase …] (older ones were let go; the backing has them). */
  private readonly frames: AttentionMapData[][][] = [];
  private framesBase = 0;

  /** Set when the run is recorded: older rows and frames are then let go and read back from the files. */
  backing: HistoryBacking | undefined;
  /** Called when the backing could not be read back (the snapshot then holds what memory has). */
  onBackingError: ((e: unknown) => void) | undefined;

  // Identity, one row per step that reported it.
  private readonly idStep = new Column(1, 'f64');
  private idCols: { score: Column; measured: Column; theory: Column; relError: Column } | undefined; // each (n × K)

  /** Declared measurements' values. */
  readonly measures = new MeasureHistory();

  // What drainUpdate has handed out so far.
  private drained = { scalars: 0, evals: 0, attention: 0, identity: 0 };
  /** The run info arrived and no update has carried it yet (a webview may have had a snapshot without it). */
  private infoPending = false;
  /** The trainer's wall clock at the last step (when it sends one). */
  private lastWallTime: number | undefined;

  /** Steps recorded. */
  get length(): number {
    return this.stepCol.length;
  }

  /** The last step recorded (0 before the first). */
  get lastStep(): number {
    return this.length > 0 ? this.stepCol.get(this.length - 1) : 0;
  }

  /** Parameter groups per step (undefined before the first step or runStarted). */
  get groups(): number | undefined {
    return this.gradCol?.width;
  }

  /** Bytes allocated for the per-step scalars (typed-array capacities). */
  get scalarBytes(): number {
    return this.stepCol.byteLength + this.lossCol.byteLength + this.accCol.byteLength + (this.gradCol?.byteLength ?? 0) + (this.weightCol?.byteLength ?? 0);
  }

  /** The first step row still in memory (0 unless a backing let rows go). */
  get retained(): number {
    return this.stepCol.first;
  }

  /** Attention frames still in memory. */
  get framesHeld(): number {
    return this.frames.length;
  }

  /** Bytes allocated for the identity rows. */
  get identityBytes(): number {
    const c = this.idCols;
    return this.idStep.byteLength + (c ? c.score.byteLength + c.measured.byteLength + c.theory.byteLength + c.relError.byteLength : 0);
  }

  /** Identity rows recorded. */
  get identityLength(): number {
    return this.idStep.length;
  }

  setInfo(info: RunInfo): void {
    this.info = info;
    this.infoPending = true;
    this.ensureGroups(info.groups.length);
  }

  setSummary(summary: RunSummaryData): void {
    this.summary = summary;
  }

  private ensureGroups(g: number): void {
    if (this.gradCol) {
      if (this.gradCol.width !== g) throw new Error(`a step has ${g} norms, the run has ${this.gradCol.width} groups`);
      return;
    }
    this.gradCol = new Column(g, 'f32');
    this.weightCol = new Column(g, 'f32');
  }

  /** Records one step. Steps must increase (the run process rejects any that do not). */
  appendStep(d: StepData): void {
    if (this.length > 0 && d.step <= this.lastStep) throw new Error(`step ${d.step} after step ${this.lastStep}`);
    this.ensureGroups(d.gradNorms.length);
    if (d.weightNorms.length !== d.gradNorms.length) throw new Error('gradNorms and weightNorms differ in length');
    if (d.identity) this.ensureIdentity(d.identity);
    this.lastWallTime = d.wallTime;
    this.stepCol.push1(d.step);
    this.lossCol.push1(d.loss);
    this.accCol.push1(d.trainAccuracy);
    this.gradCol!.push(d.gradNorms);
    this.weightCol!.push(d.weightNorms);
    if (d.eval) this.evals.push({ step: d.step, ...d.eval });
    if (d.attention) {
      this.attentionSteps.push(d.step);
      // Own copies: the arrays that arrive are views into the IPC message's buffer, which may be
      // pooled and shared with other messages (and so changed or detached later).
      this.frames.push(copyProbes(d.attention));
    }
    if (d.measures || d.events) this.measures.append(d, this.info);
    if (d.identity) {
      const c = this.idCols!;
      this.idStep.push1(d.step);
      c.score.push(d.identity.score);
      c.measured.push(d.identity.measured);
      c.theory.push(d.identity.theory);
      c.relError.push(d.identity.relError);
    }
  }

  /**
   * A frame captured after its step was recorded (the trainer's capture at a pause): at the
   * last step, which must not have one already.
   */
  addAttention(step: number, probes: readonly (readonly AttentionMapData[])[]): void {
    if (step !== this.lastStep) throw new Error(`attention for step ${step}, the last step is ${this.lastStep}`);
    if (this.attentionSteps[this.attentionSteps.length - 1] === step) throw new Error(`step ${step} already has attention`);
    this.attentionSteps.push(step);
    this.frames.push(copyProbes(probes));
  }

  private ensureIdentity(id: IdentityData): void {
    const k = id.score.length;
    if (this.idCols) {
      if (this.idCols.score.width !== k) throw new Error(`identity for ${k} topic words, the run has ${this.idCols.score.width}`);
      return;
    }
    this.idCols = { score: new Column(k, 'f32'), measured: new Column(k, 'f32'), theory: new Column(k, 'f32'), relError: new Column(k, 'f32') };
  }

  /**
   * Scalars of steps [start, end) (row indices, not step numbers), columnar float64, from
   * memory: `start` must be at least `retained`. `prefix` (rows [0, start) from the files)
   * is put in front.
   */
  scalars(start = this.retained, end = this.length, prefix?: ScalarChunk): ScalarChunk {
    const p = prefix?.n ?? 0;
    const n = Math.max(0, end - start) + p;
    const g = this.gradCol?.width ?? 0;
    const out: ScalarChunk = {
      n,
      step: this.stepCol.copyRows(start, end, new Float64Array(n), p),
      loss: this.lossCol.copyRows(start, end, new Float64Array(n), p),
      trainAccuracy: this.accCol.copyRows(start, end, new Float64Array(n), p),
      gradNorms: this.gradCol ? this.gradCol.copyRows(start, end, new Float64Array(n * g), p) : new Float64Array(0),
      weightNorms: this.weightCol ? this.weightCol.copyRows(start, end, new Float64Array(n * g), p) : new Float64Array(0),
    };
    if (prefix && p > 0) {
      out.step.set(prefix.step);
      out.loss.set(prefix.loss);
      out.trainAccuracy.set(prefix.trainAccuracy);
      if (g > 0) {
        out.gradNorms.set(prefix.gradNorms.subarray(0, p * g));
        out.weightNorms.set(prefix.weightNorms.subarray(0, p * g));
      }
    }
    return out;
  }

  /** The attention captured at `step` or the latest capture before it; undefined if none is that early. */
  attentionAt(step: number): AttentionFrame | undefined {
    const s = this.attentionSteps;
    const found = indexAtOrBefore(s, step);
    if (found < 0) return undefined;
    if (found >= this.framesBase) return { step: s[found]!, probes: this.frames[found - this.framesBase]! };
    return this.backing?.readAttention(s[found]!);
  }

  /** The latest captured attention. */
  latestAttention(): AttentionFrame | undefined {
    const i = this.frames.length - 1;
    return i < 0 ? undefined : { step: this.attentionSteps[this.framesBase + i]!, probes: this.frames[i]! };
  }

  /** Identity points of rows [start, end), subsampled to `most`; rows before `idStep.first` come from `prefix`. */
  private identityPoints(start: number, end: number, most: number, prefix?: IdentityRows): IdentityPoint[] {
    const c = this.idCols;
    if (!c) return [];
    const k = c.score.width;
    const held = this.idStep.first;
    return subsample(start, end, most).map((i) => {
      if (i < held) return identityPointOf(prefix!, i);
      return {
        step: this.idStep.get(i),
        score: c.score.copyRows(i, i + 1, new Float64Array(k)),
        measured: c.measured.copyRows(i, i + 1, new Float64Array(k)),
        theory: c.theory.copyRows(i, i + 1, new Float64Array(k)),
        relError: c.relError.copyRows(i, i + 1, new Float64Array(k)),
      };
    });
  }

  /**
   * Everything a (re)opened dashboard shows. Identity is subsampled to ≤ MAX_IDENTITY_POINTS,
   * with the latest. Rows let go of are read back from the backing; if that fails,
   * onBackingError hears of it and the snapshot starts at the first row still in memory.
   */
  snapshot(runId: string, status: RunStatus, reason?: string): RunSnapshot {
    let prefix: { scalars: ScalarChunk; identity: IdentityRows } | undefined;
    const base = this.retained;
    const idBase = this.idStep.first;
    if ((base > 0 || idBase > 0) && this.backing) {
      try {
        prefix = this.backing.read(base, idBase);
      } catch (e) {
        this.onBackingError?.(e);
      }
    }
    const snap: RunSnapshot = {
      runId,
      status,
      info: this.info,
      scalars: prefix ? this.scalars(base, this.length, prefix.scalars) : this.scalars(),
      evals: this.evals.map((e) => ({ ...e })),
      attentionSteps: [...this.attentionSteps],
      latestAttention: this.latestAttention(),
      identity: this.identityPoints(prefix ? 0 : idBase, this.idStep.length, MAX_IDENTITY_POINTS, prefix?.identity),
      measures: this.measures.chunk(true),
    };
    if (reason !== undefined) snap.statusReason = reason;
    if (this.summary) snap.summary = this.summary;
    return snap;
  }

  /** Whether anything arrived since the last drainUpdate. */
  get hasUndrained(): boolean {
    const d = this.drained;
    return this.infoPending || d.scalars < this.length || d.evals < this.evals.length || d.attention < this.attentionSteps.length || d.identity < this.idStep.length || this.measures.hasUndrained;
  }

  /**
   * Everything since the last drain as one `stepsAppended` (undefined when nothing is new).
   * latestAttention is the newest frame when frames arrived; identity is subsampled to
   * ≤ LIVE_IDENTITY_POINTS with the latest.
   */
  drainUpdate(runId: string): StepsAppended | undefined {
    if (!this.hasUndrained) return undefined;
    const d = this.drained;
    const msg: StepsAppended = {
      type: 'stepsAppended',
      runId,
      scalars: this.scalars(d.scalars, this.length),
      evals: this.evals.slice(d.evals).map((e) => ({ ...e })),
      attentionSteps: this.attentionSteps.slice(d.attention),
      identity: this.identityPoints(d.identity, this.idStep.length, LIVE_IDENTITY_POINTS),
      measures: this.measures.chunk(false),
    };
    if (d.attention < this.attentionSteps.length) msg.latestAttention = this.latestAttention()!;
    if (this.infoPending && this.info) msg.info = this.info;
    if (this.lastWallTime !== undefined && d.scalars < this.length) msg.lastWallTime = this.lastWallTime;
    this.infoPending = false;
    this.drained = { scalars: this.length, evals: this.evals.length, attention: this.attentionSteps.length, identity: this.idStep.length };
    this.letGo();
    return msg;
  }

  /** With a backing: lets go of rows and frames that are both in the files and handed out. */
  letGo(): void {
    const b = this.backing;
    if (!b) return;
    const p = b.persisted();
    const d = this.drained;
    const keep = Math.min(d.scalars, p.steps);
    if (keep - this.retained >= MIN_LET_GO_ROWS) {
      const first = this.stepCol.dropBefore(keep);
      for (const c of [this.lossCol, this.accCol, this.gradCol, this.weightCol]) c?.dropBefore(first);
    }
    const keepId = Math.min(d.identity, p.identity);
    if (this.idCols && keepId - this.idStep.first >= MIN_LET_GO_ROWS) {
      const first = this.idStep.dropBefore(keepId);
      const c = this.idCols;
      for (const col of [c.score, c.measured, c.theory, c.relError]) col.dropBefore(first);
    }
    const keepF = Math.min(d.attention, p.attention, this.attentionSteps.length - FRAMES_KEPT);
    if (keepF - this.framesBase >= FRAMES_KEPT) {
      this.frames.splice(0, keepF - this.framesBase);
      this.framesBase = keepF;
    }
  }
}
