/**
 * The view choices a webview keeps across hide/show and reload (vscode.setState): which probe,
 * layer and head are shown, the colour-scale mode, where the scrubbers are, the charts' step
 * axis, the play speed, and the cards' order and which are collapsed. Run data is never kept
 * here — the host re-sends it as a snapshot.
 */
import type { ScaleMode } from './model/colorRamp';
import type { Stage } from './model/layout';
import { STAGE_ORDER } from './model/layout';
import { DEFAULT_PLAY_FPS, PLAY_SPEEDS } from './model/player';
import { STEP_WINDOWS, type StepScale } from './model/stepAxis';

/** How the Lu map writes its tokens: in the cells (scrolls when wider than the card), compact (fits the card, the token on hover), or compact only when the written map would not fit. */
export type TokenMode = 'auto' | 'written' | 'compact';

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
  /** The step charts' (and the scrubber's) axis. */
  stepScale: StepScale;
  /** Follow the last this many steps (0: every step). */
  stepWindow: number;
  /** Frames per second of ▶ play. */
  playFps: number;
  tokens: TokenMode;
  /** Card ids in the order the person put them (empty: the default order). */
  cardOrder: string[];
  /** Collapsed card ids. */
  collapsed: string[];
}

export const DEFAULT_VIEW_STATE: ViewState = { probe: 0, layer: 0, scale: 'fixed', live: true, stepScale: 'linear', stepWindow: 0, playFps: DEFAULT_PLAY_FPS, tokens: 'auto', cardOrder: [], collapsed: [] };

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.length <= 200).slice(0, 500) : undefined);

const nat = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** Whatever getState() returns (possibly from an older version) as a valid ViewState. */
export function parseViewState(v: unknown): ViewState {
  const s: ViewState = { ...DEFAULT_VIEW_STATE, cardOrder: [], collapsed: [] };
  if (typeof v !== 'object' || v === null) return s;
  const o = v as Record<string, unknown>;
  if (typeof o['runId'] === 'string') s.runId = o['runId'];
  if (nat(o['probe'])) s.probe = o['probe'];
  if (nat(o['layer'])) s.layer = o['layer'];
  if (o['scale'] === 'fixed' || o['scale'] === 'auto') s.scale = o['scale'];
  if (typeof o['live'] === 'boolean') s.live = o['live'];
  if (nat(o['step'])) s.step = o['step'];
  if (nat(o['measureStep'])) s.measureStep = o['measureStep'];
  if (o['stepScale'] === 'linear' || o['stepScale'] === 'log') s.stepScale = o['stepScale'];
  if (STEP_WINDOWS.includes(o['stepWindow'] as number)) s.stepWindow = o['stepWindow'] as number;
  if (PLAY_SPEEDS.includes(o['playFps'] as number)) s.playFps = o['playFps'] as number;
  if (o['tokens'] === 'auto' || o['tokens'] === 'written' || o['tokens'] === 'compact') s.tokens = o['tokens'];
  s.cardOrder = strings(o['cardOrder']) ?? [];
  s.collapsed = strings(o['collapsed']) ?? [];
  const f = o['focus'];
  if (typeof f === 'object' && f !== null) {
    const stage = (f as Record<string, unknown>)['stage'];
    const head = (f as Record<string, unknown>)['head'];
    const st = STAGE_ORDER.find((x) => x === stage);
    if (st !== undefined && nat(head)) s.focus = { stage: st, head };
  }
  return s;
}
