/**
 * The compact side-panel view of the selected run: name, status, step, a loss sparkline and
 * its current attention (every probe for a Lu model; the last layer's heads of the first
 * probe for an encoder).
 */
import type { HostToWebview } from '../src/protocol/messages';
import { scaleForStage } from './model/colorRamp';
import { encoderLayer, layersOf, luGrid } from './model/layout';
import { Changed, RunStore } from './model/store';
import { formatInt, formatNum, h, setHidden, setText } from './dom';
import { EncoderHeatmaps, Legend, LuHeatmap, Tooltip } from './heatmap';
import { baseHooks, type HeatmapInfo, type ViewHooks } from './hooks';
import { followTheme } from './followTheme';
import { Dirty, FrameScheduler } from './scheduler';
import { Sparkline } from './sparkline';
import type { Theme } from './theme';
import type { WebviewHost } from './dashboard';
import { parseViewState } from './viewState';
import './controls';

export class Sidebar {
  readonly store = new RunStore();
  private theme: Theme;
  private readonly scheduler = new FrameScheduler((d) => this.render(d));
  private readonly nameEl = h('h1', 'al-run-name');
  private readonly badge = h('vscode-badge', 'al-status');
  private readonly stepEl = h('span', 'al-side-step');
  private readonly lossEl = h('span', 'al-side-loss');
  private readonly spark = new Sparkline();
  private readonly tooltip = new Tooltip();
  private readonly lu = new LuHeatmap(this.tooltip, true);
  private readonly luLegend = new Legend();
  private readonly encoder = new EncoderHeatmaps(this.tooltip, () => undefined, false);
  private readonly attnTitle = h('span', 'al-side-attn-title');
  private readonly empty = h('p', 'al-empty', {}, ['No run selected. Start or select a run in the Runs view.']);
  private readonly body: HTMLElement;
  private shownStep: number | undefined;

  constructor(root: HTMLElement, host: WebviewHost) {
    this.theme = followTheme(this.scheduler, (t) => (this.theme = t)).theme;
    // The side panel keeps no choices yet; read the state so an old one is validated.
    parseViewState(host.getState());
    this.body = h('div', 'al-side-body', { hidden: true }, [
      h('div', 'al-side-head', {}, [this.nameEl, this.badge]),
      h('div', 'al-side-stats', {}, [this.stepEl, this.lossEl]),
      h('figure', 'al-side-spark', {}, [h('figcaption', 'al-side-caption', {}, ['loss']), this.spark.canvas]),
      h('section', 'al-side-attn', {}, [h('div', 'al-side-caption', {}, [this.attnTitle]), this.luLegend.el, this.lu.el, this.encoder.el]),
    ]);
    root.replaceChildren(h('div', 'al-side', {}, [this.empty, this.body]));
    new ResizeObserver(() => this.scheduler.invalidate(Dirty.Size)).observe(this.spark.canvas);
    this.scheduler.invalidate(Dirty.All);
  }

  receive(msg: HostToWebview): void {
    const r = this.store.apply(msg);
    if (r.warning !== undefined) console.warn(`[attention-lens] ${r.warning}`);
    if (r.changed !== Changed.None) this.scheduler.invalidate(r.changed);
  }

  private render(d: number): void {
    const s = this.store;
    const has = s.runId !== undefined;
    setHidden(this.empty, has);
    setHidden(this.body, !has);
    if (s.protocolError !== undefined) setText(this.empty, s.protocolError);
    if (!has) return;
    setText(this.nameEl, s.name ?? '');
    setText(this.badge, s.status);
    this.badge.className = `al-status al-status-${s.status}`;
    const total = s.info?.totalSteps;
    setText(this.stepEl, `step ${formatInt(s.lastStep)}${total !== undefined && total > 0 ? ` / ${formatInt(total)}` : ''}`);
    setText(this.lossEl, `loss ${formatNum(s.loss.last)}`);
    if ((d & (Changed.Run | Changed.Scalars | Dirty.Size | Dirty.Theme)) !== 0) this.spark.draw(s.step.values, s.loss.values, s.step.length, s.epoch, this.theme.blue, this.theme.border);
    if ((d & (Changed.Run | Changed.Attention | Dirty.Theme)) !== 0) this.renderAttention();
  }

  private renderAttention(): void {
    const s = this.store;
    const f = s.latestAttention;
    const isLu = (s.info?.modelKind ?? ((f?.probes[0]?.[0]?.rows ?? 1) === 1 ? 'lu' : 'encoder')) === 'lu';
    setHidden(this.lu.el, !isLu || f === undefined);
    setHidden(this.luLegend.el, !isLu || f === undefined);
    setHidden(this.encoder.el, isLu || f === undefined);
    this.shownStep = f?.step;
    if (f === undefined) {
      setText(this.attnTitle, 'attention: none captured yet');
      return;
    }
    const pal = this.theme.heat;
    if (isLu) {
      setText(this.attnTitle, `attention over the probes · step ${formatInt(f.step)}`);
      const g = luGrid(f, s.info);
      const scale = scaleForStage('weights', 'fixed', g.peak);
      this.lu.paint(g, scale, pal);
      this.luLegend.paint(scale, pal);
    } else {
      const layers = layersOf(f);
      const layer = layers[layers.length - 1] ?? 0;
      setText(this.attnTitle, `probe #0, layer ${layer} · step ${formatInt(f.step)}`);
      // The softmax weights only: the side panel has room for one stage.
      const l = encoderLayer(f, s.info, 0, layer);
      this.encoder.paint({ ...l, stages: l.stages.filter((st) => st.stage === 'weights') }, 'fixed', pal, undefined);
    }
  }

  hooks(): ViewHooks {
    const base = baseHooks(
      this.scheduler,
      () => this.theme.heat,
      () => ({ live: true, step: this.shownStep, stops: this.store.attentionSteps.length }),
    );
    return Object.assign(base, {
      store: this.store,
      charts: {},
      chartData: (name: string) => (name === 'loss' ? [{ label: 'loss', xs: Array.from(this.store.step.values), ys: Array.from(this.store.loss.values) }] : undefined),
      heatmaps: (): HeatmapInfo[] => {
        const out: HeatmapInfo[] = [];
        if (!this.lu.el.hidden) out.push({ name: 'lu', canvas: this.lu.heat.canvas, rows: this.lu.heat.rows, cols: this.lu.heat.cols, values: this.lu.heat.values });
        if (!this.encoder.el.hidden) for (const t of this.encoder.thumbHeats) out.push({ name: `thumb:${t.stage}:${t.head}`, canvas: t.heat.canvas, rows: t.heat.rows, cols: t.heat.cols, values: t.heat.values });
        return out;
      },
      shownStep: () => this.shownStep,
    });
  }
}
