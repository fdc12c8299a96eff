/**
 * Min/max decimation for line charts: split a series' x range into one bucket per pixel and
 * keep, per bucket, the point with the smallest and the one with the largest y, in x order.
 * A one-step spike therefore always survives (unlike averaging or taking every k-th point),
 * and a million-step series becomes at most 2 × width points to draw.
 */

/** Decimated points: the first `length` entries of xs/ys. */
export interface Decimated {
  xs: Float64Array;
  ys: Float64Array;
  length: number;
}

export interface DecimateOptions {
  /** Skip y ≤ 0 as well as non-finite y (for a logarithmic axis). */
  positiveOnly?: boolean;
  /** Reuse this output's buffers when they are large enough. */
  out?: Decimated;
}

/**
 * Decimate points [from, to) of (xs, ys) into `buckets` equal x intervals spanning
 * xs[from] … xs[to − 1]. xs must be non-decreasing over the range. Returns at most 2 points
 * per bucket (exactly the input points when there are no more than 2 × buckets of them).
 * Non-finite y values are skipped: a chart shows no point rather than a wrong one.
 */
export function decimateMinMax(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  from: number,
  to: number,
  buckets: number,
  opts: DecimateOptions = {},
): Decimated {
  from = Math.max(0, Math.floor(from));
  to = Math.min(xs.length, ys.length, Math.floor(to));
  buckets = Math.max(1, Math.floor(buckets));
  const n = Math.max(0, to - from);
  const cap = Math.min(n, 2 * buckets);
  const out: Decimated =
    opts.out !== undefined && opts.out.xs.length >= cap ? opts.out : { xs: new Float64Array(cap), ys: new Float64Array(cap), length: 0 };
  out.length = 0;
  if (n === 0) return out;
  const positive = opts.positiveOnly === true;
  const ox = out.xs;
  const oy = out.ys;
  let k = 0;

  if (n <= 2 * buckets) {
    for (let i = from; i < to; i++) {
      const y = ys[i] as number;
      if (!Number.isFinite(y) || (positive && y <= 0)) continue;
      ox[k] = xs[i] as number;
      oy[k] = y;
      k++;
    }
    out.length = k;
    return out;
  }

  const x0 = xs[from] as number;
  const span = (xs[to - 1] as number) - x0;
  const scale = span > 0 ? buckets / span : 0;
  let bucket = -1;
  let iMin = -1;
  let iMax = -1;
  let yMin = 0;
  let yMax = 0;
  const flush = (): void => {
    if (iMin < 0) return;
    const a = iMin < iMax ? iMin : iMax;
    const b = iMin < iMax ? iMax : iMin;
    ox[k] = xs[a] as number;
    oy[k] = ys[a] as number;
    k++;
    if (b !== a) {
      ox[k] = xs[b] as number;
      oy[k] = ys[b] as number;
      k++;
    }
  };
  for (let i = from; i < to; i++) {
    const y = ys[i] as number;
    if (!Number.isFinite(y) || (positive && y <= 0)) continue;
    let b = Math.floor(((xs[i] as number) - x0) * scale);
    if (b >= buckets) b = buckets - 1;
    if (b !== bucket) {
      flush();
      bucket = b;
      iMin = iMax = i;
      yMin = yMax = y;
    } else if (y < yMin) {
      iMin = i;
      yMin = y;
    } else if (y > yMax) {
      iMax = i;
      yMax = y;
    }
  }
  flush();
  out.length = k;
  return out;
}

/** First index i in [0, n) with xs[i] ≥ x (n when none); xs non-decreasing. */
export function lowerBound(xs: ArrayLike<number>, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
