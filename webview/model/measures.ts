/**
 * The webview's copy of a run's declared measurements (RunInfo.measures) and what the generic
 * views make of them, without a DOM: series and groups in growable columns (one Series per
 * group, so a chart decimates each through its MinMaxIndex like the loss), every matrix in
 * step order, every event; and, from the declarations alone, the chart cards, the matrix
 * cards, the event markers and a matrix's colour scale. No code here knows a measurement id.
 */
import { measureWidth } from '../../src/protocol/measures';
import type { MeasureChunk, MeasureDecl, MeasureEvent } from '../../src/protocol/messages';
import { parseColor, toCss, type HeatScale } from './colorRamp';
import { Series } from './series';

/** A series or groups measurement's values: `values[g]` is group g's column (one column for a series), each as long as `step`. */
export interface MeasureColumns {
  decl: MeasureDecl;
  /** Steps, strictly increasing. */
  readonly step: Series;
  /** (width) columns. */
  readonly values: Series[];
}

/** One matrix value: (rows × cols) row-major, NaN where there is no value. */
export interface MatrixValue {
  step: number;
  values: Float32Array;
}

export class MeasureStore {
  /** The run's declarations, in their order. */
  decls: MeasureDecl[] = [];
  /** Series and groups measurements by id (only declared ones). */
  readonly columns = new Map<string, MeasureColumns>();
  /** Matrix measurements by id: every value, in step order. */
  readonly matrices = new Map<string, MatrixValue[]>();
  /** Every event, in step order (ties in arrival order). */
  events: MeasureEvent[] = [];
  /** Bumped on every change (renderers compare it to skip work). */
  version = 0;
  /** Bumped when the columns are replaced (not appended to): the charts' min/max indices start over. */
  epoch = 0;
  private byId = new Map<string, MeasureDecl>();

  /** Forget everything and take `decls` (a new run or a snapshot). */
  reset(decls: readonly MeasureDecl[] | undefined): void {
    this.decls = [...(decls ?? [])];
    this.byId = new Map(this.decls.map((d) => [d.id, d]));
    this.columns.clear();
    this.matrices.clear();
    this.events = [];
    for (const d of this.decls) {
      const w = measureWidth(d);
      if (d.kind === 'series' || d.kind === 'groups') this.columns.set(d.id, { decl: d, step: new Series(256), values: Array.from({ length: w }, () => new Series(256)) });
      else if (d.kind === 'matrix') this.matrices.set(d.id, []);
    }
    this.epoch++;
    this.version++;
  }

  /**
   * Declarations that arrive after the store was set up (run info in a later update): taken
   * when they differ from the ones held (values of the old ones are dropped). Returns whether
   * they were taken.
   */
  declare(decls: readonly MeasureDecl[] | undefined): boolean {
    if (JSON.stringify(decls ?? []) === JSON.stringify(this.decls)) return false;
    this.reset(decls);
    return true;
  }

  /** The declaration of `id`, if the run declared it. */
  decl(id: string): MeasureDecl | undefined {
    return this.byId.get(id);
  }

  /** Highest step any measurement value or event is at (NaN when none). */
  get lastStep(): number {
    let last = -Infinity;
    for (const c of this.columns.values()) if (c.step.length > 0) last = Math.max(last, c.step.last);
    for (const l of this.matrices.values()) if (l.length > 0) last = Math.max(last, (l[l.length - 1] as MatrixValue).step);
    const e = this.events[this.events.length - 1];
    if (e !== undefined) last = Math.max(last, e.step);
    return Number.isFinite(last) ? last : NaN;
  }

  /** First and last step of the series and groups columns (NaN when none). */
  seriesRange(): { x0: number; x1: number } {
    let x0 = Infinity;
    let x1 = -Infinity;
    for (const c of this.columns.values()) {
      if (c.step.length === 0) continue;
      x0 = Math.min(x0, c.step.at(0));
      x1 = Math.max(x1, c.step.last);
    }
    return Number.isFinite(x0) ? { x0, x1 } : { x0: NaN, x1: NaN };
  }

  /** The matrix of `id` at `step` or the latest before it (undefined when none by then). */
  matrixAt(id: string, step: number): MatrixValue | undefined {
    const l = this.matrices.get(id);
    return l === undefined ? undefined : matrixAtOrBefore(l, step);
  }

  /**
   * Take in recorded values. Rows whose step is not past the last one held are skipped (a
   * re-sent row), as are values of undeclared ids or of the wrong width (reported). Values
   * are copied: what arrives is a view of the message's one buffer.
   */
  append(c: MeasureChunk): { changed: boolean; warning?: string } {
    const warnings: string[] = [];
    let changed = false;
    for (const s of c.series) {
      const col = this.columns.get(s.id);
      if (col === undefined) {
        warnings.push(`values of ${JSON.stringify(s.id)}, which the run does not declare as a series or groups measurement; dropped`);
        continue;
      }
      const w = col.values.length;
      const n = s.step.length;
      if (s.values.length !== n * w) {
        warnings.push(`${JSON.stringify(s.id)} has ${s.values.length} values for ${n} steps, its declaration ${w} per step; dropped`);
        continue;
      }
      if (appendRows(col, s.step, s.values, n, w)) changed = true;
    }
    for (const m of c.matrices) {
      const d = this.byId.get(m.id);
      const list = this.matrices.get(m.id);
      if (d === undefined || list === undefined) {
        warnings.push(`a matrix of ${JSON.stringify(m.id)}, which the run does not declare as a matrix; dropped`);
        continue;
      }
      if (m.values.length !== measureWidth(d)) {
        warnings.push(`a matrix of ${JSON.stringify(m.id)} has ${m.values.length} values, its declaration ${measureWidth(d)}; dropped`);
        continue;
      }
      const last = list[list.length - 1];
      if (last !== undefined && !(m.step > last.step)) continue;
      list.push({ step: m.step, values: m.values.slice() });
      changed = true;
    }
    for (const e of c.events) {
      if (this.byId.get(e.id)?.kind !== 'event') {
        warnings.push(`an event of ${JSON.stringify(e.id)}, which the run does not declare as an event; dropped`);
        continue;
      }
      if (this.insertEvent(e)) changed = true;
    }
    if (changed) this.version++;
    return warnings.length > 0 ? { changed, warning: warnings.join('; ') } : { changed };
  }

  /** Insert in step order; an event already held (same id, step and text) is not taken twice. */
  private insertEvent(e: MeasureEvent): boolean {
    const ev = this.events;
    // After every event at or before its step: events of one step keep their arrival order.
    let at = ev.length;
    if (at > 0 && (ev[at - 1] as MeasureEvent).step > e.step) {
      let lo = 0;
      while (lo < at) {
        const mid = (lo + at) >>> 1;
        if ((ev[mid] as MeasureEvent).step <= e.step) lo = mid + 1;
        else at = mid;
      }
    }
    for (let i = at - 1; i >= 0 && (ev[i] as MeasureEvent).step === e.step; i--) {
      const x = ev[i] as MeasureEvent;
      if (x.id === e.id && x.text === e.text) return false;
    }
    const own: MeasureEvent = e.payload === undefined ? { id: e.id, step: e.step, text: e.text } : { id: e.id, step: e.step, text: e.text, payload: e.payload };
    if (at === ev.length) ev.push(own);
    else ev.splice(at, 0, own);
    return true;
  }
}

/** Append the rows [0, n) of (step, values (n × w)) whose step is past the last held. */
function appendRows(col: MeasureColumns, step: Float64Array, values: Float64Array, n: number, w: number): boolean {
  if (n === 0) return false;
  let last = col.step.length > 0 ? col.step.last : -Infinity;
  let increasing = (step[0] as number) > last;
  for (let i = 1; increasing && i < n; i++) increasing = (step[i] as number) > (step[i - 1] as number);
  if (increasing) {
    // The usual chunk: every row new, copied column by column.
    col.step.pushStrided(step, 0, n);
    for (let g = 0; g < w; g++) (col.values[g] as Series).pushStrided(values, g, n, w);
    return true;
  }
  let added = false;
  for (let i = 0; i < n; i++) {
    const s = step[i] as number;
    if (!(s > last)) continue;
    last = s;
    col.step.push(s);
    for (let g = 0; g < w; g++) (col.values[g] as Series).push(values[i * w + g] as number);
    added = true;
  }
  return added;
}

/** The value at `step` or the latest before it, in a step-ordered list. */
export function matrixAtOrBefore(list: readonly MatrixValue[], step: number): MatrixValue | undefined {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as MatrixValue).step <= step) lo = mid + 1;
    else hi = mid;
  }
  return list[lo - 1];
}

// ─── chart cards ─────────────────────────────────────────────────────────────────────

/** One line of a chart card: column `column` of measurement `id`. */
export interface CardLine {
  id: string;
  column: number;
  label: string;
}

/** A line chart of one or more series / groups measurements (those with the same `card`). */
export interface SeriesCard {
  /** The card's name (`card`), or the measurement's id when it has a chart of its own. */
  key: string;
  title: string;
  ids: string[];
  lines: CardLine[];
  log: boolean;
  /** y axis bounds from the declarations (a log axis ignores a bound ≤ 0). */
  min?: number;
  max?: number;
  /** The y axis title: the unit(s). */
  unit?: string;
  /** The declarations' convention sentences, each "label: sentence" when the card has several. */
  conventions: string[];
}

/**
 * The chart cards of a run's declarations, in the order their first measurement is declared.
 * A card's axis follows its first measurement's scale; its bounds are the widest declared.
 */
export function seriesCards(decls: readonly MeasureDecl[]): SeriesCard[] {
  const groups = new Map<string, MeasureDecl[]>();
  for (const d of decls) {
    if (d.kind !== 'series' && d.kind !== 'groups') continue;
    const key = d.card ?? d.id;
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [d]);
    else list.push(d);
  }
  return [...groups].map(([key, ds]) => {
    const first = ds[0] as MeasureDecl;
    const log = first.scale === 'log';
    const several = ds.length > 1;
    const lines: CardLine[] = [];
    for (const d of ds) {
      if (d.kind === 'series') lines.push({ id: d.id, column: 0, label: d.label });
      else (d.groups ?? []).forEach((g, i) => lines.push({ id: d.id, column: i, label: several ? `${d.label} · ${g}` : g }));
    }
    const mins = ds.map((d) => d.min).filter((v): v is number => v !== undefined && (!log || v > 0));
    const maxs = ds.map((d) => d.max).filter((v): v is number => v !== undefined && (!log || v > 0));
    const units = [...new Set(ds.map((d) => d.unit).filter((u): u is string => u !== undefined && u !== ''))];
    const card: SeriesCard = {
      key,
      title: ds.map((d) => d.label).join(' · ') + (log ? ' (log)' : ''),
      ids: ds.map((d) => d.id),
      lines,
      log,
      conventions: ds.filter((d) => d.convention !== undefined).map((d) => (several ? `${d.label}: ${d.convention}` : (d.convention as string))),
    };
    if (mins.length > 0) card.min = Math.min(...mins);
    if (maxs.length > 0) card.max = Math.max(...maxs);
    if (units.length > 0) card.unit = units.join(', ');
    return card;
  });
}

/** The matrix measurements, in declaration order (one card each). */
export function matrixDecls(decls: readonly MeasureDecl[]): MeasureDecl[] {
  return decls.filter((d) => d.kind === 'matrix');
}

/** A key that changes exactly when the cards built from `decls` would. */
export function cardsKey(decls: readonly MeasureDecl[]): string {
  return JSON.stringify([seriesCards(decls), matrixDecls(decls)]);
}

/**
 * Cards across compared runs: the union by key, in the order they first appear; per card,
 * each run's own card (undefined when the run has none of that key). The first run that has
 * a card gives its title, axis and bounds.
 */
export function mergeCards(perRun: readonly (readonly SeriesCard[])[]): { card: SeriesCard; runs: (SeriesCard | undefined)[] }[] {
  const out = new Map<string, { card: SeriesCard; runs: (SeriesCard | undefined)[] }>();
  perRun.forEach((cards, r) => {
    for (const c of cards) {
      let m = out.get(c.key);
      if (m === undefined) out.set(c.key, (m = { card: c, runs: perRun.map(() => undefined) }));
      m.runs[r] = c;
    }
  });
  return [...out.values()];
}

/** The matrix declarations across compared runs, by id, in the order they first appear; per id, each run's own (or undefined). */
export function mergeMatrices(perRun: readonly (readonly MeasureDecl[])[]): { decl: MeasureDecl; runs: (MeasureDecl | undefined)[] }[] {
  const out = new Map<string, { decl: MeasureDecl; runs: (MeasureDecl | undefined)[] }>();
  perRun.forEach((decls, r) => {
    for (const d of matrixDecls(decls)) {
      let m = out.get(d.id);
      if (m === undefined) out.set(d.id, (m = { decl: d, runs: perRun.map(() => undefined) }));
      m.runs[r] = d;
    }
  });
  return [...out.values()];
}

// ─── event markers ───────────────────────────────────────────────────────────────────

/** A marker on every step-axis chart. */
export interface Marker {
  /** The event measurement's id. */
  id: string;
  step: number;
  /** A band's end: the next event of the same id (undefined: to the end of the chart). A line has none. */
  end?: number;
  text: string;
  display: 'line' | 'band';
  /** Which of the run's event measurements it is (0, 1, … in declaration order): its colour. */
  kind: number;
  /** Its place among the events of its id (bands alternate their shade by it). */
  nth: number;
}

/** The markers of a run's events: a line at each step, or a band to the next event of the same id. */
export function eventMarkers(decls: readonly MeasureDecl[], events: readonly MeasureEvent[]): Marker[] {
  const kinds = new Map<string, { index: number; display: 'line' | 'band' }>();
  for (const d of decls) if (d.kind === 'event') kinds.set(d.id, { index: kinds.size, display: d.display ?? 'line' });
  const out: Marker[] = [];
  const open = new Map<string, Marker>();
  const count = new Map<string, number>();
  for (const e of events) {
    const k = kinds.get(e.id);
    if (k === undefined) continue;
    const nth = count.get(e.id) ?? 0;
    count.set(e.id, nth + 1);
    const m: Marker = { id: e.id, step: e.step, text: e.text, display: k.display, kind: k.index, nth };
    if (k.display === 'band') {
      const prev = open.get(e.id);
      if (prev !== undefined) prev.end = e.step;
      open.set(e.id, m);
    }
    out.push(m);
  }
  return out;
}

/** A band's fill opacity by its place among its id's bands: consecutive bands alternate, so their edges show. */
export const BAND_ALPHA: readonly [number, number] = [0.07, 0.14];
/** A marker line's opacity. */
export const LINE_ALPHA = 0.8;

// ─── matrices ────────────────────────────────────────────────────────────────────────

/** Smallest and largest finite value (NaN, NaN when none). */
export function finiteRange(values: ArrayLike<number>): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return Number.isFinite(lo) ? { lo, hi } : { lo: NaN, hi: NaN };
}

/**
 * A matrix's colour scale: from the declared min and max; a bound not declared comes from the
 * values shown. Values of both signs without declared bounds: diverging, symmetric around 0.
 * A log scale maps log10 of the values (see `matrixPaintValues`), so its bounds are log10 too.
 */
export function matrixScale(decl: MeasureDecl, values: ArrayLike<number>): HeatScale {
  const log = decl.scale === 'log';
  const shown = log ? logValues(values) : values;
  const r = finiteRange(shown);
  const bound = (v: number | undefined): number | undefined => (v === undefined ? undefined : log ? (v > 0 ? Math.log10(v) : undefined) : v);
  const dMin = bound(decl.min);
  const dMax = bound(decl.max);
  if (dMin === undefined && dMax === undefined && !log && r.lo < 0 && r.hi > 0) {
    const m = Math.max(-r.lo, r.hi);
    return { kind: 'diverging', min: -m, max: m };
  }
  let lo = dMin ?? (Number.isFinite(r.lo) ? r.lo : 0);
  let hi = dMax ?? (Number.isFinite(r.hi) ? r.hi : lo + 1);
  if (!(hi > lo)) {
    if (dMax === undefined) hi = lo + 1;
    else lo = hi - 1;
  }
  return { kind: 'sequential', min: lo, max: hi };
}

/** log10 of each value; NaN for values ≤ 0 (no value on a log scale). */
export function logValues(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    out[i] = v > 0 ? Math.log10(v) : NaN;
  }
  return out;
}

/** What the canvas paints: the values, or their log10 for a log scale. */
export function matrixPaintValues(decl: MeasureDecl, values: Float32Array): Float32Array {
  return decl.scale === 'log' ? logValues(values) : values;
}

/** What a matrix card says about the step it shows (`shown`) for the step its scrubber is at (`at`); `fmt` writes a step. */
export function matrixStepNote(shown: number | undefined, at: number | undefined, live: boolean, fmt: (n: number) => string = String): string {
  if (at === undefined) return 'no steps yet';
  if (shown === undefined) return live ? 'none recorded yet' : `none recorded by step ${fmt(at)}`;
  if (live) return `step ${fmt(shown)} · the latest recorded`;
  return shown === at ? `step ${fmt(shown)}` : `step ${fmt(shown)} · the latest at or before step ${fmt(at)}`;
}

// ─── the step a matrix card shows ────────────────────────────────────────────────────

/**
 * The matrix cards' scrubber: any step in [first, last] of the run (matrices are sparse, so
 * it does not snap to them: a card shows its matrix at or before the step); at the last step
 * it is live and follows the run.
 */
export class StepCursor {
  live = true;
  private chosen: number | undefined;

  /** The step the cards are at, within [first, last]: the last when live. */
  at(first: number, last: number): number | undefined {
    if (!Number.isFinite(last)) return undefined;
    if (this.live || this.chosen === undefined) return last;
    return Math.min(last, Math.max(Number.isFinite(first) ? first : this.chosen, this.chosen));
  }

  /** The chosen step when not live (for the view state). */
  get step(): number | undefined {
    return this.live ? undefined : this.chosen;
  }

  /** Move to a step; at or past `last` it goes live. Returns whether the step shown changed. */
  moveTo(step: number, last: number): boolean {
    const before = this.key();
    if (!Number.isFinite(step)) return false;
    if (step >= last) {
      this.live = true;
      this.chosen = undefined;
    } else {
      this.live = false;
      this.chosen = Math.round(step);
    }
    return this.key() !== before;
  }

  goLive(): boolean {
    const changed = !this.live;
    this.live = true;
    this.chosen = undefined;
    return changed;
  }

  restore(step: number | undefined): void {
    if (step === undefined) this.goLive();
    else {
      this.live = false;
      this.chosen = step;
    }
  }

  private key(): string {
    return this.live ? 'live' : String(this.chosen);
  }
}

/** A marker as a chart draws it: its colours resolved (CSS), the row of its label. */
export interface DrawnMarker extends Marker {
  /** A band's fill (its colour at BAND_ALPHA by `nth`). */
  fill: string;
  /** The line (or a band's start edge), at LINE_ALPHA. */
  stroke: string;
  /** The label's colour. */
  color: string;
  /** The label's row from the top of the plot (compare view: the run's place, so runs' labels do not overlap). */
  row: number;
  /** Compare view: the run whose event it is. */
  runId?: string;
}

/**
 * Markers as a chart draws them: each in palette[its kind] (theme colours, #rrggbb or
 * rgb[a](…)), bands at BAND_ALPHA, lines at LINE_ALPHA, their labels on `row`.
 */
export function styleMarkers(markers: readonly Marker[], palette: readonly string[], row = 0, runId?: string): DrawnMarker[] {
  const styles = palette.map((color) => {
    const c = parseColor(color) ?? { r: 128, g: 128, b: 128, a: 1 };
    const withAlpha = (a: number): string => toCss({ ...c, a: c.a * a });
    return { color, fills: [withAlpha(BAND_ALPHA[0]), withAlpha(BAND_ALPHA[1])], stroke: withAlpha(LINE_ALPHA) };
  });
  if (styles.length === 0) return [];
  return markers.map((m) => {
    const st = styles[m.kind % styles.length] as (typeof styles)[number];
    return { ...m, fill: st.fills[m.nth % 2] as string, stroke: st.stroke, color: st.color, row, ...(runId !== undefined ? { runId } : {}) };
  });
}
