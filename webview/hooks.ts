/**
 * What the page exposes on `window.__attentionLens` for tests and for a look from the
 * webview developer tools: read-only views of its state and a way to wait for a repaint.
 */
import type { HeatPalette } from './model/colorRamp';
import type { CompareStore } from './model/compareStore';
import type { RunStore } from './model/store';

export interface ChartSeriesData {
  label: string;
  xs: number[];
  ys: number[];
  /** Compare view: the run the dataset belongs to, and whether the legend hides it. */
  runId?: string;
  hidden?: boolean;
}

export interface HeatmapInfo {
  /** 'lu', 'focus', 'thumb:<stage>:<head>', 'sidebar-lu', 'legend' … */
  name: string;
  canvas: HTMLCanvasElement;
  rows: number;
  cols: number;
  /** The values painted, (rows, cols) row-major. */
  values: ArrayLike<number>;
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
  /** Chart.js instances by name (loss, accuracy, gradients, identity). */
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
  /** Compare view: the charts' zoomed step range (undefined: all steps). */
  zoom?(): { x0: number; x1: number } | undefined;
  setZoom?(z: { x0: number; x1: number } | undefined): void;
}

/** What a view (dashboard or sidebar) contributes to the hooks. */
export type ViewHooks = Omit<AttentionLensHooks, 'received' | 'dropped' | 'view'>;
