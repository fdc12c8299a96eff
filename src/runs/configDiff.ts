/**
 * The config fields that differ between runs, for the compare view: every leaf path of the
 * runs' configs (objects flattened to dotted paths; arrays compared whole), kept when not
 * all runs have the same value there.
 */
import type { ConfigDifference } from '../protocol/messages';

const ABSENT = '—';

function leaves(v: unknown, prefix: string, out: Map<string, string>): void {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const keys = Object.keys(v as Record<string, unknown>);
    if (keys.length === 0 && prefix) out.set(prefix, '{}');
    for (const k of keys) leaves((v as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  if (prefix) out.set(prefix, JSON.stringify(v) ?? 'undefined');
}

/** The differing fields of `configs` (in path order of first appearance), values in run order. */
export function diffConfigs(configs: readonly unknown[]): ConfigDifference[] {
  const flat = configs.map((c) => {
    const m = new Map<string, string>();
    leaves(c, '', m);
    return m;
  });
  const paths: string[] = [];
  const seen = new Set<string>();
  for (const m of flat) for (const p of m.keys()) if (!seen.has(p)) (seen.add(p), paths.push(p));
  const out: ConfigDifference[] = [];
  for (const p of paths) {
    const values = flat.map((m) => m.get(p) ?? ABSENT);
    if (values.some((x) => x !== values[0])) out.push({ path: p, values });
  }
  return out;
}
