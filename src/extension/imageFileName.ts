/**
 * The default file name of an exported chart or heatmap: `<run name>-<what>.png`, e.g.
 * `lu-fc-fast-loss.png`. No `vscode` import (unit-tested in plain Node).
 */

/** Letters, digits, '.', '_' and '-' (anything else becomes '_'), no leading dot, at most 120 characters before `.png`. */
export function imageFileName(base: string, name: string): string {
  const clean = (s: string): string => s.replace(/[^\w.-]+/g, '_').replace(/^[._-]+/, '').replace(/[._-]+$/, '');
  const stem = [clean(base), clean(name)].filter((s) => s !== '').join('-') || 'attention-lens';
  return `${stem.slice(0, 120)}.png`;
}
