/**
 * The compare view (body[data-view="compare"]): two or more runs side by side. Loss, accuracy
 * and gradient-norm curves overlaid (one colour per run, aligned by step, a legend that
 * toggles runs, a zoomable step range decimated from the full data), the config fields that
 * differ, one heatmap per run of the same probe driven by one shared scrubber, and for Lu runs
 * their identity error and topic attention in one table. Declared measurements too: a chart
 * per series card with every run's lines, each matrix of every run side by side, and every
 * run's events as markers (in its colour) on every step chart. Messages only update the
 * CompareStore and mark parts dirty; one animation frame repaints them.
 */
import type { AttentionFrame, HostToWebview, MeasureDecl } from '../src/protocol/messages';
import { scaleForStage } from './model/colorRamp';
import { CompareStore, luProbeGrid, luRow, rangeIndices } from './model/compareStore';
import { encoderLayer, layersOf, probeOptions, STAGE_LABEL } from './model/layout';
import { cardsKey, eventMarkers, matrixPaintValues, matrixScale, matrixStepNote, mergeCards, mergeMatrices, seriesCards, StepCursor, styleMarkers, type DrawnMarker, type SeriesCard } from './model/measures';
import { FrameRequests } from './model/frameRequests';
import { Scrubber, scrubberKey } from './model/scrubber';
import { Changed, RunStore } from './model/store';
import { SeriesChart, type LineSource, type LineSpec } from './charts';
import { chartCard } from './cards';
import { button, exportButton, select, setDisabled } from './controls';
import type { WebviewHost } from './dashboard';
import { formatInt, formatNum, formatPct, h, setHidden, setText } from './dom';
import { EncoderHeatmaps, Legend, LuHeatmap, MatrixHeatmap, Tooltip } from './heatmap';
import { canvasPng, chartImage, heatImage } from './exportImage';
import { followTheme } from './followTheme';
import { baseHooks, chartPoints, markerInfo, type ChartSeriesData, type HeatmapInfo, type MarkerInfo, type MatrixInfo, type ViewHooks } from './hooks';
import { cardConvention, cardLineSource, fileSafe, MatrixCard } from './measureCards';
import { parseCompareState, type CompareViewState } from './compareState';
import { Dirty, FrameScheduler } from './scheduler';
import type { Theme } from './theme';

/** Run colours: --vscode-charts-blue, orange, green, purple, red, yellow (Theme.series order). */
export const RUN_COLOURS = 6;

const colourClass = (i: number): string => `al-run-c${i % RUN_COLOURS}`;

/** How a card's lines of one run differ (each run has its colour): solid, dashed, dotted, dash-dot … */
const LINE_DASHES: readonly number[][] = [[], [5, 3], [1, 2], [6, 2, 1, 2]];
const DASH_GLYPHS = ['───', '╌╌╌', '┈┈┈', '─·─'];

/** One run's heatmap in the side-by-side row. */
interface Panel {
  runId: string;
  el: HTMLElement;
  nameEl: HTMLElement;
  stepEl: HTMLElement;
  probeEl: HTMLElement;
  lu: LuHeatmap;
  enc: EncoderHeatmaps;
  isLu: boolean;
  shown: AttentionFrame | undefined;
  key: string;
}


type Chart = { name: 'loss' | 'accuracy' | 'gradients'; chart: SeriesChart; series: (s: RunStore) => { xs: Float64Array; ys: Float64Array; n: number } };

/** A declared series card across the runs: each run's own card (undefined without one) and, per dataset, its run. */
interface MeasureChart {
  card: SeriesCard;
  perRun: (SeriesCard | undefined)[];
  chart: SeriesChart;
  el: HTMLElement;
  runOf: string[];
}

/** One run's side of a matrix card. */
interface MatrixRunPanel {
  runId: string;
  decl: MeasureDecl | undefined;
  el: HTMLElement;
  nameEl: HTMLElement;
  stepEl: HTMLElement;
  heat: MatrixHeatmap;
  shown: number | undefined;
  /** What it was painted with: the matrix's run epoch, step and colour scale; 'none' when cleared (a repaint of the same is skipped). */
  painted: string | undefined;
}

export class CompareView {
  readonly store = new CompareStore();
  private theme: Theme;
  private readonly scheduler = new FrameScheduler((d) => this.render(d));
  private readonly scrub = new Scrubber();
  private vs: CompareViewState;

  private readonly banner = h('div', 'al-banner', { role: 'alert', hidden: true });
  private readonly empty = h('div', 'al-empty', {}, ['Waiting for the runs to compare…']);
  private readonly content: HTMLElement;
  private readonly legend = h('div', 'al-cmp-legend', { role: 'group', 'aria-label': 'Runs (click to show or hide)' });
  private readonly charts: Chart[];
  private readonly zoomFrom = h('input', 'al-num al-zoom-from', { type: 'number', step: 1, min: 0, 'aria-label': 'Zoom from step' });
  private readonly zoomTo = h('input', 'al-num al-zoom-to', { type: 'number', step: 1, min: 0, 'aria-label': 'Zoom to step' });
  private readonly zoomReset;
  private readonly zoomNote = h('span', 'al-card-note al-zoom-note');

  private readonly tooltip = new Tooltip();
  private readonly heatLegend = new Legend('attention');
  private readonly probeSel;
  private readonly layerSel;
  private readonly headSel;
  private readonly probeNote = h('span', 'al-card-note al-cmp-probe-note');
  private readonly range = h('input', 'al-range', { type: 'range', min: 0, max: 0, step: 1, value: 0, 'aria-label': 'Attention step (all runs)' });
  private readonly scrubLabel = h('span', 'al-scrub-label', { 'aria-live': 'polite' });
  private readonly liveBtn;
  private dragging = false;
  private readonly panelsEl = h('div', 'al-cmp-panels');
  private panels: Panel[] = [];
  /** Scrubber frame requests: per run one in flight at a time. */
  private readonly requests: FrameRequests;

  private readonly configTable = h('table', 'al-table al-cmp-config-table');
  private readonly configNote = h('p', 'al-card-note al-cmp-config-note');
  private readonly luCard: HTMLElement;
  private readonly luTable = h('table', 'al-table al-cmp-lu-table');
  private readonly attentionEl: HTMLElement;

  // Declared measurements.
  private readonly chartsEl: HTMLElement;
  private readonly matricesEl = h('div', 'al-matrices', { hidden: true });
  private measureCharts: MeasureChart[] = [];
  private matrixCards: { decl: MeasureDecl; card: MatrixCard; panels: MatrixRunPanel[] }[] = [];
  private measureKey = '';
  private measureDecls: readonly (readonly MeasureDecl[])[] = [];
  private readonly cursor = new StepCursor();
  private markers: DrawnMarker[] = [];
  private markersKey = '';
  private readonly chartObjects: Record<string, unknown> = {};

  constructor(
    root: HTMLElement,
    private readonly host: WebviewHost,
  ) {
    this.theme = followTheme(this.scheduler, (t) => (this.theme = t), { charts: true }).theme;
    this.vs = parseCompareState(host.getState());
    this.requests = new FrameRequests({
      post: (runId, step) => this.host.post({ type: 'requestAttention', runId, step }),
      frameAt: (runId, step) => this.store.run(runId)?.frameAt(step),
      now: () => performance.now(),
    });
    for (const id of this.vs.hidden) this.store.hidden.add(id);

    const onResize = (): void => this.scheduler.invalidate(Dirty.Size);
    const exportChart = (name: 'loss' | 'accuracy' | 'gradients', title: string) => (): Promise<void> => this.exportChart(name, title);
    const zoom = { zoom: true };
    const lossCard = chartCard('Loss (train)', 'al-loss-card', 'the loss chart', exportChart('loss', 'Loss (train)'), zoom);
    const accCard = chartCard('Accuracy (train)', 'al-acc-card', 'the accuracy chart', exportChart('accuracy', 'Accuracy (train)'), zoom);
    const gradCard = chartCard('Gradient norm, all groups (log)', 'al-grad-card', 'the gradient-norm chart', exportChart('gradients', 'Gradient norm, all groups'), zoom);
    this.charts = [
      { name: 'loss', chart: new SeriesChart(lossCard.canvas, { onResize, legend: false }, this.theme), series: (s) => ({ xs: s.step.values, ys: s.loss.values, n: s.step.length }) },
      { name: 'accuracy', chart: new SeriesChart(accCard.canvas, { yMin: 0, yMax: 1, onResize, legend: false }, this.theme), series: (s) => ({ xs: s.step.values, ys: s.trainAccuracy.values, n: s.step.length }) },
      {
        name: 'gradients',
        chart: new SeriesChart(gradCard.canvas, { log: true, onResize, legend: false }, this.theme),
        series: (s) => {
          const g = this.store.gradTotal(s.runId ?? '');
          return { xs: s.step.values, ys: g?.values ?? new Float64Array(0), n: Math.min(s.step.length, g?.length ?? 0) };
        },
      },
    ];
    for (const [card, c] of [
      [lossCard, this.charts[0]],
      [accCard, this.charts[1]],
      [gradCard, this.charts[2]],
    ] as const)
      if (c !== undefined) this.dragZoom(card.box, card.canvas, card.band, c.chart);
    for (const c of this.charts) this.chartObjects[c.name] = c.chart.chart;

    this.zoomReset = button('Reset zoom', 'al-zoom-reset', () => this.setZoom(undefined), true);
    const applyInputs = (): void => {
      const a = Number(this.zoomFrom.value);
      const b = Number(this.zoomTo.value);
      if (this.zoomFrom.value !== '' && this.zoomTo.value !== '' && Number.isFinite(a) && Number.isFinite(b) && b > a) this.setZoom({ x0: a, x1: b });
    };
    this.zoomFrom.addEventListener('change', applyInputs);
    this.zoomTo.addEventListener('change', applyInputs);

    this.probeSel = select('Probe', 'al-probe', (v) => this.choose({ probe: Number(v) }));
    this.layerSel = select('Layer', 'al-layer', (v) => this.choose({ layer: Number(v) }));
    this.headSel = select('Head (W)', 'al-head', (v) => this.choose({ head: Number(v) }));
    this.liveBtn = button('Latest', 'al-live', () => {
      if (this.scrub.goLive()) this.afterScrub();
    }, true);
    this.range.addEventListener('input', () => {
      if (this.scrub.moveTo(Number(this.range.value))) this.afterScrub();
    });
    this.range.addEventListener('pointerdown', () => (this.dragging = true));
    const endDrag = (): void => {
      this.dragging = false;
      this.scheduler.invalidate(Dirty.View);
    };
    this.range.addEventListener('pointerup', endDrag);
    this.range.addEventListener('change', endDrag);
    this.range.addEventListener('keydown', (e) => this.scrubKey(e));

    const header = h('header', 'al-header al-cmp-header', {}, [h('div', 'al-title-row', {}, [h('h1', 'al-run-name', {}, ['Compare runs'])]), this.legend]);
    const zoomBar = h('div', 'al-zoom-bar', { role: 'toolbar', 'aria-label': 'Step range of the charts' }, [
      h('span', 'al-field-label', {}, ['Steps']),
      this.zoomFrom,
      h('span', 'al-field-label', {}, ['to']),
      this.zoomTo,
      this.zoomReset,
      this.zoomNote,
    ]);
    const attention = (this.attentionEl = h('section', 'al-card al-attention al-cmp-attention', { 'aria-label': 'Attention' }, [
      h('div', 'al-attn-head', {}, [h('h2', 'al-card-title', {}, ['Attention, same probe, every run']), h('div', 'al-attn-controls', {}, [this.probeSel.el, this.layerSel.el, this.headSel.el])]),
      this.probeNote,
      h('div', 'al-scrubber', {}, [this.range, this.scrubLabel, this.liveBtn]),
      this.heatLegend.el,
      this.panelsEl,
    ]));
    const configCard = h('section', 'al-card al-cmp-config', { 'aria-label': 'Config differences' }, [h('h2', 'al-card-title', {}, ['Config fields that differ']), this.configNote, h('div', 'al-table-wrap', {}, [this.configTable])]);
    this.luCard = h('section', 'al-card al-cmp-lu', { 'aria-label': 'Lu runs', hidden: true }, [h('h2', 'al-card-title', {}, ['Lu runs: identity and topic attention']), h('div', 'al-table-wrap', {}, [this.luTable])]);
    this.chartsEl = h('div', 'al-charts', {}, [lossCard.el, accCard.el, gradCard.el]);
    this.content = h('main', 'al-content al-compare', { hidden: true }, [zoomBar, this.chartsEl, this.matricesEl, configCard, this.luCard, attention]);
    root.replaceChildren(header, this.banner, this.empty, this.content);
    this.scheduler.invalidate(Dirty.All);
  }

  receive(msg: HostToWebview): void {
    const r = this.store.apply(msg);
    if (r.warning !== undefined) console.warn(`[attention-lens] ${r.warning}`);
    if ((r.changed & Changed.Run) !== 0 && msg.type === 'compareSnapshot') this.onNewRuns();
    else if ((r.changed & Changed.Run) !== 0) this.scrub.setStops(this.store.stops);
    if ((r.changed & Changed.Attention) !== 0) this.scrub.setStops(this.store.stops);
    if ((r.changed & Changed.Loaded) !== 0 && msg.type === 'attentionLoaded') {
      this.requests.loaded(msg.runId, msg.frame.step);
      this.requests.pump(this.scrub.live);
    }
    if (r.changed !== Changed.None) this.scheduler.invalidate(r.changed);
  }

  // ─── view choices ───────────────────────────────────────────────────────────────────

  private saveState(): void {
    const s = this.scrub.state;
    this.vs = { ...this.vs, live: s.live, hidden: [...this.store.hidden] };
    // Before the first snapshot the ids restored from the state are kept (the host reads them after a reload).
    if (this.store.runIds.length > 0) this.vs.runIds = [...this.store.runIds];
    if (s.step !== undefined) this.vs.step = s.step;
    else delete this.vs.step;
    const m = this.cursor.step;
    if (m !== undefined) this.vs.measureStep = m;
    else delete this.vs.measureStep;
    this.host.setState(this.vs);
  }

  private choose(c: Partial<Pick<CompareViewState, 'probe' | 'layer' | 'head'>>): void {
    this.vs = { ...this.vs, ...c };
    this.saveState();
    this.scheduler.invalidate(Dirty.View);
  }

  private setZoom(z: { x0: number; x1: number } | undefined): void {
    if (z === undefined) delete this.vs.zoom;
    else this.vs.zoom = { x0: Math.min(z.x0, z.x1), x1: Math.max(z.x0, z.x1) };
    this.saveState();
    this.scheduler.invalidate(Dirty.Size | Dirty.View);
  }

  private toggleRun(runId: string): void {
    this.store.toggle(runId);
    this.saveState();
    // A run shown again while scrubbed back may need its frame.
    if (!this.scrub.live) this.wantAll();
    this.scheduler.invalidate(Dirty.View | Dirty.Size);
  }

  /** Drag across a chart to zoom all charts to that step range. */
  private dragZoom(box: HTMLElement, canvas: HTMLCanvasElement, band: HTMLElement, chart: SeriesChart): void {
    let start: number | undefined;
    const xOf = (e: PointerEvent): number => e.clientX - canvas.getBoundingClientRect().left;
    canvas.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      start = xOf(e);
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (start === undefined) return;
      const x = xOf(e);
      const left = Math.min(start, x);
      // CSSOM writes are allowed by the CSP (style attributes in markup are not).
      band.style.left = `${left}px`;
      band.style.width = `${Math.abs(x - start)}px`;
      setHidden(band, Math.abs(x - start) < 3);
    });
    const end = (e: PointerEvent, apply: boolean): void => {
      if (start === undefined) return;
      const a = start;
      start = undefined;
      setHidden(band, true);
      const b = xOf(e);
      const sc = chart.chart.scales['x'];
      if (!apply || sc === undefined || Math.abs(b - a) < 5) return;
      const x0 = sc.getValueForPixel(Math.min(a, b));
      const x1 = sc.getValueForPixel(Math.max(a, b));
      if (x0 !== undefined && x1 !== undefined && x1 > x0) this.setZoom({ x0: Math.round(x0), x1: Math.round(x1) });
    };
    canvas.addEventListener('pointerup', (e) => end(e, true));
    canvas.addEventListener('pointercancel', (e) => end(e, false));
    canvas.addEventListener('dblclick', () => this.setZoom(undefined));
    box.classList.add('al-zoomable');
  }

  private onNewRuns(): void {
    this.scrub.setStops(this.store.stops);
    this.requests.reset(this.store.runIds);
    this.scrub.restore({ live: this.vs.live, step: this.vs.step });
    this.cursor.restore(this.vs.measureStep);
    this.buildPanels();
    this.saveState();
    if (!this.scrub.live) this.wantAll();
  }

  // ─── scrubber ───────────────────────────────────────────────────────────────────────

  private scrubKey(e: KeyboardEvent): void {
    const changed = scrubberKey(this.scrub, e.key);
    if (changed === undefined) return;
    e.preventDefault();
    if (changed) this.afterScrub();
    this.scheduler.invalidate(Dirty.View);
  }

  private afterScrub(): void {
    this.saveState();
    if (!this.scrub.live) this.wantAll();
    this.scheduler.invalidate(Dirty.View);
  }

  /** Every visible run wants its frame at or before the scrubbed step. */
  private wantAll(): void {
    for (const id of this.store.runIds) this.requests.want(id, this.store.isHidden(id) ? undefined : this.store.runStepAt(id, this.scrub.step, this.scrub.live));
    this.requests.pump(this.scrub.live);
  }

  private frameOf(runId: string, step: number): AttentionFrame | undefined {
    return this.requests.frame(runId, step);
  }

  // ─── rendering ──────────────────────────────────────────────────────────────────────

  private render(d: number): void {
    const st = this.store;
    // A rename (a statusChanged with the new name) rebuilds what shows the names.
    const names = st.runs.map((s) => this.runName(s)).join('\n');
    if (names !== this.namesShown) {
      this.namesShown = names;
      d |= Changed.Run;
      for (const p of this.panels) {
        const s = st.run(p.runId);
        if (s !== undefined) setText(p.nameEl, this.runName(s));
      }
    }
    const has = st.runs.length > 0;
    setHidden(this.empty, has || st.protocolError !== undefined);
    setHidden(this.content, !has);
    setHidden(this.banner, st.protocolError === undefined);
    setText(this.banner, st.protocolError ?? '');
    if (!has) return;
    const rebuilt = (d & (Changed.Run | Changed.Measures)) !== 0 && this.syncMeasureCards();
    if (rebuilt || (d & (Changed.Run | Dirty.Theme)) !== 0) this.setupCharts();
    if ((d & (Changed.Run | Changed.Status | Changed.Scalars | Changed.Evals | Dirty.View)) !== 0) this.renderLegend(d);
    if ((d & (Changed.Run | Changed.Measures | Dirty.Theme | Dirty.View)) !== 0) this.updateMarkers(rebuilt || (d & Dirty.Theme) !== 0);
    if ((d & (Changed.Run | Changed.Scalars | Changed.Evals | Changed.Measures | Dirty.Size | Dirty.Theme | Dirty.View)) !== 0) this.renderCharts();
    if ((d & (Changed.Run | Changed.Measures | Changed.Scalars | Changed.Status | Dirty.View | Dirty.Theme)) !== 0) this.renderMatrices((d & (Changed.Run | Dirty.Theme)) !== 0);
    if ((d & Changed.Run) !== 0) this.renderConfig();
    if ((d & (Changed.Run | Changed.Scalars | Changed.Evals | Changed.Identity | Changed.Status)) !== 0) this.renderLuTable();
    if ((d & (Changed.Run | Changed.Attention | Changed.Loaded | Dirty.View | Dirty.Theme)) !== 0) this.renderAttention(d);
  }

  private runName(s: RunStore): string {
    return s.name ?? '';
  }

  /** The names last built into the legend, charts, table and panels. */
  private namesShown = '';

  /** Legend buttons are built once per set of runs and updated in place (keyboard focus stays). */
  private legendItems = new Map<string, { button: HTMLElement; meta: HTMLElement }>();

  private renderLegend(d: number): void {
    const st = this.store;
    if ((d & Changed.Run) !== 0 || this.legendItems.size !== st.runs.length) {
      this.legendItems.clear();
      const items = st.runs.map((s, i) => {
        const id = s.runId ?? '';
        const meta = h('span', 'al-cmp-run-meta');
        const b = h('button', `al-cmp-legend-item ${colourClass(i)}`, { type: 'button', 'data-run': id }, [h('span', 'al-swatch'), h('span', 'al-cmp-run-name', {}, [this.runName(s)]), h('span', 'al-cmp-run-id', {}, [id]), meta]);
        b.addEventListener('click', () => this.toggleRun(id));
        this.legendItems.set(id, { button: b, meta });
        return b;
      });
      this.legend.replaceChildren(...items);
      document.title = `Compare: ${st.runs.map((s) => this.runName(s)).join(' · ')}`;
    }
    for (const s of st.runs) {
      const id = s.runId ?? '';
      const item = this.legendItems.get(id);
      if (item === undefined) continue;
      const shown = !st.isHidden(id);
      const total = s.info?.totalSteps;
      setText(item.meta, `${s.status} · step ${formatInt(s.lastStep)}${total !== undefined && total > 0 ? ` / ${formatInt(total)}` : ''}`);
      item.meta.className = `al-cmp-run-meta al-status-${s.status}`;
      item.button.setAttribute('aria-pressed', String(shown));
      item.button.title = shown ? 'Hide this run' : 'Show this run';
      item.button.classList.toggle('al-off', !shown);
    }
  }

  private setupCharts(): void {
    const st = this.store;
    for (const c of this.charts) {
      const lines: LineSpec[] = st.runs.map((s, i) => ({
        label: this.runName(s),
        color: (t: Theme) => t.series[i % RUN_COLOURS] as string,
        source: () => this.visibleRange(s, c.series(s)),
      }));
      c.chart.setLines(lines, this.theme);
      c.chart.applyTheme(this.theme);
    }
    for (const mc of this.measureCharts) {
      const lines: LineSpec[] = [];
      mc.runOf = [];
      st.runs.forEach((s, i) => {
        const card = mc.perRun[i];
        if (card === undefined) return;
        card.lines.forEach((l, k) => {
          lines.push({
            label: card.lines.length > 1 ? `${this.runName(s)} · ${l.label}` : this.runName(s),
            color: (t: Theme) => t.series[i % RUN_COLOURS] as string,
            dash: LINE_DASHES[k % LINE_DASHES.length] as number[],
            source: () => this.visibleRange(s, cardLineSource(s.measures, card, k)),
          });
          mc.runOf.push(s.runId ?? '');
        });
      });
      mc.chart.setLines(lines, this.theme);
      mc.chart.applyTheme(this.theme);
    }
  }

  /** The part of a run's series the chart decimates: all of it, or the zoomed range (±1 point); nothing when hidden. */
  private visibleRange(s: RunStore, src: { xs: ArrayLike<number>; ys: ArrayLike<number>; n: number; epoch?: unknown }): LineSource {
    const all = { ...src, epoch: src.epoch ?? s.epoch };
    if (this.store.isHidden(s.runId ?? '')) return { ...all, from: 0, to: 0 };
    const z = this.vs.zoom;
    if (z === undefined) return all;
    const { lo, hi } = rangeIndices(src.xs, src.n, z.x0, z.x1);
    return { ...all, from: lo, to: Math.max(lo, hi) };
  }

  private renderCharts(): void {
    const st = this.store;
    const z = this.vs.zoom;
    const full = st.stepRange(true);
    const x0 = z?.x0 ?? full.x0;
    const x1 = z?.x1 ?? full.x1;
    const charts: { chart: SeriesChart; runOf: (i: number) => string }[] = [
      ...this.charts.map((c) => ({ chart: c.chart, runOf: (i: number) => st.runs[i]?.runId ?? '' })),
      ...this.measureCharts.map((c) => ({ chart: c.chart, runOf: (i: number) => c.runOf[i] ?? '' })),
    ];
    for (const c of charts) {
      c.chart.chart.data.datasets.forEach((ds, i) => {
        ds.hidden = st.isHidden(c.runOf(i));
      });
      const w = c.chart.chart.chartArea?.width;
      c.chart.update(x0, x1);
      // New y labels can narrow the plot: decimate again for the columns it has now.
      if (w !== undefined && Math.round(c.chart.chart.chartArea?.width ?? w) !== Math.round(w)) c.chart.update(x0, x1);
    }
    const focused = (el: HTMLElement): boolean => document.activeElement === el;
    if (!focused(this.zoomFrom)) this.zoomFrom.value = z !== undefined ? String(z.x0) : '';
    if (!focused(this.zoomTo)) this.zoomTo.value = z !== undefined ? String(z.x1) : '';
    this.zoomFrom.placeholder = Number.isFinite(full.x0) ? String(full.x0) : '';
    this.zoomTo.placeholder = Number.isFinite(full.x1) ? String(full.x1) : '';
    setDisabled(this.zoomReset, z === undefined);
    setText(this.zoomNote, z !== undefined ? `zoomed: steps ${formatInt(z.x0)} – ${formatInt(z.x1)} (double-click a chart to reset)` : 'drag across a chart to zoom');
  }

  // ─── declared measurements ──────────────────────────────────────────────────────────

  /** (Re)build the measurement cards when the runs' declarations call for other ones. Returns whether it did. */
  private syncMeasureCards(): boolean {
    const st = this.store;
    // Declarations are replaced, never changed in place: the same arrays need no look.
    const decls = st.runs.map((s) => s.measures.decls);
    if (decls.length === this.measureDecls.length && decls.every((d, i) => d === this.measureDecls[i])) return false;
    this.measureDecls = decls;
    const key = JSON.stringify(st.runs.map((s) => [s.runId, cardsKey(s.measures.decls)]));
    if (key === this.measureKey) return false;
    this.measureKey = key;
    for (const c of this.measureCharts) {
      c.chart.destroy();
      c.el.remove();
      delete this.chartObjects[`measure:${c.card.key}`];
    }
    const onResize = (): void => this.scheduler.invalidate(Dirty.Size);
    this.measureCharts = mergeCards(st.runs.map((s) => seriesCards(s.measures.decls))).map(({ card, runs }) => {
      const title = card.title;
      let chart: SeriesChart | undefined;
      const el = chartCard(title, 'al-measure-card', `the ${title} chart`, () => (chart !== undefined ? this.exportSeriesChart(`measure-${fileSafe(card.key)}`, title, chart) : Promise.resolve()), {
        zoom: true,
        note: true,
        convention: cardConvention(card),
        attrs: { 'data-measure': card.key },
      });
      // Which line style is which group: the runs differ by colour, a run's lines by dash.
      const styles = runs.find((c) => c !== undefined)?.lines ?? [];
      setText(el.caption, styles.length > 1 ? styles.map((l, k) => `${DASH_GLYPHS[k % DASH_GLYPHS.length]} ${l.label}`).join('  ') : '');
      this.chartsEl.append(el.el);
      const opts = { log: card.log, onResize, legend: false, ...(card.min !== undefined ? { yMin: card.min } : {}), ...(card.max !== undefined ? { yMax: card.max } : {}), ...(card.unit !== undefined ? { yTitle: card.unit } : {}) };
      chart = new SeriesChart(el.canvas, opts, this.theme);
      this.dragZoom(el.box, el.canvas, el.band, chart);
      this.chartObjects[`measure:${card.key}`] = chart.chart;
      return { card, perRun: runs, chart, el: el.el, runOf: [] };
    });
    for (const c of this.matrixCards) c.card.el.remove();
    this.matrixCards = mergeMatrices(st.runs.map((s) => s.measures.decls)).map(({ decl, runs }) => {
      const panels: MatrixRunPanel[] = st.runs.map((s, i) => {
        const runId = s.runId ?? '';
        const heat = new MatrixHeatmap(this.tooltip);
        const nameEl = h('span', 'al-cmp-run-name', {}, [this.runName(s)]);
        const stepEl = h('span', 'al-card-note al-cmp-panel-step');
        const save = exportButton(`the ${decl.label} matrix of ${this.runName(s)}`, 'al-cmp-panel-export', () => this.exportMatrix(decl.id, runId));
        save.style.marginLeft = 'auto';
        const el = h('figure', `al-cmp-panel ${colourClass(i)}`, { 'data-run': runId }, [h('figcaption', 'al-cmp-panel-head', {}, [h('span', 'al-swatch'), nameEl, stepEl, save]), heat.el]);
        return { runId, decl: runs[i], el, nameEl, stepEl, heat, shown: undefined, painted: undefined };
      });
      const card = new MatrixCard(decl, h('div', 'al-cmp-panels', {}, panels.map((p) => p.el)), {
        onStep: (step) => {
          if (this.cursor.moveTo(step, this.cursorRange().last)) this.afterCursor();
        },
        onLive: () => {
          if (this.cursor.goLive()) this.afterCursor();
        },
        onDragEnd: () => this.scheduler.invalidate(Dirty.View),
      });
      return { decl, card, panels };
    });
    this.matricesEl.replaceChildren(...this.matrixCards.map((c) => c.card.el));
    setHidden(this.matricesEl, this.matrixCards.length === 0);
    this.markersKey = '';
    return true;
  }

  private afterCursor(): void {
    this.saveState();
    this.scheduler.invalidate(Dirty.View);
  }

  /** Every shown run's events as markers in its colour, its labels on a row of its own, on every step chart. */
  private updateMarkers(force: boolean): void {
    const st = this.store;
    const key = st.runs.map((s) => `${s.runId}:${s.measures.epoch}:${s.measures.events.length}:${st.isHidden(s.runId ?? '')}`).join('|');
    if (force || key !== this.markersKey) {
      this.markersKey = key;
      this.markers = st.runs.flatMap((s, i) =>
        st.isHidden(s.runId ?? '') ? [] : styleMarkers(eventMarkers(s.measures.decls, s.measures.events), [this.theme.series[i % RUN_COLOURS] as string], i, s.runId ?? ''),
      );
    }
    for (const c of [...this.charts.map((x) => x.chart), ...this.measureCharts.map((x) => x.chart)]) c.setMarkers(this.markers);
  }

  /** The steps the matrix cards' scrubber spans: the first to the last step of any run. */
  private cursorRange(): { first: number; last: number } {
    let first = Infinity;
    let last = -Infinity;
    for (const s of this.store.runs) {
      const r = s.stepRange();
      if (Number.isFinite(r.x0)) first = Math.min(first, r.x0);
      last = Math.max(last, s.lastStep, Number.isFinite(r.x1) ? r.x1 : -Infinity, s.measures.lastStep || -Infinity);
    }
    return { first: Number.isFinite(first) ? first : 0, last: Number.isFinite(last) && last > 0 ? last : NaN };
  }

  /** Each matrix card at the cursor's step; a panel whose matrix did not change is not repainted (unless `force`). */
  private renderMatrices(force: boolean): void {
    if (this.matrixCards.length === 0) return;
    const st = this.store;
    const { first, last } = this.cursorRange();
    const at = this.cursor.at(first, last);
    const pal = this.theme.heat;
    for (const c of this.matrixCards) {
      c.card.setStep(first, last, at, this.cursor.live);
      setText(c.card.note, '');
      // One colour scale for the card: the declared bounds, else those of the first run's matrix shown.
      let scale = matrixScale(c.decl, []);
      let scaled = false;
      for (const p of c.panels) {
        const s = st.run(p.runId);
        setHidden(p.el, st.isHidden(p.runId));
        if (s !== undefined) setText(p.nameEl, this.runName(s));
        const rows = c.decl.rows ?? [];
        const cols = c.decl.cols ?? [];
        const v = s === undefined || p.decl === undefined || at === undefined ? undefined : s.measures.matrixAt(c.decl.id, at);
        p.shown = v?.step;
        setText(p.stepEl, p.decl === undefined ? 'not measured in this run' : matrixStepNote(v?.step, at, this.cursor.live, formatInt));
        if (v === undefined || p.decl === undefined) {
          if (force || p.painted !== 'none') p.heat.clear(rows, cols, pal);
          p.painted = 'none';
          continue;
        }
        if (!scaled) {
          scale = matrixScale(c.decl, v.values);
          scaled = true;
        }
        const key = `${s?.measures.epoch}|${v.step}|${scale.kind}|${scale.min}|${scale.max}`;
        if (!force && p.painted === key) continue;
        p.painted = key;
        p.heat.paint({ rowLabels: rows, colLabels: cols, values: v.values, paint: matrixPaintValues(c.decl, v.values), ...(c.decl.unit !== undefined ? { unit: c.decl.unit } : {}) }, scale, pal);
      }
      c.card.paintLegend(scale, pal);
    }
  }

  private renderConfig(): void {
    const st = this.store;
    const diff = st.configDiff;
    setText(this.configNote, diff.length === 0 ? 'The runs’ configs are identical.' : `${diff.length} field${diff.length === 1 ? '' : 's'} differ.`);
    setHidden(this.configTable, diff.length === 0);
    const head = h('tr', '', {}, [h('th', '', { scope: 'col' }, ['field']), ...st.runs.map((s, i) => h('th', `${colourClass(i)}`, { scope: 'col' }, [h('span', 'al-swatch'), this.runName(s)]))]);
    const rows = diff.map((d) =>
      h('tr', '', { 'data-path': d.path }, [h('th', 'al-cmp-path', { scope: 'row' }, [d.path]), ...st.runs.map((_, i) => h('td', `al-cmp-value ${colourClass(i)}`, {}, [d.values[i] ?? '—']))]),
    );
    this.configTable.replaceChildren(h('thead', '', {}, [head]), h('tbody', '', {}, rows));
  }

  private renderLuTable(): void {
    const st = this.store;
    const lus = st.runs.map((s, i) => ({ s, i })).filter(({ s }) => s.info?.modelKind === 'lu');
    setHidden(this.luCard, lus.length === 0);
    if (lus.length === 0) return;
    const head = h('tr', '', {}, ['run', 'step', 'identity max rel. error', 'topic attention', 'final loss', 'test accuracy'].map((t) => h('th', '', { scope: 'col' }, [t])));
    const rows = lus.map(({ s, i }) => {
      const r = luRow(s);
      return h('tr', '', { 'data-run': r.runId }, [
        h('th', `${colourClass(i)}`, { scope: 'row' }, [h('span', 'al-swatch'), r.name]),
        h('td', 'al-num-cell', {}, [formatInt(r.step)]),
        h('td', 'al-num-cell al-cmp-iderr', {}, [formatPct(r.identityMaxRelError)]),
        h('td', 'al-num-cell al-cmp-topic', {}, [formatNum(r.topicAttention, 3)]),
        h('td', 'al-num-cell al-cmp-loss', {}, [formatNum(r.finalLoss)]),
        h('td', 'al-num-cell al-cmp-testacc', {}, [formatPct(r.testAccuracy)]),
      ]);
    });
    this.luTable.replaceChildren(h('thead', '', {}, [head]), h('tbody', '', {}, rows));
  }

  private buildPanels(): void {
    this.panels = this.store.runs.map((s, i) => {
      const runId = s.runId ?? '';
      const nameEl = h('span', 'al-cmp-run-name', {}, [this.runName(s)]);
      const stepEl = h('span', 'al-card-note al-cmp-panel-step');
      const probeEl = h('div', 'al-card-note al-cmp-panel-probe');
      const lu = new LuHeatmap(this.tooltip);
      const enc = new EncoderHeatmaps(this.tooltip, () => undefined, true);
      const save = exportButton(`the attention map of ${this.runName(s)}`, 'al-cmp-panel-export', () => this.exportPanel(runId));
      save.style.marginLeft = 'auto';
      const el = h('figure', `al-cmp-panel ${colourClass(i)}`, { 'data-run': runId }, [
        h('figcaption', 'al-cmp-panel-head', {}, [h('span', 'al-swatch'), nameEl, stepEl, save]),
        probeEl,
        lu.el,
        enc.el,
      ]);
      return { runId, el, nameEl, stepEl, probeEl, lu, enc, isLu: true, shown: undefined, key: '' };
    });
    this.panelsEl.replaceChildren(...this.panels.map((p) => p.el));
  }

  private renderAttention(d: number): void {
    const st = this.store;
    const sc = this.scrub;
    // Runs of models without views of their own show attention only when one captures some.
    const none = st.runs.every((s) => s.info?.modelKind === 'other' && s.attentionSteps.length === 0 && s.latestAttention === undefined);
    setHidden(this.attentionEl, none);
    if (none) return;
    this.range.disabled = sc.count < 2;
    this.range.min = String(sc.first ?? 0);
    this.range.max = String(sc.last ?? 0);
    const step = sc.step;
    if (!this.dragging && step !== undefined && this.range.value !== String(step)) this.range.value = String(step);
    setDisabled(this.liveBtn, sc.live);
    this.liveBtn.classList.toggle('al-is-live', sc.live);

    // Controls: probes of the first run; layers / heads over the encoder runs.
    const first = st.runs.find((s) => s.info !== undefined) ?? st.runs[0];
    const nProbes = Math.max(0, ...st.runs.map((s) => s.info?.probes.length ?? s.latestAttention?.probes.length ?? 0));
    const probe = Math.min(this.vs.probe, Math.max(0, nProbes - 1));
    this.probeSel.setOptions(probeOptions(first?.info, nProbes), String(probe));
    const same = st.runs.every((s) => (s.info?.probes[probe]?.tokens ?? []).join('\u0001') === (first?.info?.probes[probe]?.tokens ?? []).join('\u0001'));
    setText(this.probeNote, same ? '' : `The runs differ in their probes: each shows its own probe #${probe}.`);
    const encoders = st.runs.filter((s) => s.info?.modelKind === 'encoder');
    const layers = new Set<number>();
    let heads = 0;
    for (const s of encoders) {
      const f = s.latestAttention;
      for (const l of layersOf(f)) layers.add(l);
      for (const maps of f?.probes ?? []) for (const m of maps) if (m.stage === 'weights') heads = Math.max(heads, m.head + 1);
    }
    const layerList = [...layers].sort((a, b) => a - b);
    const layer = layerList.includes(this.vs.layer) ? this.vs.layer : (layerList[0] ?? 0);
    const head = Math.min(this.vs.head, Math.max(0, heads - 1));
    setHidden(this.layerSel.el, encoders.length === 0);
    setHidden(this.headSel.el, encoders.length === 0);
    if (encoders.length > 0) {
      this.layerSel.setOptions(
        layerList.map((l) => ({ value: String(l), label: `layer ${l}` })),
        String(layer),
      );
      this.layerSel.select.disabled = layerList.length < 2;
      this.headSel.setOptions(
        Array.from({ length: Math.max(1, heads) }, (_, i) => ({ value: String(i), label: `head ${i}` })),
        String(head),
      );
    }

    let loading = 0;
    const pal = this.theme.heat;
    const scale = scaleForStage('weights', 'fixed', 1);
    this.heatLegend.paint(scale, pal);
    for (const p of this.panels) {
      const s = st.run(p.runId);
      const hidden = st.isHidden(p.runId);
      setHidden(p.el, hidden);
      if (s === undefined || hidden) continue;
      const want = sc.live ? s.latestAttention?.step : st.runStepAt(p.runId, step, false);
      const frame = sc.live ? s.latestAttention : want !== undefined ? this.frameOf(p.runId, want) : undefined;
      if (!sc.live && want !== undefined && frame === undefined) loading++;
      const f = want === undefined ? undefined : (frame ?? p.shown);
      p.isLu = (s.info?.modelKind ?? ((f?.probes[0]?.[0]?.rows ?? 1) === 1 ? 'lu' : 'encoder')) === 'lu';
      setHidden(p.lu.el, !p.isLu || f === undefined);
      setHidden(p.enc.el, p.isLu || f === undefined);
      const runProbe = Math.min(probe, Math.max(0, (s.info?.probes.length ?? f?.probes.length ?? 1) - 1));
      const toks = s.info?.probes[runProbe]?.tokens ?? [];
      setText(p.probeEl, same ? '' : `probe #${runProbe}: ${toks.join(' ')}`);
      setText(
        p.stepEl,
        want === undefined ? (step === undefined ? 'no attention captured yet' : `nothing captured by step ${formatInt(step)}`) : `step ${formatInt(want)}${frame === undefined ? ' · loading…' : ''}`,
      );
      if (f === undefined) {
        p.shown = undefined;
        p.key = '';
        continue;
      }
      const key = `${f.step}|${runProbe}|${layer}|${head}`;
      if (f === p.shown && key === p.key && (d & (Dirty.Theme | Changed.Run)) === 0) continue;
      p.shown = f;
      p.key = key;
      if (p.isLu) {
        const g = luProbeGrid(f, s.info, runProbe);
        p.lu.paint(g, scale, pal);
      } else {
        const l = encoderLayer(f, s.info, runProbe, layer);
        p.enc.paint({ ...l, stages: l.stages.filter((x) => x.stage === 'weights') }, 'fixed', pal, { stage: 'weights', head });
      }
    }
    // Following the latest, each run shows its own latest capture (its panel says which step).
    const label = step === undefined ? 'no attention captured yet' : sc.live ? `step ${formatInt(step)} · each run's latest capture` : `step ${formatInt(step)} of ${formatInt(sc.last ?? step)}${loading > 0 ? ' · loading…' : ''}`;
    setText(this.scrubLabel, label);
    this.range.setAttribute('aria-valuetext', label);
  }

  // ─── export ─────────────────────────────────────────────────────────────────────────

  /** A chart with the shown runs' legend and the zoomed range (if any) in its title; no runId: it shows several runs. */
  private async exportChart(name: 'loss' | 'accuracy' | 'gradients', title: string): Promise<void> {
    const c = this.charts.find((x) => x.name === name);
    if (c !== undefined) await this.exportSeriesChart(name, title, c.chart);
  }

  private async exportSeriesChart(name: string, title: string, chart: SeriesChart): Promise<void> {
    const z = this.vs.zoom;
    const full = z !== undefined ? `${title}, steps ${formatInt(z.x0)} – ${formatInt(z.x1)}` : title;
    const png = await canvasPng(chartImage(chart.chart, { title: full, legend: true, theme: this.theme }));
    this.host.post({ type: 'exportImage', name: z !== undefined ? `${name}-steps-${z.x0}-${z.x1}` : name, png });
  }

  /** One run's matrix as on screen, with its labels, values and the card's colour scale. */
  private async exportMatrix(id: string, runId: string): Promise<void> {
    const c = this.matrixCards.find((x) => x.decl.id === id);
    const p = c?.panels.find((x) => x.runId === runId);
    const s = this.store.run(runId);
    if (c === undefined || p === undefined || s === undefined || p.shown === undefined) return;
    const spec = p.heat.exportSpec(`${c.decl.label} — ${this.runName(s)}, step ${formatInt(p.shown)}`, c.card.legend, c.decl.unit ?? c.decl.label);
    if (spec !== undefined) this.host.post({ type: 'exportImage', runId, name: `${fileSafe(id)}-step-${p.shown}`, png: await canvasPng(heatImage(spec, this.theme)) });
  }

  /** One run's map as on screen (the Lu grid, or the encoder's enlarged W head). */
  private async exportPanel(runId: string): Promise<void> {
    const p = this.panels.find((x) => x.runId === runId);
    const s = this.store.run(runId);
    const f = p?.shown;
    if (p === undefined || s === undefined || f === undefined) return;
    const name = this.runName(s);
    const at = `step ${formatInt(f.step)}`;
    if (p.isLu) {
      const spec = p.lu.exportSpec(`Attention — ${name}, ${at} (probe sentences × tokens)`, this.heatLegend);
      if (spec !== undefined) this.host.post({ type: 'exportImage', runId, name: `attention-step-${f.step}`, png: await canvasPng(heatImage(spec, this.theme)) });
      return;
    }
    const e = p.enc.exportSpec((stage, head, layer) => `Attention — ${name}, ${at}, layer ${layer}, ${STAGE_LABEL[stage].symbol} head ${head}`);
    if (e !== undefined) this.host.post({ type: 'exportImage', runId, name: `attention-step-${f.step}-layer-${e.layer}-${e.stage}-head-${e.head}`, png: await canvasPng(heatImage(e.spec, this.theme)) });
  }

  // ─── test hooks ─────────────────────────────────────────────────────────────────────

  hooks(): ViewHooks {
    const store = this.store;
    const byName = (name: string): SeriesChart | undefined => this.charts.find((c) => c.name === name)?.chart ?? this.measureCharts.find((c) => `measure:${c.card.key}` === name)?.chart;
    const runOf = (name: string, i: number): string => {
      const m = this.measureCharts.find((c) => `measure:${c.card.key}` === name);
      return m !== undefined ? (m.runOf[i] ?? '') : (store.runs[i]?.runId ?? '');
    };
    const self = this;
    const none = new RunStore();
    const base = baseHooks(
      this.scheduler,
      () => this.theme.heat,
      () => ({ live: this.scrub.live, step: this.scrub.step, stops: this.scrub.count }),
    );
    const hooks = Object.assign(base, {
      store: none,
      compare: store,
      charts: this.chartObjects,
      chartData: (name: string): ChartSeriesData[] | undefined =>
        byName(name)?.chart.data.datasets.map((ds, i) => ({ label: ds.label ?? '', runId: runOf(name, i), hidden: ds.hidden === true, ...chartPoints(ds.data) })),
      markers: (name: string): MarkerInfo[] | undefined => byName(name)?.drawnMarkers.map((m) => markerInfo(m)),
      matrices: (): MatrixInfo[] => {
        const { first, last } = this.cursorRange();
        const at = this.cursor.at(first, last);
        return this.matrixCards.flatMap((c) => c.panels.map((p) => ({ id: c.decl.id, runId: p.runId, step: p.shown, at, live: this.cursor.live, cells: p.heat.cellTexts })));
      },
      heatmaps: (): HeatmapInfo[] => {
        const out: HeatmapInfo[] = [];
        for (const p of this.panels) {
          if (p.el.hidden || p.shown === undefined) continue;
          const heat = p.isLu ? p.lu.heat : p.enc.focusHeat;
          out.push({ name: `cmp:${p.runId}`, canvas: heat.canvas, rows: heat.rows, cols: heat.cols, values: heat.values });
        }
        for (const c of this.matrixCards)
          for (const p of c.panels) if (!p.el.hidden) out.push({ name: `matrix:${c.decl.id}:${p.runId}`, canvas: p.heat.heat.canvas, rows: p.heat.heat.rows, cols: p.heat.heat.cols, values: p.heat.heat.values });
        return out;
      },
      shownStep: () => this.scrub.step,
      shownSteps: () => Object.fromEntries(this.panels.map((p) => [p.runId, p.shown?.step])),
      zoom: () => (self.vs.zoom === undefined ? undefined : { ...self.vs.zoom }),
      setZoom: (z: { x0: number; x1: number } | undefined) => self.setZoom(z),
    });
    // The first compared run (the compare store is `compare`), whichever it is when read.
    Object.defineProperty(hooks, 'store', { get: () => store.runs[0] ?? none, enumerable: true });
    return hooks;
  }
}
