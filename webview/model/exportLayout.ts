/**
 * Where things go in an exported heatmap PNG, as plain numbers (no DOM): a title line, the
 * row labels in a fixed-width column on the left, the column labels (token × token maps) in
 * a fixed-height band on top, the cells, and the colour scale below. Fixed label sizes
 * (labels are cut with an ellipsis) make the image's size a function of the map's shape
 * only, so a test can find every cell in the file.
 */

/**
 * 'lu': probe sentences × token positions, each token written in its cell. 'matrix': token ×
 * token, tokens on both axes. 'values': a labelled matrix measurement, labels on both axes and
 * each cell's value written in it.
 */
export type HeatExportKind = 'lu' | 'matrix' | 'values';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface HeatExportLayout {
  /** Image size in pixels. */
  width: number;
  height: number;
  /** Pixels per CSS pixel of the layout below (fonts and padding scale with it). */
  scale: number;
  title: Rect;
  /** Row labels, right-aligned into this column, one per cell row. */
  rowLabels: Rect;
  /** Above the row labels, beside the column labels (matrix, values): where the axes are named. */
  corner: Rect;
  /** Column labels (matrix and values; zero height for 'lu'), one per cell column, written upwards. */
  colLabels: Rect;
  /** The cells: cell (r, c) is [grid.x + c·cellW, +cellW) × [grid.y + r·cellH, +cellH). */
  grid: Rect;
  cellW: number;
  cellH: number;
  /** The colour bar, with its end values written under it. */
  legend: Rect;
  /** Font size in pixels. */
  font: number;
}

const PAD = 12;
/** Two lines: a long title wraps once. */
const TITLE_H = 40;
const ROW_LABEL_W = 120;
const COL_LABEL_H = 80;
const GAP = 10;
const LEGEND_BAR_H = 12;
const LEGEND_TEXT_H = 16;
const LEGEND_W = 240;
const MIN_W = 480;
const FONT = 12;
/** Cell sizes in CSS pixels: a Lu cell holds a token; a matrix cell is square; a values cell holds a number. */
const CELL: Record<HeatExportKind, { w: number; h: number }> = { lu: { w: 72, h: 26 }, matrix: { w: 32, h: 32 }, values: { w: 64, h: 28 } };

/** Default pixels per CSS pixel: 2, so the words stay sharp on a high-density screen or in print. */
export const HEAT_EXPORT_SCALE = 2;

export function heatExportLayout(kind: HeatExportKind, rows: number, cols: number, scale = HEAT_EXPORT_SCALE): HeatExportLayout {
  const r = Math.max(0, rows);
  const c = Math.max(0, cols);
  const cell = CELL[kind];
  const colH = kind === 'lu' ? 0 : COL_LABEL_H;
  const gridW = c * cell.w;
  const gridH = r * cell.h;
  const innerW = Math.max(MIN_W - 2 * PAD, ROW_LABEL_W + gridW);
  const width = innerW + 2 * PAD;
  const titleY = PAD;
  const colY = titleY + TITLE_H;
  const gridY = colY + colH;
  const legendY = gridY + gridH + GAP;
  const height = legendY + LEGEND_BAR_H + LEGEND_TEXT_H + PAD;
  const s = (v: number): number => Math.round(v * scale);
  return {
    width: s(width),
    height: s(height),
    scale,
    title: { x: s(PAD), y: s(titleY), w: s(innerW), h: s(TITLE_H) },
    rowLabels: { x: s(PAD), y: s(gridY), w: s(ROW_LABEL_W), h: s(gridH) },
    corner: { x: s(PAD), y: s(colY), w: s(ROW_LABEL_W), h: s(colH) },
    colLabels: { x: s(PAD + ROW_LABEL_W), y: s(colY), w: s(gridW), h: s(colH) },
    grid: { x: s(PAD + ROW_LABEL_W), y: s(gridY), w: s(gridW), h: s(gridH) },
    cellW: s(cell.w),
    cellH: s(cell.h),
    legend: { x: s(PAD + ROW_LABEL_W), y: s(legendY), w: s(Math.min(LEGEND_W, innerW - ROW_LABEL_W)), h: s(LEGEND_BAR_H) },
    font: s(FONT),
  };
}

