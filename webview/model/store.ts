/**
 * The webview's copy of one run: applies the host's snapshot / stepsAppended /
 * statusChanged / attentionLoaded messages (already accepted by the protocol guard) and
 * keeps every per-step series in growable typed arrays, and every declared measurement in a
 * MeasureStore. No DOM: renderers read from it and repaint what `apply` reports as changed.
 * The host is the source of truth; a new snapshot replaces everything.
 */
import { assertNever, PROTOCOL_VERSION } from '../../src/protocol/messages';
import type {
  AttentionFrame,
  EvalPoint,
  HostToWebview,
  IdentityPoint,
  Pace,
  RunInfo,
  RunStatus,
  RunSummaryData,
  ScalarChunk,
} from '../../src/protocol/messages';
import { copyProbes } from '../../src/protocol/steps';
import { MeasureStore } from './measures';
import { Series } from './series';

/** Bit flags: what an applied message changed. */
export const Changed = {
  None: 0,
  /** A new run (or the same run re-sent): everything, including layouts, must be rebuilt. */
  Run: 1,
  Status: 2,
  Scalars: 4,
  Evals: 8,
  /** New attention steps and/or a new latest frame. */
  Attention: 16,
  Identity: 32,
  /** A frame requested by the scrubber arrived. */
  Loaded: 64,
  /** The host reported a protocol mismatch or sent a snapshot of another version. */
  Error: 128,
  /** Declared measurements' values (series, groups, matrices, events) or their declarations. */
  Measures: 256,
} as const;

export interface ApplyResult {
  /** OR of Changed flags. */
  changed: number;
  /** Set when (part of) the message was ignored; the caller logs it. */
  warning?: string;
}

/** Identity points kept for the scatter; older ones are thinned (every other one dropped). */
export const MAX_IDENTITY_POINTS = 1024;
/** Scrubbed frames kept, least recently used dropped first. */
export const FRAME_CACHE_SIZE = 48;

/**
 * Copies of what the store keeps from a message as is. The host packs all of a message's
 * typed arrays into one buffer (src/extension/post.ts), so one small array kept from a
 * snapshot (the latest frame, an identity point) would keep the whole message alive: for two
 * million-step runs in the compare view, ~180 MB. Scalars are copied into Series anyway.
 */
function ownFrame(f: AttentionFrame): AttentionFrame {
  return { step: f.step, probes: copyProbes(f.probes) };
}

function ownIdentity(p: IdentityPoint): IdentityPoint {
  return { step: p.step, score: p.score.slice(), measured: p.measured.slice(), theory: p.theory.slice(), relError: p.relError.slice() };
}

/** Sparse evaluation series, all the same length. */
export class EvalSeries {
  readonly step = new Series(64);
  readonly validationLoss = new Series(64);
  readonly validationAccuracy = new Series(64);
  readonly testLoss = new Series(64);
  readonly testAccuracy = new Series(64);
  /** NaN where the trainer did not report it. */
  readonly topicAttention = new Series(64);

  get length(): number {
    return this.step.length;
  }

  push(p: EvalPoint): void {
    this.step.push(p.step);
    this.validationLoss.push(p.validationLoss);
    this.validationAccuracy.push(p.validationAccuracy);
    this.testLoss.push(p.testLoss);
    this.testAccuracy.push(p.testAccuracy);
    this.topicAttention.push(p.topicAttention ?? NaN);
  }

  clear(): void {
    for (const s of [this.step, this.validationLoss, this.validationAccuracy, this.testLoss, this.testAccuracy, this.topicAttention]) s.clear();
  }
}

export class RunStore {
  runId: string | undefined;
  status: RunStatus = 'starting';
  statusReason: string | undefined;
  info: RunInfo | undefined;
  /** The run's display name from the host (Rename changes it); the trainer's info.name otherwise. */
  displayName: string | undefined;
  summary: RunSummaryData | undefined;
  /** The pace a live run trains at, as the host last reported it (undefined: as fast as it can, or not live). */
  pace: Pace | undefined;
  /** The user's note on the run (undefined: none). */
  note: string | undefined;
  /** Set when the host and this page disagree on the protocol. */
  protocolError: string | undefined;

  /** Per-step scalars, all of the same length, steps strictly increasing. */
  readonly step = new Series();
  readonly loss = new Series();
  readonly trainAccuracy = new Series();
  /**
   * gradNorms[g] is parameter group g's gradient norm per step (empty with `gradNorms:
   * 'total'`). Weight norms arrive too but no view draws them, so they are not kept: 8 bytes
   * per group and step, 64 MB for two million-step runs of 4 groups. The host has them for
   * the exports.
   */
  gradNorms: Series[] = [];
  /** With `gradNorms: 'total'`: √(Σ_g gradNorm_g²) per step (non-finite groups left out; NaN without groups). */
  readonly gradTotal = new Series();
  readonly evals = new EvalSeries();

  /** Steps at which attention was captured, increasing: the scrubber's stops. */
  attentionSteps: number[] = [];
  latestAttention: AttentionFrame | undefined;
  /** Identity points (Lu runs), increasing step, at most MAX_IDENTITY_POINTS. */
  identity: IdentityPoint[] = [];
  /** The run's declared measurements (RunInfo.measures) and their values. */
  readonly measures = new MeasureStore();
  /** Highest step heard of (scalars or status). */
  lastStep = 0;
  /** Bumped on every change of the matching part; renderers compare to skip work. */
  version = 0;
  /** Bumped whenever the series are cleared (a snapshot): appends alone keep it. */
  epoch = 0;

  private frames = new Map<number, AttentionFrame>();
  /** Norm groups per step, fixed by the first scalar chunk. */
  private nGroups: number | undefined;

  /**
   * `gradNorms: 'total'` keeps only the total gradient norm per step, not each group's (the
   * compare view draws the total alone: 32 bytes per step fewer with 4 groups).
   */
  constructor(private readonly opts: { gradNorms?: 'groups' | 'total' } = {}) {}

  /** The name to show: the host's display name (Rename changes it), else the trainer's, else the run id. */
  get name(): string | undefined {
    return this.displayName ?? this.info?.name ?? this.runId;
  }

  /** Parameter group names; "group g" when the run info has not arrived. */
  get groups(): string[] {
    const names = this.info?.groups ?? [];
    return Array.from({ length: this.nGroups ?? 0 }, (_, g) => names[g] ?? `group ${g}`);
  }

  /** Is the run over (no more steps will come)? */
  get finished(): boolean {
    return this.status === 'completed' || this.status === 'stopped' || this.status === 'failed';
  }

  /** First and last step of what the step-axis charts draw: scalars, evaluations and measurement series (NaN, NaN when none). */
  stepRange(): { x0: number; x1: number } {
    let x0 = Infinity;
    let x1 = -Infinity;
    const take = (a: number, b: number): void => {
      if (!Number.isFinite(a) || !Number.isFinite(b)) return;
      x0 = Math.min(x0, a);
      x1 = Math.max(x1, b);
    };
    if (this.step.length > 0) take(this.step.at(0), this.step.last);
    if (this.evals.length > 0) take(this.evals.step.at(0), this.evals.step.last);
    const m = this.measures.seriesRange();
    take(m.x0, m.x1);
    return Number.isFinite(x0) ? { x0, x1 } : { x0: NaN, x1: NaN };
  }

  apply(msg: HostToWebview): ApplyResult {
    const r = this.applyInner(msg);
    if (r.changed !== Changed.None) this.version++;
    return r;
  }

  /** A frame the scrubber asked for (or the latest, if that is its step). */
  frameAt(step: number): AttentionFrame | undefined {
    if (this.latestAttention?.step === step) return this.latestAttention;
    const f = this.frames.get(step);
    if (f !== undefined) {
      // Refresh its place in the LRU order.
      this.frames.delete(step);
      this.frames.set(step, f);
    }
    return f;
  }

  private applyInner(msg: HostToWebview): ApplyResult {
    switch (msg.type) {
      case 'snapshot': {
        if (msg.protocolVersion !== PROTOCOL_VERSION) {
          this.protocolError = `The extension speaks protocol version ${msg.protocolVersion}, this page ${PROTOCOL_VERSION}. Reload the window.`;
          return { changed: Changed.Error, warning: this.protocolError };
        }
        const s = msg.snapshot;
        this.reset();
        this.runId = s.runId;
        this.status = s.status;
        this.statusReason = s.statusReason;
        this.info = s.info;
        this.displayName = s.name;
        this.summary = s.summary;
        this.pace = s.pace;
        this.note = s.note;
        this.appendScalars(s.scalars);
        this.appendEvals(s.evals);
        this.appendAttentionSteps(s.attentionSteps);
        this.latestAttention = s.latestAttention !== undefined ? ownFrame(s.latestAttention) : undefined;
        this.appendIdentity(s.identity);
        this.measures.reset(s.info?.measures);
        const m = this.measures.append(s.measures);
        const changed = Changed.Run | Changed.Status | Changed.Scalars | Changed.Evals | Changed.Attention | Changed.Identity | Changed.Measures;
        return m.warning === undefined ? { changed } : { changed, warning: m.warning };
      }
      case 'stepsAppended': {
        if (this.runId === undefined || msg.runId !== this.runId) return { changed: Changed.None, warning: `stepsAppended for run ${msg.runId}, showing ${this.runId ?? 'none'}` };
        let changed: number = Changed.None;
        if (msg.info !== undefined) {
          this.info = msg.info;
          changed |= Changed.Run;
          if (this.measures.declare(msg.info.measures)) changed |= Changed.Measures;
        }
        const warnings: string[] = [];
        const scalarWarning = this.appendScalars(msg.scalars);
        if (scalarWarning !== undefined) warnings.push(scalarWarning);
        if (msg.scalars.n > 0) changed |= Changed.Scalars | Changed.Status;
        if (this.appendEvals(msg.evals)) changed |= Changed.Evals | Changed.Status;
        if (this.appendAttentionSteps(msg.attentionSteps)) changed |= Changed.Attention;
        const f = msg.latestAttention;
        if (f !== undefined && (this.latestAttention === undefined || f.step >= this.latestAttention.step)) {
          this.latestAttention = ownFrame(f);
          if (this.attentionSteps.length === 0 || f.step > (this.attentionSteps[this.attentionSteps.length - 1] as number)) this.attentionSteps.push(f.step);
          changed |= Changed.Attention;
        }
        if (this.appendIdentity(msg.identity)) changed |= Changed.Identity;
        const m = this.measures.append(msg.measures);
        if (m.changed) changed |= Changed.Measures;
        if (m.warning !== undefined) warnings.push(m.warning);
        return warnings.length === 0 ? { changed } : { changed, warning: warnings.join('; ') };
      }
      case 'statusChanged': {
        if (this.runId === undefined || msg.runId !== this.runId) return { changed: Changed.None, warning: `statusChanged for run ${msg.runId}, showing ${this.runId ?? 'none'}` };
        this.status = msg.status;
        this.statusReason = msg.reason;
        if (msg.name !== undefined) this.displayName = msg.name;
        if (msg.summary !== undefined) this.summary = msg.summary;
        // Every status message carries the run's pace (absent: full speed or not live) and note (absent: none).
        this.pace = msg.pace;
        this.note = msg.note;
        this.lastStep = Math.max(this.lastStep, msg.step);
        return { changed: Changed.Status };
      }
      case 'attentionLoaded': {
        if (this.runId === undefined || msg.runId !== this.runId) return { changed: Changed.None, warning: `attentionLoaded for run ${msg.runId}, showing ${this.runId ?? 'none'}` };
        this.frames.delete(msg.frame.step);
        this.frames.set(msg.frame.step, ownFrame(msg.frame));
        while (this.frames.size > FRAME_CACHE_SIZE) {
          const oldest = this.frames.keys().next();
          if (oldest.done === true) break;
          this.frames.delete(oldest.value);
        }
        return { changed: Changed.Loaded };
      }
      case 'compareSnapshot':
        // For the compare view, which keeps one RunStore per run; a single-run view ignores it.
        return { changed: Changed.None, warning: 'compareSnapshot sent to a single-run view' };
      case 'protocolMismatch':
        this.protocolError = `The extension expected protocol version ${msg.expected}, this page speaks ${PROTOCOL_VERSION}. Reload the window.`;
        return { changed: Changed.Error, warning: this.protocolError };
      default:
        return assertNever(msg);
    }
  }

  private reset(): void {
    this.epoch++;
    this.runId = undefined;
    this.status = 'starting';
    this.statusReason = undefined;
    this.info = undefined;
    this.displayName = undefined;
    this.summary = undefined;
    this.pace = undefined;
    this.note = undefined;
    this.protocolError = undefined;
    this.step.clear();
    this.loss.clear();
    this.trainAccuracy.clear();
    this.gradNorms = [];
    this.gradTotal.clear();
    this.nGroups = undefined;
    this.evals.clear();
    this.attentionSteps = [];
    this.latestAttention = undefined;
    this.identity = [];
    this.measures.reset(undefined);
    this.lastStep = 0;
    this.frames.clear();
  }

  /** Append the rows whose step is past the last one held (a re-sent row is skipped). */
  private appendScalars(c: ScalarChunk): string | undefined {
    if (c.n === 0) return undefined;
    const G = c.gradNorms.length / c.n;
    const total = this.opts.gradNorms === 'total';
    if (this.nGroups === undefined) {
      const groups = this.info?.groups.length ?? G;
      if (groups !== G) return `scalar chunk has ${G} norm groups, the run ${groups}; chunk dropped`;
      this.nGroups = G;
      this.gradNorms = total ? [] : Array.from({ length: G }, () => new Series());
    } else if (G !== this.nGroups) {
      return `scalar chunk has ${G} norm groups, the run ${this.nGroups}; chunk dropped`;
    }
    const pushTotal = (i: number): void => {
      let sum = 0;
      for (let g = 0; g < G; g++) {
        const v = c.gradNorms[i * G + g] as number;
        if (Number.isFinite(v)) sum += v * v;
      }
      this.gradTotal.push(G > 0 ? Math.sqrt(sum) : NaN);
    };
    let last = this.step.length > 0 ? this.step.last : -Infinity;
    // The usual chunk (a snapshot, an update): every step new and increasing. Copied column by
    // column, each series grown once: a snapshot of a million steps in a few ms per column.
    let increasing = c.n > 0 && (c.step[0] as number) > last;
    for (let i = 1; increasing && i < c.n; i++) increasing = (c.step[i] as number) > (c.step[i - 1] as number);
    if (increasing) {
      this.step.pushStrided(c.step, 0, c.n);
      this.loss.pushStrided(c.loss, 0, c.n);
      this.trainAccuracy.pushStrided(c.trainAccuracy, 0, c.n);
      if (total) for (let i = 0; i < c.n; i++) pushTotal(i);
      else for (let g = 0; g < G; g++) (this.gradNorms[g] as Series).pushStrided(c.gradNorms, g, c.n, G);
      this.lastStep = Math.max(this.lastStep, this.step.last);
      return undefined;
    }
    for (let i = 0; i < c.n; i++) {
      const s = c.step[i] as number;
      if (!(s > last)) continue;
      last = s;
      this.step.push(s);
      this.loss.push(c.loss[i] as number);
      this.trainAccuracy.push(c.trainAccuracy[i] as number);
      if (total) pushTotal(i);
      else for (let g = 0; g < G; g++) (this.gradNorms[g] as Series).push(c.gradNorms[i * G + g] as number);
    }
    if (this.step.length > 0) this.lastStep = Math.max(this.lastStep, this.step.last);
    return undefined;
  }

  private appendEvals(points: EvalPoint[]): boolean {
    let added = false;
    for (const p of points) {
      if (this.evals.length > 0 && !(p.step > this.evals.step.last)) continue;
      this.evals.push(p);
      added = true;
    }
    return added;
  }

  private appendAttentionSteps(steps: number[]): boolean {
    let added = false;
    for (const s of steps) {
      const n = this.attentionSteps.length;
      if (n > 0 && !(s > (this.attentionSteps[n - 1] as number))) continue;
      this.attentionSteps.push(s);
      added = true;
    }
    return added;
  }

  private appendIdentity(points: IdentityPoint[]): boolean {
    let added = false;
    for (const p of points) {
      const n = this.identity.length;
      if (n > 0 && !(p.step > (this.identity[n - 1] as IdentityPoint).step)) continue;
      this.identity.push(ownIdentity(p));
      added = true;
    }
    if (this.identity.length > MAX_IDENTITY_POINTS) this.identity = thinKeepingLast(this.identity);
    return added;
  }
}

/** Drop every other element, always keeping the first and the last. */
export function thinKeepingLast<T>(xs: T[]): T[] {
  const out = xs.filter((_, i) => i % 2 === 0);
  const last = xs[xs.length - 1];
  if (xs.length % 2 === 0 && last !== undefined) out.push(last);
  return out;
}
