/**
 * Helpers over measurement declarations shared by every side of the contract: how many values
 * a sample of a declaration carries, and the one guard for declarations, samples, events and
 * recorded chunks. The shapes themselves are documented in messages.ts.
 */
import { MAX_EVENT_PAYLOAD_CHARS, MAX_EVENT_TEXT, MAX_MEASURE_LABELS, MAX_MEASURES } from './messages';
import type { JsonValue, MeasureChunk, MeasureDecl, MeasureEvent, MeasureKind, MeasureSample } from './messages';

type Rec = Record<string, unknown>;
const isObj = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNat = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isFin = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const tag = (v: unknown): string => Object.prototype.toString.call(v);
const isF64 = (v: unknown): v is Float64Array => tag(v) === '[object Float64Array]';
const isF32 = (v: unknown): v is Float32Array => tag(v) === '[object Float32Array]';
const opt = <T>(v: unknown, g: (x: unknown) => x is T): boolean => v === undefined || g(v);
const short = (max: number) => (v: unknown): v is string => isStr(v) && v.length <= max;

export const MEASURE_KINDS: readonly MeasureKind[] = ['series', 'groups', 'matrix', 'event'];
const ID = /^[A-Za-z0-9_./:-]{1,100}$/;

const isLabels = (v: unknown): v is string[] => Array.isArray(v) && v.length >= 1 && v.length <= MAX_MEASURE_LABELS && v.every(short(200));

/** Values per sample of `d`: 1 (series), its groups (groups), rows·cols (matrix), 0 (event). */
export function measureWidth(d: MeasureDecl): number {
  switch (d.kind) {
    case 'series':
      return 1;
    case 'groups':
      return d.groups?.length ?? 0;
    case 'matrix':
      return (d.rows?.length ?? 0) * (d.cols?.length ?? 0);
    case 'event':
      return 0;
  }
}

/** One declaration. Kind-specific fields must be present for their kind (groups; rows and cols) and absent otherwise. */
export function isMeasureDecl(v: unknown): v is MeasureDecl {
  if (!isObj(v) || !isStr(v['id']) || !ID.test(v['id']) || !isStr(v['kind']) || !MEASURE_KINDS.includes(v['kind'] as MeasureKind)) return false;
  const kind = v['kind'] as MeasureKind;
  if (!short(200)(v['label']) || !opt(v['unit'], short(40)) || !opt(v['convention'], short(1000)) || !opt(v['card'], short(100))) return false;
  if (kind === 'groups' ? !isLabels(v['groups']) : v['groups'] !== undefined) return false;
  if (kind === 'matrix' ? !isLabels(v['rows']) || !isLabels(v['cols']) : v['rows'] !== undefined || v['cols'] !== undefined) return false;
  if (v['scale'] !== undefined && v['scale'] !== 'linear' && v['scale'] !== 'log') return false;
  if (!opt(v['min'], isFin) || !opt(v['max'], isFin)) return false;
  if (v['display'] !== undefined && (kind !== 'event' || (v['display'] !== 'line' && v['display'] !== 'band'))) return false;
  return true;
}

/** A run's declarations: at most MAX_MEASURES, ids unique. */
export function isMeasureDecls(v: unknown): v is MeasureDecl[] {
  if (!Array.isArray(v) || v.length > MAX_MEASURES || !v.every(isMeasureDecl)) return false;
  return new Set(v.map((d: MeasureDecl) => d.id)).size === v.length;
}

/** JSON data (finite numbers only), at most `depth` deep. */
export function isJson(v: unknown, depth = 16): v is JsonValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || isFin(v)) return true;
  if (depth <= 0) return false;
  if (Array.isArray(v)) return v.every((x) => isJson(x, depth - 1));
  if (!isObj(v) || Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return false;
  return Object.values(v).every((x) => isJson(x, depth - 1));
}

/** An event's shape (its id is checked against the declarations by isMeasureEventOf). */
export function isMeasureEvent(v: unknown): v is MeasureEvent {
  if (!isObj(v) || !isStr(v['id']) || !isNat(v['step']) || !short(MAX_EVENT_TEXT)(v['text'])) return false;
  if (v['payload'] === undefined) return true;
  return isJson(v['payload']) && JSON.stringify(v['payload']).length <= MAX_EVENT_PAYLOAD_CHARS;
}

export function isMeasureSample(v: unknown): v is MeasureSample {
  return isObj(v) && isStr(v['id']) && isF64(v['values']);
}

/** The declarations by id. */
export function declsById(decls: readonly MeasureDecl[] | undefined): Map<string, MeasureDecl> {
  return new Map((decls ?? []).map((d) => [d.id, d]));
}

/**
 * Why a step's samples and events do not fit the run's declarations (undefined when they do):
 * every id declared, of a kind that carries values (samples) or an event (events), with the
 * declared width, at most one sample per id, and events at `step`.
 */
export function measuresProblem(step: number, samples: readonly MeasureSample[] | undefined, events: readonly MeasureEvent[] | undefined, decls: ReadonlyMap<string, MeasureDecl>): string | undefined {
  const seen = new Set<string>();
  for (const s of samples ?? []) {
    const d = decls.get(s.id);
    if (!d) return `step ${step}: measurement ${JSON.stringify(s.id)} is not declared`;
    if (d.kind === 'event') return `step ${step}: ${JSON.stringify(s.id)} is an event, not a value`;
    if (s.values.length !== measureWidth(d)) return `step ${step}: ${JSON.stringify(s.id)} has ${s.values.length} values, its declaration ${measureWidth(d)}`;
    if (seen.has(s.id)) return `step ${step}: ${JSON.stringify(s.id)} recorded twice`;
    seen.add(s.id);
  }
  for (const e of events ?? []) {
    const d = decls.get(e.id);
    if (!d) return `step ${step}: event ${JSON.stringify(e.id)} is not declared`;
    if (d.kind !== 'event') return `step ${step}: ${JSON.stringify(e.id)} is a ${d.kind}, not an event`;
    if (e.step !== step) return `step ${step}: event ${JSON.stringify(e.id)} says step ${e.step}`;
  }
  return undefined;
}

/** A recorded chunk's shape: series values a whole number of rows, matrices Float32, events valid. */
export function isMeasureChunk(v: unknown): v is MeasureChunk {
  if (!isObj(v) || !Array.isArray(v['series']) || !Array.isArray(v['matrices']) || !Array.isArray(v['events'])) return false;
  const seriesOk = v['series'].every((s: unknown) => {
    if (!isObj(s) || !isStr(s['id']) || !isF64(s['step']) || !isF64(s['values'])) return false;
    const n = s['step'].length;
    return n === 0 ? s['values'].length === 0 : s['values'].length % n === 0;
  });
  return seriesOk && v['matrices'].every((m: unknown) => isObj(m) && isStr(m['id']) && isNat(m['step']) && isF32(m['values'])) && v['events'].every(isMeasureEvent);
}

/** An empty chunk. */
export function emptyMeasures(): MeasureChunk {
  return { series: [], matrices: [], events: [] };
}

/** `a` then `b` (b's steps after a's) as one chunk: series of the same id are joined. */
export function concatMeasures(a: MeasureChunk, b: MeasureChunk): MeasureChunk {
  const series = a.series.map((s) => ({ ...s }));
  for (const s of b.series) {
    const i = series.findIndex((x) => x.id === s.id);
    if (i < 0) {
      series.push(s);
      continue;
    }
    const x = series[i]!;
    const step = new Float64Array(x.step.length + s.step.length);
    step.set(x.step);
    step.set(s.step, x.step.length);
    const values = new Float64Array(x.values.length + s.values.length);
    values.set(x.values);
    values.set(s.values, x.values.length);
    series[i] = { id: s.id, step, values };
  }
  return { series, matrices: [...a.matrices, ...b.matrices], events: [...a.events, ...b.events] };
}
