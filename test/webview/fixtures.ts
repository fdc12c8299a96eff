/**
 * Recorded-looking host→webview messages for the webview tests, built deterministically:
 * a Lu run (8 probe sentences of 11 tokens, one topic word each, the topic word's attention
 * rising over training) and a talking-heads encoder run (1 layer, 2 heads, stages J/W/U).
 */
import { emptyMeasures } from '../../src/protocol/measures';
import { PROTOCOL_VERSION } from '../../src/protocol/messages';
import type { AttentionFrame, AttentionMapData, ConfigDifference, EvalPoint, HostToWebview, IdentityPoint, RunInfo, RunStatus, ScalarChunk } from '../../src/protocol/messages';

/** A tiny deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const word = (r: () => number): string => Array.from({ length: 10 }, () => String.fromCharCode(97 + Math.floor(r() * 26))).join('');

export interface RunFixture {
  runId: string;
  info: RunInfo;
  /** Every captureEvery steps and step 1. */
  captureEvery: number;
  evalEvery: number;
  frame(step: number): AttentionFrame;
  snapshot(upTo: number, status?: RunStatus): HostToWebview;
  appended(from: number, to: number): HostToWebview;
  attentionSteps(from: number, to: number): number[];
  loss(step: number): number;
}

function scalars(from: number, to: number, groups: number, loss: (s: number) => number, acc: (s: number) => number, grad: (s: number, g: number) => number): ScalarChunk {
  const n = Math.max(0, to - from + 1);
  const step = new Float64Array(n);
  const l = new Float64Array(n);
  const a = new Float64Array(n);
  const g = new Float64Array(n * groups); // (n, groups)
  const w = new Float64Array(n * groups); // (n, groups)
  for (let i = 0; i < n; i++) {
    const s = from + i;
    step[i] = s;
    l[i] = loss(s);
    a[i] = acc(s);
    for (let k = 0; k < groups; k++) {
      g[i * groups + k] = grad(s, k);
      w[i * groups + k] = 1 + 0.01 * s * (k + 1);
    }
  }
  return { n, step, loss: l, trainAccuracy: a, gradNorms: g, weightNorms: w };
}

function base(
  f: Omit<RunFixture, 'snapshot' | 'appended' | 'attentionSteps'> & { groups: number; acc(s: number): number; grad(s: number, g: number): number; identity?(s: number): IdentityPoint; topicAttention?(s: number): number },
): RunFixture {
  const attentionSteps = (from: number, to: number): number[] => {
    const out: number[] = [];
    for (let s = Math.max(1, from); s <= to; s++) if (s === 1 || s % f.captureEvery === 0) out.push(s);
    return out;
  };
  const evals = (from: number, to: number): EvalPoint[] => {
    const out: EvalPoint[] = [];
    for (let s = Math.max(1, from); s <= to; s++)
      if (s % f.evalEvery === 0) {
        const p: EvalPoint = { step: s, validationLoss: f.loss(s) * 1.05, validationAccuracy: Math.min(1, f.acc(s) * 0.97), testLoss: f.loss(s) * 1.08, testAccuracy: Math.min(1, f.acc(s) * 0.96) };
        if (f.info.modelKind === 'lu') p.topicAttention = f.topicAttention?.(s) ?? topicWeight(s, 0.8);
        out.push(p);
      }
    return out;
  };
  const ids = (from: number, to: number): IdentityPoint[] => {
    const out: IdentityPoint[] = [];
    if (f.identity === undefined) return out;
    for (let s = Math.max(1, from); s <= to; s++) if (s === 1 || s % f.captureEvery === 0) out.push(f.identity(s));
    return out;
  };
  return {
    ...f,
    attentionSteps,
    snapshot(upTo, status = 'running') {
      const steps = attentionSteps(1, upTo);
      const last = steps[steps.length - 1];
      return {
        type: 'snapshot',
        protocolVersion: PROTOCOL_VERSION,
        snapshot: {
          runId: f.runId,
          status,
          info: f.info,
          scalars: scalars(1, upTo, f.groups, f.loss, f.acc, f.grad),
          evals: evals(1, upTo),
          attentionSteps: steps,
          latestAttention: last === undefined ? undefined : f.frame(last),
          identity: ids(1, upTo), measures: emptyMeasures(),
        },
      };
    },
    appended(from, to) {
      const steps = attentionSteps(from, to);
      const last = steps[steps.length - 1];
      return {
        type: 'stepsAppended',
        runId: f.runId,
        scalars: scalars(from, to, f.groups, f.loss, f.acc, f.grad),
        evals: evals(from, to),
        attentionSteps: steps,
        ...(last === undefined ? {} : { latestAttention: f.frame(last) }),
        identity: ids(from, to), measures: emptyMeasures(),
      };
    },
  };
}

/** Topic-word attention at a step: from 1/11 rising to ~0.9·peak (a sigmoid around step 150). */
function topicWeight(step: number, peak: number): number {
  const r = 1 / (1 + Math.exp(-(step - 150) / 35));
  return 1 / 11 + (peak - 1 / 11) * r;
}

/**
 * A Lu synthetic-task run: 8 probes of 11 tokens (m = 10), 4 topics × 2 topic words. With
 * `keysFrozen` the keys are not trained: attention stays uniform (1/11 on every token) and the
 * loss falls more slowly; `seed` only changes the config. With `longProbe` probe 0 is a long
 * sentence of that many tokens, its last one a long word (`LONG_WORD`).
 */
export const LONG_WORD = 'antidisestablishmentarianism_and_more';

export function luRun(runId = 'lu-run-1', totalSteps = 1500, opts: { keysFrozen?: boolean; seed?: number; longProbe?: number } = {}): RunFixture & { topicPos: number[] } {
  const frozen = opts.keysFrozen === true;
  const r = rng(42);
  const topicWords = Array.from({ length: 8 }, (_, i) => `topic${Math.floor(i / 2)}_${'ab'[i % 2]}`);
  const topicPos = Array.from({ length: 8 }, (_, p) => (p * 3 + 1) % 11);
  const lens = Array.from({ length: 8 }, (_, p) => (p === 0 && opts.longProbe !== undefined ? opts.longProbe : 11));
  const probes = Array.from({ length: 8 }, (_, p) => ({
    tokens: Array.from({ length: lens[p] as number }, (_, j) => (j === topicPos[p] ? (topicWords[p] as string) : p === 0 && opts.longProbe !== undefined && j === (lens[p] as number) - 1 ? LONG_WORD : word(r))),
    label: Math.floor(p / 2),
  }));
  const info: RunInfo = {
    name: frozen ? 'Lu · Attn-FC · synthetic (keys frozen)' : 'Lu · Attn-FC · synthetic (fast)',
    modelKind: 'lu',
    groups: ['keys', 'embeddings'],
    totalSteps,
    stepsPerEpoch: 1,
    classes: ['topic 0', 'topic 1', 'topic 2', 'topic 3'],
    probes,
    topicWords,
    m: 10,
    config: { model: { kind: 'lu', classifier: 'fc', trainable: { keys: !frozen, values: true } }, data: { kind: 'synthetic' }, training: { seed: opts.seed ?? 1, steps: totalSteps } },
  };
  const frame = (step: number): AttentionFrame => ({
    step,
    probes: probes.map((_, p) => {
      // Probe p's topic word takes a (probe-dependent) share; the rest is spread with a little jitter.
      const T = lens[p] as number;
      const a = frozen ? 1 / T : topicWeight(step, 0.55 + 0.05 * p);
      const data = new Float32Array(T); // (1, T)
      let rest = 0;
      for (let j = 0; j < T; j++) if (j !== topicPos[p]) rest += data[j] = frozen ? 1 : 1 + 0.2 * Math.sin(step * 0.01 + j * 1.7 + p);
      for (let j = 0; j < T; j++) data[j] = j === topicPos[p] ? a : ((data[j] as number) / rest) * (1 - a);
      const map: AttentionMapData = { layer: 0, head: 0, stage: 'weights', rows: 1, cols: T, data };
      return [map];
    }),
  });
  const loss = frozen
    ? (s: number): number => Math.log(4) * (0.6 + 0.4 / (1 + Math.exp((s - 400) / 120))) + 0.01 * Math.sin(s)
    : (s: number): number => Math.log(4) * (0.25 + 0.75 / (1 + Math.exp((s - 200) / 60))) + 0.01 * Math.sin(s);
  const identity = (s: number): IdentityPoint => {
    const k = topicWords.length;
    const score = new Float64Array(k);
    const measured = new Float64Array(k);
    const theory = new Float64Array(k);
    const relError = new Float64Array(k);
    for (let j = 0; j < k; j++) {
      const sc = 4 * (1 - Math.exp(-s / (300 + 20 * j)));
      const th = Math.sqrt(Math.max(0, 2 * (sc + Math.expm1(sc) / 10)));
      score[j] = sc;
      theory[j] = th;
      measured[j] = th * (1 + 0.01 * Math.sin(s + j));
      relError[j] = th > 0 ? Math.abs(measured[j]! - th) / th : 0;
    }
    return { step: s, score, measured, theory, relError };
  };
  return {
    ...base({
      runId,
      info,
      captureEvery: 10,
      evalEvery: 25,
      groups: 2,
      frame,
      loss,
      acc: frozen ? (s) => Math.min(1, 0.25 + 0.45 / (1 + Math.exp(-(s - 400) / 120))) : (s) => Math.min(1, 0.25 + 0.75 / (1 + Math.exp(-(s - 180) / 40))),
      // Frozen keys get no gradient.
      grad: (s, g) => (g === 0 ? (frozen ? 0 : 1e-3) : 1e-6) * (1 + 50 * Math.exp(-((s - 150) ** 2) / 5000)),
      identity,
      ...(frozen ? { topicAttention: () => 1 / 11 } : {}),
    }),
    topicPos,
  };
}

/**
 * A talking-heads encoder run: 1 layer, Hk = H = Hv = 2 (or `heads`), three probe sentences
 * (with `longProbe`, a fourth of that many tokens).
 */
export function encoderRun(runId = 'enc-run-1', opts: { heads?: number; longProbe?: number } = {}): RunFixture & { peak: { row: number; col: number } } {
  const H = opts.heads ?? 2;
  const probes = [
    { tokens: ['the', 'film', 'was', 'not', 'good', 'at', 'all'], label: 0 },
    { tokens: ['a', 'warm', 'and', 'funny', 'story'], label: 1 },
    { tokens: ['i', 'loved', 'every', 'minute', 'of', 'it'], label: 1 },
  ];
  if (opts.longProbe !== undefined) {
    const r = rng(7);
    probes.push({ tokens: Array.from({ length: opts.longProbe }, (_, j) => (j === opts.longProbe! - 1 ? LONG_WORD : word(r))), label: 0 });
  }
  const info: RunInfo = {
    name: 'Encoder · talking heads · sst-tiny',
    modelKind: 'encoder',
    groups: ['embeddings', 'layer0.attention', 'layer0.mix', 'classifier'],
    totalSteps: 400,
    stepsPerEpoch: 10,
    classes: ['negative', 'positive'],
    probes,
    config: { model: { kind: 'encoder', attention: 'talking-heads', layers: 1, heads: H } },
  };
  // Head 0 of probe 0 learns to look from "good" (row 4) at "not" (col 3).
  const peak = { row: 4, col: 3 };
  // The post-softmax mix (H × H): the 2-head one, or near the identity for more heads.
  const Pw = H === 2 ? [
    [0.9, -0.4],
    [0.3, 1.1],
  ] : Array.from({ length: H }, (_, i) => Array.from({ length: H }, (_, j) => (i === j ? 1 : 0.1 * Math.sin(i + 2 * j))));
  const frame = (step: number): AttentionFrame => ({
    step,
    probes: probes.map((p, b) => {
      const T = p.tokens.length;
      const J: Float32Array[] = [];
      const W: Float32Array[] = [];
      for (let h = 0; h < H; h++) {
        const j = new Float32Array(T * T); // (T, T)
        for (let n = 0; n < T; n++)
          for (let m = 0; m < T; m++) j[n * T + m] = 0.3 * Math.sin(n * 1.3 + m * 0.7 + h + b) + (h === 0 && b === 0 && n === peak.row && m === peak.col ? (4 * step) / 400 + 1 : 0) + (h === 1 && n === m ? 1.5 : 0);
        const w = new Float32Array(T * T); // (T, T) softmax over keys
        for (let n = 0; n < T; n++) {
          let mx = -Infinity;
          for (let m = 0; m < T; m++) mx = Math.max(mx, j[n * T + m]!);
          let sum = 0;
          for (let m = 0; m < T; m++) sum += w[n * T + m] = Math.exp(j[n * T + m]! - mx);
          for (let m = 0; m < T; m++) w[n * T + m] = w[n * T + m]! / sum;
        }
        J.push(j);
        W.push(w);
      }
      const U = Array.from({ length: H }, (_, v) => {
        const u = new Float32Array(T * T); // (T, T)
        for (let i = 0; i < T * T; i++) for (let h = 0; h < H; h++) u[i] = u[i]! + W[h]![i]! * Pw[h]![v]!;
        return u;
      });
      const maps: AttentionMapData[] = [];
      const add = (stage: AttentionMapData['stage'], ms: Float32Array[]): void => ms.forEach((data, head) => maps.push({ layer: 0, head, stage, rows: T, cols: T, data }));
      add('logits', J);
      add('weights', W);
      add('mixed', U);
      return maps;
    }),
  });
  return {
    ...base({
      runId,
      info,
      captureEvery: 20,
      evalEvery: 50,
      groups: 4,
      frame,
      loss: (s) => 0.7 * Math.exp(-s / 150) + 0.2,
      acc: (s) => 0.5 + 0.45 * (1 - Math.exp(-s / 100)),
      grad: (s, g) => 0.5 * Math.exp(-s / 200) * (g + 1),
    }),
    peak,
  };
}

/** The config fields whose values differ between runs, as the host computes them (dotted paths, compact JSON, `—` when absent). */
export function configDiff(configs: unknown[]): ConfigDifference[] {
  const flat = configs.map((c) => {
    const out = new Map<string, string>();
    const walk = (v: unknown, path: string): void => {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        for (const [k, x] of Object.entries(v)) walk(x, path === '' ? k : `${path}.${k}`);
      } else out.set(path, JSON.stringify(v));
    };
    walk(c, '');
    return out;
  });
  const paths = [...new Set(flat.flatMap((m) => [...m.keys()]))].sort();
  return paths.map((path) => ({ path, values: flat.map((m) => m.get(path) ?? '—') })).filter((d) => new Set(d.values).size > 1);
}

/** The host's reply to `ready` in a compare view: each run's snapshot at its step, and the config diff. */
export function compareSnapshot(runs: { run: RunFixture; upTo: number; status?: RunStatus }[]): HostToWebview {
  const snaps = runs.map(({ run, upTo, status }) => {
    const m = run.snapshot(upTo, status);
    if (m.type !== 'snapshot') throw new Error('not a snapshot');
    return m.snapshot;
  });
  return { type: 'compareSnapshot', protocolVersion: PROTOCOL_VERSION, runs: snaps, configDiff: configDiff(runs.map((r) => r.run.info.config)) };
}
