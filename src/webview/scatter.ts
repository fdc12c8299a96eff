/**
 * The Lu identity scatter: each topic word's score s against its measured ‖q‖·‖w_τ‖ at the
 * recorded steps, with the theoretical curve ‖q‖‖w‖ = sqrt(max(0, 2(s + (e^s − 1)/m))) drawn
 * through them. Points on the curve mean the persisting identity holds.
 */
import { Chart, type ChartConfiguration } from 'chart.js';
import type { IdentityPoint } from '../protocol/messages';
import { theoryCurve } from './model/theory';
import { themeChart, type Point } from './charts';
import type { Theme } from './theme';

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
          tooltip: { animation: false },
        },
      },
    };
    this.chart = new Chart(canvas, config);
    this.applyTheme(theme);
  }

  /** words: the topic words in IdentityData order; m: non-topic words per sentence. */
  update(points: readonly IdentityPoint[], words: string[], m: number, theme: Theme): void {
    this.words = words;
    const k = points.reduce((a, p) => Math.max(a, p.score.length), 0);
    let sMin = 0;
    let sMax = 1;
    const sets: Point[][] = Array.from({ length: k }, () => []);
    for (const p of points)
      for (let j = 0; j < p.score.length; j++) {
        const s = p.score[j] as number;
        const y = p.measured[j] as number;
        if (!Number.isFinite(s) || !Number.isFinite(y)) continue;
        (sets[j] as Point[]).push({ x: s, y });
        if (s < sMin) sMin = s;
        if (s > sMax) sMax = s;
      }
    const pad = 0.05 * (sMax - sMin);
    const curve = theoryCurve(m, sMin, sMax + pad, 160);
    const theory: Point[] = Array.from(curve.s, (s, i) => ({ x: s, y: curve.norm[i] as number }));
    const last = points.length - 1;
    this.chart.data.datasets = [
      {
        label: 'theory',
        data: theory,
        showLine: true,
        pointRadius: 0,
        borderWidth: 1.5,
        borderColor: theme.foreground,
        backgroundColor: theme.foreground,
        borderDash: [5, 3],
      },
      ...sets.map((data, j) => {
        const color = theme.series[j % theme.series.length] as string;
        return {
          label: words[j] ?? `topic word ${j}`,
          data,
          pointRadius: data.map((_, i) => (i === data.length - 1 && last >= 0 ? 4 : 2)),
          borderColor: color,
          backgroundColor: color,
        };
      }),
    ];
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
