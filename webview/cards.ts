/**
 * A chart's card, the same on the dashboard and in the compare view: its title, an optional
 * note, its Save PNG button, the canvas, and (compare view) the zoom band drawn over it while
 * dragging; for a declared measurement, its convention sentence under the chart and on hover.
 */
import { cardSide, exportButton } from './controls';
import { h } from './dom';

export interface ChartCard {
  el: HTMLElement;
  canvas: HTMLCanvasElement;
  /** The box around the canvas (the zoom band's container). */
  box: HTMLElement;
  /** The note beside the title (empty unless `note`). */
  caption: HTMLElement;
  /** The drag-to-zoom band (only with `zoom`). */
  band: HTMLElement;
}

export interface ChartCardOptions {
  /** A note beside the title (the dashboard's cards). */
  note?: boolean;
  /** A zoom band over the canvas (the compare view's cards). */
  zoom?: boolean;
  /** The measurement's convention: on hover over the title and written under the chart. */
  convention?: string;
  /** Attributes of the card element (e.g. data-measure). */
  attrs?: Record<string, string>;
}

/** A card `title` of class `cls`; its Save PNG button says it saves `what` and calls `onExport`. */
export function chartCard(title: string, cls: string, what: string, onExport: () => Promise<void>, opts: ChartCardOptions = {}): ChartCard {
  const canvas = h('canvas', 'al-chart-canvas');
  const caption = h('span', 'al-card-note');
  const band = h('div', 'al-zoom-band', { hidden: true });
  const box = h('div', 'al-chart-box', {}, opts.zoom === true ? [canvas, band] : [canvas]);
  const save = exportButton(what, '', onExport);
  const conv = opts.convention !== undefined && opts.convention !== '' ? opts.convention : undefined;
  const head = h('figcaption', 'al-card-title', {}, [h('span', '', conv !== undefined ? { title: conv } : {}, [title]), cardSide(opts.note === true ? [caption, save] : [save])]);
  const children: HTMLElement[] = [head, box];
  if (conv !== undefined) children.push(h('p', 'al-card-note al-convention', {}, [conv]));
  const el = h('figure', `al-card ${cls}`, opts.attrs ?? {}, children);
  return { el, canvas, box, caption, band };
}
