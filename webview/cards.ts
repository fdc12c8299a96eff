/**
 * A chart's card, the same on the dashboard and in the compare view: its title, an optional
 * note under it, its Save PNG button, the canvas, and (compare view) the zoom band drawn over
 * it while dragging; for a declared measurement, its convention sentence under the chart and on
 * hover. The dashboard's cards also carry the card controls (move up or down, collapse).
 */
import { cardSide, exportButton } from './controls';
import { h } from './dom';

export interface ChartCard {
  el: HTMLElement;
  canvas: HTMLCanvasElement;
  /** The box around the canvas (the zoom band's container). */
  box: HTMLElement;
  /** The note under the title (empty unless `note`; an empty note takes no room). */
  caption: HTMLElement;
  /** The drag-to-zoom band (only with `zoom`). */
  band: HTMLElement;
}

export interface ChartCardOptions {
  /** A note under the title (the dashboard's cards). */
  note?: boolean;
  /** A zoom band over the canvas (the compare view's cards). */
  zoom?: boolean;
  /** The measurement's convention: on hover over the title and written under the chart. */
  convention?: string;
  /** Attributes of the card element (e.g. data-measure). */
  attrs?: Record<string, string>;
  /** The card controls, after Save PNG (the dashboard's cards). */
  controls?: HTMLElement;
}

/** A card title's text: it wraps inside its own box, so the buttons beside it stay on the first line. */
export function cardName(title: string, hover?: string): HTMLElement {
  return h('span', 'al-card-name', hover !== undefined ? { title: hover } : {}, [title]);
}

/** A card `title` of class `cls`; its Save PNG button says it saves `what` and calls `onExport`. */
export function chartCard(title: string, cls: string, what: string, onExport: () => Promise<void>, opts: ChartCardOptions = {}): ChartCard {
  const canvas = h('canvas', 'al-chart-canvas');
  const caption = h('div', 'al-card-note al-card-caption');
  const band = h('div', 'al-zoom-band', { hidden: true });
  const box = h('div', 'al-chart-box', {}, opts.zoom === true ? [canvas, band] : [canvas]);
  const save = exportButton(what, '', onExport);
  const conv = opts.convention !== undefined && opts.convention !== '' ? opts.convention : undefined;
  const head = h('figcaption', 'al-card-title', {}, [cardName(title, conv), cardSide(opts.controls !== undefined ? [save, opts.controls] : [save])]);
  const children: HTMLElement[] = [head];
  if (opts.note === true) children.push(caption);
  children.push(box);
  if (conv !== undefined) children.push(h('p', 'al-card-note al-convention', {}, [conv]));
  const el = h('figure', `al-card ${cls}`, opts.attrs ?? {}, children);
  return { el, canvas, box, caption, band };
}

/** A dashboard card's controls: move it up or down among the cards, collapse it to its title. */
export interface CardControls {
  el: HTMLElement;
  /** Show whether the card is collapsed, and which moves it has (the first card cannot go up). */
  set(collapsed: boolean, canUp: boolean, canDown: boolean): void;
}

export function cardControls(what: string, handlers: { onMove(delta: number): void; onCollapse(): void }): CardControls {
  const mk = (cls: string, text: string, label: string, onClick: () => void): HTMLButtonElement => {
    const b = h('button', `al-icon-btn ${cls}`, { type: 'button', title: label, 'aria-label': label }, [text]);
    b.addEventListener('click', onClick);
    return b;
  };
  const up = mk('al-card-up', '↑', `Move ${what} up`, () => handlers.onMove(-1));
  const down = mk('al-card-down', '↓', `Move ${what} down`, () => handlers.onMove(1));
  const fold = mk('al-card-fold', '▾', `Collapse ${what}`, () => handlers.onCollapse());
  const el = h('span', 'al-card-controls', { role: 'group', 'aria-label': `Place of ${what}` }, [up, down, fold]);
  return {
    el,
    set(collapsed, canUp, canDown) {
      up.disabled = !canUp;
      down.disabled = !canDown;
      const label = `${collapsed ? 'Expand' : 'Collapse'} ${what}`;
      if (fold.textContent !== (collapsed ? '▸' : '▾')) fold.textContent = collapsed ? '▸' : '▾';
      fold.title = label;
      fold.setAttribute('aria-label', label);
      fold.setAttribute('aria-expanded', String(!collapsed));
    },
  };
}
