/**
 * Attention heatmaps on canvases the size of the data (one pixel per cell, scaled up by
 * CSS with pixelated sampling), each painted by one ImageData write per frame; the tokens
 * are HTML text laid over or beside them, so they stay crisp and selectable.
 */
import type { AttentionMapData } from '../src/protocol/messages';
import { fillRGBA, RAMP_SIZE, type HeatPalette, type HeatScale, type ScaleMode, scaleForStage } from './model/colorRamp';
import { cellAt, formatValue, STAGE_LABEL, tokenLabels, type EncoderLayer, type LuGrid, type Stage } from './model/layout';
import { h, setText } from './dom';
import type { HeatExportSpec } from './exportImage';

/** A rows × cols canvas showing values through a palette. */
export class HeatCanvas {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D | null;
  private image: ImageData | undefined;
  rows = 0;
  cols = 0;
  /** The values painted last, (rows, cols). */
  values: ArrayLike<number> = new Float32Array(0);

  constructor(cls = '') {
    this.canvas = h('canvas', `al-heat ${cls}`.trim(), { width: 1, height: 1 });
    this.ctx = this.canvas.getContext('2d', { willReadFrequently: false });
  }

  paint(values: ArrayLike<number>, rows: number, cols: number, scale: HeatScale, palette: HeatPalette): void {
    this.values = values;
    if (rows <= 0 || cols <= 0 || this.ctx === null) {
      this.rows = rows;
      this.cols = cols;
      this.ctx?.clearRect(0, 0, this.canvas.width, this.canvas.height);
      return;
    }
    if (this.canvas.width !== cols || this.canvas.height !== rows) {
      this.canvas.width = cols;
      this.canvas.height = rows;
    }
    if (this.image === undefined || this.image.width !== cols || this.image.height !== rows) this.image = this.ctx.createImageData(cols, rows);
    this.rows = rows;
    this.cols = cols;
    fillRGBA(this.image.data, values, scale, palette);
    this.ctx.putImageData(this.image, 0, 0);
  }

  /** The cell under a mouse event, if any. */
  cellAt(e: MouseEvent): { row: number; col: number } | undefined {
    const r = this.canvas.getBoundingClientRect();
    return cellAt(e.clientX - r.left, e.clientY - r.top, r.width, r.height, this.rows, this.cols);
  }
}

/** The colour scale: a bar (one canvas pixel per ramp entry) with its end values. */
export class Legend {
  readonly el: HTMLElement;
  private readonly bar = new HeatCanvas('al-legend-bar');
  private readonly lo = h('span', 'al-legend-lo');
  private readonly mid = h('span', 'al-legend-mid');
  private readonly hi = h('span', 'al-legend-hi');

  constructor(title = '') {
    this.el = h('div', 'al-legend', { role: 'img' }, [
      ...(title !== '' ? [h('span', 'al-legend-title', {}, [title])] : []),
      h('div', 'al-legend-scale', {}, [this.bar.canvas, h('div', 'al-legend-ticks', {}, [this.lo, this.mid, this.hi])]),
    ]);
  }

  /** What an exported image shows of this scale. */
  exportParts(title?: string): HeatExportSpec['legend'] {
    return { bar: this.bar.canvas, lo: this.lo.textContent ?? '', mid: this.mid.textContent ?? '', hi: this.hi.textContent ?? '', ...(title !== undefined ? { title } : {}) };
  }

  /** `format` writes the end values (default formatValue; a log scale's legend writes 10^v). */
  paint(scale: HeatScale, palette: HeatPalette, format: (v: number) => string = formatValue): void {
    const n = RAMP_SIZE;
    const diverging = scale.kind === 'diverging';
    const cols = diverging ? 2 * n : n;
    const values = new Float32Array(cols); // (cols) from the scale's min to its max
    const lo = diverging ? -scale.max : scale.min;
    for (let i = 0; i < cols; i++) values[i] = lo + ((scale.max - lo) * i) / (cols - 1);
    this.bar.paint(values, 1, cols, scale, palette);
    setText(this.lo, format(lo));
    setText(this.mid, diverging ? format(0) : '');
    setText(this.hi, format(scale.max));
    this.el.setAttribute('aria-label', `colour scale from ${format(lo)} to ${format(scale.max)}`);
  }
}

/** One floating tooltip shared by the heatmaps of a page. */
export class Tooltip {
  readonly el = h('div', 'al-tooltip', { role: 'tooltip', hidden: true });

  constructor() {
    document.body.append(this.el);
  }

  show(e: MouseEvent, text: string): void {
    setText(this.el, text);
    this.el.hidden = false;
    // CSSOM property writes are allowed by the CSP (only style attributes in markup are not).
    const pad = 12;
    const w = this.el.offsetWidth;
    const x = e.clientX + pad + w > window.innerWidth ? e.clientX - pad - w : e.clientX + pad;
    this.el.style.left = `${Math.max(0, x)}px`;
    this.el.style.top = `${e.clientY + pad}px`;
  }

  hide(): void {
    this.el.hidden = true;
  }
}

/**
 * Lu model: every probe sentence is a row, each of its tokens a cell, written in the cell;
 * the heat under the words is the query's attention over the sentence. Written, the map is as
 * wide as its words and scrolls sideways inside its box, its row labels fixed at the left; in
 * the "fit" mode its cells share the box's width and the tokens show on hover. (`compact`: the
 * side panel's small map, no tokens written.)
 */
export class LuHeatmap {
  readonly el: HTMLElement;
  readonly heat = new HeatCanvas('al-lu-heat');
  private readonly grid: HTMLElement;
  /** What the layout was built for: the grid's labels and tokens, and the mode. */
  private dataKey = '';
  private modeKey = '';
  private fit = false;
  /** The width the written map needs, measured once per layout (undefined: not yet). */
  private written: number | undefined;
  shown: LuGrid | undefined;

  constructor(
    private readonly tooltip: Tooltip,
    private readonly compact = false,
  ) {
    this.grid = h('div', compact ? 'al-lu al-lu-compact' : 'al-lu');
    this.el = h('div', 'al-lu-wrap', {}, [this.grid]);
    this.grid.addEventListener('mousemove', (e) => this.hover(e));
    this.grid.addEventListener('mouseleave', () => this.tooltip.hide());
    // A scrolled map moves under a still mouse: the tooltip would name the wrong cell.
    this.el.addEventListener('scroll', () => this.tooltip.hide());
  }

  /** Whether the cells share the box's width (tokens on hover) rather than being written. */
  get fitted(): boolean {
    return this.fit;
  }

  /** Fit the box's width (true) or write the tokens (false); applied at the next paint. */
  setFit(fit: boolean): void {
    if (!this.compact) this.fit = fit;
  }

  /**
   * The width the map needs with its tokens written (measured on the page, so only while it is
   * written and shown; undefined until then). Kept per layout: a fitted map still knows it.
   */
  writtenWidth(): number | undefined {
    if (this.written === undefined && !this.fit && this.shown !== undefined && this.el.clientWidth > 0) this.written = this.grid.scrollWidth;
    return this.written;
  }

  paint(g: LuGrid, scale: HeatScale, palette: HeatPalette): void {
    this.shown = g;
    const key = `${g.rows}x${g.cols}|${g.rowLabels.join('\u0001')}|${g.tokens.map((t) => t.join('\u0002')).join('\u0001')}`;
    const mode = this.fit ? 'fit' : 'written';
    if (key !== this.dataKey || mode !== this.modeKey) {
      // Other labels or tokens need measuring again; another mode alone does not.
      if (key !== this.dataKey) this.written = undefined;
      this.dataKey = key;
      this.modeKey = mode;
      this.relayout(g);
    }
    this.heat.paint(g.values, g.rows, g.cols, scale, palette);
  }

  /** The grid on screen, for a PNG export (undefined before the first paint). */
  exportSpec(title: string, legend: Legend): HeatExportSpec | undefined {
    const g = this.shown;
    if (g === undefined) return undefined;
    return { kind: 'lu', title, cells: this.heat.canvas, rows: this.heat.rows, cols: this.heat.cols, rowLabels: g.rowLabels, cellText: g.tokens, legend: legend.exportParts('attention') };
  }

  private relayout(g: LuGrid): void {
    const children: HTMLElement[] = [this.heat.canvas];
    const written = !this.compact && !this.fit;
    this.grid.classList.toggle('al-lu-fit', this.fit);
    const track = this.compact ? 'minmax(0.5em, 1fr)' : this.fit ? 'minmax(2px, 1fr)' : 'minmax(3.6em, 1fr)';
    this.grid.style.gridTemplateColumns = `max-content repeat(${Math.max(1, g.cols)}, ${track})`;
    this.grid.style.gridTemplateRows = `repeat(${Math.max(1, g.rows)}, ${this.fit ? '1.9em' : 'auto'})`;
    this.heat.canvas.style.gridRow = `1 / span ${Math.max(1, g.rows)}`;
    this.heat.canvas.style.gridColumn = `2 / span ${Math.max(1, g.cols)}`;
    for (let r = 0; r < g.rows; r++) {
      const lab = h('div', 'al-rowlabel', {}, [g.rowLabels[r] ?? '']);
      lab.style.gridRow = String(r + 1);
      lab.style.gridColumn = '1';
      children.push(lab);
      if (!written) continue;
      const toks = g.tokens[r] ?? [];
      toks.forEach((t, c) => {
        const cell = h('div', 'al-token', { 'data-r': r, 'data-c': c }, [t]);
        cell.style.gridRow = String(r + 1);
        cell.style.gridColumn = String(c + 2);
        children.push(cell);
      });
    }
    this.grid.replaceChildren(...children);
  }

  private hover(e: MouseEvent): void {
    const g = this.shown;
    const cell = this.heat.cellAt(e);
    if (g === undefined || cell === undefined) return this.tooltip.hide();
    const tok = g.tokens[cell.row]?.[cell.col];
    if (tok === undefined) return this.tooltip.hide();
    const v = g.values[cell.row * g.cols + cell.col] as number;
    this.tooltip.show(e, `${g.rowLabels[cell.row] ?? ''} · ${tok}: ${formatValue(v)}`);
  }
}

/** A map's scale: one per stage, shared by its heads so they compare. */
export function stageScale(stage: Stage, mode: ScaleMode, peak: number): HeatScale {
  return scaleForStage(stage, mode, peak);
}

/** Where the focused (enlarged) map is: a stage and a head. */
export interface Focus {
  stage: Stage;
  head: number;
}

/**
 * Encoder: for one layer of one probe, a column per stage (J, W, U for talking heads, side by
 * side) of every head's token × token map; one map enlarged with the tokens on both axes.
 */
export class EncoderHeatmaps {
  readonly el: HTMLElement;
  private readonly stagesEl = h('div', 'al-stages');
  private readonly focusTitle = h('div', 'al-focus-title');
  private readonly focusGrid = h('div', 'al-focus-grid');
  private readonly focusLegend = new Legend();
  readonly focusHeat = new HeatCanvas('al-focus-heat');
  private thumbs: { stage: Stage; head: number; heat: HeatCanvas; fig: HTMLElement; map: AttentionMapData }[] = [];
  private legends = new Map<Stage, Legend>();
  private layoutKey = '';
  private focusKey = '';
  private layer: EncoderLayer | undefined;
  focus: Focus | undefined;

  constructor(
    private readonly tooltip: Tooltip,
    private readonly onFocus: (f: Focus) => void,
    private readonly showFocus = true,
  ) {
    const focusEl = h('div', 'al-focus', {}, [h('div', 'al-focus-head', {}, [this.focusTitle, this.focusLegend.el]), this.focusGrid]);
    this.el = h('div', 'al-encoder', {}, showFocus ? [this.stagesEl, focusEl] : [this.stagesEl]);
    this.focusGrid.addEventListener('mousemove', (e) => this.hoverFocus(e));
    this.focusGrid.addEventListener('mouseleave', () => this.tooltip.hide());
  }

  /** Thumbnail canvases in display order (stage by stage, head by head). */
  get thumbHeats(): { stage: Stage; head: number; heat: HeatCanvas }[] {
    return this.thumbs.map((t) => ({ stage: t.stage, head: t.head, heat: t.heat }));
  }

  paint(layer: EncoderLayer, mode: ScaleMode, palette: HeatPalette, focus: Focus | undefined): void {
    this.layer = layer;
    const key = layer.stages.map((s) => `${s.stage}:${s.heads.map((m) => `${m.head}/${m.rows}x${m.cols}`).join(',')}`).join('|') + `|${layer.tokens.join('\u0001')}`;
    if (key !== this.layoutKey) {
      this.layoutKey = key;
      this.relayout(layer);
    }
    // Keep the focus on an existing map; default to the first head of the softmax weights.
    const exists = (f: Focus | undefined): f is Focus => f !== undefined && layer.stages.some((s) => s.stage === f.stage && s.heads.some((m) => m.head === f.head));
    const first = layer.stages.find((s) => s.stage === 'weights') ?? layer.stages[0];
    this.focus = exists(focus) ? focus : first !== undefined && first.heads[0] !== undefined ? { stage: first.stage, head: first.heads[0].head } : undefined;

    let i = 0;
    for (const s of layer.stages) {
      const scale = stageScale(s.stage, mode, s.peak);
      this.legends.get(s.stage)?.paint(scale, palette);
      for (const m of s.heads) {
        const t = this.thumbs[i++];
        if (t === undefined) continue;
        t.map = m;
        t.heat.paint(m.data, m.rows, m.cols, scale, palette);
        const on = this.focus?.stage === s.stage && this.focus.head === m.head;
        t.fig.classList.toggle('al-selected', on);
        t.fig.setAttribute('aria-pressed', String(on));
      }
    }
    if (!this.showFocus) return;
    const fs = layer.stages.find((s) => s.stage === this.focus?.stage);
    const fm = fs?.heads.find((m) => m.head === this.focus?.head);
    if (fs === undefined || fm === undefined) {
      this.focusGrid.replaceChildren();
      this.focusKey = '';
      return;
    }
    const fkey = `${fm.rows}x${fm.cols}|${layer.tokens.join('\u0001')}`;
    if (fkey !== this.focusKey) {
      this.focusKey = fkey;
      this.relayoutFocus(fm, layer.tokens);
    }
    const scale = stageScale(fs.stage, mode, fs.peak);
    this.focusHeat.paint(fm.data, fm.rows, fm.cols, scale, palette);
    this.focusLegend.paint(scale, palette);
    const lab = STAGE_LABEL[fs.stage];
    setText(this.focusTitle, `${lab.symbol} · ${lab.title} — head ${fm.head}, layer ${layer.layer} (rows: queries, columns: keys)`);
  }

  /** The enlarged map on screen, for a PNG export: its stage and head and the image's parts. */
  exportSpec(title: (stage: Stage, head: number, layer: number) => string): { stage: Stage; head: number; layer: number; spec: HeatExportSpec } | undefined {
    const layer = this.layer;
    const fs = layer?.stages.find((s) => s.stage === this.focus?.stage);
    const fm = fs?.heads.find((m) => m.head === this.focus?.head);
    if (layer === undefined || fs === undefined || fm === undefined || this.focusKey === '') return undefined;
    const lab = STAGE_LABEL[fs.stage];
    const rows = this.focusHeat.rows;
    const cols = this.focusHeat.cols;
    return {
      stage: fs.stage,
      head: fm.head,
      layer: layer.layer,
      spec: {
        kind: 'matrix',
        title: title(fs.stage, fm.head, layer.layer),
        cells: this.focusHeat.canvas,
        rows,
        cols,
        rowLabels: tokenLabels(layer.tokens, rows),
        colLabels: tokenLabels(layer.tokens, cols),
        axes: { rows: 'queries', cols: 'keys' },
        legend: this.focusLegend.exportParts(`${lab.symbol} · ${lab.title}`),
      },
    };
  }

  private relayout(layer: EncoderLayer): void {
    this.thumbs = [];
    this.legends.clear();
    const cols: HTMLElement[] = [];
    for (const s of layer.stages) {
      const lab = STAGE_LABEL[s.stage];
      const legend = new Legend();
      this.legends.set(s.stage, legend);
      const heads = h('div', 'al-heads');
      for (const m of s.heads) {
        const heat = new HeatCanvas('al-thumb-heat');
        const fig = h('button', 'al-thumb', { type: 'button', title: `${lab.symbol} head ${m.head}`, 'aria-pressed': 'false' }, [heat.canvas, h('span', 'al-thumb-label', {}, [`head ${m.head}`])]);
        const entry = { stage: s.stage, head: m.head, heat, fig, map: m };
        fig.addEventListener('click', () => this.onFocus({ stage: entry.stage, head: entry.head }));
        heat.canvas.addEventListener('mousemove', (e) => this.hoverThumb(e, entry));
        heat.canvas.addEventListener('mouseleave', () => this.tooltip.hide());
        this.thumbs.push(entry);
        heads.append(fig);
      }
      cols.push(
        h('section', `al-stage al-stage-${s.stage}`, {}, [
          h('header', 'al-stage-head', {}, [h('span', 'al-stage-symbol', {}, [lab.symbol]), h('span', 'al-stage-title', {}, [lab.title])]),
          legend.el,
          heads,
        ]),
      );
    }
    this.stagesEl.replaceChildren(...cols);
  }

  private relayoutFocus(m: AttentionMapData, tokens: string[]): void {
    const children: HTMLElement[] = [h('div', 'al-corner')];
    this.focusGrid.style.gridTemplateColumns = `max-content repeat(${Math.max(1, m.cols)}, minmax(1.1em, 2em))`;
    this.focusGrid.style.gridTemplateRows = `max-content repeat(${Math.max(1, m.rows)}, minmax(1.1em, 2em))`;
    for (let c = 0; c < m.cols; c++) {
      const l = h('div', 'al-collabel', { title: tokens[c] ?? '' }, [tokens[c] ?? '']);
      l.style.gridColumn = String(c + 2);
      l.style.gridRow = '1';
      children.push(l);
    }
    for (let r = 0; r < m.rows; r++) {
      const l = h('div', 'al-rowlabel', { title: tokens[r] ?? '' }, [tokens[r] ?? '']);
      l.style.gridRow = String(r + 2);
      l.style.gridColumn = '1';
      children.push(l);
    }
    this.focusHeat.canvas.style.gridRow = `2 / span ${Math.max(1, m.rows)}`;
    this.focusHeat.canvas.style.gridColumn = `2 / span ${Math.max(1, m.cols)}`;
    children.push(this.focusHeat.canvas);
    this.focusGrid.replaceChildren(...children);
  }

  private hoverThumb(e: MouseEvent, t: { stage: Stage; heat: HeatCanvas; map: AttentionMapData }): void {
    const cell = t.heat.cellAt(e);
    if (cell === undefined) return this.tooltip.hide();
    this.showCell(e, t.stage, t.map, cell.row, cell.col);
  }

  private hoverFocus(e: MouseEvent): void {
    const cell = this.focusHeat.cellAt(e);
    const fs = this.layer?.stages.find((s) => s.stage === this.focus?.stage);
    const fm = fs?.heads.find((m) => m.head === this.focus?.head);
    if (cell === undefined || fs === undefined || fm === undefined) return this.tooltip.hide();
    this.showCell(e, fs.stage, fm, cell.row, cell.col);
  }

  private showCell(e: MouseEvent, stage: Stage, m: AttentionMapData, row: number, col: number): void {
    const toks = this.layer?.tokens ?? [];
    const v = m.data[row * m.cols + col] as number;
    this.tooltip.show(e, `${STAGE_LABEL[stage].symbol} head ${m.head}: ${toks[row] ?? row} → ${toks[col] ?? col} = ${formatValue(v)}`);
  }
}

/** What a matrix measurement's heatmap shows at one step. */
export interface MatrixView {
  rowLabels: string[];
  colLabels: string[];
  /** (rows, cols) row-major, as recorded; NaN where there is no value. */
  values: Float32Array;
  /** What the canvas paints (the values, or their log10 on a log scale). */
  paint: Float32Array;
  unit?: string;
}

/** Largest matrix whose values are written in its cells (a larger one shows colour, and its values on hover). */
export const MAX_WRITTEN_CELLS = 400;
/** Most columns whose labels are written on top (the hover names them all). */
const MAX_COL_LABELS = 48;

/**
 * A labelled matrix (a declared matrix measurement): its row labels on the left, its column
 * labels on top, each cell's value written over its colour. A cell without a value is left
 * uncoloured and marked "–".
 */
export class MatrixHeatmap {
  readonly el: HTMLElement;
  readonly heat = new HeatCanvas('al-matrix-heat');
  private readonly grid = h('div', 'al-matrix');
  private cells: HTMLElement[] = [];
  private layoutKey = '';
  shown: MatrixView | undefined;

  constructor(private readonly tooltip: Tooltip) {
    this.el = h('div', 'al-matrix-wrap', {}, [this.grid]);
    this.grid.addEventListener('mousemove', (e) => this.hover(e));
    this.grid.addEventListener('mouseleave', () => this.tooltip.hide());
  }

  /** The text of each cell, row-major (for tests and the export). */
  get cellTexts(): string[] {
    return this.cells.map((c) => c.textContent ?? '');
  }

  paint(v: MatrixView, scale: HeatScale, palette: HeatPalette): void {
    this.shown = v;
    const rows = v.rowLabels.length;
    const cols = v.colLabels.length;
    const key = `${v.rowLabels.join('\u0001')}|${v.colLabels.join('\u0001')}`;
    if (key !== this.layoutKey) {
      this.layoutKey = key;
      this.relayout(v.rowLabels, v.colLabels);
    }
    for (let i = 0; i < rows * cols; i++) {
      const cell = this.cells[i];
      if (cell === undefined) continue;
      const x = v.values[i] as number;
      const empty = !Number.isFinite(x);
      setText(cell, formatValue(x));
      cell.classList.toggle('al-nan', empty);
    }
    this.heat.paint(v.paint, rows, cols, scale, palette);
  }

  /** No matrix to show (none recorded by the step): the grid keeps its labels, the cells empty. */
  clear(rowLabels: string[], colLabels: string[], palette: HeatPalette): void {
    const none = new Float32Array(rowLabels.length * colLabels.length).fill(NaN);
    this.paint({ rowLabels, colLabels, values: none, paint: none }, { kind: 'sequential', min: 0, max: 1 }, palette);
    this.shown = undefined;
  }

  /** The matrix on screen, for a PNG export (undefined when none is shown). */
  exportSpec(title: string, legend: Legend, legendTitle: string): HeatExportSpec | undefined {
    const v = this.shown;
    if (v === undefined) return undefined;
    const cols = v.colLabels.length;
    const cellText = v.rowLabels.map((_, r) => Array.from({ length: cols }, (_, c) => formatValue(v.values[r * cols + c] as number)));
    return { kind: 'values', title, cells: this.heat.canvas, rows: v.rowLabels.length, cols, rowLabels: v.rowLabels, colLabels: v.colLabels, cellText, legend: legend.exportParts(legendTitle) };
  }

  private relayout(rowLabels: string[], colLabels: string[]): void {
    const rows = rowLabels.length;
    const cols = colLabels.length;
    const written = rows * cols <= MAX_WRITTEN_CELLS;
    const children: HTMLElement[] = [h('div', 'al-corner')];
    this.grid.style.gridTemplateColumns = `max-content repeat(${Math.max(1, cols)}, ${written ? 'minmax(3.6em, 6em)' : 'minmax(3px, 1em)'})`;
    this.grid.style.gridTemplateRows = `max-content repeat(${Math.max(1, rows)}, ${written ? '2em' : 'minmax(3px, 1em)'})`;
    if (cols <= MAX_COL_LABELS) colLabels.forEach((l, c) => {
      const el = h('div', 'al-matrix-collabel', { title: l }, [l]);
      el.style.gridColumn = String(c + 2);
      el.style.gridRow = '1';
      children.push(el);
    });
    rowLabels.forEach((l, r) => {
      const el = h('div', 'al-rowlabel', { title: l }, [l]);
      el.style.gridRow = String(r + 2);
      el.style.gridColumn = '1';
      children.push(el);
    });
    this.heat.canvas.style.gridRow = `2 / span ${Math.max(1, rows)}`;
    this.heat.canvas.style.gridColumn = `2 / span ${Math.max(1, cols)}`;
    children.push(this.heat.canvas);
    this.cells = [];
    if (written) for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        const cell = h('div', 'al-matrix-cell', { 'data-r': r, 'data-c': c });
        cell.style.gridRow = String(r + 2);
        cell.style.gridColumn = String(c + 2);
        this.cells.push(cell);
        children.push(cell);
      }
    this.grid.replaceChildren(...children);
  }

  private hover(e: MouseEvent): void {
    const v = this.shown;
    const cell = this.heat.cellAt(e);
    if (v === undefined || cell === undefined) return this.tooltip.hide();
    const x = v.values[cell.row * v.colLabels.length + cell.col] as number;
    const value = Number.isFinite(x) ? `${formatValue(x)}${v.unit !== undefined ? ` ${v.unit}` : ''}` : 'no value';
    this.tooltip.show(e, `${v.rowLabels[cell.row] ?? ''} · ${v.colLabels[cell.col] ?? ''}: ${value}`);
  }
}
