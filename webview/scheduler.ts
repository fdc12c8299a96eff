/**
 * Repaint at most once per animation frame: messages only mark parts dirty; one
 * requestAnimationFrame callback renders them all. When a render is expensive (a million-step
 * run, many charts) the next one waits about its cost again, so the page stays responsive.
 */

/** View-level dirty bits, above the store's Changed flags (which use bits 0–8). */
export const Dirty = {
  Theme: 1 << 9,
  /** A view choice changed (probe, layer, focused head, scale, scrubber). */
  View: 1 << 10,
  /** A chart or heatmap container changed size. */
  Size: 1 << 11,
  All: 0xfff,
} as const;

export class FrameScheduler {
  private dirty = 0;
  private handle = 0;
  private notBefore = 0;
  private waiters: (() => void)[] = [];
  /** Renders done (for tests and diagnostics). */
  renders = 0;

  constructor(private readonly render: (dirty: number) => void) {}

  invalidate(flags: number): void {
    this.dirty |= flags;
    this.schedule();
  }

  /** Render pending changes now (tests; the first paint). */
  flush(): void {
    if (this.handle !== 0) cancelAnimationFrame(this.handle);
    this.handle = 0;
    this.run();
  }

  /** Resolves after the next render (immediately scheduled if nothing is pending). */
  nextRender(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.handle === 0) this.handle = requestAnimationFrame(this.tick);
  }

  private readonly tick = (now: number): void => {
    this.handle = 0;
    if (now < this.notBefore) {
      this.schedule();
      return;
    }
    this.run();
  };

  private run(): void {
    const d = this.dirty;
    this.dirty = 0;
    const t0 = performance.now();
    if (d !== 0) {
      try {
        this.render(d);
      } catch (e) {
        console.error('[attention-lens] render failed', e);
      }
      this.renders++;
    }
    const cost = performance.now() - t0;
    // A render under 20 ms never delays the next frame (so streaming repaints at the update
    // rate, up to 40/s); a costlier one (a huge run on a slow machine) keeps rendering under ~50%
    // of the time so the page stays responsive.
    this.notBefore = cost > 20 ? t0 + cost * 2 : 0;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
