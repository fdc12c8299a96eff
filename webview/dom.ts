/** A tiny element builder: no innerHTML (no markup injection from run names or tokens). */

type Attrs = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, attrs?: Attrs, children?: (Node | string)[]): HTMLElementTagNameMap[K];
export function h(tag: string, cls?: string, attrs?: Attrs, children?: (Node | string)[]): HTMLElement;
export function h(tag: string, cls?: string, attrs: Attrs = {}, children: (Node | string)[] = []): HTMLElement {
  const el = document.createElement(tag);
  if (cls !== undefined && cls !== '') el.className = cls;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) el.append(c);
  return el;
}

/** Set text only when it differs (avoids layout work on every frame). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

export function setHidden(el: HTMLElement, hidden: boolean): void {
  if (el.hidden !== hidden) el.hidden = hidden;
}

const nf = new Intl.NumberFormat('en-US');
export const formatInt = (n: number): string => (Number.isFinite(n) ? nf.format(n) : '–');

export function formatNum(v: number | undefined, digits = 4): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

export const formatPct = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)}%`);
