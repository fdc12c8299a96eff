/**
 * The Lu identity scatter: each topic word's score s against its measured ‖q‖·‖w_τ‖ at the
 * recorded steps up to the step the page is at, with the theoretical curve
 * ‖q‖‖w‖ = sqrt(max(0, 2(s + (e^s − 1)/m))) drawn through them; each word's point at that step
 * is drawn larger. Points on the curve mean the persisting identity holds.
 */
import { Chart, type ChartConfiguration, type PointStyle, type Scale, type Tick } from 'chart.js';
import type { IdentityPoint } from '../src/protocol/messages';
import { linearTick } from './model/stepAxis';
import { theoryCurve } from './model/theory';
import { themeChart, type Point } from './charts';
import type { Theme } from './theme';

/** Points drawn per topic word; the store keeps more, the scatter shows an even subset. */
export const MAX_POINTS_PER_WORD = 200;

/**
 * The words' colours: the theme's chart colours, never its foreground (the theory line's
 * colour); past six words the colours repeat with another point shape.
 */
export function wordStyle(theme: Theme, j: number): { color: string; shape: PointStyle } {
  const hues = [theme.blue, theme.orange, theme.green, theme.purple, theme.red, theme.yellow];
  const shapes: PointStyle[] = ['circle', 'triangle', 'rectRot', 'rect'];
  return { color: hues[j % hues.length] as string, shape: shapes[Math.floor(j / hues.length) % shapes.length] as PointStyle };
}

/** Tick labels with the decimals their spacing needs, never "-0.0". */
function tick(this: Scale, value: number | string, index: number, ticks: Tick[]): string {
  // The spacing of the inner ticks (an axis bound may sit closer to its neighbour).
  const i = Math.min(Math.max(1, index), ticks.length - 1);
  const a = ticks[i - 1]?.value ?? 0;
  const b = ticks[i]?.value ?? a + 1;
  return linearTick(Number(value), Math.abs(b - a) || 1);
}

/** The last point of each word's dataset drawn larger: the step the page is at. */
const radius = (ctx: { dataIndex: number; dataset: { data: unknown[] } }): number => (ctx.dataIndex === ctx.dataset.data.length - 1 ? 4 : 2);

export class IdentityScatter {
  readonly chart: Chart<'scatter', Point[]>;
  private words: string[] = [];

  constructor(canvas: HTMLCanvasElement, theme: Theme) {
    const config: ChartConfiguration<'scatter', Point[]> = {
      type: 'scatter',
      data: { datasets: [] },
      options: {
        animation: false,
        parsing: false,
        responsive: true,
        maintainAspectRatio: false,
        resizeDelay: 50,
        scales: {
          x: { type: 'linear', title: { display: true, text: 'score s = qᵀk' }, ticks: { callback: tick, maxRotation: 0, includeBounds: false } },
          y: { type: 'linear', min: 0, title: { display: true, text: '‖q‖·‖w‖' }, ticks: { callback: tick, includeBounds: false } },
        },
        plugins: {
          legend: { display: true, labels: { boxWidth: 8, boxHeight: 8, usePointStyle: true } },
          title: { display: false, text: '' },
          tooltip: { animation: false },
        },
      },
    };
    this.chart = new Chart(canvas, config);
    this.applyTheme(theme);
  }

  /**
   * words: the topic words in IdentityData order; m: non-topic words per sentence; `n`: how
   * many of the points (the first n, those up to the page's step) to draw.
   * Draws at most MAX_POINTS_PER_WORD points per word (evenly thinned, the latest always kept)
   * and reuses the dataset objects, so an update costs a few ms however long the run.
   */
  update(points: readonly IdentityPoint[], words: string[], m: number, theme: Theme, n = points.length): void {
    this.words = words;
    const k = points.reduce((a, p) => Math.max(a, p.score.length), 0);
    let sMin = 0;
    let sMax = 1;
    const stride = Math.max(1, Math.ceil(n / MAX_POINTS_PER_WORD));
    const sets: Point[][] = Array.from({ length: k }, () => []);
    for (let i = 0; i < n; i++) {
      if (i % stride !== 0 && i !== n - 1) continue;
      const p = points[i] as IdentityPoint;
      for (let j = 0; j < p.score.length; j++) {
        const sc = p.score[j] as number;
        const y = p.measured[j] as number;
        if (!Number.isFinite(sc) || !Number.isFinite(y)) continue;
        (sets[j] as Point[]).push({ x: sc, y });
        if (sc < sMin) sMin = sc;
        if (sc > sMax) sMax = sc;
      }
    }
    const pad = 0.05 * (sMax - sMin);
    const curve = theoryCurve(m, sMin, sMax + pad, 160);
    const theory: Point[] = Array.from(curve.s, (sv, i) => ({ x: sv, y: curve.norm[i] as number }));
    const ds = this.chart.data.datasets;
    if (ds.length !== k + 1) {
      this.chart.data.datasets = [
        { label: 'theory', data: [], showLine: true, pointRadius: 0, pointStyle: 'line', borderWidth: 1.5, borderDash: [5, 3], borderColor: theme.foreground, backgroundColor: theme.foreground },
        ...sets.map((_, j) => {
          const { color, shape } = wordStyle(theme, j);
          return { label: words[j] ?? `topic word ${j}`, data: [] as Point[], pointRadius: radius, pointStyle: shape, borderColor: color, backgroundColor: color };
        }),
      ];
    }
    const now = this.chart.data.datasets;
    (now[0] as { data: Point[] }).data = theory;
    sets.forEach((data, j) => {
      const d = now[j + 1] as { data: Point[]; label?: string };
      d.data = data;
      d.label = words[j] ?? `topic word ${j}`;
    });
    const x = this.chart.options.scales?.['x'];
    if (x !== undefined) {
      x.min = sMin;
      x.max = sMax + pad;
    }
    this.chart.update('none');
  }

  applyTheme(theme: Theme): void {
    themeChart(this.chart as unknown as Chart<'line', Point[]>, theme);
    this.chart.data.datasets.forEach((ds, i) => {
      const c = i === 0 ? theme.foreground : wordStyle(theme, i - 1).color;
      ds.borderColor = c;
      ds.backgroundColor = c;
    });
    this.chart.update('none');
  }

  get topicWords(): string[] {
    return this.words;
  }
}
