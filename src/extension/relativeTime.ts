/**
 * When something happened, said as a person would in a list: `just now`, `5 min ago`,
 * `3 h ago`, `yesterday`, `4 days ago`, then the date. No `vscode` import (unit-tested in plain Node).
 */
export function relativeTime(then: number, now = Date.now()): string {
  const s = Math.max(0, (now - then) / 1000);
  if (s < 45) return 'just now';
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min ago`;
  const h = Math.round(min / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.round(h / 24);
  if (d === 1) return 'yesterday';
  if (d < 7) return `${d} days ago`;
  const date = new Date(then);
  const sameYear = date.getFullYear() === new Date(now).getFullYear();
  return date.toLocaleDateString('en', sameYear ? { month: 'short', day: 'numeric' } : { year: 'numeric', month: 'short', day: 'numeric' });
}
