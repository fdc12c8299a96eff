/** The one clock the trainer reads: `performance.now()`, present in Node and in browsers alike. */
declare const performance: { now(): number };

/** Milliseconds from an arbitrary origin, sub-millisecond resolution. */
export function now(): number {
  return performance.now();
}
