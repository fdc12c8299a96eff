/**
 * Exports of recorded runs: every step's scalars of one or several runs as CSV (long format,
 * one row per run and step), and one run as JSON (its config, info, summary and every series).
 */
import type { RunSnapshot } from '../protocol/messages';

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
 * have them.
 */
export function scalarsCsv(runs: readonly ExportRun[]): string {
  const groups: string[] = [];
  for (const r of runs) for (const g of r.snapshot.info?.groups ?? []) if (!groups.includes(g)) groups.push(g);
  const head = ['run', 'step', 'loss', 'train_accuracy', ...groups.map((g) => `grad_norm/${g}`), ...groups.map((g) => `weight_norm/${g}`), 'validation_accuracy', 'validation_loss', 'test_accuracy', 'test_loss', 'topic_attention'];
  const lines = [head.join(',')];
  for (const r of runs) {
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
  };
  return JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n';
}
