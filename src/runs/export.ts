/**
 * Exports of recorded runs: every step's scalars of one or several runs as CSV (long format,
 * one row per run and step), and one run as JSON (its config, info, summary and every series).
 */
import { measureWidth } from '../protocol/measures';
import type { MeasureChunk, MeasureDecl, RunSnapshot } from '../protocol/messages';

/** Matrices with more cells than this are left to the JSON export (as CSV columns they would swamp the file). */
export const MAX_CSV_MATRIX_CELLS = 64;

/**
 * A run's measurement values by step, as CSV cells keyed by column name: a series is column
 * `<id>`, a groups measurement `<id>/<group>`, a matrix (up to MAX_CSV_MATRIX_CELLS cells)
 * `<id>[<row>][<col>]` at the steps it was recorded, an event `<id>` holding its text (several
 * at one step joined by ' | ').
 */
function measureCells(decls: readonly MeasureDecl[], m: MeasureChunk): { columns: string[]; byStep: Map<number, Map<string, string | number>> } {
  const columns: string[] = [];
  const byStep = new Map<number, Map<string, string | number>>();
  const put = (step: number, col: string, v: string | number) => {
    let row = byStep.get(step);
    if (!row) byStep.set(step, (row = new Map()));
    const old = row.get(col);
    row.set(col, old !== undefined && typeof v === 'string' ? `${old} | ${v}` : v);
  };
  const colsOf = new Map<string, string[]>();
  for (const d of decls) {
    let cols: string[];
    if (d.kind === 'series' || d.kind === 'event') cols = [d.id];
    else if (d.kind === 'groups') cols = (d.groups ?? []).map((g) => `${d.id}/${g}`);
    else cols = measureWidth(d) <= MAX_CSV_MATRIX_CELLS ? (d.rows ?? []).flatMap((r) => (d.cols ?? []).map((c) => `${d.id}[${r}][${c}]`)) : [];
    colsOf.set(d.id, cols);
    columns.push(...cols);
  }
  for (const s of m.series) {
    const cols = colsOf.get(s.id) ?? [];
    const w = cols.length;
    if (w === 0 || s.values.length !== s.step.length * w) continue;
    for (let i = 0; i < s.step.length; i++) for (let j = 0; j < w; j++) put(s.step[i]!, cols[j]!, s.values[i * w + j]!);
  }
  for (const x of m.matrices) {
    const cols = colsOf.get(x.id) ?? [];
    if (cols.length !== x.values.length) continue;
    for (let j = 0; j < cols.length; j++) put(x.step, cols[j]!, x.values[j]!);
  }
  for (const e of m.events) if (colsOf.has(e.id)) put(e.step, e.id, e.text);
  return { columns, byStep };
}

export interface ExportRun {
  name: string;
  snapshot: RunSnapshot;
}

function csvCell(v: string | number): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v !== v ? 'NaN' : v > 0 ? 'Inf' : '-Inf';
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * Columns: run, step, loss, train_accuracy, then grad_norm/<group> and weight_norm/<group> for
 * the union of the runs' parameter groups (empty where a run lacks a group), then the
 * evaluation columns (validation/test accuracy and loss, topic attention) on the steps that
 * have them, then the union of the runs' declared measurements (see measureCells) on the
 * steps that recorded them.
 */
export function scalarsCsv(runs: readonly ExportRun[]): string {
  const groups: string[] = [];
  for (const r of runs) for (const g of r.snapshot.info?.groups ?? []) if (!groups.includes(g)) groups.push(g);
  const measures = runs.map((r) => measureCells(r.snapshot.info?.measures ?? [], r.snapshot.measures));
  const mcols: string[] = [];
  for (const m of measures) for (const c of m.columns) if (!mcols.includes(c)) mcols.push(c);
  const head = ['run', 'step', 'loss', 'train_accuracy', ...groups.map((g) => `grad_norm/${g}`), ...groups.map((g) => `weight_norm/${g}`), 'validation_accuracy', 'validation_loss', 'test_accuracy', 'test_loss', 'topic_attention', ...mcols];
  const lines = [head.join(',')];
  for (const [ri, r] of runs.entries()) {
    const byStep = measures[ri]!.byStep;
    const s = r.snapshot.scalars;
    const G = s.n > 0 ? s.gradNorms.length / s.n : 0;
    const own = r.snapshot.info?.groups ?? [];
    const col = groups.map((g) => own.indexOf(g));
    const evals = new Map(r.snapshot.evals.map((e) => [e.step, e]));
    for (let i = 0; i < s.n; i++) {
      const step = s.step[i]!;
      const e = evals.get(step);
      const cells: (string | number)[] = [r.name, step, s.loss[i]!, s.trainAccuracy[i]!];
      for (const c of col) cells.push(c >= 0 && c < G ? s.gradNorms[i * G + c]! : '');
      for (const c of col) cells.push(c >= 0 && c < G ? s.weightNorms[i * G + c]! : '');
      if (e) cells.push(e.validationAccuracy, e.validationLoss, e.testAccuracy, e.testLoss, e.topicAttention ?? '');
      else cells.push('', '', '', '', '');
      const m = byStep.get(step);
      for (const c of mcols) cells.push(m?.get(c) ?? '');
      lines.push(cells.map(csvCell).join(','));
    }
  }
  return lines.join('\n') + '\n';
}

/** One run as plain JSON (typed arrays as arrays; attention: the steps it was captured at). */
export function runJson(r: ExportRun): string {
  const s = r.snapshot;
  const sc = s.scalars;
  const G = sc.n > 0 ? sc.gradNorms.length / sc.n : 0;
  const rows = (a: Float64Array) => Array.from({ length: sc.n }, (_, i) => Array.from(a.subarray(i * G, (i + 1) * G)));
  const out = {
    name: r.name,
    runId: s.runId,
    status: s.status,
    statusReason: s.statusReason,
    info: s.info,
    summary: s.summary,
    steps: Array.from(sc.step),
    loss: Array.from(sc.loss),
    trainAccuracy: Array.from(sc.trainAccuracy),
    gradNorms: rows(sc.gradNorms),
    weightNorms: rows(sc.weightNorms),
    evals: s.evals,
    attentionSteps: s.attentionSteps,
    identity: s.identity.map((p) => ({ step: p.step, score: Array.from(p.score), measured: Array.from(p.measured), theory: Array.from(p.theory), relError: Array.from(p.relError) })),
    // Declared measurements (their declarations are in info.measures): series and groups as steps
    // and rows of values, matrices as rows × cols arrays at their steps, events as recorded.
    measures: {
      series: s.measures.series.map((x) => {
        const w = x.step.length > 0 ? x.values.length / x.step.length : 0;
        return { id: x.id, steps: Array.from(x.step), values: Array.from({ length: x.step.length }, (_, i) => (w === 1 ? x.values[i]! : Array.from(x.values.subarray(i * w, (i + 1) * w)))) };
      }),
      matrices: s.measures.matrices.map((x) => {
        const cols = s.info?.measures?.find((d) => d.id === x.id)?.cols?.length ?? x.values.length;
        return { id: x.id, step: x.step, values: Array.from({ length: Math.ceil(x.values.length / cols) }, (_, i) => Array.from(x.values.subarray(i * cols, (i + 1) * cols))) };
      }),
      events: s.measures.events,
    },
  };
  return JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n';
}
