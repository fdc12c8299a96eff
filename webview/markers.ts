/**
 * Event markers on a step-axis chart (a Chart.js plugin of each SeriesChart): a band from an
 * event's step to the next event of its id, under the lines; a vertical line at an event's
 * step, over them; and each marker's text at the top of the plot. Clipped to the plot area,
 * so a zoomed chart shows only the markers in its range. Also the step cursor: a solid line at
 * the step the page's scrubber is at, when it is scrubbed back.
 */
import { Chart, type Plugin } from 'chart.js';
import type { DrawnMarker } from './model/measures';

/** Height of a label row in CSS pixels. */
const ROW_H = 12;

/** The step cursor: its step and colour (undefined: none drawn). */
export interface StepCursorLine {
  step: number;
  color: string;
}

export function markerPlugin(get: () => readonly DrawnMarker[], cursor: () => StepCursorLine | undefined = () => undefined): Plugin<'line'> {
  return {
    id: 'alMarkers',
    beforeDatasetsDraw(chart) {
      const ms = get();
      if (ms.length > 0) drawBands(chart as unknown as Chart, ms);
    },
    afterDatasetsDraw(chart) {
      const ms = get();
      if (ms.length > 0) drawLines(chart as unknown as Chart, ms);
      const c = cursor();
      if (c !== undefined) drawCursor(chart as unknown as Chart, c);
    },
  };
}

function drawCursor(chart: Chart, c: StepCursorLine): void {
  const p = plot(chart);
  if (p === undefined) return;
  const x = Math.round(p.x(c.step)) + 0.5;
  if (!(x >= p.left && x <= p.right)) return;
  const ctx = chart.ctx;
  ctx.save();
  ctx.strokeStyle = c.color;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(x, p.top);
  ctx.lineTo(x, p.bottom);
  ctx.stroke();
  ctx.restore();
}

function plot(chart: Chart): { x: (v: number) => number; left: number; right: number; top: number; bottom: number } | undefined {
  const a = chart.chartArea;
  const sc = chart.scales['x'];
  if (a === undefined || sc === undefined || !(a.right > a.left)) return undefined;
  return { x: (v) => sc.getPixelForValue(v), left: a.left, right: a.right, top: a.top, bottom: a.bottom };
}

function drawBands(chart: Chart, ms: readonly DrawnMarker[]): void {
  const p = plot(chart);
  if (p === undefined) return;
  const ctx = chart.ctx;
  ctx.save();
  ctx.beginPath();
  ctx.rect(p.left, p.top, p.right - p.left, p.bottom - p.top);
  ctx.clip();
  for (const m of ms) {
    if (m.display !== 'band') continue;
    const x0 = Math.max(p.left, p.x(m.step));
    const x1 = Math.min(p.right, m.end !== undefined ? p.x(m.end) : p.right);
    if (!(x1 > x0)) continue;
    ctx.fillStyle = m.fill;
    ctx.fillRect(x0, p.top, x1 - x0, p.bottom - p.top);
  }
  ctx.restore();
}

function drawLines(chart: Chart, ms: readonly DrawnMarker[]): void {
  const p = plot(chart);
  if (p === undefined) return;
  const ctx = chart.ctx;
  ctx.save();
  ctx.beginPath();
  ctx.rect(p.left, p.top, p.right - p.left, p.bottom - p.top);
  ctx.clip();
  ctx.lineWidth = 1;
  for (const m of ms) {
    const x = Math.round(p.x(m.step)) + 0.5;
    if (x < p.left || x > p.right) continue;
    ctx.strokeStyle = m.stroke;
    // A band's start is a faint solid edge; a line event is dashed, to tell it from the data.
    ctx.setLineDash(m.display === 'band' ? [] : [4, 3]);
    ctx.beginPath();
    ctx.moveTo(x, p.top);
    ctx.lineTo(x, p.bottom);
    ctx.stroke();
  }
  ctx.setLineDash([]);
  // Labels: at the top, one row per label row; a label that would overlap the previous one of its row is left out.
  ctx.font = `10px ${Chart.defaults.font.family ?? 'sans-serif'}`;
  ctx.textBaseline = 'top';
  const rightOf = new Map<number, number>();
  for (const m of ms) {
    if (m.text === '') continue;
    const start = p.x(m.step);
    const end = m.display === 'band' ? Math.min(p.right, m.end !== undefined ? p.x(m.end) : p.right) : p.right;
    if (end < p.left || start > p.right) continue;
    const x = Math.max(p.left, start) + 3;
    const w = ctx.measureText(m.text).width;
    if (x + w > p.right) continue;
    const prev = rightOf.get(m.row) ?? -Infinity;
    if (x < prev + 4) continue;
    rightOf.set(m.row, x + w);
    ctx.fillStyle = m.color;
    ctx.fillText(m.text, x, p.top + 2 + m.row * ROW_H);
  }
  ctx.restore();
}
