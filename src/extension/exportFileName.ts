/**
 * Default file names of exports: `<run name>-<what>.<ext>`, e.g. `lu-fc-fast-loss.png`.
 * No `vscode` import (unit-tested in plain Node).
 */

/** Letters, digits, '.', '_' and '-' (anything else becomes '_'), no leading dot, at most 120 characters before the extension. */
export function exportFileName(base: string, name: string, ext: string): string {
  const clean = (s: string): string => s.replace(/[^\w.-]+/g, '_').replace(/^[._-]+/, '').replace(/[._-]+$/, '');
  const stem = [clean(base), clean(name)].filter((s) => s !== '').join('-') || 'attention-lens';
  return `${stem.slice(0, 120)}.${ext}`;
}
