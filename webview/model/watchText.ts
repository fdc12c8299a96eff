/**
 * What the dashboard writes about the step a view shows, and its pace control's choices, as
 * plain functions: a label never calls a frame "live" or "latest" unless it is at the run's
 * latest step, and says which step it is when it is not.
 */
import type { Pace } from '../../src/protocol/messages';
import { choiceOfPace, describePace, PACE_CHOICES } from '../../src/protocol/pace';

/** The pace control's options, and the one to show for the pace the host reports. */
export function paceOptions(pace: Pace | undefined): { options: { value: string; label: string }[]; value: string } {
  const options = PACE_CHOICES.map((c) => ({ value: c.id, label: c.id === 'slow-motion' ? 'Slow motion (frames held)' : c.label }));
  const c = choiceOfPace(pace ?? {});
  if (c !== undefined) return { options, value: c.id };
  // A pace set elsewhere (a setting, the command line) that is none of the choices: shown as it is.
  return { options: [...options, { value: 'custom', label: describePace(pace) }], value: 'custom' };
}

/** A run whose pace can be set: one that is still training (or about to). */
export const paceSettable = (status: string): boolean => status === 'starting' || status === 'running' || status === 'paused';

export interface AttentionLabelInput {
  /** The step the scrubber is at (undefined: nothing captured yet). */
  step: number | undefined;
  /** Whether the scrubber follows the latest capture. */
  live: boolean;
  /** The step of the frame on screen (undefined: none yet). */
  shownStep: number | undefined;
  /** The frame of `step` is still to come from the host. */
  loading: boolean;
  /** The run's latest step. */
  lastStep: number;
  fmt?: (n: number) => string;
}

/**
 * The attention section's step label: the frame's step, and whether that is the run's latest
 * step ("step 608 · the latest step"), the latest capture of a run that has gone on ("step 600
 * · latest capture, run at step 608"), or a step scrubbed back to ("step 150 · run at step 340").
 */
export function attentionLabel(a: AttentionLabelInput): string {
  const fmt = a.fmt ?? String;
  if (a.step === undefined) return 'no attention captured yet';
  if (a.loading) return a.shownStep !== undefined && a.shownStep !== a.step ? `step ${fmt(a.step)} · loading… (showing step ${fmt(a.shownStep)})` : `step ${fmt(a.step)} · loading…`;
  const s = a.shownStep ?? a.step;
  if (s >= a.lastStep) return `step ${fmt(s)} · the latest step`;
  return a.live ? `step ${fmt(s)} · latest capture, run at step ${fmt(a.lastStep)}` : `step ${fmt(s)} · run at step ${fmt(a.lastStep)}`;
}

/** A step-bound card's note on the step it shows: "step 300 · the latest step", "step 150 (scrubbed) · run at step 340". */
export function stepNote(shown: number, live: boolean, lastStep: number, fmt: (n: number) => string = String): string {
  if (shown >= lastStep) return `step ${fmt(shown)} · the latest step`;
  return live ? `step ${fmt(shown)} · the latest recorded, run at step ${fmt(lastStep)}` : `step ${fmt(shown)} · run at step ${fmt(lastStep)}`;
}

/**
 * Which parameter groups are frozen as far as the gradient norms tell: a group none of whose
 * steps had a positive finite gradient norm draws no line on the log chart, and its legend
 * says "(frozen)". Scans only the steps added since the last call.
 */
export class FrozenGroups {
  private scanned: number[] = [];
  private moving: boolean[] = [];
  private epoch: unknown;

  /** groups[g]: group g's gradient norms, its first n values. Returns per group whether it is frozen. */
  update(groups: readonly { values: ArrayLike<number>; length: number }[], epoch: unknown): boolean[] {
    if (epoch !== this.epoch || groups.length !== this.moving.length) {
      this.epoch = epoch;
      this.scanned = groups.map(() => 0);
      this.moving = groups.map(() => false);
    }
    groups.forEach((g, i) => {
      if (this.moving[i] === true) return;
      const n = g.length;
      for (let k = this.scanned[i] ?? 0; k < n; k++) {
        const v = g.values[k] as number;
        if (v > 0 && Number.isFinite(v)) {
          this.moving[i] = true;
          break;
        }
      }
      this.scanned[i] = n;
    });
    return groups.map((g, i) => g.length > 0 && this.moving[i] !== true);
  }
}

/** A gradient-norm legend entry: the group, marked "(frozen)" when it is. */
export const groupLabel = (name: string, frozen: boolean): string => (frozen ? `${name} (frozen)` : name);
