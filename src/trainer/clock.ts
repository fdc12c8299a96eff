/** The one clock the trainer reads: `performance.now()`, present in Node and in browsers alike. */
declare const performance: { now(): number };

/** Milliseconds from an arbitrary origin, sub-millisecond resolution. */
export function now(): number {
  return performance.now();
}

// The timers present in Node and in browsers alike (the trainer's tsconfig has neither's types).
declare function setTimeout(fn: () => void, ms: number): unknown;
declare function clearTimeout(handle: unknown): void;

/** Calls `fn` after `ms`; the returned function cancels it. */
export function after(ms: number, fn: () => void): () => void {
  const h = setTimeout(fn, ms);
  return () => clearTimeout(h);
}
