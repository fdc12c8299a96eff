/**
 * Every view's theme watch, written once: read the theme now and again whenever VS Code
 * changes it, hand it to the view (and to Chart.js's defaults when the view draws charts), and
 * mark the view's theme dirty so its next frame repaints in the new colours.
 */
import { applyChartDefaults } from './charts';
import { Dirty, type FrameScheduler } from './scheduler';
import { readTheme, watchTheme, type Theme } from './theme';

/** The current theme; `onTheme` gets every later one. Returns it and a disposer of the watch. */
export function followTheme(scheduler: FrameScheduler, onTheme: (t: Theme) => void, opts: { charts?: boolean } = {}): { theme: Theme; dispose: () => void } {
  const read = (): Theme => {
    const t = readTheme();
    if (opts.charts === true) applyChartDefaults(t);
    return t;
  };
  const theme = read();
  const dispose = watchTheme(() => {
    onTheme(read());
    scheduler.invalidate(Dirty.Theme);
  });
  return { theme, dispose };
}
