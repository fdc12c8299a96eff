/**
 * Bounds how often updates are forwarded: a trainer reports thousands of steps a second, a
 * webview redraws at most a few dozen times. `notify()` says "something new"; `flush` runs
 * at most once per `intervalMs`, soon after the first notify of a quiet period.
 */
export class UpdateCoalescer {
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = -Infinity;
  private disposed = false;

  constructor(
    readonly intervalMs = 25,
    private readonly flush: () => void,
  ) {}

  /** Schedules a flush within intervalMs unless one is scheduled; never flushes more often than every intervalMs. */
  notify(): void {
    if (this.disposed || this.timer) return;
    const wait = Math.max(0, this.lastFlush + this.intervalMs - performance.now());
    this.timer = setTimeout(() => this.run(), wait);
  }

  /** Flushes now (e.g. before a status change, so the last steps go out first) and cancels the scheduled flush. */
  flushNow(): void {
    if (this.disposed) return;
    this.run();
  }

  private run(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastFlush = performance.now();
    this.flush();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
