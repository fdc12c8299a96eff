/**
 * The run dashboard: header with status, run controls and the pace control; the attention
 * heatmaps first, with a step scrubber (on the charts' step axis, linear or log), a box to type
 * a step and ▶ play through the captured frames; loss / accuracy / gradient-norm charts, a chart
 * per declared series card and a heatmap per declared matrix (with event markers on every step
 * chart), and (Lu runs) the identity scatter. Every view bound to a step follows the scrubbed
 * step. The cards can be reordered and collapsed, remembered in the view state. Messages only
 * update the store and mark parts dirty; one animation frame repaints them.
 */
import type { AttentionFrame, HostToWebview, MeasureDecl, WebviewToHost } from '../src/protocol/messages';
import { PACE_CHOICES } from '../src/protocol/pace';
import { BUILT_IN_CARDS, moveCard, orderCards, setCollapsed } from './model/cardOrder';
import type { ScaleMode } from './model/colorRamp';
import { scaleForStage } from './model/colorRamp';
import { encoderLayer, layersOf, luGrid, probeOptions, STAGE_LABEL } from './model/layout';
import { cardsKey, eventMarkers, matrixDecls, matrixPaintValues, matrixScale, matrixStepNote, seriesCards, StepCursor, styleMarkers, type DrawnMarker, type MatrixValue, type SeriesCard } from './model/measures';
import { FrameRequests } from './model/frameRequests';
import { PLAY_SPEEDS, Player } from './model/player';
import { Scrubber, scrubberKey } from './model/scrubber';
import { axisValue, STEP_WINDOWS, stepAtAxis, windowRange, type StepScale } from './model/stepAxis';
import { Changed, RunStore } from './model/store';
import { attentionLabel, FrozenGroups, groupLabel, paceOptions, paceSettable, stepNote } from './model/watchText';
import { SeriesChart, type LineSpec } from './charts';
import { cardControls, chartCard, type CardControls } from './cards';
import { button, exportButton, select, setDisabled } from './controls';
import { formatInt, formatNum, formatPct, h, setHidden, setText } from './dom';
import { canvasPng, chartImage, heatImage } from './exportImage';
import { followTheme } from './followTheme';
import { EncoderHeatmaps, Legend, LuHeatmap, MatrixHeatmap, Tooltip, type Focus } from './heatmap';
import { baseHooks, chartPoints, markerInfo, type ChartSeriesData, type HeatmapInfo, type MarkerInfo, type MatrixInfo, type ViewHooks } from './hooks';
import { cardConvention, cardLineSource, fileSafe, markerPalette, MatrixCard } from './measureCards';
import { IdentityScatter } from './scatter';
import { Dirty, FrameScheduler } from './scheduler';
import type { Theme } from './theme';
import { parseViewState, type TokenMode, type ViewState } from './viewState';

/** Shortest interval between two redraws of the identity scatter while points stream in. */
const IDENTITY_REFRESH_MS = 250;

export interface WebviewHost {
  post(msg: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}

/** A declared series card's chart. */
interface MeasureChart {
  card: SeriesCard;
  chart: SeriesChart;
  el: HTMLElement;
}

/** A declared matrix's card and its heatmap. */
interface MatrixPanel {
  decl: MeasureDecl;
  card: MatrixCard;
  heat: MatrixHeatmap;
  /** The step of the matrix shown (undefined: none by the scrubbed step). */
  shown: number | undefined;
  /** What it was painted with, 'none' when cleared (a repaint of the same is skipped). */
  painted: MatrixValue | 'none' | undefined;
}

/** A card of the dashboard, by id (cardOrder.ts): its element, its controls and the charts in it. */
interface Card {
  el: HTMLElement;
  controls: CardControls;
  charts: SeriesChart[];
}

export class Dashboard {
  readonly store = new RunStore();
  private theme: Theme;
  private readonly scheduler = new FrameScheduler((d) => this.render(d));
  /** Trainer wall time of the oldest update not yet painted; ms from it to its paint, recent ones. */
  private unpaintedWall: number | undefined;
  private readonly latencies: number[] = [];
  /** ms from the host posting an update to this page receiving it, recent ones. */
  private readonly hops: number[] = [];
  private lastIdentityRender = -Infinity;
  private identityTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly scrub = new Scrubber();
  private vs: ViewState;

  // Header
  private readonly nameEl = h('h1', 'al-run-name', {}, ['Attention Lens']);
  private readonly badge = h('vscode-badge', 'al-status');
  /** One line, cut with an ellipsis where it does not fit (the whole reason on hover): a reason never makes the header taller. */
  private readonly reasonEl = h('span', 'al-reason', { 'data-clip': 'ellipsis' });
  private readonly stepEl = h('span', 'al-stat-value al-step');
  private readonly lossEl = h('span', 'al-stat-value al-loss');
  private readonly accEl = h('span', 'al-stat-value al-acc');
  private readonly valEl = h('span', 'al-stat-value al-val');
  private readonly testEl = h('span', 'al-stat-value al-test');
  private readonly topicEl = h('span', 'al-stat-value al-topic');
  private readonly topicStat: HTMLElement;
  private readonly pauseBtn;
  private readonly resumeBtn;
  private readonly stepBtn;
  private readonly stopBtn;
  private readonly paceSel;
  /** The pace chosen here and posted, shown until the host reports the run's pace. */
  private pendingPace: string | undefined;
  private readonly noteEl = h('p', 'al-run-note', { hidden: true });
  private readonly noteText = h('span', 'al-run-note-text');
  private readonly banner = h('div', 'al-banner', { role: 'alert', hidden: true });
  private readonly empty = h('div', 'al-empty', {}, ['Waiting for the run…']);
  private readonly content: HTMLElement;

  // The step axis of the charts (and the scrubber).
  private readonly scaleAxisSel;
  private readonly windowSel;

  // Cards
  private readonly cardsEl = h('div', 'al-cards');
  private readonly cards = new Map<string, Card>();
  private cardsShown = '';

  // Charts
  private readonly loss: SeriesChart;
  private readonly accuracy: SeriesChart;
  private readonly gradients: SeriesChart;
  private readonly identity: IdentityScatter;
  private readonly identityCard: HTMLElement;
  private readonly identityNote: HTMLElement;
  private readonly frozen = new FrozenGroups();
  /** The scatter's last drawing: points, up to which one, and the run epoch (a repeat is skipped). */
  private identityDrawn = '';

  // Attention
  private readonly tooltip = new Tooltip();
  private readonly lu: LuHeatmap;
  private readonly luLegend = new Legend('attention');
  private readonly luBox: HTMLElement;
  private readonly encoder: EncoderHeatmaps;
  private readonly probeSel;
  private readonly probeText = h('p', 'al-probe-text', { hidden: true });
  private readonly layerSel;
  private readonly scaleSel;
  private readonly tokensSel;
  private readonly range = h('input', 'al-range', { type: 'range', min: 0, max: 0, step: 1, value: 0, 'aria-label': 'Attention step' });
  private readonly scrubLabel = h('span', 'al-scrub-label', { 'aria-live': 'polite' });
  private readonly stepInput = h('input', 'al-num al-step-input', { type: 'number', min: 0, step: 1, placeholder: 'step', 'aria-label': 'Go to step' });
  private readonly playBtn;
  private readonly speedSel;
  private readonly player: Player;
  private playTimer: ReturnType<typeof setInterval> | undefined;
  private readonly liveBtn;
  private dragging = false;
  private readonly attentionEl: HTMLElement;

  // Declared measurements: a chart per series card, a card per matrix, markers of the events.
  private measureCharts: MeasureChart[] = [];
  private matrixPanels: MatrixPanel[] = [];
  private measureCardsKey = '';
  private measureDecls: readonly MeasureDecl[] | undefined;
  /** The step every matrix card shows its matrix at (or before); the attention scrubber moves it too. */
  private readonly cursor = new StepCursor();
  private markers: DrawnMarker[] = [];
  private markersKey = '';
  /** The charts by name, and their Chart.js instances, for the hooks (the measurement charts come and go with the run). */
  private readonly chartsByName: Record<string, SeriesChart | IdentityScatter> = {};
  private readonly chartObjects: Record<string, unknown> = {};

  /** The frame on screen and what it was painted with. */
  private shown: AttentionFrame | undefined;
  private paintedKey = '';
  /** Scrubber frame requests: one in flight at a time. */
  private readonly requests: FrameRequests;

  constructor(
    root: HTMLElement,
    private readonly host: WebviewHost,
  ) {
    this.theme = followTheme(this.scheduler, (t) => (this.theme = t), { charts: true }).theme;
    this.vs = parseViewState(host.getState());
    this.player = new Player(this.vs.playFps);
    this.requests = new FrameRequests({
      post: (runId, step) => this.host.post({ type: 'requestAttention', runId, step }),
      frameAt: (_runId, step) => this.store.frameAt(step),
      now: () => performance.now(),
    });
    const post = (type: 'pauseRun' | 'resumeRun' | 'stepRun' | 'stopRun') => () => {
      if (this.store.runId !== undefined) this.host.post({ type, runId: this.store.runId });
    };
    this.pauseBtn = button('Pause', 'al-pause', post('pauseRun'));
    this.resumeBtn = button('Resume', 'al-resume', post('resumeRun'));
    this.stepBtn = button('Step', 'al-stepbtn', post('stepRun'), true);
    this.stopBtn = button('Stop', 'al-stop', post('stopRun'), true);
    this.paceSel = select('Pace', 'al-pace', (v) => this.choosePace(v));
    this.paceSel.select.title = 'Steps per second (every step is recorded at any pace)';
    this.liveBtn = button('Latest', 'al-live', () => this.goLive(), true);
    this.liveBtn.title = 'Show the latest capture, and follow it';

    const stat = (label: string, value: HTMLElement): HTMLElement => h('div', 'al-stat', {}, [h('span', 'al-stat-label', {}, [label]), value]);
    this.topicStat = stat('topic attention', this.topicEl);
    const header = h('header', 'al-header', {}, [
      h('div', 'al-title-row', {}, [this.nameEl, this.badge, this.reasonEl]),
      h('div', 'al-stats', {}, [stat('step', this.stepEl), stat('loss', this.lossEl), stat('train acc', this.accEl), stat('val acc', this.valEl), stat('test acc', this.testEl), this.topicStat]),
      h('div', 'al-actions', { role: 'toolbar', 'aria-label': 'Run controls' }, [this.pauseBtn, this.resumeBtn, this.stepBtn, this.stopBtn, this.paceSel.el]),
    ]);
    this.noteEl.append(h('span', 'al-run-note-label', {}, ['Note']), this.noteText);

    // The charts' step axis.
    this.scaleAxisSel = select('Step axis', 'al-step-scale', (v) => this.chooseAxis({ stepScale: v === 'log' ? 'log' : 'linear' }));
    this.scaleAxisSel.setOptions(
      [
        { value: 'linear', label: 'linear' },
        { value: 'log', label: 'log' },
      ],
      this.vs.stepScale,
    );
    this.windowSel = select('Steps', 'al-step-window', (v) => this.chooseAxis({ stepWindow: Number(v) }));
    this.windowSel.setOptions(
      STEP_WINDOWS.map((n) => ({ value: String(n), label: n === 0 ? 'all' : `last ${formatInt(n)}` })),
      String(this.vs.stepWindow),
    );
    const axisBar = h('div', 'al-axis-bar', { role: 'toolbar', 'aria-label': 'Step axis of the charts and the scrubber' }, [this.scaleAxisSel.el, this.windowSel.el]);

    const onResize = (): void => this.scheduler.invalidate(Dirty.Size);
    const exportChart = (name: string, title: string, chart: () => SeriesChart | IdentityScatter) => (): Promise<void> => this.exportChart(name, title, chart().chart);
    const card = (id: string, what: string): { note: true; controls: HTMLElement } => ({ note: true, controls: this.cardChrome(id, what) });
    const lossCard = chartCard('Loss', 'al-loss-card', 'the loss chart', exportChart('loss', 'Loss', () => this.loss), card('loss', 'the loss chart'));
    const accCard = chartCard('Accuracy', 'al-acc-card', 'the accuracy chart', exportChart('accuracy', 'Accuracy', () => this.accuracy), card('accuracy', 'the accuracy chart'));
    const gradCard = chartCard('Gradient norm per parameter group (log)', 'al-grad-card', 'the gradient-norm chart', exportChart('gradient-norms', 'Gradient norm per parameter group', () => this.gradients), card('gradients', 'the gradient-norm chart'));
    const idTitle = 'Topic words: score vs ‖q‖·‖w‖ (dashed: theory)';
    const idCard = chartCard(idTitle, 'al-identity-card al-wide', 'the identity chart', exportChart('identity', idTitle, () => this.identity), card('identity', 'the identity chart'));
    this.identityCard = idCard.el;
    this.identityNote = idCard.caption;
    this.loss = new SeriesChart(lossCard.canvas, { onResize }, this.theme);
    this.accuracy = new SeriesChart(accCard.canvas, { yMin: 0, yMax: 1, onResize }, this.theme);
    this.gradients = new SeriesChart(gradCard.canvas, { log: true, onResize }, this.theme);
    this.identity = new IdentityScatter(idCard.canvas, this.theme);
    this.nameChart('loss', this.loss);
    this.nameChart('accuracy', this.accuracy);
    this.nameChart('gradients', this.gradients);
    this.nameChart('identity', this.identity);

    this.lu = new LuHeatmap(this.tooltip);
    this.luBox = h('div', 'al-lu-box', {}, [this.luLegend.el, this.lu.el]);
    this.encoder = new EncoderHeatmaps(this.tooltip, (f) => this.setFocus(f));
    this.probeSel = select('Probe', 'al-probe', (v) => this.choose({ probe: Number(v) }));
    this.layerSel = select('Layer', 'al-layer', (v) => this.choose({ layer: Number(v) }));
    this.scaleSel = select('Colour scale', 'al-scale', (v) => this.choose({ scale: v === 'auto' ? 'auto' : 'fixed' }));
    this.scaleSel.setOptions(
      [
        { value: 'fixed', label: 'weights 0 – 1' },
        { value: 'auto', label: 'up to the largest value' },
      ],
      this.vs.scale,
    );
    this.tokensSel = select('Tokens', 'al-tokens', (v) => this.choose({ tokens: v === 'written' || v === 'compact' ? v : 'auto' }));
    this.tokensSel.setOptions(
      [
        { value: 'auto', label: 'fit the width' },
        { value: 'written', label: 'written (scrolls)' },
        { value: 'compact', label: 'compact (on hover)' },
      ],
      this.vs.tokens,
    );
    this.tokensSel.select.title = 'Write the tokens in the cells, or fit the map to the width with each token on hover ("fit the width": compact only when the written map is wider than the card)';

    this.range.addEventListener('input', () => this.scrubTo(stepAtAxis(Number(this.range.value), this.vs.stepScale)));
    this.range.addEventListener('pointerdown', () => {
      this.dragging = true;
      this.stopPlay();
    });
    const endDrag = (): void => {
      this.dragging = false;
      this.scheduler.invalidate(Dirty.View);
    };
    this.range.addEventListener('pointerup', endDrag);
    this.range.addEventListener('change', endDrag);
    this.range.addEventListener('keydown', (e) => this.scrubKey(e));
    this.stepInput.addEventListener('change', () => this.typedStep());
    this.stepInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this.typedStep();
    });
    this.playBtn = button('▶', 'al-play', () => this.togglePlay(), true);
    this.speedSel = select('Speed', 'al-speed', (v) => this.chooseSpeed(Number(v)));
    this.speedSel.setOptions(
      PLAY_SPEEDS.map((n) => ({ value: String(n), label: `${n} frame${n === 1 ? '' : 's'}/s` })),
      String(this.player.fps),
    );

    const attnChrome = this.cardChrome('attention', 'the attention card');
    const attention = (this.attentionEl = h('section', 'al-card al-attention al-wide', { 'aria-label': 'Attention' }, [
      h('div', 'al-attn-head', {}, [
        h('div', 'al-card-title al-attn-title', {}, [h('h2', 'al-card-name', {}, ['Attention'])]),
        h('div', 'al-attn-controls', {}, [this.probeSel.el, this.layerSel.el, this.scaleSel.el, this.tokensSel.el, exportButton('the attention map', 'al-attn-export', () => this.exportAttention())]),
        attnChrome,
      ]),
      this.probeText,
      // The range has a line of its own (with ▶ and Latest), so its width never follows the label's.
      h('div', 'al-scrubber', {}, [this.playBtn, this.range, this.liveBtn]),
      h('div', 'al-scrub-side', {}, [this.scrubLabel, h('label', 'al-field al-goto', {}, [h('span', 'al-field-label', {}, ['Go to']), this.stepInput]), this.speedSel.el]),
      this.luBox,
      this.encoder.el,
    ]));
    this.setPlayButton();
    this.registerCard('attention', attention, []);
    this.registerCard('loss', lossCard.el, [this.loss]);
    this.registerCard('accuracy', accCard.el, [this.accuracy]);
    this.registerCard('gradients', gradCard.el, [this.gradients]);
    this.registerCard('identity', idCard.el, []);
    this.layoutCards();
    for (const c of [this.loss, this.accuracy, this.gradients]) c.setStepScale(this.vs.stepScale);
    new ResizeObserver(() => this.scheduler.invalidate(Dirty.Size)).observe(this.luBox);

    this.content = h('main', 'al-content', { hidden: true }, [axisBar, this.cardsEl]);
    root.replaceChildren(header, this.noteEl, this.banner, this.empty, this.content);
    this.scheduler.invalidate(Dirty.All);
  }

  receive(msg: HostToWebview): void {
    const r = this.store.apply(msg);
    if (msg.type === 'stepsAppended') {
      if (msg.lastWallTime !== undefined) this.unpaintedWall ??= msg.lastWallTime;
      if (msg.postedAt !== undefined) {
        this.hops.push(Date.now() - msg.postedAt);
        if (this.hops.length > 2000) this.hops.splice(0, 1000);
      }
    }
    // The host's word on the pace replaces the one chosen here.
    if ((msg.type === 'statusChanged' || msg.type === 'snapshot') && (r.changed & Changed.Status) !== 0) this.pendingPace = undefined;
    if (r.warning !== undefined) console.warn(`[attention-lens] ${r.warning}`);
    if ((r.changed & Changed.Run) !== 0) this.onNewRun();
    if ((r.changed & Changed.Loaded) !== 0 && msg.type === 'attentionLoaded') {
      this.requests.loaded(msg.runId, msg.frame.step);
      this.requests.pump(this.scrub.live);
    }
    if (r.changed !== Changed.None) this.scheduler.invalidate(r.changed);
  }

  // ─── view choices ───────────────────────────────────────────────────────────────────

  private saveState(): void {
    const s = this.scrub.state;
    this.vs = { ...this.vs, runId: this.store.runId, live: s.live, playFps: this.player.fps };
    if (s.step !== undefined) this.vs.step = s.step;
    else delete this.vs.step;
    const m = this.cursor.step;
    if (m !== undefined) this.vs.measureStep = m;
    else delete this.vs.measureStep;
    this.host.setState(this.vs);
  }

  private choose(c: Partial<Pick<ViewState, 'probe' | 'layer' | 'scale' | 'tokens'>>): void {
    this.vs = { ...this.vs, ...c };
    this.saveState();
    this.scheduler.invalidate(Dirty.View);
  }

  private chooseAxis(c: Partial<Pick<ViewState, 'stepScale' | 'stepWindow'>>): void {
    this.vs = { ...this.vs, ...c };
    for (const ch of this.stepCharts) ch.setStepScale(this.vs.stepScale);
    this.saveState();
    this.scheduler.invalidate(Dirty.Size | Dirty.View);
  }

  private choosePace(id: string): void {
    const c = PACE_CHOICES.find((x) => x.id === id);
    const runId = this.store.runId;
    if (c === undefined || runId === undefined || !paceSettable(this.store.status)) return;
    this.pendingPace = c.id;
    this.host.post({ type: 'setPace', runId, pace: { ...c.pace } });
  }

  private setFocus(f: Focus): void {
    this.vs = { ...this.vs, focus: f };
    this.saveState();
    this.scheduler.invalidate(Dirty.View);
  }

  private onNewRun(): void {
    this.scrub.setStops(this.store.attentionSteps);
    this.requests.reset(this.store.runId !== undefined ? [this.store.runId] : []);
    this.shown = undefined;
    this.paintedKey = '';
    this.identityDrawn = '';
    this.stopPlay();
    if (this.vs.runId === this.store.runId) {
      this.scrub.restore({ live: this.vs.live, step: this.vs.step });
      this.cursor.restore(this.vs.measureStep);
    } else {
      this.scrub.goLive();
      this.cursor.goLive();
      this.vs = { ...this.vs, runId: this.store.runId, probe: 0, layer: 0, live: true };
      delete this.vs.focus;
      delete this.vs.step;
      delete this.vs.measureStep;
    }
    this.saveState();
    if (!this.scrub.live && this.scrub.step !== undefined) this.want(this.scrub.step);
  }

  // ─── cards ──────────────────────────────────────────────────────────────────────────

  private cardChrome(id: string, what: string): HTMLElement {
    const c = cardControls(what, {
      onMove: (delta) => this.moveCard(id, delta),
      onCollapse: () => this.collapseCard(id, !this.vs.collapsed.includes(id)),
    });
    this.pendingControls.set(id, c);
    return c.el;
  }

  /** Card controls made before their card is registered. */
  private readonly pendingControls = new Map<string, CardControls>();

  private registerCard(id: string, el: HTMLElement, charts: SeriesChart[]): void {
    const controls = this.pendingControls.get(id);
    if (controls === undefined) return;
    this.pendingControls.delete(id);
    el.dataset['card'] = id;
    this.cards.set(id, { el, controls, charts });
  }

  private unregisterCard(id: string): void {
    this.cards.get(id)?.el.remove();
    this.cards.delete(id);
  }

  /** The cards in the order the person left them; the default: attention, the charts, then the run's measurements. */
  private get cardOrder(): string[] {
    const present = [...BUILT_IN_CARDS, ...this.measureCharts.map((c) => `measure:${c.card.key}`), ...this.matrixPanels.map((p) => `matrix:${p.decl.id}`)];
    return orderCards(
      present.filter((id) => this.cards.has(id)),
      this.vs.cardOrder,
    );
  }

  /** Put the cards in their order (moving elements only when it changed) and show which are collapsed. */
  private layoutCards(): void {
    const order = this.cardOrder;
    const shown = order.filter((id) => !(this.cards.get(id)?.el.hidden ?? true));
    const key = `${order.join('\u0001')}|${this.vs.collapsed.join('\u0001')}|${shown.join('\u0001')}`;
    if (key === this.cardsShown) return;
    this.cardsShown = key;
    const els = order.map((id) => this.cards.get(id)?.el).filter((e): e is HTMLElement => e !== undefined);
    const now = Array.from(this.cardsEl.children);
    if (now.length !== els.length || els.some((e, i) => now[i] !== e)) this.cardsEl.replaceChildren(...els);
    for (const id of order) {
      const c = this.cards.get(id);
      if (c === undefined) continue;
      const collapsed = this.vs.collapsed.includes(id);
      c.el.classList.toggle('al-collapsed', collapsed);
      const i = shown.indexOf(id);
      c.controls.set(collapsed, i > 0, i >= 0 && i < shown.length - 1);
    }
  }

  private moveCard(id: string, delta: number): void {
    this.vs = { ...this.vs, cardOrder: moveCard(this.cardOrder, id, delta, (x) => !(this.cards.get(x)?.el.hidden ?? true)) };
    this.saveState();
    this.layoutCards();
    this.cards.get(id)?.el.querySelector<HTMLElement>(delta < 0 ? '.al-card-up' : '.al-card-down')?.focus();
    this.scheduler.invalidate(Dirty.Size);
  }

  private collapseCard(id: string, on: boolean): void {
    this.vs = { ...this.vs, collapsed: setCollapsed(this.vs.collapsed, id, on) };
    this.saveState();
    this.layoutCards();
    this.scheduler.invalidate(Dirty.Size | Dirty.View);
  }

  private isCollapsed(id: string): boolean {
    return this.vs.collapsed.includes(id);
  }

  // ─── scrubber ───────────────────────────────────────────────────────────────────────

  private scrubTo(position: number): void {
    if (this.scrub.moveTo(position)) this.afterScrub();
  }

  private scrubKey(e: KeyboardEvent): void {
    const changed = scrubberKey(this.scrub, e.key);
    if (changed === undefined) return;
    e.preventDefault();
    this.stopPlay();
    if (changed) this.afterScrub();
    this.scheduler.invalidate(Dirty.View);
  }

  /** The step typed in the box: the capture at or before it (the first one when it is before them all). */
  private typedStep(): void {
    const v = this.stepInput.value.trim();
    const n = Number(v);
    if (v === '' || !Number.isFinite(n)) return;
    this.stopPlay();
    this.scrubTo(Math.round(n));
    this.stepInput.value = '';
    this.scheduler.invalidate(Dirty.View);
  }

  private goLive(): void {
    this.stopPlay();
    if (this.scrub.goLive()) this.afterScrub();
  }

  private afterScrub(): void {
    // Every step-bound view follows: the matrix cards move with the attention scrubber.
    const step = this.scrub.step;
    if (this.scrub.live) this.cursor.goLive();
    else if (step !== undefined) this.cursor.moveTo(step, this.cursorRange().last);
    this.saveState();
    if (!this.scrub.live && step !== undefined) this.want(step);
    this.scheduler.invalidate(Dirty.View);
  }

  private frameFor(step: number): AttentionFrame | undefined {
    return this.store.runId === undefined ? undefined : this.requests.frame(this.store.runId, step);
  }

  /** Ask the host for the frame of `step` unless it is here or a request is still out. */
  private want(step: number): void {
    if (this.store.runId === undefined) return;
    this.requests.want(this.store.runId, step);
    this.requests.pump(this.scrub.live);
  }

  // ─── play ───────────────────────────────────────────────────────────────────────────

  private togglePlay(): void {
    if (this.player.playing) {
      this.stopPlay();
      return;
    }
    if (this.scrub.count < 2) return;
    // From the start when at the latest capture, as a replay of the run so far.
    if (this.scrub.live || this.scrub.step === this.scrub.last) {
      this.scrub.moveTo(this.scrub.first ?? 0);
      this.afterScrub();
    }
    this.player.start();
    this.playTimer = setInterval(() => this.playTick(), Math.max(16, Math.min(100, this.player.intervalMs / 2)));
    this.setPlayButton();
  }

  private stopPlay(): void {
    if (this.playTimer !== undefined) clearInterval(this.playTimer);
    this.playTimer = undefined;
    if (this.player.stop()) this.setPlayButton();
  }

  private chooseSpeed(fps: number): void {
    if (!PLAY_SPEEDS.includes(fps)) return;
    this.player.fps = fps;
    this.saveState();
    if (this.player.playing) {
      if (this.playTimer !== undefined) clearInterval(this.playTimer);
      this.playTimer = setInterval(() => this.playTick(), Math.max(16, Math.min(100, this.player.intervalMs / 2)));
    }
  }

  /** One tick of play: the next captured frame, once the one on screen is the scrubbed one. */
  private playTick(): void {
    const step = this.scrub.step;
    // Painted, not only arrived: a frame that came between two paints would be skipped.
    const ready = step !== undefined && (this.scrub.live || this.shown?.step === step);
    if (!this.player.due(performance.now(), ready)) return;
    if (this.scrub.live || step === this.scrub.last) {
      this.stopPlay();
      return;
    }
    this.scrub.moveBy(1);
    this.afterScrub();
    if (this.scrub.live) this.stopPlay();
  }

  private setPlayButton(): void {
    const on = this.player.playing;
    setText(this.playBtn, on ? '❚❚' : '▶');
    const label = on ? 'Stop playing' : 'Play the captured frames';
    this.playBtn.title = label;
    this.playBtn.setAttribute('aria-label', label);
    this.playBtn.classList.toggle('al-is-playing', on);
  }

  // ─── rendering ──────────────────────────────────────────────────────────────────────

  private render(d: number): void {
    if (this.unpaintedWall !== undefined) {
      // Trainer finished a step → this frame paints it (the oldest unpainted update's last step).
      this.latencies.push(Date.now() - this.unpaintedWall);
      if (this.latencies.length > 2000) this.latencies.splice(0, 1000);
      this.unpaintedWall = undefined;
    }
    const s = this.store;
    const hasRun = s.runId !== undefined;
    setHidden(this.empty, hasRun || s.protocolError !== undefined);
    setHidden(this.content, !hasRun);
    setHidden(this.banner, s.protocolError === undefined);
    setText(this.banner, s.protocolError ?? '');
    const rebuilt = (d & (Changed.Run | Changed.Measures)) !== 0 && this.syncMeasureCards();
    if (rebuilt || (d & (Changed.Run | Dirty.Theme)) !== 0) this.setupCharts();
    if ((d & (Changed.Run | Changed.Status | Changed.Scalars | Changed.Evals)) !== 0) this.renderHeader();
    if (!hasRun) return;
    if ((d & (Changed.Run | Changed.Measures | Dirty.Theme)) !== 0) this.updateMarkers(rebuilt || (d & Dirty.Theme) !== 0);
    if ((d & (Changed.Run | Changed.Attention | Changed.Loaded | Dirty.View | Dirty.Theme | Dirty.Size | Changed.Status | Changed.Scalars)) !== 0) this.renderAttention(d);
    if ((d & (Changed.Run | Changed.Scalars | Changed.Evals | Changed.Measures | Dirty.Size | Dirty.Theme | Dirty.View | Changed.Attention)) !== 0) this.renderCharts(d);
    if ((d & (Changed.Run | Changed.Measures | Changed.Scalars | Changed.Status | Dirty.View | Dirty.Theme)) !== 0) this.renderMatrices((d & (Changed.Run | Dirty.Theme)) !== 0);
    if ((d & (Changed.Run | Dirty.Theme | Dirty.View)) !== 0) this.renderIdentity();
    else if ((d & Changed.Identity) !== 0) this.renderIdentityThrottled();
    this.layoutCards();
  }

  /**
   * While identity points stream in every step, the scatter (thousands of points) is redrawn
   * at most every IDENTITY_REFRESH_MS; the last update is always drawn.
   */
  private renderIdentityThrottled(): void {
    const wait = this.lastIdentityRender + IDENTITY_REFRESH_MS - performance.now();
    if (wait <= 0) {
      this.renderIdentity();
      return;
    }
    if (this.identityTimer === undefined) {
      this.identityTimer = setTimeout(() => {
        this.identityTimer = undefined;
        this.scheduler.invalidate(Changed.Identity);
      }, wait);
    }
  }

  private renderHeader(): void {
    const s = this.store;
    const info = s.info;
    setText(this.nameEl, s.name ?? 'Attention Lens');
    this.nameEl.title = s.name ?? '';
    setText(this.badge, s.status);
    this.badge.className = `al-status al-status-${s.status}`;
    setText(this.reasonEl, s.statusReason ?? '');
    this.reasonEl.title = s.statusReason ?? '';
    const total = info?.totalSteps;
    setText(this.stepEl, total !== undefined && total > 0 ? `${formatInt(s.lastStep)} / ${formatInt(total)}` : formatInt(s.lastStep));
    setText(this.lossEl, formatNum(s.loss.last));
    setText(this.accEl, formatPct(s.trainAccuracy.last));
    const e = s.evals;
    setText(this.valEl, formatPct(e.length > 0 ? e.validationAccuracy.last : undefined));
    setText(this.testEl, formatPct(e.length > 0 ? e.testAccuracy.last : undefined));
    const topic = e.length > 0 ? e.topicAttention.last : NaN;
    setHidden(this.topicStat, !Number.isFinite(topic));
    setText(this.topicEl, formatNum(topic, 3));
    const st = s.status;
    const live = s.runId !== undefined;
    setDisabled(this.pauseBtn, !(live && st === 'running'));
    setDisabled(this.resumeBtn, !(live && st === 'paused'));
    setDisabled(this.stepBtn, !(live && st === 'paused'));
    setDisabled(this.stopBtn, !(live && (st === 'running' || st === 'paused' || st === 'starting')));
    // The pace of a run that trains; a finished run has none (the control keeps its room, so the header keeps its height).
    const settable = live && paceSettable(st);
    const p = paceOptions(s.pace);
    this.paceSel.setOptions(p.options, this.pendingPace ?? p.value);
    this.paceSel.select.disabled = !settable;
    this.paceSel.el.classList.toggle('al-invisible', !settable);
    this.paceSel.el.setAttribute('aria-hidden', String(!settable));
    setHidden(this.noteEl, s.note === undefined || s.note === '');
    setText(this.noteText, s.note ?? '');
    document.title = `${s.name ?? 'Attention Lens'} — ${st}`;
  }

  private setupCharts(): void {
    const s = this.store;
    const t = this.theme;
    const steps = (ys: () => Float64Array): LineSpec['source'] => () => ({ xs: s.step.values, ys: ys(), n: s.step.length, epoch: s.epoch });
    const evals = (ys: () => Float64Array): LineSpec['source'] => () => ({ xs: s.evals.step.values, ys: ys(), n: s.evals.length, epoch: s.epoch });
    this.loss.setLines(
      [
        { label: 'train', color: (th) => th.blue, source: steps(() => s.loss.values) },
        { label: 'validation', color: (th) => th.orange, source: evals(() => s.evals.validationLoss.values), points: true },
        { label: 'test', color: (th) => th.green, source: evals(() => s.evals.testLoss.values), points: true, dash: true },
      ],
      t,
    );
    const acc: LineSpec[] = [
      { label: 'train', color: (th) => th.blue, source: steps(() => s.trainAccuracy.values) },
      { label: 'validation', color: (th) => th.orange, source: evals(() => s.evals.validationAccuracy.values), points: true },
      { label: 'test', color: (th) => th.green, source: evals(() => s.evals.testAccuracy.values), points: true, dash: true },
    ];
    if (s.info?.modelKind === 'lu') acc.push({ label: 'topic attention', color: (th) => th.purple, source: evals(() => s.evals.topicAttention.values), points: true });
    this.accuracy.setLines(acc, t);
    this.gradients.setLines(
      s.groups.map((g, i) => ({ label: g, color: (th: Theme) => th.series[i % th.series.length] as string, source: steps(() => (s.gradNorms[i] ?? s.step).values) })),
      t,
    );
    for (const c of [this.loss, this.accuracy, this.gradients]) c.applyTheme(t);
    this.identity.applyTheme(t);
    this.identityDrawn = '';
    const m = s.measures;
    for (const mc of this.measureCharts) {
      mc.chart.setLines(
        mc.card.lines.map((l, i) => ({ label: l.label, color: (th: Theme) => th.series[i % th.series.length] as string, source: () => cardLineSource(m, mc.card, i) })),
        t,
      );
      // One line: the card's title names it.
      mc.chart.setLegend(mc.card.lines.length > 1);
      mc.chart.applyTheme(t);
    }
  }

  private nameChart(name: string, chart: SeriesChart | IdentityScatter | undefined): void {
    if (chart === undefined) {
      delete this.chartsByName[name];
      delete this.chartObjects[name];
    } else {
      this.chartsByName[name] = chart;
      this.chartObjects[name] = chart.chart;
    }
  }

  /** Every chart with a step axis (the markers go on each). */
  private get stepCharts(): SeriesChart[] {
    return [this.loss, this.accuracy, this.gradients, ...this.measureCharts.map((c) => c.chart)];
  }

  /** The charts whose cards are open. */
  private get openStepCharts(): SeriesChart[] {
    const out: SeriesChart[] = [];
    for (const [id, c] of this.cards) if (!this.isCollapsed(id)) out.push(...c.charts);
    return out;
  }

  /** The steps the charts show: every step, or the last N. */
  private chartRange(): { x0: number; x1: number } {
    const { x0, x1 } = this.store.stepRange();
    return windowRange(x0, x1, this.vs.stepWindow);
  }

  private renderCharts(d: number): void {
    const data = (d & (Changed.Run | Changed.Scalars | Changed.Evals | Changed.Measures | Dirty.Size | Dirty.Theme)) !== 0;
    const { x0, x1 } = this.chartRange();
    // Parameter groups with no gradient at any step draw no line: the legend says they are frozen.
    const s = this.store;
    const frozen = this.frozen.update(s.gradNorms, s.epoch);
    s.groups.forEach((g, i) => this.gradients.setLabel(i, groupLabel(g, frozen[i] === true)));
    // The scrubbed step, on every step chart (none while following the latest).
    const at = this.scrub.live ? undefined : this.scrub.step;
    const cursor = at !== undefined ? { step: at, color: this.theme.focus } : undefined;
    for (const c of this.openStepCharts) {
      const moved = c.setCursor(cursor);
      if (!data) {
        if (moved) c.redraw();
        continue;
      }
      const w = c.chart.chartArea?.width;
      c.update(x0, x1);
      // New y labels can narrow the plot: decimate again for the columns it has now.
      if (w !== undefined && Math.round(c.chart.chartArea?.width ?? w) !== Math.round(w)) c.update(x0, x1);
    }
  }

  // ─── declared measurements ──────────────────────────────────────────────────────────

  /** (Re)build the measurement cards when the run's declarations call for other ones. Returns whether it did. */
  private syncMeasureCards(): boolean {
    const decls = this.store.measures.decls;
    // The declarations are replaced, never changed in place: the same array needs no look.
    if (decls === this.measureDecls) return false;
    this.measureDecls = decls;
    const key = cardsKey(decls);
    if (key === this.measureCardsKey) return false;
    this.measureCardsKey = key;
    for (const c of this.measureCharts) {
      c.chart.destroy();
      this.unregisterCard(`measure:${c.card.key}`);
      this.nameChart(`measure:${c.card.key}`, undefined);
    }
    const onResize = (): void => this.scheduler.invalidate(Dirty.Size);
    this.measureCharts = seriesCards(decls).map((card) => {
      const name = `measure:${card.key}`;
      const title = card.title;
      let chart: SeriesChart | undefined;
      const el = chartCard(title, 'al-measure-card', `the ${title} chart`, () => (chart !== undefined ? this.exportChart(`measure-${fileSafe(card.key)}`, title, chart.chart) : Promise.resolve()), {
        note: true,
        convention: cardConvention(card),
        attrs: { 'data-measure': card.key },
        controls: this.cardChrome(name, `the ${title} chart`),
      });
      // Attached before the chart is made: Chart.js sizes it from its box.
      this.cardsEl.append(el.el);
      const opts = { log: card.log, onResize, ...(card.min !== undefined ? { yMin: card.min } : {}), ...(card.max !== undefined ? { yMax: card.max } : {}), ...(card.unit !== undefined ? { yTitle: card.unit } : {}) };
      chart = new SeriesChart(el.canvas, opts, this.theme);
      chart.setStepScale(this.vs.stepScale);
      this.nameChart(name, chart);
      this.registerCard(name, el.el, [chart]);
      return { card, chart, el: el.el };
    });
    for (const p of this.matrixPanels) this.unregisterCard(`matrix:${p.decl.id}`);
    this.matrixPanels = matrixDecls(decls).map((decl) => {
      const heat = new MatrixHeatmap(this.tooltip);
      const id = `matrix:${decl.id}`;
      const card = new MatrixCard(
        decl,
        heat.el,
        {
          onStep: (step) => this.moveCursor(step),
          onLive: () => this.cursor.goLive() && this.afterCursor(),
          onDragEnd: () => this.scheduler.invalidate(Dirty.View),
          onExport: () => this.exportMatrix(decl.id),
        },
        this.cardChrome(id, `the ${decl.label} matrix`),
      );
      this.registerCard(id, card.el, []);
      return { decl, card, heat, shown: undefined, painted: undefined };
    });
    this.cardsShown = '';
    this.layoutCards();
    this.markersKey = '';
    return true;
  }

  /** The markers of the run's events, on every step chart (recomputed only when events arrive). */
  private updateMarkers(force: boolean): void {
    const m = this.store.measures;
    const key = `${m.epoch}:${m.events.length}`;
    if (force || key !== this.markersKey) {
      this.markersKey = key;
      this.markers = styleMarkers(eventMarkers(m.decls, m.events), markerPalette(this.theme));
    }
    for (const c of this.stepCharts) c.setMarkers(this.markers);
  }

  /** The steps the matrix cards' scrubber spans: the run's first to its last. */
  private cursorRange(): { first: number; last: number } {
    const s = this.store;
    const r = s.stepRange();
    const last = Math.max(s.lastStep, Number.isFinite(r.x1) ? r.x1 : -Infinity, s.measures.lastStep || -Infinity);
    return { first: Number.isFinite(r.x0) ? Math.min(r.x0, last) : 0, last: Number.isFinite(last) && last > 0 ? last : NaN };
  }

  private moveCursor(step: number): void {
    if (this.cursor.moveTo(step, this.cursorRange().last)) this.afterCursor();
  }

  private afterCursor(): boolean {
    this.saveState();
    this.scheduler.invalidate(Dirty.View);
    return true;
  }

  /** Each matrix card at the cursor's step; a card whose matrix did not change is not repainted (unless `force`). */
  private renderMatrices(force: boolean): void {
    if (this.matrixPanels.length === 0) return;
    const m = this.store.measures;
    const { first, last } = this.cursorRange();
    const at = this.cursor.at(first, last);
    const pal = this.theme.heat;
    for (const p of this.matrixPanels) {
      p.card.setStep(first, last, at, this.cursor.live);
      const v = at === undefined ? undefined : m.matrixAt(p.decl.id, at);
      p.shown = v?.step;
      setText(p.card.note, matrixStepNote(v?.step, at, this.cursor.live, formatInt));
      if (!force && p.painted === (v ?? 'none')) continue;
      p.painted = v ?? 'none';
      const rows = p.decl.rows ?? [];
      const cols = p.decl.cols ?? [];
      if (v === undefined) {
        p.heat.clear(rows, cols, pal);
        p.card.paintLegend(matrixScale(p.decl, []), pal);
        continue;
      }
      const scale = matrixScale(p.decl, v.values);
      p.heat.paint({ rowLabels: rows, colLabels: cols, values: v.values, paint: matrixPaintValues(p.decl, v.values), ...(p.decl.unit !== undefined ? { unit: p.decl.unit } : {}) }, scale, pal);
      p.card.paintLegend(scale, pal);
    }
  }

  /** How many identity points lie at or before the scrubbed step (all of them while following the latest). */
  private identityCount(): number {
    const pts = this.store.identity;
    const at = this.scrub.live ? undefined : this.scrub.step;
    if (at === undefined) return pts.length;
    let lo = 0;
    let hi = pts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((pts[mid] as { step: number }).step <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private renderIdentity(): void {
    this.lastIdentityRender = performance.now();
    const s = this.store;
    const lu = s.info?.modelKind === 'lu' && (s.identity.length > 0 || (s.info.topicWords?.length ?? 0) > 0);
    setHidden(this.identityCard, !lu);
    if (!lu) return;
    const m = s.info?.m ?? Math.max(1, (s.info?.probes[0]?.tokens.length ?? 21) - 1);
    // The points up to the scrubbed step: the scatter is at the step the attention is.
    const n = this.identityCount();
    const last = s.identity[n - 1];
    const drawn = `${s.epoch}|${s.identity.length}|${n}|${last?.step}`;
    if (drawn !== this.identityDrawn) {
      this.identityDrawn = drawn;
      this.identity.update(s.identity, s.info?.topicWords ?? [], m, this.theme, n);
    }
    let worst = NaN;
    if (last !== undefined) for (let j = 0; j < last.relError.length; j++) if (!(last.relError[j]! <= worst)) worst = last.relError[j]!;
    const at = last !== undefined ? stepNote(last.step, this.scrub.live, s.lastStep, formatInt) : this.scrub.live ? '' : `none recorded by step ${formatInt(this.scrub.step ?? 0)}`;
    setText(this.identityNote, [at, `m = ${m}`, ...(last !== undefined && Number.isFinite(worst) ? [`max relative error ${formatPct(worst)}`] : [])].filter((x) => x !== '').join(' · '));
  }

  private renderAttention(d: number): void {
    const s = this.store;
    const sc = this.scrub;
    // A model without views of its own shows attention only when it captures some.
    const none = s.info?.modelKind === 'other' && s.attentionSteps.length === 0 && s.latestAttention === undefined;
    setHidden(this.attentionEl, none);
    if (none) return;
    // Scrubber, on the charts' step axis.
    const axis: StepScale = this.vs.stepScale;
    const first = sc.first;
    const last = sc.last;
    this.range.disabled = sc.count < 2;
    const lo = String(axisValue(first ?? 0, axis));
    const hi = String(axisValue(last ?? 0, axis));
    const stepAttr = axis === 'log' ? 'any' : '1';
    if (this.range.step !== stepAttr) this.range.step = stepAttr;
    if (this.range.min !== lo) this.range.min = lo;
    if (this.range.max !== hi) this.range.max = hi;
    const step = sc.step;
    const value = step !== undefined ? String(axisValue(step, axis)) : lo;
    if (!this.dragging && this.range.value !== value) this.range.value = value;
    const frame = sc.live ? s.latestAttention : step !== undefined ? this.frameFor(step) : undefined;
    const loading = !sc.live && frame === undefined && step !== undefined;
    const label = attentionLabel({ step, live: sc.live, shownStep: frame?.step ?? this.shown?.step, loading, lastStep: s.lastStep, fmt: formatInt });
    setText(this.scrubLabel, label);
    this.range.setAttribute('aria-valuetext', label);
    setDisabled(this.liveBtn, sc.live);
    this.liveBtn.classList.toggle('al-is-live', sc.live);
    setDisabled(this.playBtn, sc.count < 2);
    this.stepInput.disabled = sc.count === 0;
    if (first !== undefined) this.stepInput.min = String(first);
    if (last !== undefined) this.stepInput.max = String(Math.max(last, s.lastStep));

    const f = frame ?? this.shown;
    // Without run info (a run still starting) a (1, len) map means a Lu model.
    const isLu = (s.info?.modelKind ?? ((f?.probes[0]?.[0]?.rows ?? 1) === 1 ? 'lu' : 'encoder')) === 'lu';
    setHidden(this.luBox, !isLu);
    setHidden(this.encoder.el, isLu);
    setHidden(this.probeSel.el, isLu);
    setHidden(this.layerSel.el, isLu);
    setHidden(this.tokensSel.el, !isLu);
    setHidden(this.probeText, isLu);

    const probes = s.info?.probes.length ?? f?.probes.length ?? 0;
    if (!isLu) {
      const probe = Math.min(this.vs.probe, Math.max(0, probes - 1));
      this.probeSel.setOptions(probeOptions(s.info, probes), String(probe));
      // The whole sentence, wrapped (the selector shows its first words).
      const toks = s.info?.probes[probe]?.tokens;
      setText(this.probeText, toks !== undefined ? `#${probe} ${toks.join(' ')}` : '');
      setHidden(this.probeText, toks === undefined);
      const layers = layersOf(f);
      const layer = layers.includes(this.vs.layer) ? this.vs.layer : (layers[0] ?? 0);
      this.layerSel.setOptions(
        layers.map((l) => ({ value: String(l), label: `layer ${l}` })),
        String(layer),
      );
      this.layerSel.select.disabled = layers.length < 2;
    } else {
      this.tokensSel.setOptions(
        [
          { value: 'auto', label: 'fit the width' },
          { value: 'written', label: 'written (scrolls)' },
          { value: 'compact', label: 'compact (on hover)' },
        ],
        this.vs.tokens,
      );
    }
    if (f === undefined) return;
    const key = `${f.step}|${this.vs.probe}|${this.vs.layer}|${this.vs.scale}|${this.vs.focus?.stage}:${this.vs.focus?.head}`;
    const sized = (d & Dirty.Size) !== 0 || (d & Dirty.View) !== 0;
    if (f === this.shown && key === this.paintedKey && (d & (Dirty.Theme | Changed.Run)) === 0 && !(isLu && sized)) return;
    this.shown = f;
    this.paintedKey = key;
    const pal = this.theme.heat;
    const mode: ScaleMode = this.vs.scale;
    if (isLu) {
      const g = luGrid(f, s.info);
      const scale = scaleForStage('weights', mode, g.peak);
      this.paintLu(this.vs.tokens, () => this.lu.paint(g, scale, pal));
      this.luLegend.paint(scale, pal);
    } else {
      const layers = layersOf(f);
      const layer = layers.includes(this.vs.layer) ? this.vs.layer : (layers[0] ?? 0);
      const probe = Math.min(this.vs.probe, Math.max(0, f.probes.length - 1));
      this.encoder.paint(encoderLayer(f, s.info, probe, layer), mode, pal, this.vs.focus);
    }
  }

  /** The Lu map in the mode chosen; "fit the width" writes the tokens unless the written map is wider than its box. */
  private paintLu(tokens: TokenMode, paint: () => void): void {
    if (tokens !== 'auto') {
      this.lu.setFit(tokens === 'compact');
      paint();
      return;
    }
    let need = this.lu.writtenWidth();
    if (need === undefined) {
      // Lay it out written once to learn its width.
      this.lu.setFit(false);
      paint();
      need = this.lu.writtenWidth();
    }
    const box = this.lu.el.clientWidth;
    this.lu.setFit(need !== undefined && box > 0 && need > box + 0.5);
    paint();
  }

  // ─── export ─────────────────────────────────────────────────────────────────────────

  private get runName(): string {
    return this.store.name ?? 'run';
  }

  private async postImage(name: string, image: HTMLCanvasElement): Promise<void> {
    const png = await canvasPng(image);
    const runId = this.store.runId;
    this.host.post(runId !== undefined ? { type: 'exportImage', runId, name, png } : { type: 'exportImage', name, png });
  }

  private exportChart(name: string, title: string, chart: Parameters<typeof chartImage>[0]): Promise<void> {
    return this.postImage(name, chartImage(chart, { title: `${title} — ${this.runName}`, theme: this.theme }));
  }

  /** A matrix card's matrix as on screen, with its labels, values and colour scale. */
  private async exportMatrix(id: string): Promise<void> {
    const p = this.matrixPanels.find((x) => x.decl.id === id);
    if (p === undefined || p.shown === undefined) return;
    const spec = p.heat.exportSpec(`${p.decl.label} — ${this.runName}, step ${formatInt(p.shown)}`, p.card.legend, p.decl.unit ?? p.decl.label);
    if (spec !== undefined) await this.postImage(`${fileSafe(id)}-step-${p.shown}`, heatImage(spec, this.theme));
  }

  /** The map on screen: the Lu grid, or the encoder's enlarged map (its stage and head in the name). */
  private async exportAttention(): Promise<void> {
    const step = this.shown?.step;
    if (step === undefined) return;
    const at = `step ${formatInt(step)}`;
    if (!this.luBox.hidden) {
      const spec = this.lu.exportSpec(`Attention — ${this.runName}, ${at} (probe sentences × tokens)`, this.luLegend);
      if (spec !== undefined) await this.postImage(`attention-step-${step}`, heatImage(spec, this.theme));
      return;
    }
    const probe = Math.min(this.vs.probe, Math.max(0, (this.shown?.probes.length ?? 1) - 1));
    const e = this.encoder.exportSpec((stage, head, layer) => `Attention — ${this.runName}, ${at}, probe #${probe}, layer ${layer}, ${STAGE_LABEL[stage].symbol} head ${head}`);
    if (e !== undefined) await this.postImage(`attention-step-${step}-probe-${probe}-layer-${e.layer}-${e.stage}-head-${e.head}`, heatImage(e.spec, this.theme));
  }

  // ─── test hooks ─────────────────────────────────────────────────────────────────────

  hooks(): ViewHooks {
    const charts = this.chartsByName;
    const base = baseHooks(
      this.scheduler,
      () => this.theme.heat,
      () => ({ live: this.scrub.live, step: this.scrub.step, stops: this.scrub.count }),
    );
    return Object.assign(base, {
      store: this.store,
      charts: this.chartObjects,
      chartData: (name: string): ChartSeriesData[] | undefined => charts[name]?.chart.data.datasets.map((ds) => ({ label: ds.label ?? '', ...chartPoints(ds.data) })),
      markers: (name: string): MarkerInfo[] | undefined => {
        const c = charts[name];
        return c instanceof SeriesChart ? c.drawnMarkers.map((m) => markerInfo(m)) : undefined;
      },
      matrices: (): MatrixInfo[] => {
        const { first, last } = this.cursorRange();
        return this.matrixPanels.map((p) => ({ id: p.decl.id, step: p.shown, at: this.cursor.at(first, last), live: this.cursor.live, cells: p.heat.cellTexts }));
      },
      heatmaps: (): HeatmapInfo[] => {
        const out: HeatmapInfo[] = [];
        const lu = this.lu.heat;
        if (!this.luBox.hidden && !this.attentionEl.hidden) out.push({ name: 'lu', canvas: lu.canvas, rows: lu.rows, cols: lu.cols, values: lu.values });
        if (!this.encoder.el.hidden && !this.attentionEl.hidden) {
          const fh = this.encoder.focusHeat;
          out.push({ name: 'focus', canvas: fh.canvas, rows: fh.rows, cols: fh.cols, values: fh.values });
          for (const t of this.encoder.thumbHeats) out.push({ name: `thumb:${t.stage}:${t.head}`, canvas: t.heat.canvas, rows: t.heat.rows, cols: t.heat.cols, values: t.heat.values });
        }
        for (const p of this.matrixPanels) out.push({ name: `matrix:${p.decl.id}`, canvas: p.heat.heat.canvas, rows: p.heat.heat.rows, cols: p.heat.heat.cols, values: p.heat.heat.values });
        return out;
      },
      shownStep: () => this.shown?.step,
      stepLatencies: () => [...this.latencies],
      hopLatencies: () => [...this.hops],
      stepCursor: (name: string): number | undefined => {
        const c = charts[name];
        return c instanceof SeriesChart ? c.cursorStep : undefined;
      },
      cardOrder: (): string[] => Array.from(this.cardsEl.children, (e) => (e as HTMLElement).dataset['card'] ?? ''),
      playing: (): boolean => this.player.playing,
      luFitted: (): boolean => this.lu.fitted,
    });
  }
}
