/**
 * A run read back from its folder, offering what the Runs tree and a dashboard need from a
 * live `Run` (id, name, status, step, info, snapshot, attentionAt), so a finished run opens
 * the same dashboard as a live one. The folder is listed cheaply (meta.json and headers);
 * its records are read on the first snapshot() and kept. A run another process is still
 * writing is followed: `poll()` reads only what was appended since and returns it as one
 * `stepsAppended` update, the way a live run's updates reach a dashboard. No `vscode` import.
 */
import { concatMeasures } from '../protocol/measures';
import type {
  AttentionFrame, EvalPoint, HostToWebview, IdentityPoint, MeasureChunk, RunInfo, RunSnapshot, RunStatus, RunSummaryData } from '../protocol/messages';
import { indexAtOrBefore } from '../protocol/steps';
import { identityPointOf, LIVE_IDENTITY_POINTS, MAX_IDENTITY_POINTS, subsample, type StepsAppended } from './runHistory';
import { isTerminal } from './runProcess';
import { listRun, RunFollower, toScalarChunk, type RunListing, type RunMeta, type StoredIdentity, type StoredScalars, type StoreProblem } from './store';

type StatusChanged = Extract<HostToWebview, { type: 'statusChanged' }>;

/** Everything read so far, as the chunks the follower returned (concatenated on demand). */
interface Loaded {
  follower: RunFollower;
  config: unknown;
  scalars: StoredScalars[];
  identity: StoredIdentity[];
  evals: EvalPoint[];
  attentionSteps: number[];
  /** Every measurement value read so far. */
  measures: MeasureChunk;
  problems: StoreProblem[];
  /** The follower has read everything of an ended run. */
  ended: boolean;
}

function concatScalars(parts: StoredScalars[]): StoredScalars {
  const nonEmpty = parts.filter((p) => p.n > 0);
  if (nonEmpty.length === 1) return nonEmpty[0]!;
  const n = nonEmpty.reduce((a, p) => a + p.n, 0);
  const g = nonEmpty[0]?.groups ?? parts[0]?.groups ?? 0;
  const out: StoredScalars = { n, groups: g, step: new Uint32Array(n), loss: new Float64Array(n), trainAccuracy: new Float32Array(n), stepMs: new Float32Array(n), gradNorms: new Float32Array(n * g), weightNorms: new Float32Array(n * g) };
  let o = 0;
  for (const p of nonEmpty) {
    out.step.set(p.step, o);
    out.loss.set(p.loss, o);
    out.trainAccuracy.set(p.trainAccuracy, o);
    out.stepMs.set(p.stepMs, o);
    out.gradNorms.set(p.gradNorms, o * g);
    out.weightNorms.set(p.weightNorms, o * g);
    o += p.n;
  }
  return out;
}

function concatIdentity(parts: StoredIdentity[]): StoredIdentity {
  const nonEmpty = parts.filter((p) => p.n > 0);
  if (nonEmpty.length === 1) return nonEmpty[0]!;
  const n = nonEmpty.reduce((a, p) => a + p.n, 0);
  const k = nonEmpty[0]?.k ?? parts[0]?.k ?? 0;
  const out: StoredIdentity = { n, k, step: new Uint32Array(n), score: new Float32Array(n * k), measured: new Float32Array(n * k), theory: new Float32Array(n * k), relError: new Float32Array(n * k) };
  let o = 0;
  for (const p of nonEmpty) {
    out.step.set(p.step, o);
    out.score.set(p.score, o * k);
    out.measured.set(p.measured, o * k);
    out.theory.set(p.theory, o * k);
    out.relError.set(p.relError, o * k);
    o += p.n;
  }
  return out;
}

/**
 * Identity rows kept per run: a view shows at most MAX_IDENTITY_POINTS, and every topic word
 * at every step of a million-step run would be ~130 MB. Above KEEP_IDENTITY_ROWS rows the kept
 * rows are thinned to THIN_IDENTITY_ROWS, evenly spread, with the first and the last.
 */
const THIN_IDENTITY_ROWS = 4 * MAX_IDENTITY_POINTS;
const KEEP_IDENTITY_ROWS = 2 * THIN_IDENTITY_ROWS;

function thinIdentity(id: StoredIdentity, max = THIN_IDENTITY_ROWS): StoredIdentity {
  if (id.n <= max) return id;
  const k = id.k;
  const rows = subsample(0, id.n, max);
  const out: StoredIdentity = { n: rows.length, k, step: new Uint32Array(rows.length), score: new Float32Array(rows.length * k), measured: new Float32Array(rows.length * k), theory: new Float32Array(rows.length * k), relError: new Float32Array(rows.length * k) };
  rows.forEach((r, i) => {
    out.step[i] = id.step[r]!;
    for (const f of ['score', 'measured', 'theory', 'relError'] as const) out[f].set(id[f].subarray(r * k, (r + 1) * k), i * k);
  });
  return out;
}

/** At most `most` of the rows as points, evenly spread, with the first and the last. */
function identityPoints(id: StoredIdentity, most: number): IdentityPoint[] {
  return subsample(0, id.n, most).map((i) => identityPointOf(id, i));
}

export class StoredRun {
  readonly kind = 'stored';
  private listing: RunListing;
  private data: Loaded | undefined;
  private readonly frames = new Map<number, AttentionFrame | undefined>();

  constructor(listing: RunListing) {
    this.listing = listing;
  }

  /** Reads one folder; undefined when it is not a readable run. */
  static fromDir(dir: string): StoredRun | undefined {
    const r = listRun(dir);
    return 'run' in r ? new StoredRun(r.run) : undefined;
  }

  /** Takes a newer listing of the same folder (records already read are kept: they only grow). */
  update(listing: RunListing): void {
    this.listing = listing;
  }

  /** How it was launched, as meta.json and config.json say (config.json is read now if it was not). */
  launchedFrom(): { config: unknown; preset?: string; configFile?: string } {
    const m = this.listing.meta;
    const out: { config: unknown; preset?: string; configFile?: string } = { config: this.load().config };
    if (m.preset !== undefined) out.preset = m.preset;
    if (m.configFile !== undefined) out.configFile = m.configFile;
    return out;
  }

  /** The records have been read (a dashboard showed the run), so poll() has something to extend. */
  get loaded(): boolean {
    return this.data !== undefined;
  }

  /** Whether poll() may still find something: loaded, and the follower has not read the end. */
  get following(): boolean {
    return this.data !== undefined && !this.data.ended;
  }

  get id(): string {
    return this.listing.id;
  }
  get dir(): string {
    return this.listing.dir;
  }
  get meta(): RunMeta {
    return this.listing.meta;
  }
  get name(): string {
    return this.listing.meta.name;
  }
  get note(): string | undefined {
    return this.listing.meta.note;
  }
  /** The writer closed the run. */
  get ended(): boolean {
    return this.listing.ended;
  }
  /** Another process (e.g. the command line) is writing the run now. */
  get beingWritten(): boolean {
    return !this.listing.ended && this.listing.writerAlive !== false;
  }
  /** Why meta.json could not be trusted (missing, unreadable, checksum), when it could not; the run is then shown from its streams. */
  get damaged(): StoreProblem | undefined {
    return this.listing.damaged;
  }
  /** Problems found while listing (a damaged meta.json, unreadable headers), plus those found reading the records. */
  get problems(): StoreProblem[] {
    return [...(this.listing.damaged ? [this.listing.damaged] : []), ...this.listing.problems, ...(this.data?.problems ?? [])];
  }

  /**
   * The status recorded; a run whose writer died without closing it is 'failed' (meta.json
   * still says running).
   */
  get status(): RunStatus {
    const m = this.listing.meta;
    if (this.listing.ended || isTerminal(m.status)) return m.status;
    return this.listing.writerAlive === false ? 'failed' : m.status;
  }
  get statusReason(): string | undefined {
    if (this.listing.empty) return this.listing.meta.statusReason;
    const d = this.listing.damaged;
    if (d) return `meta.json is damaged (${d.message}); what its streams hold is shown`;
    const m = this.listing.meta;
    if (!this.listing.ended && !isTerminal(m.status) && this.listing.writerAlive === false) return 'the process writing this run ended without closing it (killed or crashed); its flushed steps are kept';
    return m.statusReason;
  }
  get isRunning(): boolean {
    return !isTerminal(this.status);
  }
  /** The last step recorded. */
  get step(): number {
    const last = this.data?.scalars.filter((c) => c.n > 0).pop();
    return last ? Math.max(last.step[last.n - 1]!, this.listing.steps) : this.listing.steps;
  }
  get info(): RunInfo | undefined {
    const i = this.listing.meta.info;
    return i ? ({ ...i, config: this.data?.config } as RunInfo) : undefined;
  }
  get summary(): RunSummaryData | undefined {
    return this.listing.meta.summary;
  }
  /** Date.now() of the start. */
  get startedAt(): number {
    return Date.parse(this.listing.meta.startedAt);
  }
  /** The latest recorded loss, once the records were read. */
  get latestLoss(): number | undefined {
    const last = this.data?.scalars.filter((c) => c.n > 0).pop();
    return last ? last.loss[last.n - 1] : undefined;
  }

  private load(): Loaded {
    if (!this.data) {
      const follower = new RunFollower(this.listing.dir);
      // A run nobody writes any more is read to its end, a torn tail reported (as openRun does).
      const u = follower.poll({ final: !this.beingWritten });
      this.data = { follower, config: u.config, scalars: [u.scalars], identity: [u.identity.n > KEEP_IDENTITY_ROWS ? thinIdentity(u.identity) : u.identity], evals: u.evals, attentionSteps: [...u.attentionSteps], measures: u.measures, problems: u.problems, ended: u.ended || !this.beingWritten };
      if (u.meta) this.listing = { ...this.listing, meta: u.meta, ended: u.meta.endedAt !== undefined };
    }
    return this.data;
  }

  /**
   * For a run another process writes: reads what was appended since the last poll (or the
   * snapshot) and returns it as one update, undefined when nothing is new. `statusChanged`
   * says the run's status changed (meta.json was rewritten: it ended, or its info arrived).
   */
  poll(): { update?: StepsAppended; statusChanged: boolean } {
    const d = this.data;
    if (!d || d.ended) return { statusChanged: false };
    const before = this.status;
    const hadInfo = this.listing.meta.info !== undefined;
    const writerGone = !this.beingWritten;
    const u = d.follower.poll(writerGone ? { final: true } : {});
    if (u.meta) this.listing = { ...this.listing, meta: u.meta, ended: u.meta.endedAt !== undefined };
    if (u.config !== undefined) d.config = u.config;
    d.problems.push(...u.problems);
    if (u.ended || writerGone) d.ended = true;
    const newFrames = u.attentionSteps;
    const newMeasures = u.measures.series.length > 0 || u.measures.matrices.length > 0 || u.measures.events.length > 0;
    const any = u.scalars.n > 0 || u.evals.length > 0 || u.identity.n > 0 || newFrames.length > 0 || newMeasures || (!hadInfo && this.listing.meta.info !== undefined);
    let update: StepsAppended | undefined;
    if (any) {
      if (u.scalars.n > 0) d.scalars.push(u.scalars);
      if (u.identity.n > 0) {
        d.identity.push(u.identity);
        if (d.identity.reduce((a, p) => a + p.n, 0) > KEEP_IDENTITY_ROWS) d.identity = [thinIdentity(concatIdentity(d.identity))];
      }
      d.evals.push(...u.evals);
      d.attentionSteps.push(...newFrames);
      if (newMeasures) d.measures = concatMeasures(d.measures, u.measures);
      update = { type: 'stepsAppended', runId: this.id, scalars: toScalarChunk(u.scalars), evals: u.evals.map((e) => ({ ...e })), attentionSteps: [...newFrames], identity: identityPoints(u.identity, LIVE_IDENTITY_POINTS), measures: u.measures };
      const last = newFrames[newFrames.length - 1];
      if (last !== undefined) {
        const frame = this.attentionAt(last);
        if (frame) update.latestAttention = frame;
      }
      if (!hadInfo && this.info) update.info = this.info;
    }
    return update ? { update, statusChanged: this.status !== before } : { statusChanged: this.status !== before };
  }

  statusMessage(): StatusChanged {
    const msg: StatusChanged = { type: 'statusChanged', runId: this.id, status: this.status, step: this.step, name: this.name };
    const reason = this.statusReason;
    if (reason !== undefined) msg.reason = reason;
    if (this.summary) msg.summary = this.summary;
    return msg;
  }

  /** Everything a dashboard shows, as for a live run. Identity is thinned to ≤ MAX_IDENTITY_POINTS, with the latest. */
  snapshot(): RunSnapshot {
    const d = this.load();
    const steps = d.attentionSteps;
    const last = steps[steps.length - 1];
    const snap: RunSnapshot = {
      runId: this.id,
      name: this.name,
      status: this.status,
      info: this.info,
      scalars: toScalarChunk(concatScalars(d.scalars)),
      evals: d.evals.map((e) => ({ ...e })),
      attentionSteps: [...steps],
      measures: d.measures,
      latestAttention: last !== undefined ? this.attentionAt(last) : undefined,
      identity: identityPoints(concatIdentity(d.identity), MAX_IDENTITY_POINTS),
    };
    const reason = this.statusReason;
    if (reason !== undefined) snap.statusReason = reason;
    if (this.summary) snap.summary = this.summary;
    return snap;
  }

  /** The attention captured at `step` or just before (read from attention.bin once, then cached); undefined if unreadable. */
  attentionAt(step: number): AttentionFrame | undefined {
    const d = this.load();
    // Key by the captured step, so scrubbing between two captures reads nothing new.
    const found = indexAtOrBefore(d.attentionSteps, step);
    if (found < 0) return undefined;
    const at = d.attentionSteps[found]!;
    if (this.frames.has(at)) return this.frames.get(at);
    let frame: AttentionFrame | undefined;
    try {
      frame = d.follower.readAttention(at);
    } catch {
      frame = undefined; // a corrupt frame: the scrubber shows nothing rather than failing
    }
    if (this.frames.size >= 64) this.frames.delete(this.frames.keys().next().value!);
    this.frames.set(at, frame);
    return frame;
  }
}
