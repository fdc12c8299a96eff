/**
 * The compare view's data, without a DOM: one RunStore per compared run, keyed by runId, in
 * the order the user chose. Applies the host's compareSnapshot and routes every later
 * per-run message (stepsAppended / statusChanged / attentionLoaded) to its run by runId.
 * Derives what the view needs across runs: the shared scrubber's stops (the union of every
 * run's attention steps), each run's frame at or before a scrubbed step, the step range of
 * all runs, and which runs the legend hides. Each run's store keeps its total gradient norm,
 * the only one drawn here, instead of every group's, and its declared measurements.
 */
import { PROTOCOL_VERSION } from '../../src/protocol/messages';
import type { AttentionFrame, ConfigDifference, HostToWebview, RunInfo } from '../../src/protocol/messages';
import { lowerBound } from './decimate';
import { indexAtOrBefore } from '../../src/protocol/steps';
import type { LuGrid } from './layout';
import { tokenLabels } from './layout';
import { Series } from './series';
import { Changed, RunStore } from './store';

export interface CompareApplyResult {
  /** OR of Changed flags (over every run the message touched). */
  changed: number;
  /** The run the message was about, for per-run messages. */
  runId?: string;
  warning?: string;
}


/** The sorted union (without duplicates) of increasing arrays. */
export function unionSorted(lists: readonly (readonly number[])[]): number[] {
  const out: number[] = [];
  const idx = lists.map(() => 0);
  for (;;) {
    let best = Infinity;
    for (let k = 0; k < lists.length; k++) {
      const v = (lists[k] as readonly number[])[idx[k] as number];
      if (v !== undefined && v < best) best = v;
    }
    if (best === Infinity) return out;
    out.push(best);
    for (let k = 0; k < lists.length; k++) {
      const l = lists[k] as readonly number[];
      while ((l[idx[k] as number] as number) <= best) idx[k] = (idx[k] as number) + 1;
    }
  }
}

/** [lo, hi) indices of steps within [x0, x1] of an increasing series, widened by `pad` points each side. */
export function rangeIndices(xs: ArrayLike<number>, n: number, x0: number, x1: number, pad = 1): { lo: number; hi: number } {
  const a = lowerBound(xs, n, x0);
  let hi = lowerBound(xs, n, x1);
  // lowerBound gives the first ≥ x1; include an exact x1 too.
  while (hi < n && (xs[hi] as number) <= x1) hi++;
  return { lo: Math.max(0, a - pad), hi: Math.min(n, hi + pad) };
}

/** A Lu frame's probe p as a one-row grid (the probe's tokens, their attention). */
export function luProbeGrid(frame: AttentionFrame, info: RunInfo | undefined, probe: number): LuGrid {
  const maps = frame.probes[probe];
  const m = maps?.find((x) => x.stage === 'weights' && x.layer === 0 && x.head === 0) ?? maps?.[0];
  const cols = m?.cols ?? 0;
  const values = new Float32Array(cols); // (1, cols)
  let peak = 0;
  for (let c = 0; c < cols; c++) {
    const v = (m?.data[c] as number | undefined) ?? NaN;
    values[c] = v;
    if (v > peak) peak = v;
  }
  const p = info?.probes[probe];
  const label = p !== undefined ? (info?.classes[p.label] ?? String(p.label)) : '';
  return { rows: m === undefined ? 0 : 1, cols, values, tokens: [tokenLabels(p?.tokens, cols)], rowLabels: [label === '' ? `#${probe}` : `#${probe} ${label}`], peak };
}

export class CompareStore {
  /** The compared runs in the chosen order. */
  runs: RunStore[] = [];
  configDiff: ConfigDifference[] = [];
  protocolError: string | undefined;
  /** Union of every run's attention steps, increasing: the shared scrubber's stops. */
  stops: number[] = [];
  /** Runs the legend hides (their curves; their heatmap panels). */
  readonly hidden = new Set<string>();
  version = 0;
  private readonly byId = new Map<string, RunStore>();

  get runIds(): string[] {
    return this.runs.map((r) => r.runId ?? '');
  }

  run(runId: string): RunStore | undefined {
    return this.byId.get(runId);
  }

  /** The run's position in the chosen order (its colour), -1 if not compared. */
  indexOf(runId: string): number {
    return this.runs.findIndex((r) => r.runId === runId);
  }

  isHidden(runId: string): boolean {
    return this.hidden.has(runId);
  }

  /** Show or hide a run (legend toggle). Returns the new hidden state. */
  toggle(runId: string, hidden = !this.hidden.has(runId)): boolean {
    if (!this.byId.has(runId)) return false;
    if (hidden) this.hidden.add(runId);
    else this.hidden.delete(runId);
    this.version++;
    return hidden;
  }

  get visibleRuns(): RunStore[] {
    return this.runs.filter((r) => !this.hidden.has(r.runId ?? ''));
  }

  apply(msg: HostToWebview): CompareApplyResult {
    const r = this.applyInner(msg);
    if (r.changed !== Changed.None) this.version++;
    return r;
  }

  private applyInner(msg: HostToWebview): CompareApplyResult {
    switch (msg.type) {
      case 'compareSnapshot': {
        if (msg.protocolVersion !== PROTOCOL_VERSION) {
          this.protocolError = `The extension speaks protocol version ${msg.protocolVersion}, this page ${PROTOCOL_VERSION}. Reload the window.`;
          return { changed: Changed.Error, warning: this.protocolError };
        }
        this.protocolError = undefined;
        const warnings: string[] = [];
        const runs: RunStore[] = [];
        this.byId.clear();
        for (const snap of msg.runs) {
          if (this.byId.has(snap.runId)) {
            warnings.push(`run ${snap.runId} appears twice in the compare snapshot; the second dropped`);
            continue;
          }
          // Only the total gradient norm is drawn here: the stores keep it instead of each group's.
          const s = new RunStore({ gradNorms: 'total' });
          const r = s.apply({ type: 'snapshot', protocolVersion: msg.protocolVersion, snapshot: snap });
          if (r.warning !== undefined) warnings.push(`${snap.runId}: ${r.warning}`);
          runs.push(s);
          this.byId.set(snap.runId, s);
        }
        this.runs = runs;
        this.configDiff = msg.configDiff;
        for (const id of [...this.hidden]) if (!this.byId.has(id)) this.hidden.delete(id);
        this.recomputeStops();
        const changed = Changed.Run | Changed.Status | Changed.Scalars | Changed.Evals | Changed.Attention | Changed.Identity | Changed.Measures;
        return warnings.length > 0 ? { changed, warning: warnings.join('; ') } : { changed };
      }
      case 'snapshot': {
        // A single run's fresh state: replaces that run if it is compared.
        const s = this.byId.get(msg.snapshot.runId);
        if (s === undefined) return { changed: Changed.None, warning: `snapshot of run ${msg.snapshot.runId}, which is not compared` };
        const r = s.apply(msg);
        this.recomputeStops();
        return this.result(r.changed, msg.snapshot.runId, r.warning);
      }
      case 'stepsAppended':
      case 'statusChanged':
      case 'attentionLoaded': {
        const s = this.byId.get(msg.runId);
        if (s === undefined) return { changed: Changed.None, runId: msg.runId, warning: `${msg.type} for run ${msg.runId}, which is not compared` };
        const r = s.apply(msg);
        if ((r.changed & Changed.Attention) !== 0) this.recomputeStops();
        return this.result(r.changed, msg.runId, r.warning);
      }
      case 'protocolMismatch':
        this.protocolError = `The extension expected protocol version ${msg.expected}, this page speaks ${PROTOCOL_VERSION}. Reload the window.`;
        return { changed: Changed.Error, warning: this.protocolError };
      default:
        return { changed: Changed.None };
    }
  }

  private result(changed: number, runId: string, warning: string | undefined): CompareApplyResult {
    return warning === undefined ? { changed, runId } : { changed, runId, warning };
  }

  /** The total gradient norm per step of a run (same length as its steps). */
  gradTotal(runId: string): Series | undefined {
    return this.byId.get(runId)?.gradTotal;
  }

  private recomputeStops(): void {
    this.stops = unionSorted(this.runs.map((r) => r.attentionSteps));
  }

  /**
   * The step of `runId`'s capture at or before the shared scrubber's step (undefined when the
   * run captured nothing by then); with `live`, the run's latest capture.
   */
  runStepAt(runId: string, step: number | undefined, live: boolean): number | undefined {
    const s = this.byId.get(runId);
    if (s === undefined) return undefined;
    if (live || step === undefined) return s.latestAttention?.step ?? s.attentionSteps[s.attentionSteps.length - 1];
    const i = indexAtOrBefore(s.attentionSteps, step);
    return i < 0 ? undefined : s.attentionSteps[i];
  }

  /** The frame a run shows for the shared scrubber's step, if it is held; and its step. */
  frameFor(runId: string, step: number | undefined, live: boolean): { step: number | undefined; frame: AttentionFrame | undefined } {
    const s = this.byId.get(runId);
    if (s === undefined) return { step: undefined, frame: undefined };
    if (live) return { step: s.latestAttention?.step, frame: s.latestAttention };
    const at = this.runStepAt(runId, step, false);
    return { step: at, frame: at === undefined ? undefined : s.frameAt(at) };
  }

  /** First and last step held over all runs (or only the visible ones): scalars, evaluations and measurement series; NaN when none. */
  stepRange(visibleOnly = false): { x0: number; x1: number } {
    let x0 = Infinity;
    let x1 = -Infinity;
    for (const r of visibleOnly ? this.visibleRuns : this.runs) {
      const range = r.stepRange();
      if (!Number.isFinite(range.x0)) continue;
      x0 = Math.min(x0, range.x0);
      x1 = Math.max(x1, range.x1);
    }
    return Number.isFinite(x0) ? { x0, x1 } : { x0: NaN, x1: NaN };
  }
}

/** Largest finite value, NaN when none. */
export function maxOf(xs: ArrayLike<number>): number {
  let m = NaN;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i] as number;
    if (Number.isFinite(v) && !(v <= m)) m = v;
  }
  return m;
}

/** What the Lu table shows of a run: its latest numbers. NaN when not known. */
export interface LuRow {
  runId: string;
  name: string;
  step: number;
  finalLoss: number;
  testAccuracy: number;
  topicAttention: number;
  identityMaxRelError: number;
}

export function luRow(s: RunStore): LuRow {
  const e = s.evals;
  const lastId = s.identity[s.identity.length - 1];
  let idErr = lastId !== undefined ? maxOf(lastId.relError) : NaN;
  if (!Number.isFinite(idErr) && s.summary?.identityMaxRelError !== undefined) idErr = s.summary.identityMaxRelError;
  let topic = e.length > 0 ? e.topicAttention.last : NaN;
  if (!Number.isFinite(topic) && s.summary?.topicAttention !== undefined) topic = s.summary.topicAttention;
  let test = e.length > 0 ? e.testAccuracy.last : NaN;
  if (!Number.isFinite(test) && s.summary !== undefined) test = s.summary.testAccuracy;
  return {
    runId: s.runId ?? '',
    name: s.info?.name ?? s.runId ?? '',
    step: s.lastStep,
    finalLoss: s.loss.length > 0 ? s.loss.last : (s.summary?.loss ?? NaN),
    testAccuracy: test,
    topicAttention: topic,
    identityMaxRelError: idErr,
  };
}
