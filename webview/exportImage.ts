/**
 * PNG export of what the page draws, for the host to save (a webview cannot download).
 * A chart: its canvas at its own resolution, on the theme's editor background, with the
 * card's title (and, where the page shows the legend outside the canvas, the legend) drawn
 * in for the export. A heatmap: redrawn at HEAT_EXPORT_SCALE with its row and column labels,
 * the tokens in their cells and the colour scale (layout: model/exportLayout.ts), because on
 * the page those are HTML around a canvas of one pixel per cell.
 */
import type { Chart } from 'chart.js';
import { heatExportLayout, type HeatExportKind } from './model/exportLayout';
import type { Theme } from './theme';

/** A heatmap as the export draws it. */
export interface HeatExportSpec {
  kind: HeatExportKind;
  title: string;
  /** The heatmap's canvas: one pixel per cell, (rows, cols). */
  cells: HTMLCanvasElement;
  rows: number;
  cols: number;
  /** (rows) */
  rowLabels: string[];
  /** (cols) matrix maps: the keys' tokens; values maps: the column labels. */
  colLabels?: string[];
  /** Matrix maps: what the rows and the columns are (e.g. queries, keys). */
  axes?: { rows: string; cols: string };
  /** Lu maps: each row's tokens, written in their cells; values maps: each cell's value. */
  cellText?: string[][];
  /** The colour scale: its bar canvas, its end (and, diverging, middle) values, what it measures. */
  legend: { bar: HTMLCanvasElement; lo: string; mid: string; hi: string; title?: string };
}

/** The canvas encoded as a PNG file. */
export async function canvasPng(canvas: HTMLCanvasElement): Promise<Uint8Array> {
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (blob === null) throw new Error('the image could not be encoded as PNG');
  return new Uint8Array(await blob.arrayBuffer());
}

function canvasOf(width: number, height: number, background: string): { canvas: HTMLCanvasElement; ctx: CanvasRenderingContext2D } {
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, width);
  canvas.height = Math.max(1, height);
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new Error('no 2d canvas context');
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  return { canvas, ctx };
}

type Plugins = {
  title?: { display: boolean; text: string | string[]; color?: unknown; font?: unknown; align?: string };
  legend?: { display: boolean; labels: { filter?: unknown } };
};

/**
 * The chart as an image of its canvas's size: the title (and with `legend`, the datasets'
 * legend without the hidden ones) is switched on, the chart drawn, copied onto the
 * background, and switched back; all in one task, so the page never shows it.
 */
export function chartImage(chart: Chart, opts: { title: string; legend?: boolean; theme: Theme }): HTMLCanvasElement {
  const plugins = (chart.options.plugins ?? {}) as Plugins;
  const title = plugins.title;
  const legend = plugins.legend;
  // Only these are put back: the colours and font set below matter only while the title shows.
  const saved = { titleDisplay: title?.display, titleText: title?.text, legendDisplay: legend?.display, legendFilter: legend?.labels.filter };
  try {
    if (title !== undefined) {
      title.display = true;
      title.text = opts.title;
      title.color = opts.theme.foreground;
      title.align = 'start';
      title.font = { size: Math.max(11, opts.theme.fontSize), weight: 'bold', family: opts.theme.fontFamily };
    }
    if (opts.legend === true && legend !== undefined) {
      legend.display = true;
      legend.labels.filter = (item: { hidden?: boolean }) => item.hidden !== true;
    }
    chart.update('none');
    const { canvas, ctx } = canvasOf(chart.canvas.width, chart.canvas.height, opts.theme.background);
    ctx.drawImage(chart.canvas, 0, 0);
    return canvas;
  } finally {
    if (title !== undefined) {
      title.display = saved.titleDisplay ?? false;
      title.text = saved.titleText ?? '';
    }
    if (legend !== undefined) {
      legend.display = saved.legendDisplay ?? legend.display;
      legend.labels.filter = saved.legendFilter;
    }
    chart.update('none');
  }
}

/** `text`, cut with an ellipsis to fit `max` pixels in the context's font. */
function fit(ctx: CanvasRenderingContext2D, text: string, max: number): string {
  if (max <= 0) return '';
  if (ctx.measureText(text).width <= max) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(text.slice(0, mid) + '…').width <= max) lo = mid;
    else hi = mid - 1;
  }
  return lo > 0 ? text.slice(0, lo) + '…' : '';
}

/** `text` in at most `max` lines of `width` pixels, broken at spaces; the last line cut with an ellipsis. */
function wrap(ctx: CanvasRenderingContext2D, text: string, width: number, max: number): string[] {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (let i = 0; i < words.length; i++) {
    const next = line === '' ? (words[i] ?? '') : `${line} ${words[i] ?? ''}`;
    if (line === '' || ctx.measureText(next).width <= width) {
      line = next;
      continue;
    }
    if (lines.length === max - 1) {
      lines.push(fit(ctx, words.slice(i).reduce((a, w) => `${a} ${w}`, line), width));
      return lines;
    }
    lines.push(line);
    line = words[i] ?? '';
  }
  lines.push(fit(ctx, line, width));
  return lines;
}

/** The heatmap with its labels and colour scale, at HEAT_EXPORT_SCALE. */
export function heatImage(spec: HeatExportSpec, theme: Theme): HTMLCanvasElement {
  const L = heatExportLayout(spec.kind, spec.rows, spec.cols);
  const { canvas, ctx } = canvasOf(L.width, L.height, theme.background);
  const font = (px: number, weight = 'normal'): string => `${weight} ${px}px ${theme.fontFamily}`;
  const pad = 6 * L.scale;

  // Title, on up to two lines.
  ctx.font = font(Math.round(L.font * 1.15), 'bold');
  ctx.fillStyle = theme.foreground;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  const lines = wrap(ctx, spec.title, L.title.w, 2);
  lines.forEach((line, i) => ctx.fillText(line, L.title.x, L.title.y + ((i + 0.5) * L.title.h) / 2));

  // Cells: one source pixel per cell, scaled without smoothing.
  ctx.imageSmoothingEnabled = false;
  if (spec.rows > 0 && spec.cols > 0) ctx.drawImage(spec.cells, 0, 0, spec.cols, spec.rows, L.grid.x, L.grid.y, L.grid.w, L.grid.h);

  // Row labels, right-aligned beside their row.
  ctx.font = font(L.font);
  ctx.fillStyle = theme.description;
  ctx.textAlign = 'right';
  for (let r = 0; r < spec.rows; r++) {
    ctx.fillText(fit(ctx, spec.rowLabels[r] ?? '', L.rowLabels.w - pad), L.rowLabels.x + L.rowLabels.w - pad, L.grid.y + (r + 0.5) * L.cellH);
  }

  // Column labels, written upwards above their column.
  if (spec.colLabels !== undefined && L.colLabels.h > 0) {
    ctx.textAlign = 'left';
    for (let c = 0; c < spec.cols; c++) {
      ctx.save();
      ctx.translate(L.grid.x + (c + 0.5) * L.cellW, L.colLabels.y + L.colLabels.h - pad);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText(fit(ctx, spec.colLabels[c] ?? '', L.colLabels.h - 2 * pad), 0, 0);
      ctx.restore();
    }
  }
  if (spec.axes !== undefined && L.corner.h > 0) {
    ctx.textAlign = 'right';
    const x = L.corner.x + L.corner.w - pad;
    ctx.fillText(fit(ctx, `${spec.axes.cols} →`, L.corner.w - pad), x, L.corner.y + L.corner.h - 3 * pad);
    ctx.fillText(fit(ctx, `${spec.axes.rows} ↓`, L.corner.w - pad), x, L.corner.y + L.corner.h - pad);
  }

  // Tokens in their cells (Lu), legible on any heat: the page's text shadow, in canvas.
  if (spec.cellText !== undefined) {
    ctx.save();
    ctx.textAlign = 'center';
    ctx.fillStyle = theme.foreground;
    ctx.shadowColor = theme.background;
    ctx.shadowBlur = 3 * L.scale;
    for (let r = 0; r < spec.rows; r++) {
      const toks = spec.cellText[r] ?? [];
      for (let c = 0; c < Math.min(spec.cols, toks.length); c++) {
        ctx.fillText(fit(ctx, toks[c] ?? '', L.cellW - 2 * pad), L.grid.x + (c + 0.5) * L.cellW, L.grid.y + (r + 0.5) * L.cellH);
      }
    }
    ctx.restore();
  }

  // Colour scale: the bar (smoothed: it is a ramp) and its values under it.
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(spec.legend.bar, L.legend.x, L.legend.y, L.legend.w, L.legend.h);
  ctx.strokeStyle = theme.border;
  ctx.lineWidth = L.scale;
  ctx.strokeRect(L.legend.x + 0.5 * L.scale, L.legend.y + 0.5 * L.scale, L.legend.w - L.scale, L.legend.h - L.scale);
  ctx.font = font(Math.round(L.font * 0.9));
  ctx.fillStyle = theme.description;
  ctx.textBaseline = 'top';
  const ty = L.legend.y + L.legend.h + 2 * L.scale;
  ctx.textAlign = 'left';
  ctx.fillText(spec.legend.lo, L.legend.x, ty);
  ctx.textAlign = 'center';
  ctx.fillText(spec.legend.mid, L.legend.x + L.legend.w / 2, ty);
  ctx.textAlign = 'right';
  ctx.fillText(spec.legend.hi, L.legend.x + L.legend.w, ty);
  if (spec.legend.title !== undefined) {
    // In the row-label column, level with the bar.
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(fit(ctx, spec.legend.title, L.rowLabels.w - pad), L.rowLabels.x + L.rowLabels.w - pad, L.legend.y + L.legend.h / 2);
  }
  return canvas;
}
