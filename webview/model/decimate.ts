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
  /**
   * Buckets of equal width in log x (for a logarithmic step axis, where equal x intervals would
   * put a run's first 1 % of steps in one or two buckets); points with x ≤ 0 are skipped.
   */
  logX?: boolean;
}

/** With `logX`, the first index in [from, to) whose x is positive (xs non-decreasing). */
function firstPositive(xs: ArrayLike<number>, from: number, to: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as number) > 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Maps an x to its bucket's coordinate: x itself, or ln x for log buckets. */
const coord = (logX: boolean) => (logX ? Math.log : (x: number): number => x);

/**
 * Decimate points [from, to) of (xs, ys) into `buckets` equal x intervals (log x intervals with
 * `logX`) spanning xs[from] … xs[to − 1]. xs must be non-decreasing over the range. Returns at most 2 points
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
  const logX = opts.logX === true;
  if (logX) from = firstPositive(xs, from, to);
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

  const c = coord(logX);
  const x0 = c(xs[from] as number);
  const span = c(xs[to - 1] as number) - x0;
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
    let b = Math.floor((c(xs[i] as number) - x0) * scale);
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

/** Level 0 of the index: blocks of this many points; level k, blocks of BLOCK · 2^k. */
const BLOCK = 8;

/**
 * An incremental min/max index over an append-only series, so a redraw decimates in time
 * proportional to the chart's width rather than the run's length: per level k it keeps, for
 * each complete block of BLOCK·2^k points, the first index of the smallest and of the largest
 * valid y (−1 when the block has none). `decimate` gives exactly what `decimateMinMax` gives
 * for the same input; a series of a million steps redraws without touching a million points.
 *
 * The series may only grow between calls to `sync`; one that is replaced (cleared, a new run)
 * comes with a new `epoch` (or is shorter), and the index starts over.
 */
export class MinMaxIndex {
  private mins: Int32Array[] = [];
  private maxs: Int32Array[] = [];
  private counts: number[] = [];
  private ys: ArrayLike<number> = [];
  private n = 0;
  private qMin = -1;
  private qMax = -1;
  private epoch: unknown;

  constructor(private readonly positiveOnly = false) {}

  /** Points indexed so far. */
  get length(): number {
    return this.n;
  }

  reset(): void {
    this.mins = [];
    this.maxs = [];
    this.counts = [];
    this.n = 0;
  }

  /**
   * Index the points [length, n) of ys. The points below `length` must be those indexed
   * before, unless `epoch` differs from the last sync's (the series was replaced).
   */
  sync(ys: ArrayLike<number>, n: number, epoch?: unknown): void {
    if (n < this.n || epoch !== this.epoch) this.reset();
    this.epoch = epoch;
    this.ys = ys;
    this.n = n;
    for (let k = 0, size = BLOCK; size <= n; k++, size *= 2) {
      const want = Math.floor(n / size);
      const have = this.counts[k] ?? 0;
      if (want === have) continue;
      let mins = this.mins[k];
      let maxs = this.maxs[k];
      if (mins === undefined || maxs === undefined || mins.length < want) {
        const cap = Math.max(want, 2 * (mins?.length ?? 0), 64);
        const m1 = new Int32Array(cap);
        const m2 = new Int32Array(cap);
        if (mins !== undefined && maxs !== undefined) {
          m1.set(mins.subarray(0, have));
          m2.set(maxs.subarray(0, have));
        }
        this.mins[k] = mins = m1;
        this.maxs[k] = maxs = m2;
      }
      if (k === 0) {
        for (let j = have; j < want; j++) {
          this.qMin = this.qMax = -1;
          this.fold(j * BLOCK, (j + 1) * BLOCK);
          mins[j] = this.qMin;
          maxs[j] = this.qMax;
        }
      } else {
        const lo = this.mins[k - 1] as Int32Array;
        const hi = this.maxs[k - 1] as Int32Array;
        for (let j = have; j < want; j++) {
          mins[j] = this.pick(lo[2 * j] as number, lo[2 * j + 1] as number, -1);
          maxs[j] = this.pick(hi[2 * j] as number, hi[2 * j + 1] as number, 1);
        }
      }
      this.counts[k] = want;
    }
  }

  /**
   * `decimateMinMax(xs, ys, from, to, buckets, …)` over the indexed series: the same points,
   * found with O(log) work per bucket. `to` must not exceed the indexed length.
   */
  decimate(xs: ArrayLike<number>, from: number, to: number, buckets: number, out?: Decimated, logX = false): Decimated {
    const ys = this.ys;
    from = Math.max(0, Math.floor(from));
    to = Math.min(xs.length, this.n, Math.floor(to));
    if (logX) from = firstPositive(xs, from, to);
    buckets = Math.max(1, Math.floor(buckets));
    const n = Math.max(0, to - from);
    if (n <= 2 * buckets) return decimateMinMax(xs, ys, from, to, buckets, { positiveOnly: this.positiveOnly, logX, ...(out !== undefined ? { out } : {}) });
    const cap = 2 * buckets;
    const o: Decimated = out !== undefined && out.xs.length >= cap ? out : { xs: new Float64Array(cap), ys: new Float64Array(cap), length: 0 };
    const c = coord(logX);
    const x0 = c(xs[from] as number);
    const span = c(xs[to - 1] as number) - x0;
    const scale = span > 0 ? buckets / span : 0;
    // The same bucket formula as decimateMinMax, so every point falls in the same bucket.
    const bucketOf = (i: number): number => Math.min(buckets - 1, Math.floor((c(xs[i] as number) - x0) * scale));
    let k = 0;
    let i = from;
    // Buckets hold about as many points as the one before: guess that, check it with two
    // lookups, and fall back to galloping and bisecting (bucketOf is non-decreasing in i).
    let guess = 1;
    while (i < to) {
      const b = bucketOf(i);
      // Find end: the first index after i outside bucket b (or `to`).
      let lo: number; // bucketOf(lo − 1) === b
      let hi: number; // hi === to, or bucketOf(hi) !== b
      const p = i + guess;
      if (p >= to || bucketOf(p) !== b) {
        hi = p < to ? p : to;
        if (hi - 1 === i || bucketOf(hi - 1) === b) lo = hi;
        else {
          lo = i + 1;
          hi = hi - 1;
        }
      } else {
        lo = p + 1;
        let step = guess;
        for (;;) {
          step *= 2;
          const q = i + step;
          if (q >= to) {
            hi = to;
            break;
          }
          if (bucketOf(q) !== b) {
            hi = q;
            break;
          }
          lo = q + 1;
        }
      }
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (bucketOf(mid) === b) lo = mid + 1;
        else hi = mid;
      }
      guess = lo - i;
      this.scan(i, lo);
      const iMin = this.qMin;
      const iMax = this.qMax;
      if (iMin >= 0) {
        const a = iMin < iMax ? iMin : iMax;
        const c = iMin < iMax ? iMax : iMin;
        o.xs[k] = xs[a] as number;
        o.ys[k] = ys[a] as number;
        k++;
        if (c !== a) {
          o.xs[k] = xs[c] as number;
          o.ys[k] = ys[c] as number;
          k++;
        }
      }
      i = lo;
    }
    o.length = k;
    return o;
  }

  /** First indices of the smallest and largest valid y in [from, to) (−1 when none). */
  query(from: number, to: number): [number, number] {
    this.scan(from, to);
    return [this.qMin, this.qMax];
  }

  /** query() into qMin / qMax (no allocation: it runs once per bucket per redraw). */
  private scan(from: number, to: number): void {
    this.qMin = this.qMax = -1;
    // Points up to the first block boundary, then the largest whole indexed blocks, then the rest.
    let p = Math.min(to, (from + BLOCK - 1) & ~(BLOCK - 1));
    this.fold(from, p);
    const levels = this.counts.length;
    const largest = BLOCK << Math.max(0, levels - 1);
    while (levels > 0 && p + BLOCK <= to) {
      let size = p === 0 ? largest : p & -p;
      if (size > largest) size = largest;
      while (p + size > to) size >>= 1;
      const k = 31 - Math.clz32(size / BLOCK);
      const j = p / size;
      this.qMin = this.pick(this.qMin, (this.mins[k] as Int32Array)[j] as number, -1);
      this.qMax = this.pick(this.qMax, (this.maxs[k] as Int32Array)[j] as number, 1);
      p += size;
    }
    this.fold(p, to);
  }

  /** Fold the points [from, to) into qMin / qMax, in order (the first index wins a tie). */
  private fold(from: number, to: number): void {
    const ys = this.ys;
    let iMin = this.qMin;
    let iMax = this.qMax;
    let yMin = iMin < 0 ? 0 : (ys[iMin] as number);
    let yMax = iMax < 0 ? 0 : (ys[iMax] as number);
    for (let i = from; i < to; i++) {
      const y = ys[i] as number;
      if (!this.valid(y)) continue;
      if (iMin < 0 || y < yMin) {
        iMin = i;
        yMin = y;
      }
      if (iMax < 0 || y > yMax) {
        iMax = i;
        yMax = y;
      }
    }
    this.qMin = iMin;
    this.qMax = iMax;
  }

  private valid(y: number): boolean {
    return Number.isFinite(y) && !(this.positiveOnly && y <= 0);
  }

  /** Of two candidate indices (left one first), the one with the smaller (sign −1) or larger (+1) y; ties keep the left. */
  private pick(a: number, b: number, sign: -1 | 1): number {
    if (a < 0) return b;
    if (b < 0) return a;
    const ya = this.ys[a] as number;
    const yb = this.ys[b] as number;
    return sign < 0 ? (yb < ya ? b : a) : yb > ya ? b : a;
  }
}
