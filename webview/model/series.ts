/**
 * A growable Float64Array: a per-step series of the dashboard (loss, accuracy, one gradient
 * norm group …) that takes a million steps without a million JS numbers in an Array. The
 * backing buffer doubles when full, so appending is amortised O(1); `values` is a view of
 * the filled part and is replaced (not mutated in place) when the buffer grows.
 */
export class Series {
  private buf: Float64Array;
  private n = 0;

  constructor(capacity = 1024) {
    this.buf = new Float64Array(Math.max(1, capacity));
  }

  get length(): number {
    return this.n;
  }

  /** The filled part, (length). A view: valid until the next push. */
  get values(): Float64Array {
    return this.buf.subarray(0, this.n);
  }

  /** The last value, or NaN when empty. */
  get last(): number {
    return this.n > 0 ? (this.buf[this.n - 1] as number) : NaN;
  }

  at(i: number): number {
    return i >= 0 && i < this.n ? (this.buf[i] as number) : NaN;
  }

  push(v: number): void {
    if (this.n === this.buf.length) this.grow(this.n + 1);
    this.buf[this.n++] = v;
  }

  /** Append src[from + k·stride] for k in [0, count). */
  pushStrided(src: ArrayLike<number>, from: number, count: number, stride = 1): void {
    if (count <= 0) return;
    if (this.n + count > this.buf.length) this.grow(this.n + count);
    const buf = this.buf;
    let o = this.n;
    for (let k = 0, i = from; k < count; k++, i += stride) buf[o++] = src[i] as number;
    this.n = o;
  }

  clear(): void {
    this.n = 0;
  }

  /** Capacity of the backing buffer (for tests of the doubling). */
  get capacity(): number {
    return this.buf.length;
  }

  private grow(min: number): void {
    let cap = this.buf.length * 2;
    while (cap < min) cap *= 2;
    const next = new Float64Array(cap);
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
  }
}
