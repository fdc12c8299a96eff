/**
 * The scrubber's frame requests, for one run (the dashboard) or each compared run: per run at
 * most one requestAttention in flight (another may go out once it is REQUEST_TIMEOUT_MS old),
 * the step each run wants, and which step the host answered a request with (it sends the
 * capture at or before the step asked for, so the reply to "step 155" may be frame 150). No
 * DOM: the clock, the post and the frames held are handed in.
 */
import type { AttentionFrame } from '../../src/protocol/messages';

/** A requestAttention without reply for this long may be sent again. */
export const REQUEST_TIMEOUT_MS = 3000;

interface RunRequests {
  wanted: number | undefined;
  inflight: { step: number; at: number } | undefined;
  /** A step asked for → the step of the frame that answered it. */
  alias: Map<number, number>;
}

export interface FrameRequestsOptions {
  /** Send a requestAttention. */
  post(runId: string, step: number): void;
  /** The frame held for a run at exactly `step`, if any. */
  frameAt(runId: string, step: number): AttentionFrame | undefined;
  /** Milliseconds, increasing (performance.now in the page). */
  now(): number;
  timeoutMs?: number;
}

export class FrameRequests {
  private readonly runs = new Map<string, RunRequests>();

  constructor(private readonly opts: FrameRequestsOptions) {}

  /** Forget every request and track these runs (a new run or set of runs). */
  reset(runIds: readonly string[]): void {
    this.runs.clear();
    for (const id of runIds) this.runs.set(id, { wanted: undefined, inflight: undefined, alias: new Map() });
  }

  /** The step a run wants a frame of (undefined: none). Call `pump` to ask for it. */
  want(runId: string, step: number | undefined): void {
    const q = this.runs.get(runId);
    if (q !== undefined) q.wanted = step;
  }

  /** The frame held for a run at `step`, or at the step a request for `step` was answered with. */
  frame(runId: string, step: number): AttentionFrame | undefined {
    const f = this.opts.frameAt(runId, step);
    if (f !== undefined) return f;
    const a = this.runs.get(runId)?.alias.get(step);
    return a !== undefined ? this.opts.frameAt(runId, a) : undefined;
  }

  /** A frame of `frameStep` arrived for a run: it answers the request in flight. */
  loaded(runId: string, frameStep: number): void {
    const q = this.runs.get(runId);
    if (q === undefined) return;
    if (q.inflight !== undefined && q.inflight.step !== frameStep) q.alias.set(q.inflight.step, frameStep);
    q.inflight = undefined;
  }

  /** Ask for each run's wanted frame unless it is held, a request is still out, or the view is `live` (it shows the latest). */
  pump(live: boolean): void {
    const timeout = this.opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
    let now: number | undefined;
    for (const [runId, q] of this.runs) {
      const step = q.wanted;
      if (step === undefined) continue;
      if (live || this.frame(runId, step) !== undefined) {
        q.wanted = undefined;
        continue;
      }
      now ??= this.opts.now();
      if (q.inflight !== undefined && now - q.inflight.at < timeout) continue;
      q.inflight = { step, at: now };
      this.opts.post(runId, step);
    }
  }
}
