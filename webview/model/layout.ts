/**
 * What each heatmap shows, as plain data: for a Lu model one grid of probe sentences × token
 * positions (each row that sentence's own tokens); for an encoder, per layer the stages
 * (J logits, W weights, U mixed …) and in each every head's token × token map.
 */
import type { AttentionFrame, AttentionMapData, RunInfo } from '../../src/protocol/messages';

export type Stage = AttentionMapData['stage'];

/** Left to right as the computation runs: J → L → W → U. */
export const STAGE_ORDER: readonly Stage[] = ['logits', 'premix', 'weights', 'mixed'];

export const STAGE_LABEL: Record<Stage, { symbol: string; title: string }> = {
  logits: { symbol: 'J', title: 'logits (before mixing)' },
  premix: { symbol: 'L', title: 'mixed logits' },
  weights: { symbol: 'W', title: 'softmax weights' },
  mixed: { symbol: 'U', title: 'after post-softmax mix' },
};

/** n labels: the probe's tokens, cut or completed with "#i" when the map is wider. */
export function tokenLabels(tokens: readonly string[] | undefined, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(tokens?.[i] ?? `#${i}`);
  return out;
}

/** The probe selector's options: "#i" and the probe's first 8 tokens (… when it has more). */
export function probeOptions(info: RunInfo | undefined, n: number): { value: string; label: string }[] {
  return Array.from({ length: n }, (_, i) => {
    const toks = info?.probes[i]?.tokens ?? [];
    const text = toks.slice(0, 8).join(' ') + (toks.length > 8 ? ' …' : '');
    return { value: String(i), label: `#${i} ${text}`.trim() };
  });
}

/** Lu model: probe sentences as rows, token positions as columns. */
export interface LuGrid {
  rows: number;
  cols: number;
  /** (rows, cols) row-major; NaN past a sentence's end. */
  values: Float32Array;
  /** tokens[r] has one label per column of row r that holds a value. */
  tokens: string[][];
  /** Per row: "#p label". */
  rowLabels: string[];
  /** Largest weight in the grid (for the legend of an auto scale). */
  peak: number;
}

/** Probe p's first `weights` map (layer 0, head 0 for the Lu model). */
function luMap(maps: AttentionMapData[] | undefined): AttentionMapData | undefined {
  if (maps === undefined) return undefined;
  return maps.find((m) => m.stage === 'weights' && m.layer === 0 && m.head === 0) ?? maps[0];
}

export function luGrid(frame: AttentionFrame, info: RunInfo | undefined): LuGrid {
  const maps = frame.probes.map(luMap);
  const rows = maps.length;
  let cols = 0;
  for (const m of maps) if (m !== undefined) cols = Math.max(cols, m.cols);
  const values = new Float32Array(rows * cols).fill(NaN); // (rows, cols)
  const tokens: string[][] = [];
  const rowLabels: string[] = [];
  let peak = 0;
  maps.forEach((m, r) => {
    const probe = info?.probes[r];
    const label = probe !== undefined ? info?.classes[probe.label] ?? String(probe.label) : '';
    rowLabels.push(label === '' ? `#${r}` : `#${r} ${label}`);
    if (m === undefined || m.rows === 0) {
      tokens.push([]);
      return;
    }
    // A Lu map is (1, len): the query's attention over the sentence. Wider maps: first row.
    const len = m.cols;
    for (let c = 0; c < len; c++) {
      const v = m.data[c] as number;
      values[r * cols + c] = v;
      if (v > peak) peak = v;
    }
    tokens.push(tokenLabels(probe?.tokens, len));
  });
  return { rows, cols, values, tokens, rowLabels, peak };
}

/** One stage of one layer: its heads' maps in head order. */
export interface StageMaps {
  stage: Stage;
  heads: AttentionMapData[];
  /** Largest value (weights) or |value| (other stages) over the stage's heads. */
  peak: number;
}

export interface EncoderLayer {
  layer: number;
  stages: StageMaps[];
  /** Labels of the map's rows (queries) and columns (keys): the probe's tokens. */
  tokens: string[];
}

/** The layers present in a frame (for the layer selector), increasing. */
export function layersOf(frame: AttentionFrame | undefined): number[] {
  const set = new Set<number>();
  for (const maps of frame?.probes ?? []) for (const m of maps) set.add(m.layer);
  return [...set].sort((a, b) => a - b);
}

export function encoderLayer(frame: AttentionFrame, info: RunInfo | undefined, probe: number, layer: number): EncoderLayer {
  const maps = (frame.probes[probe] ?? []).filter((m) => m.layer === layer);
  const stages: StageMaps[] = [];
  for (const stage of STAGE_ORDER) {
    const heads = maps.filter((m) => m.stage === stage).sort((a, b) => a.head - b.head);
    if (heads.length === 0) continue;
    let peak = 0;
    for (const h of heads)
      for (let i = 0; i < h.data.length; i++) {
        const v = stage === 'weights' ? (h.data[i] as number) : Math.abs(h.data[i] as number);
        if (v > peak) peak = v;
      }
    stages.push({ stage, heads, peak });
  }
  let n = 0;
  for (const m of maps) n = Math.max(n, m.rows, m.cols);
  return { layer, stages, tokens: tokenLabels(info?.probes[probe]?.tokens, n) };
}

/** Index of the largest finite value (first on ties), -1 if none. */
export function argmax(values: ArrayLike<number>): number {
  let best = -1;
  let bv = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

/** The cell under a point of an element showing a rows × cols grid scaled to width × height. */
export function cellAt(x: number, y: number, width: number, height: number, rows: number, cols: number): { row: number; col: number } | undefined {
  if (width <= 0 || height <= 0 || x < 0 || y < 0 || x >= width || y >= height) return undefined;
  const row = Math.floor((y / height) * rows);
  const col = Math.floor((x / width) * cols);
  return row < rows && col < cols ? { row, col } : undefined;
}

/** Short number for labels: 3 significant digits, exponent when tiny or huge. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return Number(v.toPrecision(3)).toString();
}
