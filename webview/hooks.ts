/**
 * What the page exposes on `window.__attentionLens` for tests and for a look from the
 * webview developer tools: read-only views of its state and a way to wait for a repaint.
 */
import type { HeatPalette } from './model/colorRamp';
import type { CompareStore } from './model/compareStore';
import type { DrawnMarker } from './model/measures';
import type { RunStore } from './model/store';
import type { FrameScheduler } from './scheduler';

export interface ChartSeriesData {
  label: string;
  xs: number[];
  ys: number[];
  /** Compare view: the run the dataset belongs to, and whether the legend hides it. */
  runId?: string;
  hidden?: boolean;
}

export interface HeatmapInfo {
  /** 'lu', 'focus', 'thumb:<stage>:<head>', 'sidebar-lu', 'legend', 'matrix:<id>' (compare: 'matrix:<id>:<runId>') … */
  name: string;
  canvas: HTMLCanvasElement;
  rows: number;
  cols: number;
  /** The values painted, (rows, cols) row-major. */
  values: ArrayLike<number>;
}

/** An event marker a chart draws. */
export interface MarkerInfo {
  id: string;
  step: number;
  /** A band's end (undefined: to the chart's end; lines have none). */
  end?: number;
  text: string;
  display: 'line' | 'band';
  /** Its band fill, line and label colours. */
  fill: string;
  stroke: string;
  color: string;
  /** Compare view: the run whose event it is. */
  runId?: string;
}

export function markerInfo(m: DrawnMarker): MarkerInfo {
  const out: MarkerInfo = { id: m.id, step: m.step, text: m.text, display: m.display, fill: m.fill, stroke: m.stroke, color: m.color };
  if (m.end !== undefined) out.end = m.end;
  if (m.runId !== undefined) out.runId = m.runId;
  return out;
}

/** A matrix card's heatmap (compare view: one per run). */
export interface MatrixInfo {
  id: string;
  runId?: string;
  /** The step of the matrix shown; undefined when none was recorded by the scrubbed step. */
  step: number | undefined;
  /** The step the matrix scrubber is at. */
  at: number | undefined;
  live: boolean;
  /** Each cell's text, row-major ('–' without a value). */
  cells: string[];
}

export interface AttentionLensHooks {
  view: 'dashboard' | 'sidebar' | 'compare';
  /** The run shown (compare view: the first compared run). */
  store: RunStore;
  /** Compare view: every compared run. */
  compare?: CompareStore;
  /** Host messages accepted / rejected by the guard. */
  readonly received: number;
  readonly dropped: number;
  readonly renders: number;
  /** Render pending changes synchronously. */
  flush(): void;
  /** Resolves after the next repaint. */
  nextRender(): Promise<void>;
  /** Chart.js instances by name (loss, accuracy, gradients, identity; measure:<card> for a declared series card). */
  charts: Record<string, unknown>;
  /** The points a chart currently holds, per dataset. */
  chartData(name: string): ChartSeriesData[] | undefined;
  /** The heat palette of the current theme. */
  palette(): HeatPalette;
  heatmaps(): HeatmapInfo[];
  /** The step of the attention frame on screen, if any. */
  shownStep(): number | undefined;
  scrubber(): { live: boolean; step: number | undefined; stops: number };
  /** Compare view: per run, the step of the frame on screen. */
  shownSteps?(): Record<string, number | undefined>;
  /** Dashboard: ms from the trainer finishing an update's last step to the repaint showing it (recent repaints). */
  stepLatencies?(): number[];
  /** Dashboard: ms from the host posting an update to the page receiving it (recent updates). */
  hopLatencies?(): number[];
  /** The event markers a chart draws (undefined: no such chart, or one without a step axis). */
  markers?(chart: string): MarkerInfo[] | undefined;
  /** The matrix measurement cards. */
  matrices?(): MatrixInfo[];
  /** Compare view: the charts' zoomed step range (undefined: all steps). */
  zoom?(): { x0: number; x1: number } | undefined;
  setZoom?(z: { x0: number; x1: number } | undefined): void;
  /** Dashboard: the step a chart's cursor marks (undefined: none, the view follows the latest). */
  stepCursor?(chart: string): number | undefined;
  /** Dashboard: the cards' ids in the order shown. */
  cardOrder?(): string[];
  /** Dashboard: whether ▶ play is on. */
  playing?(): boolean;
  /** Dashboard: whether the Lu map fits the width (tokens on hover) rather than writing them. */
  luFitted?(): boolean;
}

/** What a view (dashboard or sidebar) contributes to the hooks. */
export type ViewHooks = Omit<AttentionLensHooks, 'received' | 'dropped' | 'view'>;

/** A Chart.js dataset's points (parsed {x, y} objects) as two arrays. */
export function chartPoints(data: readonly unknown[]): { xs: number[]; ys: number[] } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const p of data) {
    if (typeof p === 'object' && p !== null && 'x' in p && 'y' in p) {
      xs.push(Number(p.x));
      ys.push(Number(p.y));
    }
  }
  return { xs, ys };
}

/** The hooks every view has alike: its repaints (a live count), flush and next repaint, the heat palette, its scrubber. */
export function baseHooks(
  scheduler: FrameScheduler,
  palette: () => HeatPalette,
  scrubber: () => { live: boolean; step: number | undefined; stops: number },
): Pick<AttentionLensHooks, 'renders' | 'flush' | 'nextRender' | 'palette' | 'scrubber'> {
  return {
    get renders() {
      return scheduler.renders;
    },
    flush: () => scheduler.flush(),
    nextRender: () => scheduler.nextRender(),
    palette,
    scrubber,
  };
}
