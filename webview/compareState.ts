/**
 * The compare view's state (setState), DOM-free: its view choices, and which runs it compares.
 */

/**
 * The compare view's choices kept across hide/show and reload (setState), and which runs it
 * compares: after a window reload the host restores the panel from `runIds`.
 */
export interface CompareViewState {
  /** The compared run ids, in the order shown (empty until the first compareSnapshot). */
  runIds: string[];
  probe: number;
  layer: number;
  head: number;
  live: boolean;
  step?: number;
  zoom?: { x0: number; x1: number };
  hidden: string[];
  /** The step the matrix cards show (absent: live). */
  measureStep?: number;
}

const nat = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

export function parseCompareState(v: unknown): CompareViewState {
  const s: CompareViewState = { runIds: [], probe: 0, layer: 0, head: 0, live: true, hidden: [] };
  if (typeof v !== 'object' || v === null) return s;
  const o = v as Record<string, unknown>;
  if (nat(o['probe'])) s.probe = o['probe'];
  if (nat(o['layer'])) s.layer = o['layer'];
  if (nat(o['head'])) s.head = o['head'];
  if (typeof o['live'] === 'boolean') s.live = o['live'];
  if (nat(o['step'])) s.step = o['step'];
  if (nat(o['measureStep'])) s.measureStep = o['measureStep'];
  const z = o['zoom'];
  if (typeof z === 'object' && z !== null) {
    const x0 = (z as Record<string, unknown>)['x0'];
    const x1 = (z as Record<string, unknown>)['x1'];
    if (typeof x0 === 'number' && typeof x1 === 'number' && Number.isFinite(x0) && Number.isFinite(x1) && x1 > x0) s.zoom = { x0, x1 };
  }
  if (Array.isArray(o['hidden'])) s.hidden = o['hidden'].filter((x): x is string => typeof x === 'string');
  if (Array.isArray(o['runIds'])) s.runIds = o['runIds'].filter((x): x is string => typeof x === 'string');
  return s;
}
