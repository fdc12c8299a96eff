/**
 * The paces a person picks from — in the dashboard's pace control, the Set Pace command and the
 * `attentionLens.pace` setting — each a Pace (messages.ts) under a stable id.
 */
import type { Pace } from './messages';

export interface PaceChoice {
  /** Stable id (the setting's value). */
  id: string;
  label: string;
  pace: Pace;
}

/** Slow motion's hold after each captured frame. */
export const SLOW_MOTION_HOLD_MS = 400;

export const PACE_CHOICES: readonly PaceChoice[] = [
  { id: 'max', label: 'As fast as possible', pace: {} },
  { id: '1000', label: '1,000 steps/s', pace: { stepsPerSecond: 1000 } },
  { id: '100', label: '100 steps/s', pace: { stepsPerSecond: 100 } },
  { id: '10', label: '10 steps/s', pace: { stepsPerSecond: 10 } },
  { id: '1', label: '1 step/s', pace: { stepsPerSecond: 1 } },
  { id: 'slow-motion', label: 'Slow motion: 100 steps/s, each captured frame held', pace: { stepsPerSecond: 100, holdMs: SLOW_MOTION_HOLD_MS } },
];

/** The choice with this id (unknown ids: as fast as possible). */
export function paceChoice(id: string | undefined): PaceChoice {
  return PACE_CHOICES.find((c) => c.id === id) ?? PACE_CHOICES[0]!;
}

/** The choice a pace is (by value), or undefined for a pace that is none of them. */
export function choiceOfPace(p: Pace | undefined): PaceChoice | undefined {
  const r = p?.stepsPerSecond;
  const h = p?.holdMs ?? 0;
  return PACE_CHOICES.find((c) => c.pace.stepsPerSecond === r && (c.pace.holdMs ?? 0) === h);
}

/** A short description of a pace, e.g. `100 steps/s`, `as fast as possible`. */
export function describePace(p: Pace | undefined): string {
  const c = choiceOfPace(p);
  if (c) return c.id === 'max' ? 'as fast as possible' : c.label;
  const parts: string[] = [];
  parts.push(p?.stepsPerSecond !== undefined ? `${p.stepsPerSecond} steps/s` : 'full speed');
  if ((p?.holdMs ?? 0) > 0) parts.push(`${p!.holdMs} ms hold per captured frame`);
  return parts.join(', ');
}
