/**
 * Flow control between the host and one page: at most `window` updates are unanswered at a
 * time; what arrives meanwhile is merged into one pending update, sent as soon as the page
 * answers. A page that is slower than the run (a busy or slow machine, several dashboards)
 * then gets fewer, larger updates instead of a growing queue, whose backlog would delay
 * everything else sharing its thread (in a browser-hosted VS Code, the whole window). No
 * `vscode` import.
 */
import { concatMeasures } from '../protocol/measures';
import type { ScalarChunk } from '../protocol/messages';
import { LIVE_IDENTITY_POINTS, subsample, type StepsAppended } from './runHistory';

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function concatScalars(a: ScalarChunk, b: ScalarChunk): ScalarChunk {
  return {
    n: a.n + b.n,
    step: concat(a.step, b.step),
    loss: concat(a.loss, b.loss),
    trainAccuracy: concat(a.trainAccuracy, b.trainAccuracy),
    gradNorms: concat(a.gradNorms, b.gradNorms),
    weightNorms: concat(a.weightNorms, b.weightNorms),
  };
}

/**
 * One update holding `a` then `b` (of the same run): every step of both; identity points of
 * both, subsampled to LIVE_IDENTITY_POINTS keeping the latest (as one update would be); b's latest attention and info
 * when it has them.
 */
export function mergeStepsAppended(a: StepsAppended, b: StepsAppended): StepsAppended {
  if (a.runId !== b.runId) throw new Error(`cannot merge updates of runs ${a.runId} and ${b.runId}`);
  const both = [...a.identity, ...b.identity];
  const identity = subsample(0, both.length, LIVE_IDENTITY_POINTS).map((i) => both[i]!);
  const m: StepsAppended = {
    type: 'stepsAppended',
    runId: a.runId,
    scalars: concatScalars(a.scalars, b.scalars),
    evals: [...a.evals, ...b.evals],
    attentionSteps: [...a.attentionSteps, ...b.attentionSteps],
    identity,
    measures: concatMeasures(a.measures, b.measures),
  };
  const latest = b.latestAttention ?? a.latestAttention;
  if (latest) m.latestAttention = latest;
  const info = b.info ?? a.info;
  if (info) m.info = info;
  const wall = b.lastWallTime ?? a.lastWallTime;
  if (wall !== undefined) m.lastWallTime = wall;
  return m;
}

export class UpdateFlow {
  private seq = 0;
  private acked = 0;
  /** Per run (a compare view shows several), the updates waiting, merged; in arrival order. */
  private readonly pending = new Map<string, StepsAppended>();

  private lastSent = -Infinity;
  /** Inside snapshot(): updates are not queued (the snapshot being built holds them). */
  private taking = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly send: (msg: StepsAppended) => void,
    /** Updates that may be unanswered at once. */
    readonly window = 2,
    /** At least this long between two updates (a page that shows little needs few). */
    readonly minIntervalMs = 0,
  ) {}

  /** Updates sent and not yet answered. */
  get unanswered(): number {
    return this.seq - this.acked;
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** A new update for the page (the object is not changed: it may go to other pages too). */
  push(msg: StepsAppended): void {
    if (this.taking) return;
    const waiting = this.pending.get(msg.runId);
    if (waiting) {
      this.pending.set(msg.runId, mergeStepsAppended(waiting, msg));
    } else if (this.pending.size === 0 && this.unanswered < this.window && this.dueIn() <= 0) this.sendNow(msg);
    else this.pending.set(msg.runId, msg);
    this.schedule();
  }

  /** The page answered update `seq` (and so every one before it). */
  ack(seq: number): void {
    if (seq > this.acked && seq <= this.seq) this.acked = seq;
    this.drain();
  }

  /**
   * Builds the page's snapshot with `take`, ignoring the updates taking it flushes (a run's
   * snapshot first hands pending steps to every listener; this page gets them in the
   * snapshot), and then clears what is outstanding: the snapshot holds it all.
   */
  snapshot<T>(take: () => T): T {
    this.taking = true;
    try {
      return take();
    } finally {
      this.taking = false;
      this.reset();
    }
  }

  /** The page was sent a snapshot (which holds everything so far): nothing is outstanding. */
  reset(): void {
    this.pending.clear();
    this.acked = this.seq;
    this.cancel();
  }

  /** Stops the interval timer (the page is gone). */
  dispose(): void {
    this.pending.clear();
    this.cancel();
  }

  private dueIn(): number {
    return this.lastSent + this.minIntervalMs - performance.now();
  }

  private drain(): void {
    if (this.dueIn() > 0) return this.schedule();
    for (const [runId, msg] of this.pending) {
      if (this.unanswered >= this.window) break;
      this.pending.delete(runId);
      this.sendNow(msg);
      if (this.minIntervalMs > 0) break;
    }
    this.schedule();
  }

  /** With a minimum interval: wake when the next pending update is due. */
  private schedule(): void {
    if (this.minIntervalMs <= 0 || this.timer !== undefined || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, Math.max(0, this.dueIn()));
  }

  private cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private sendNow(msg: StepsAppended): void {
    this.lastSent = performance.now();
    this.send({ ...msg, seq: ++this.seq, postedAt: Date.now() });
  }
}
