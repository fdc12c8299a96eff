/**
 * Line charts of per-step series (Chart.js, animation off, pre-parsed points): each update
 * decimates every series to min/max per pixel column, so a million-step run draws at most
 * 2 × width points per line and a spike is never hidden. The decimation reads an incremental
 * min/max index (MinMaxIndex), so its cost follows the chart's width, not the run's length.
 * The step axis is linear or logarithmic (then the pixel columns are equal in log step, so the
 * first steps get their share of the width). Every chart also draws the run's event markers
 * (markers.ts) that `setMarkers` gives it, and the page's step cursor.
 */
import {
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Title,
  Tooltip,
  type ChartConfiguration,
  type ChartOptions,
} from 'chart.js';
import { lowerBound, MinMaxIndex, type Decimated } from './model/decimate';
import type { DrawnMarker } from './model/measures';
import { formatStepTick, logBounds, logStepTicks, type StepScale } from './model/stepAxis';
import { markerPlugin, type StepCursorLine } from './markers';
import type { Theme } from './theme';

// Title: hidden on the page (the card has one), drawn into exported images (exportImage.ts).
Chart.register(LineController, ScatterController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Title, Tooltip);

export interface Point {
  x: number;
  y: number;
}

/** One line: where its points come from and how it looks. */
export interface LineSpec {
  label: string;
  color: (t: Theme) => string;
  /** The line's points: entries [from, to) of xs (steps) and ys. */
  source: () => LineSource;
  /** Sparse series (evaluations): draw its points too. */
  points?: boolean;
  /** Dashed ([4, 3]), or a dash pattern of its own. */
  dash?: boolean | number[];
}

/**
 * The first n entries of xs and ys hold the series; they grow by appending, and `epoch`
 * changes when they are replaced (a new run, a reload), so the chart's min/max index starts
 * over. Only entries [from, to) are drawn (default: all n).
 */
export interface LineSource {
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  n: number;
  from?: number;
  to?: number;
  epoch?: unknown;
}

export interface SeriesChartOptions {
  log?: boolean;
  yMin?: number;
  yMax?: number;
  /** The y axis title (a unit), when there is one. */
  yTitle?: string;
  legend?: boolean;
  /** Called when Chart.js resized the canvas: the bucket count changed. */
  onResize?: () => void;
}

/**
 * Log-axis labels: powers of ten (and 2×, 5× when the axis spans under two decades),
 * written short: 0.01, 1e-5.
 */
function logTick(value: number | string, _index: number, ticks: { value: number }[]): string {
  const v = Number(value);
  if (!(v > 0)) return '';
  const lo = ticks[0]?.value ?? v;
  const hi = ticks[ticks.length - 1]?.value ?? v;
  const decades = lo > 0 && hi > 0 ? Math.abs(Math.log10(hi / lo)) : 0;
  const mant = Math.round((v / 10 ** Math.floor(Math.log10(v) + 1e-9)) * 1000) / 1000;
  const show = decades > 2 ? mant === 1 : mant === 1 || mant === 2 || mant === 5;
  if (!show) return '';
  return v >= 1e-3 && v < 1e5 ? String(Number(v.toPrecision(3))) : v.toExponential(0);
}

/**
 * The legend's entries, each cut to the chart's width with an ellipsis: Chart.js never wraps one
 * entry, so a label wider than the chart would be cut at both edges of the canvas.
 */
function fittedLabels(chart: Chart): ReturnType<typeof Chart.defaults.plugins.legend.labels.generateLabels> {
  const items = Chart.defaults.plugins.legend.labels.generateLabels(chart);
  const ctx = chart.ctx;
  const size = Number(Chart.defaults.font.size ?? 12);
  ctx.save();
  ctx.font = `${size}px ${Chart.defaults.font.family ?? 'sans-serif'}`;
  const room = Math.max(40, chart.width - 40);
  for (const it of items) {
    let t = it.text;
    if (ctx.measureText(t).width <= room) continue;
    while (t.length > 1 && ctx.measureText(`${t}…`).width > room) t = t.slice(0, -1);
    it.text = `${t.trimEnd()}…`;
  }
  ctx.restore();
  return items;
}

/** Apply the theme's fonts and colours to Chart.js's global defaults. */
export function applyChartDefaults(theme: Theme): void {
  Chart.defaults.font.family = theme.fontFamily;
  Chart.defaults.font.size = Math.max(10, theme.fontSize - 2);
  Chart.defaults.color = theme.description;
  Chart.defaults.borderColor = theme.grid;
}

type XY = Chart<'line', Point[]>;

export class SeriesChart {
  readonly chart: XY;
  private specs: LineSpec[] = [];
  private readonly buffers: Decimated[] = [];
  /** Per line: its min/max index, and what its points were last decimated from. */
  private lines: { index: MinMaxIndex; drawn: string }[] = [];
  /** Point objects reused across updates, one pool per line (Chart.js reads them as parsed data). */
  private readonly pools: Point[][] = [];
  /** The event markers drawn with the lines. */
  private markers: readonly DrawnMarker[] = [];
  private cursor: StepCursorLine | undefined;
  private stepScale: StepScale = 'linear';

  constructor(
    canvas: HTMLCanvasElement,
    private readonly opts: SeriesChartOptions,
    theme: Theme,
  ) {
    const bounds = { ...(opts.yMin !== undefined ? { min: opts.yMin } : {}), ...(opts.yMax !== undefined ? { max: opts.yMax } : {}) };
    const yTitle = opts.yTitle !== undefined && opts.yTitle !== '' ? { title: { display: true, text: opts.yTitle } } : {};
    const options: ChartOptions<'line'> = {
      animation: false,
      parsing: false,
      normalized: true,
      responsive: true,
      maintainAspectRatio: false,
      resizeDelay: 50,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      // Cheap to redraw 30+ times a second: 1 px lines (a fast path in the canvas rasteriser),
      // no per-point gap checks (decimation already drops non-finite values), and tick labels
      // measured on a sample rather than all of them.
      spanGaps: true,
      elements: { point: { radius: 0, hitRadius: 4 }, line: { borderWidth: 1, tension: 0 } },
      scales: {
        x: { type: 'linear', ticks: { maxTicksLimit: 6, maxRotation: 0, sampleSize: 6 } },
        y:
          opts.log === true
            ? {
                type: 'logarithmic',
                ticks: { callback: logTick, autoSkip: false, sampleSize: 8 },
                // Only the labelled ticks get a tick and a grid line: over several decades the
                // unlabelled 2…9 drew dozens of lines, and the label widths, measured on a
                // sample, were mostly those of empty labels (the axis came out too narrow).
                afterBuildTicks: (scale: { ticks: { value: number }[] }) => {
                  const all = scale.ticks;
                  const kept = all.filter((t, i) => logTick(t.value, i, all) !== '');
                  if (kept.length >= 2) scale.ticks = kept;
                },
                ...bounds,
                ...yTitle,
              }
            : { type: 'linear', ticks: { sampleSize: 6, maxTicksLimit: 6 }, ...bounds, ...yTitle },
      },
      plugins: {
        legend: { display: opts.legend !== false, labels: { boxWidth: 10, boxHeight: 2, generateLabels: fittedLabels } },
        title: { display: false, text: '' },
        tooltip: { animation: false },
      },
      onResize: () => opts.onResize?.(),
    };
    const config: ChartConfiguration<'line', Point[]> = { type: 'line', data: { datasets: [] }, options, plugins: [markerPlugin(() => this.markers, () => this.cursor)] };
    this.chart = new Chart(canvas, config);
    this.applyTheme(theme);
  }

  setLines(specs: LineSpec[], theme: Theme): void {
    this.specs = specs;
    this.lines = specs.map(() => ({ index: new MinMaxIndex(this.opts.log === true), drawn: '' }));
    this.chart.data.datasets = specs.map((s) => ({
      label: s.label,
      data: [],
      borderColor: s.color(theme),
      backgroundColor: s.color(theme),
      pointRadius: s.points === true ? 2 : 0,
      borderDash: Array.isArray(s.dash) ? s.dash : s.dash === true ? [4, 3] : [],
    }));
  }

  /** The event markers to draw (from the next update on). */
  setMarkers(markers: readonly DrawnMarker[]): void {
    this.markers = markers;
  }

  /** The markers drawn (for the test hooks). */
  get drawnMarkers(): readonly DrawnMarker[] {
    return this.markers;
  }

  /** The step cursor to draw (undefined: none), from the next draw on. Returns whether it changed. */
  setCursor(c: StepCursorLine | undefined): boolean {
    if (c?.step === this.cursor?.step && c?.color === this.cursor?.color) return false;
    this.cursor = c;
    return true;
  }

  /** The step the cursor is drawn at (for the test hooks). */
  get cursorStep(): number | undefined {
    return this.cursor?.step;
  }

  /** Redraw as is (the cursor moved). */
  redraw(): void {
    this.chart.draw();
  }

  /** Show the legend or not (a chart of one line named by its card's title needs none). */
  setLegend(display: boolean): void {
    const l = this.chart.options.plugins?.legend;
    if (l !== undefined) l.display = display;
  }

  /** A line's legend label (a parameter group marked frozen). */
  setLabel(i: number, label: string): void {
    const ds = this.chart.data.datasets[i];
    if (ds !== undefined && ds.label !== label) ds.label = label;
  }

  /** The step axis: linear or logarithmic (from the next update on). */
  setStepScale(scale: StepScale): void {
    if (scale === this.stepScale) return;
    this.stepScale = scale;
    for (const l of this.lines) l.drawn = '';
    const x = this.chart.options.scales?.['x'];
    if (x === undefined) return;
    const ticks = { maxTicksLimit: 6, maxRotation: 0, sampleSize: 6 };
    if (scale === 'log') {
      Object.assign(x, {
        type: 'logarithmic',
        ticks: { ...ticks, autoSkip: false, callback: (v: number | string) => formatStepTick(Number(v)) },
        // Decades (and 2×, 5× over a short range) only: Chart.js's own log ticks label every 1…9.
        afterBuildTicks: (sc: { min: number; max: number; ticks: { value: number }[] }) => {
          const t = logStepTicks(sc.min, sc.max);
          if (t.length >= 2) sc.ticks = t.map((value) => ({ value }));
        },
      });
    } else {
      Object.assign(x, { type: 'linear', ticks, afterBuildTicks: undefined });
    }
  }

  get scale(): StepScale {
    return this.stepScale;
  }

  /** Re-decimate every line over steps [xMin, xMax] and redraw once. */
  update(xMin: number, xMax: number): void {
    const width = this.chart.chartArea?.width ?? this.chart.canvas.clientWidth;
    const buckets = Math.max(16, Math.round(width > 0 ? width : 300));
    const log = this.stepScale === 'log';
    const clip = Number.isFinite(xMin) && Number.isFinite(xMax);
    this.specs.forEach((s, i) => {
      const ds = this.chart.data.datasets[i];
      if (ds === undefined) return;
      const src = s.source();
      const { xs, ys, n, epoch } = src;
      let from = src.from ?? 0;
      let to = src.to ?? n;
      if (clip) {
        // Only the steps on the axis (one point either side, so the line reaches its edges).
        from = Math.max(from, lowerBound(xs, n, xMin) - 1);
        let hi = lowerBound(xs, n, xMax);
        while (hi < n && (xs[hi] as number) <= xMax) hi++;
        to = Math.min(to, hi + 1);
        from = Math.max(0, from);
      }
      const line = this.lines[i] as { index: MinMaxIndex; drawn: string };
      // A line with no new points (an evaluation series between evaluations) keeps its points.
      const drawn = `${String(epoch)} ${n} ${from} ${to} ${buckets} ${this.stepScale}`;
      if (drawn === line.drawn && ds.data.length > 0) return;
      line.drawn = drawn;
      line.index.sync(ys, n, epoch);
      const d = line.index.decimate(xs, from, Math.max(from, to), buckets, this.buffers[i], log);
      this.buffers[i] = d;
      const pool = (this.pools[i] ??= []);
      while (pool.length < d.length) pool.push({ x: 0, y: 0 });
      const pts: Point[] = new Array<Point>(d.length);
      for (let k = 0; k < d.length; k++) {
        const p = pool[k]!;
        p.x = d.xs[k] as number;
        p.y = d.ys[k] as number;
        pts[k] = p;
      }
      ds.data = pts;
      // Sparse series (evaluations) show their points while they are sparse on screen; once
      // they are denser than one per 6 px the points would only smear the line (and drawing
      // thousands of circles per frame is most of a repaint's cost).
      if (s.points === true) (ds as { pointRadius?: number }).pointRadius = d.length * 6 <= buckets ? 2 : 0;
    });
    const x = this.chart.options.scales?.['x'];
    if (x !== undefined) {
      const b = log ? logBounds(xMin, xMax) : Number.isFinite(xMin) && Number.isFinite(xMax) && xMax > xMin ? { min: xMin, max: xMax } : undefined;
      if (b !== undefined) {
        x.min = b.min;
        x.max = b.max;
      } else {
        delete x.min;
        delete x.max;
      }
    }
    this.chart.update('none');
  }

  applyTheme(theme: Theme): void {
    themeChart(this.chart, theme);
    this.chart.data.datasets.forEach((ds, i) => {
      const s = this.specs[i];
      if (s === undefined) return;
      ds.borderColor = s.color(theme);
      ds.backgroundColor = s.color(theme);
    });
    this.chart.update('none');
  }

  destroy(): void {
    this.chart.destroy();
  }
}

/** Colours of axes, grid, legend and tooltip from the theme. */
export function themeChart(chart: Chart<'line' | 'scatter', Point[]>, theme: Theme): void {
  const o = chart.options;
  o.color = theme.foreground;
  for (const key of ['x', 'y']) {
    const sc = o.scales?.[key];
    if (sc === undefined) continue;
    sc.grid = { ...(sc.grid ?? {}), color: theme.grid };
    sc.border = { ...(sc.border ?? {}), color: theme.border };
    sc.ticks = { ...(sc.ticks ?? {}), color: theme.description };
    if (sc.title !== undefined) sc.title = { ...sc.title, color: theme.description };
  }
  const p = o.plugins;
  if (p?.legend?.labels !== undefined) p.legend.labels.color = theme.foreground;
  if (p?.tooltip !== undefined) {
    p.tooltip.backgroundColor = theme.hoverBackground;
    p.tooltip.titleColor = theme.hoverForeground;
    p.tooltip.bodyColor = theme.hoverForeground;
    p.tooltip.borderColor = theme.hoverBorder;
    p.tooltip.borderWidth = 1;
  }
}
