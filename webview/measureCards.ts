/**
 * The pieces of the generic measurement views that the dashboard and the compare view share:
 * the lines of a declared series card, the event marker colours, and a matrix card (its title
 * with the step it shows, the step scrubber every matrix card of a page follows, the colour
 * scale, the convention) around the view's own heatmap(s).
 */
import type { MeasureDecl } from '../src/protocol/messages';
import { cardName } from './cards';
import { button, cardSide, exportButton, setDisabled } from './controls';
import { formatInt, h, setText } from './dom';
import { Legend } from './heatmap';
import type { HeatScale, HeatPalette } from './model/colorRamp';
import { formatValue } from './model/layout';
import type { MeasureStore, SeriesCard } from './model/measures';
import type { LineSource } from './charts';
import type { Theme } from './theme';

/** Event marker colours by event kind (the run's first event measurement, its second …). */
export const markerPalette = (t: Theme): string[] => [t.yellow, t.purple, t.red, t.green, t.orange, t.blue];

/** A name for exported files: the card key with anything but [A-Za-z0-9._-] as '-'. */
export const fileSafe = (key: string): string => key.replace(/[^A-Za-z0-9._-]+/g, '-');

/** The points of a card's line `i` in a run's measurements. */
export function cardLineSource(m: MeasureStore, card: SeriesCard, i: number): LineSource {
  const line = card.lines[i];
  const col = line === undefined ? undefined : m.columns.get(line.id);
  const ys = col?.values[line?.column ?? 0];
  if (col === undefined || ys === undefined) return { xs: new Float64Array(0), ys: new Float64Array(0), n: 0, epoch: m.epoch };
  return { xs: col.step.values, ys: ys.values, n: Math.min(col.step.length, ys.length), epoch: m.epoch };
}

/** The card's convention sentences as one text. */
export const cardConvention = (card: SeriesCard): string => card.conventions.join(' ');

/** Writes a matrix colour scale's ends: log10 values back as values on a log scale. */
export function legendFormat(decl: MeasureDecl): (v: number) => string {
  return decl.scale === 'log' ? (v) => formatValue(10 ** v) : formatValue;
}

/**
 * A matrix measurement's card: title (label, unit), the note saying which step it shows, Save
 * PNG, the step scrubber (every matrix card on the page moves the same step), the colour scale,
 * the view's body (one heatmap, or one panel per run) and the convention.
 */
export class MatrixCard {
  readonly el: HTMLElement;
  readonly note = h('div', 'al-card-note al-matrix-note');
  readonly range = h('input', 'al-range al-matrix-range', { type: 'range', min: 0, max: 0, step: 1, value: 0 });
  readonly scrubLabel = h('span', 'al-scrub-label', { 'aria-live': 'polite' });
  readonly liveBtn;
  readonly legend = new Legend();
  dragging = false;

  constructor(
    readonly decl: MeasureDecl,
    readonly body: HTMLElement,
    handlers: { onStep: (step: number) => void; onLive: () => void; onDragEnd: () => void; onExport?: () => Promise<void> },
    controls?: HTMLElement,
  ) {
    const title = `${decl.label}${decl.unit !== undefined ? ` (${decl.unit})` : ''}`;
    this.range.setAttribute('aria-label', `Step of ${decl.label}`);
    this.liveBtn = button('Latest', 'al-live', handlers.onLive, true);
    this.liveBtn.title = 'Follow the latest step';
    this.range.addEventListener('input', () => handlers.onStep(Number(this.range.value)));
    this.range.addEventListener('pointerdown', () => (this.dragging = true));
    const endDrag = (): void => {
      this.dragging = false;
      handlers.onDragEnd();
    };
    this.range.addEventListener('pointerup', endDrag);
    this.range.addEventListener('change', endDrag);
    const side: HTMLElement[] = handlers.onExport !== undefined ? [exportButton(`the ${decl.label} matrix`, 'al-matrix-export', handlers.onExport)] : [];
    if (controls !== undefined) side.push(controls);
    const conv = decl.convention;
    const children: HTMLElement[] = [
      h('figcaption', 'al-card-title', {}, [cardName(title, conv), cardSide(side)]),
      this.note,
      h('div', 'al-scrubber', {}, [this.range, this.scrubLabel, this.liveBtn]),
      this.legend.el,
      body,
    ];
    if (conv !== undefined) children.push(h('p', 'al-card-note al-convention', {}, [conv]));
    this.el = h('figure', 'al-card al-matrix-card', { 'data-measure': decl.id }, children);
  }

  /** The scrubber over steps [first, last] at `at` (undefined: no steps yet). */
  setStep(first: number, last: number, at: number | undefined, live: boolean): void {
    const has = at !== undefined && Number.isFinite(first) && Number.isFinite(last);
    this.range.disabled = !has || !(last > first);
    this.range.min = String(has ? first : 0);
    this.range.max = String(has ? last : 0);
    if (has && !this.dragging && this.range.value !== String(at)) this.range.value = String(at);
    const label = !has ? 'no steps yet' : live ? `step ${formatInt(at)} · the latest step` : `step ${formatInt(at)} of ${formatInt(last)}`;
    setText(this.scrubLabel, label);
    this.range.setAttribute('aria-valuetext', label);
    setDisabled(this.liveBtn, live);
    this.liveBtn.classList.toggle('al-is-live', live);
  }

  paintLegend(scale: HeatScale, palette: HeatPalette): void {
    this.legend.paint(scale, palette, legendFormat(this.decl));
  }
}
