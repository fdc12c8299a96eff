/**
 * The step scrubber's logic: its stops are the steps at which attention was captured; a
 * position snaps to the nearest stop at or before it; at the last stop it is "live" and
 * follows the newest frame as training continues.
 */
import { indexAtOrBefore } from '../../src/protocol/steps';

/** Index of the last stop ≤ position (stops increasing); 0 when position is before them all, -1 when there are none. */
export function stopIndexAtOrBefore(stops: readonly number[], position: number): number {
  if (stops.length === 0) return -1;
  return Math.max(0, indexAtOrBefore(stops, position));
}

/** The nearest recorded step ≤ position (the first stop if position is before it). */
export function stopAtOrBefore(stops: readonly number[], position: number): number | undefined {
  const i = stopIndexAtOrBefore(stops, position);
  return i < 0 ? undefined : stops[i];
}

export interface ScrubberState {
  live: boolean;
  /** The chosen stop when not live. */
  step: number | undefined;
}

export class Scrubber {
  live = true;
  private chosen: number | undefined;

  constructor(private stops: readonly number[] = []) {}

  /** The (growing) list of stops; the array is read, never copied. */
  setStops(stops: readonly number[]): void {
    this.stops = stops;
  }

  get first(): number | undefined {
    return this.stops[0];
  }

  get last(): number | undefined {
    return this.stops[this.stops.length - 1];
  }

  get count(): number {
    return this.stops.length;
  }

  /** The step shown: the newest stop when live, else the chosen one. */
  get step(): number | undefined {
    return this.live ? this.last : this.chosen ?? this.last;
  }

  get state(): ScrubberState {
    return { live: this.live, step: this.live ? undefined : this.chosen };
  }

  /** Move to a position (a step number). Returns true if the shown step changed. */
  moveTo(position: number): boolean {
    const before = this.key();
    const i = stopIndexAtOrBefore(this.stops, position);
    if (i < 0) return false;
    if (i === this.stops.length - 1) {
      this.live = true;
      this.chosen = undefined;
    } else {
      this.live = false;
      this.chosen = this.stops[i];
    }
    return this.key() !== before;
  }

  /** Move by `delta` stops (arrow keys). */
  moveBy(delta: number): boolean {
    const cur = this.step;
    if (cur === undefined) return false;
    const i = stopIndexAtOrBefore(this.stops, cur);
    const j = Math.min(this.stops.length - 1, Math.max(0, i + delta));
    return this.moveTo(this.stops[j] as number);
  }

  goLive(): boolean {
    const changed = !this.live;
    this.live = true;
    this.chosen = undefined;
    return changed;
  }

  /** Restore a saved state (after a reload): a chosen step snaps to the stops known now. */
  restore(s: ScrubberState): void {
    if (s.live || s.step === undefined) {
      this.goLive();
      return;
    }
    this.live = false;
    this.chosen = s.step;
    if (this.stops.length > 0) this.moveTo(s.step);
  }

  private key(): string {
    return this.live ? 'live' : String(this.chosen);
  }
}

/**
 * A key on the scrubber: ←/↓ and →/↑ one stop, PageDown / PageUp ten, Home the first stop, End
 * live. Returns whether the shown step changed, or undefined when the key is not one of these.
 */
export function scrubberKey(scrub: Scrubber, key: string): boolean | undefined {
  switch (key) {
    case 'ArrowLeft':
    case 'ArrowDown':
      return scrub.moveBy(-1);
    case 'ArrowRight':
    case 'ArrowUp':
      return scrub.moveBy(1);
    case 'PageDown':
      return scrub.moveBy(-10);
    case 'PageUp':
      return scrub.moveBy(10);
    case 'Home':
      return scrub.first !== undefined && scrub.moveTo(scrub.first);
    case 'End':
      return scrub.goLive();
    default:
      return undefined;
  }
}
