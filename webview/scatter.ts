/**
 * The Lu identity scatter: each topic word's score s against its measured ‖q‖·‖w_τ‖ at the
 * recorded steps, with the theoretical curve ‖q‖‖w‖ = sqrt(max(0, 2(s + (e^s − 1)/m))) drawn
 * through them. Points on the curve mean the persisting identity holds.
 */
import { Chart, type ChartConfiguration } from 'chart.js';
import type { IdentityPoint } from '../src/protocol/messages';
import { theoryCurve } from './model/theory';
import { themeChart, type Point } from './charts';
import type { Theme } from './theme';

/** Points drawn per topic word; the store keeps more, the scatter shows an even subset. */
export const MAX_POINTS_PER_WORD = 200;

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
          x: { type: 'linear', title: { display: true, text: 'score s = qᵀk' } },
          y: { type: 'linear', min: 0, title: { display: true, text: '‖q‖·‖w‖' } },
        },
        plugins: {
          legend: { display: true, labels: { boxWidth: 8, boxHeight: 8 } },
          title: { display: false, text: '' },
          tooltip: { animation: false },
        },
      },
    };
    this.chart = new Chart(canvas, config);
    this.applyTheme(theme);
  }

  /**
   * words: the topic words in IdentityData order; m: non-topic words per sentence.
   * Draws at most MAX_POINTS_PER_WORD points per word (evenly thinned, the latest always kept)
   * and reuses the dataset objects, so an update costs a few ms however long the run.
   */
  update(points: readonly IdentityPoint[], words: string[], m: number, theme: Theme): void {
    this.words = words;
    const k = points.reduce((a, p) => Math.max(a, p.score.length), 0);
    let sMin = 0;
    let sMax = 1;
    const n = points.length;
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
        { label: 'theory', data: [], showLine: true, pointRadius: 0, borderWidth: 1.5, borderDash: [5, 3], borderColor: theme.foreground, backgroundColor: theme.foreground },
        ...sets.map((_, j) => {
          const color = theme.series[j % theme.series.length] as string;
          return { label: words[j] ?? `topic word ${j}`, data: [] as Point[], pointRadius: 2, borderColor: color, backgroundColor: color };
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
      const c = i === 0 ? theme.foreground : (theme.series[(i - 1) % theme.series.length] as string);
      ds.borderColor = c;
      ds.backgroundColor = c;
    });
    this.chart.update('none');
  }

  get topicWords(): string[] {
    return this.words;
  }
}
