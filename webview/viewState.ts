/**
 * The view choices a webview keeps across hide/show and reload (vscode.setState): which probe,
 * layer and head are shown, the colour-scale mode and where the scrubbers are. Run data is never
 * kept here — the host re-sends it as a snapshot.
 */
import type { ScaleMode } from './model/colorRamp';
import type { Stage } from './model/layout';
import { STAGE_ORDER } from './model/layout';

export interface ViewState {
  runId?: string;
  probe: number;
  layer: number;
  focus?: { stage: Stage; head: number };
  scale: ScaleMode;
  live: boolean;
  step?: number;
  /** The step the matrix cards show (absent: live). */
  measureStep?: number;
}

export const DEFAULT_VIEW_STATE: ViewState = { probe: 0, layer: 0, scale: 'fixed', live: true };

const nat = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** Whatever getState() returns (possibly from an older version) as a valid ViewState. */
export function parseViewState(v: unknown): ViewState {
  const s: ViewState = { ...DEFAULT_VIEW_STATE };
  if (typeof v !== 'object' || v === null) return s;
  const o = v as Record<string, unknown>;
  if (typeof o['runId'] === 'string') s.runId = o['runId'];
  if (nat(o['probe'])) s.probe = o['probe'];
  if (nat(o['layer'])) s.layer = o['layer'];
  if (o['scale'] === 'fixed' || o['scale'] === 'auto') s.scale = o['scale'];
  if (typeof o['live'] === 'boolean') s.live = o['live'];
  if (nat(o['step'])) s.step = o['step'];
  if (nat(o['measureStep'])) s.measureStep = o['measureStep'];
  const f = o['focus'];
  if (typeof f === 'object' && f !== null) {
    const stage = (f as Record<string, unknown>)['stage'];
    const head = (f as Record<string, unknown>)['head'];
    const st = STAGE_ORDER.find((x) => x === stage);
    if (st !== undefined && nat(head)) s.focus = { stage: st, head };
  }
  return s;
}
