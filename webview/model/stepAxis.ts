/**
 * The step axis the dashboard's charts and its scrubber share: linear, or logarithmic (most of
 * a run's dynamics happen in its first 1 % of steps, which a linear axis squeezes into a few
 * pixels), over all steps or over the last N. An axis coordinate is the step itself (linear)
 * or its log10 (log); steps below 1 sit at step 1 on a log axis.
 */

export type StepScale = 'linear' | 'log';

/** The "follow the last N steps" choices (0: every step). */
export const STEP_WINDOWS: readonly number[] = [0, 100, 1_000, 10_000, 100_000];

/** The axis coordinate of a step. */
export function axisValue(step: number, scale: StepScale): number {
  return scale === 'log' ? Math.log10(Math.max(1, step)) : step;
}

/** The step at an axis coordinate, rounded to a whole step (so a step's own coordinate gives that step back). */
export function stepAtAxis(value: number, scale: StepScale): number {
  return Math.round(scale === 'log' ? 10 ** value : value);
}

/**
 * The steps [x0, x1] the charts show: every step, or with `last` > 0 the last `last` steps of
 * the run (x1 − last + 1 … x1). NaN, NaN when there are none.
 */
export function windowRange(x0: number, x1: number, last: number): { x0: number; x1: number } {
  if (!Number.isFinite(x0) || !Number.isFinite(x1)) return { x0: NaN, x1: NaN };
  if (last > 0 && x1 - x0 + 1 > last) return { x0: x1 - last + 1, x1 };
  return { x0, x1 };
}

/** The bounds a log axis over steps [x0, x1] gets: from max(1, x0); a one-step range is widened to a decade's tenth. */
export function logBounds(x0: number, x1: number): { min: number; max: number } | undefined {
  if (!Number.isFinite(x0) || !Number.isFinite(x1) || x1 < 1) return undefined;
  const min = Math.max(1, x0);
  return { min, max: x1 > min ? x1 : min * 1.26 };
}

/** The powers of ten in [min, max] (a log step axis labels these). */
export function decadeTicks(min: number, max: number): number[] {
  const out: number[] = [];
  if (!(min > 0) || !(max >= min)) return out;
  for (let e = Math.ceil(Math.log10(min) - 1e-9); 10 ** e <= max * (1 + 1e-9); e++) out.push(10 ** e);
  return out;
}

/**
 * Ticks of a log step axis over [min, max]: the decades, and when fewer than three of them
 * fall inside, also their 2× and 5× (so a narrow range still gets a few labels).
 */
export function logStepTicks(min: number, max: number): number[] {
  const d = decadeTicks(min, max);
  if (d.length >= 3) return d;
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); 10 ** e <= max; e++)
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) out.push(v);
    }
  return out;
}

/** A step written short for an axis: 1, 20, 500, 1k, 20k, 1.5M. */
export function formatStepTick(v: number): string {
  if (!Number.isFinite(v)) return '';
  const a = Math.abs(v);
  const short = (x: number, unit: string): string => `${Number(x.toPrecision(3))}${unit}`;
  if (a >= 1e9) return short(v / 1e9, 'G');
  if (a >= 1e6) return short(v / 1e6, 'M');
  if (a >= 1e3) return short(v / 1e3, 'k');
  return String(Number(v.toPrecision(6)));
}

/**
 * A linear axis tick written with as many decimals as the tick spacing needs, and never as
 * "-0" or "-0.0": a tick that rounds to zero is "0".
 */
export function linearTick(value: number, spacing: number): string {
  if (!Number.isFinite(value)) return '';
  const s = Math.abs(spacing);
  const written = s > 0 && Number.isFinite(s) ? Number(s.toPrecision(3)).toFixed(8).replace(/0+$/, '') : '0.01';
  const decimals = Math.min(6, written.split('.')[1]?.length ?? 0);
  const text = value.toFixed(decimals);
  return Number(text) === 0 ? '0' : text;
}
