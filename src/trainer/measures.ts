/**
 * Measurements an experiment declares and records, beyond the loss, accuracy and norms every
 * step has: a scalar series, a per-group series, a named matrix at a step, an event at a step.
 * An experiment declares each once (before training) and records values during or after a
 * step; the trainer hands what was recorded with that step's StepRecord. The shapes match the
 * protocol's MeasureDecl / MeasureSample / MeasureEvent (src/io/convert.ts passes them on), so
 * a new measurement costs trainer code only: no message kind, store record or view.
 */

export type MeasureKind = 'series' | 'groups' | 'matrix' | 'event';

/** A declaration (see the protocol's MeasureDecl for every field's meaning). */
export interface MeasureSpec {
  id: string;
  kind: MeasureKind;
  label: string;
  unit?: string;
  groups?: string[];
  rows?: string[];
  cols?: string[];
  scale?: 'linear' | 'log';
  min?: number;
  max?: number;
  convention?: string;
  display?: 'line' | 'band';
  card?: string;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What was recorded for one step. */
export interface RecordedMeasures {
  samples: { id: string; values: Float64Array }[];
  events: { id: string; text: string; payload?: Json }[];
}

const ID = /^[A-Za-z0-9_./:-]{1,100}$/;

function width(s: MeasureSpec): number {
  switch (s.kind) {
    case 'series':
      return 1;
    case 'groups':
      return s.groups?.length ?? 0;
    case 'matrix':
      return (s.rows?.length ?? 0) * (s.cols?.length ?? 0);
    case 'event':
      return 0;
  }
}

export class Measures {
  private readonly specs = new Map<string, MeasureSpec>();
  private samples: { id: string; values: Float64Array }[] = [];
  private events: { id: string; text: string; payload?: Json }[] = [];

  /** Declarations in the order made (the store's index order). */
  get declared(): MeasureSpec[] {
    return [...this.specs.values()].map((s) => ({ ...s }));
  }

  /** Declares a measurement; throws on a bad id, a repeated id or a missing groups / rows / cols list. */
  declare(spec: MeasureSpec): void {
    if (!ID.test(spec.id)) throw new Error(`measurement id ${JSON.stringify(spec.id)}: use 1–100 characters of A–Z a–z 0–9 _ . / : -`);
    if (this.specs.has(spec.id)) throw new Error(`measurement ${JSON.stringify(spec.id)} is declared twice`);
    if (spec.kind === 'groups' && !(spec.groups && spec.groups.length > 0)) throw new Error(`measurement ${JSON.stringify(spec.id)}: a groups measurement needs its group names`);
    if (spec.kind === 'matrix' && !(spec.rows && spec.rows.length > 0 && spec.cols && spec.cols.length > 0)) throw new Error(`measurement ${JSON.stringify(spec.id)}: a matrix needs row and column labels`);
    const copy: MeasureSpec = { ...spec };
    for (const k of Object.keys(copy) as (keyof MeasureSpec)[]) if (copy[k] === undefined) delete copy[k];
    this.specs.set(spec.id, copy);
  }

  private spec(id: string, kinds: MeasureKind[]): MeasureSpec {
    const s = this.specs.get(id);
    if (!s) throw new Error(`measurement ${JSON.stringify(id)} is not declared`);
    if (!kinds.includes(s.kind)) throw new Error(`measurement ${JSON.stringify(id)} is a ${s.kind}`);
    return s;
  }

  private put(id: string, kinds: MeasureKind[], values: ArrayLike<number>): void {
    const s = this.spec(id, kinds);
    if (values.length !== width(s)) throw new Error(`measurement ${JSON.stringify(id)}: ${values.length} values, declared ${width(s)}`);
    const i = this.samples.findIndex((x) => x.id === id);
    const v = Float64Array.from(values);
    if (i >= 0) this.samples[i] = { id, values: v }; // the last value of a step wins
    else this.samples.push({ id, values: v });
  }

  /** A series' value at the current step. */
  series(id: string, value: number): void {
    this.put(id, ['series'], [value]);
  }

  /** A groups measurement's values at the current step, one per declared group. */
  groups(id: string, values: ArrayLike<number>): void {
    this.put(id, ['groups'], values);
  }

  /** A matrix at the current step, rows × cols row-major. */
  matrix(id: string, values: ArrayLike<number>): void {
    this.put(id, ['matrix'], values);
  }

  /** An event at the current step: a short text for its marker and a small JSON payload. */
  event(id: string, text: string, payload?: Json): void {
    this.spec(id, ['event']);
    this.events.push(payload === undefined ? { id, text: text.slice(0, 200) } : { id, text: text.slice(0, 200), payload });
  }

  /** What was recorded since the last take (undefined when nothing was), and forgets it. */
  take(): RecordedMeasures | undefined {
    if (this.samples.length === 0 && this.events.length === 0) return undefined;
    const out = { samples: this.samples, events: this.events };
    this.samples = [];
    this.events = [];
    return out;
  }
}
