/**
 * The VS Code theme as concrete colours: reads the --vscode-* variables VS Code injects into
 * the page (canvas and Chart.js need real colours, not var() references) and calls back when
 * the theme changes (VS Code swaps body classes vscode-light / vscode-dark /
 * vscode-high-contrast and rewrites the variables on <html>).
 */
import { heatPalette, type HeatPalette } from './model/colorRamp';

export interface Theme {
  kind: 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';
  background: string;
  foreground: string;
  description: string;
  border: string;
  grid: string;
  focus: string;
  hoverBackground: string;
  hoverForeground: string;
  hoverBorder: string;
  fontFamily: string;
  fontSize: number;
  red: string;
  blue: string;
  yellow: string;
  orange: string;
  green: string;
  purple: string;
  /** Line colours in the order series take them. */
  series: string[];
  heat: HeatPalette;
}

let probe: CanvasRenderingContext2D | null | undefined;

/** A CSS colour as the canvas normalises it (#rrggbb or rgba(…)); `fallback` if it is not one. */
export function resolveColor(value: string, fallback: string): string {
  const v = value.trim();
  if (v === '') return fallback;
  if (probe === undefined) probe = document.createElement('canvas').getContext('2d');
  if (probe === null) return v;
  const sentinel = '#010203';
  probe.fillStyle = sentinel;
  probe.fillStyle = v;
  const out = String(probe.fillStyle);
  return out === sentinel && v.toLowerCase() !== sentinel ? fallback : out;
}

export function readTheme(): Theme {
  const cs = getComputedStyle(document.body);
  const v = (name: string, fallback: string): string => resolveColor(cs.getPropertyValue(name), fallback);
  const cls = document.body.classList;
  const kind: Theme['kind'] = cls.contains('vscode-high-contrast-light')
    ? 'high-contrast-light'
    : cls.contains('vscode-high-contrast')
      ? 'high-contrast'
      : cls.contains('vscode-light')
        ? 'light'
        : 'dark';
  const light = kind === 'light' || kind === 'high-contrast-light';
  const background = v('--vscode-editor-background', light ? '#ffffff' : '#1e1e1e');
  const foreground = v('--vscode-editor-foreground', v('--vscode-foreground', light ? '#333333' : '#cccccc'));
  const description = v('--vscode-descriptionForeground', foreground);
  const border = v('--vscode-panel-border', description);
  const t: Omit<Theme, 'series' | 'heat'> = {
    kind,
    background,
    foreground,
    description,
    border,
    grid: v('--vscode-editorWidget-border', border),
    focus: v('--vscode-focusBorder', '#007fd4'),
    hoverBackground: v('--vscode-editorHoverWidget-background', background),
    hoverForeground: v('--vscode-editorHoverWidget-foreground', foreground),
    hoverBorder: v('--vscode-editorHoverWidget-border', border),
    fontFamily: cs.getPropertyValue('--vscode-font-family').trim() || 'system-ui, sans-serif',
    fontSize: parseFloat(cs.getPropertyValue('--vscode-font-size')) || 13,
    red: v('--vscode-charts-red', '#f14c4c'),
    blue: v('--vscode-charts-blue', '#3794ff'),
    yellow: v('--vscode-charts-yellow', '#cca700'),
    orange: v('--vscode-charts-orange', '#d18616'),
    green: v('--vscode-charts-green', '#89d185'),
    purple: v('--vscode-charts-purple', '#b180d7'),
  };
  return {
    ...t,
    series: [t.blue, t.orange, t.green, t.purple, t.red, t.yellow, t.foreground, t.description],
    heat: heatPalette({ background, low: t.orange, high: t.red, negative: t.blue }),
  };
}

/** Call `onChange` (at most once per frame) when the theme classes or variables change. Returns a disposer. */
export function watchTheme(onChange: () => void): () => void {
  let pending = 0;
  const obs = new MutationObserver(() => {
    if (pending !== 0) return;
    pending = requestAnimationFrame(() => {
      pending = 0;
      onChange();
    });
  });
  obs.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  obs.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  return () => obs.disconnect();
}
