/**
 * `npm run bench`, first part: training speed of every model against its PyTorch twin.
 *
 * For each model, one optimisation step (forward, backward, update) on a fixed batch, one
 * core. The PyTorch twin (scripts/torch_twin.py, one thread) gets the same data and the same
 * initial weights; its first loss is checked against ours, which shows it is the same model.
 * Every formulation of the twin is timed once and the fastest one that does the model's own
 * work is raced against ours: blocks of our steps and of the twin's alternate (the twin runs
 * in a second process, each waits while the other runs), and each side's figure is the median
 * of its blocks after a warm-up. The table ends with the targets each ratio misses.
 *
 *   node dist/bench.js [--quick] [--only=<substring>] [--no-twin]
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Batch, Model } from '../src/trainer/core';
import type { LuModelConfig, OptimizerConfig, RunConfig } from '../src/trainer/config';
import { presetConfig } from '../src/trainer/presets';
import { buildTrainer } from '../src/trainer/setup';
import { gatherBatch, splitAsBatch } from '../src/trainer/data/dataset';
import { LuModel } from '../src/trainer/models/lu';
import { makeOptimizer, type Optimizer } from '../src/trainer/optim';
import { Rng } from '../src/trainer/rng';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
/** --no-twin: our side only (for profiling). */
const noTwin = process.argv.includes('--no-twin');
const BLOCKS = quick ? 3 : 7;
const BLOCK_MS = quick ? 120 : 250;

interface Case {
  name: string;
  /** What the row shows: sizes and batch. */
  what: string;
  /** Required ratio twin / ours. */
  target: number;
  build(): { model: Model; optimizer: Optimizer; batch: Batch; modelCfg: unknown; optCfg: OptimizerConfig };
}

function fromPreset(name: string, edit?: (c: RunConfig) => void): () => ReturnType<Case['build']> {
  return () => {
    const cfg = presetConfig(name);
    edit?.(cfg);
    cfg.training.epochs = 1_000_000;
    const t = buildTrainer(cfg);
    const bs = cfg.training.batchSize;
    const batch = bs > 0 ? gatherBatch(t.data.train, Array.from({ length: bs }, (_, i) => i)) : splitAsBatch(t.data.train);
    return { model: t.model, optimizer: t.optimizer, batch, modelCfg: cfg.model, optCfg: cfg.optimizer };
  };
}

/**
 * A real-text-sized Lu model on synthesised SST-2-like data: 17,000 words (Zipf-distributed, as
 * words in text are), 7,000 sentences of 1–52 tokens (mean about 19), two classes; dEmb = dKey
 * = 200, a trainable linear classifier, full-batch SGD. Deterministic.
 */
function realText(classifier: 'FC' | 'TC'): () => ReturnType<Case['build']> {
  return () => {
    const V = 17_000, N = 7_000, T = 52, C = 2;
    const rng = new Rng(2024);
    const cdf = new Float64Array(V - 2); // word ids 2 … V−1 (0 is padding, 1 unknown)
    let acc = 0;
    for (let r = 0; r < cdf.length; r++) cdf[r] = acc += 1 / (r + 2.7);
    const word = (): number => {
      const x = rng.uniform() * acc;
      let lo = 0, hi = cdf.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid]! < x) lo = mid + 1;
        else hi = mid;
      }
      return 2 + lo;
    };
    const tokens = new Int32Array(N * T); // (N, T)
    const lengths = new Int32Array(N);
    const labels = new Int32Array(N);
    for (let b = 0; b < N; b++) {
      const len = Math.max(1, Math.min(T, Math.round(19 + 9 * rng.normal())));
      lengths[b] = len;
      labels[b] = rng.int(C);
      for (let i = 0; i < len; i++) tokens[b * T + i] = word();
    }
    const modelCfg: LuModelConfig = {
      kind: 'lu', classifier, dEmb: 200, dKey: 200, queryStd: 0.3, embStd: 0.1, hidden: 10,
      trainable: { query: false, keys: true, embeddings: true },
    };
    const model = new LuModel(modelCfg, V, C, new Rng(1));
    const optCfg: OptimizerConfig = { kind: 'sgd', lr: 0.1, momentum: 0, weightDecay: 0 };
    return { model, optimizer: makeOptimizer(optCfg, model.params), batch: { B: N, T, tokens, lengths, labels }, modelCfg, optCfg };
  };
}

const CASES: Case[] = [
  { name: 'Attn-FC', what: 'paper size: 3,999 × 21 tokens, V 5,008, d 10, full batch', target: 8, build: fromPreset('lu-fc') },
  { name: 'Attn-TC', what: 'paper size, trainable linear classifier', target: 8, build: fromPreset('lu-tc') },
  { name: 'Attn-TL', what: 'paper size, 10-unit ReLU classifier', target: 8, build: fromPreset('lu-tl') },
  { name: 'Attn-TC text', what: 'real-text size: 7,000 × ≤52 tokens, V 17,000, d 200', target: 20, build: realText('TC') },
  { name: 'Attn-FC text', what: 'real-text size, frozen classifier', target: 20, build: realText('FC') },
  { name: 'encoder-mha-small-heads', what: 'batch 50 × 11, D 16, 8 heads of 2', target: 3, build: fromPreset('encoder-mha-small-heads') },
  { name: 'encoder-talking-heads-small-heads', what: 'batch 50 × 11, D 16, 8+8+8 heads of 2', target: 3, build: fromPreset('encoder-talking-heads-small-heads') },
  {
    name: 'encoder-2layer-mlp-d64',
    what: 'batch 50 × 11, D 64, 2 layers, 4 heads of 16, MLP 256, positions',
    target: 3,
    build: fromPreset('encoder-mha-small-heads', (c) => {
      c.model = { kind: 'encoder', dModel: 64, layers: 2, attention: { kind: 'multihead', heads: 4, dHead: 16 }, positions: true, mlpHidden: 256, dropout: 0, embStd: 0.1 };
    }),
  },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** ms per call of fn over n calls. */
function timeSteps(fn: () => void, n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return (performance.now() - t0) / n;
}

function findTorchPython(): string | undefined {
  for (const py of [process.env['TORCH_PYTHON'], 'python3', '/usr/bin/python3'].filter((x): x is string => !!x)) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return undefined;
}

/** The twin process: one JSON request, one JSON answer. */
class Twin {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';
  constructor(py: string) {
    this.proc = spawn(py, [path.join(__dirname, '..', 'scripts', 'torch_twin.py'), '--serve'], { stdio: 'pipe' });
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.lines = readline.createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  async ask<T>(cmd: object): Promise<T> {
    this.proc.stdin.write(JSON.stringify(cmd) + '\n');
    const r = await this.lines.next();
    if (r.done) throw new Error(`PyTorch twin ended: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const out = JSON.parse(r.value) as T & { error?: string };
    if (out.error) throw new Error(out.error);
    return out;
  }
  close(): void {
    this.proc.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n');
  }
}

/** Writes the batch and every param (our layout) for the twin; returns the spec's path. */
function writeSpec(dir: string, name: string, kind: string, model: Model, batch: Batch, modelCfg: unknown, optCfg: OptimizerConfig): string {
  const parts: { name: string; dtype: 'f32' | 'i32'; shape: number[]; data: Float32Array | Int32Array }[] = [
    { name: 'tokens', dtype: 'i32', shape: [batch.B, batch.T], data: batch.tokens.subarray(0, batch.B * batch.T) },
    { name: 'lengths', dtype: 'i32', shape: [batch.B], data: batch.lengths.subarray(0, batch.B) },
    { name: 'labels', dtype: 'i32', shape: [batch.B], data: batch.labels.subarray(0, batch.B) },
    ...model.params.map((p) => ({ name: `param:${p.name}`, dtype: 'f32' as const, shape: [...p.shape], data: p.w })),
  ];
  const arrays: Record<string, { dtype: string; shape: number[]; offset: number }> = {};
  let offset = 0;
  for (const p of parts) {
    arrays[p.name] = { dtype: p.dtype, shape: p.shape, offset };
    offset += p.data.byteLength;
  }
  const buf = Buffer.alloc(offset);
  for (const p of parts) Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).copy(buf, arrays[p.name]!.offset);
  const file = path.join(dir, name.replace(/[^a-z0-9-]/gi, '_'));
  fs.writeFileSync(`${file}.bin`, buf);
  const spec = { kind, model: modelCfg, optimizer: optCfg, bin: `${file}.bin`, arrays, params: model.params.map((p) => [p.name, p.trainable]) };
  fs.writeFileSync(`${file}.json`, JSON.stringify(spec));
  return `${file}.json`;
}

interface Row {
  c: Case;
  ours: number;
  twin?: number;
  twinVariant?: string;
  variants?: Record<string, number>;
  lossCheck?: number;
}

async function main(): Promise<void> {
  const py = noTwin ? undefined : findTorchPython();
  const twin = py ? new Twin(py) : undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-bench-'));
  const rows: Row[] = [];
  let torchVersion = '';
  try {
    for (const c of CASES) {
      if (only && !c.name.includes(only)) continue;
      const { model, optimizer, batch, modelCfg, optCfg } = c.build();
      const step = (): void => {
        model.trainBatch(batch);
        optimizer.step();
      };
      let spec = '';
      let ourLoss = NaN;
      if (twin) {
        spec = writeSpec(dir, c.name, model.kind, model, batch, modelCfg, optCfg);
        ourLoss = model.trainBatch(batch).lossSum / batch.B;
      }
      // Warm-up, then a block length of about BLOCK_MS.
      const warm = timeSteps(step, 5);
      const n = Math.max(3, Math.min(5000, Math.round(BLOCK_MS / Math.max(warm, 1e-3))));
      timeSteps(step, n);
      const row: Row = { c, ours: NaN };
      const ours: number[] = [];
      if (twin) {
        const loaded = await twin.ask<{ torch: string; variants: string[]; loss: Record<string, number> }>({ cmd: 'load', spec });
        torchVersion = loaded.torch;
        row.variants = {};
        for (const v of loaded.variants) {
          await twin.ask({ cmd: 'time', variant: v, steps: 2 });
          const t1 = (await twin.ask<{ ms: number }>({ cmd: 'time', variant: v, steps: 3 })).ms;
          const m = Math.max(3, Math.min(2000, Math.round(BLOCK_MS / t1)));
          row.variants[v] = (await twin.ask<{ ms: number }>({ cmd: 'time', variant: v, steps: m })).ms;
        }
        // The formulations that do the definition's work ('projected' does not; shown apart).
        const fair = loaded.variants.filter((v) => v !== 'projected');
        const best = fair.reduce((a, b) => (row.variants![a]! <= row.variants![b]! ? a : b));
        row.twinVariant = best;
        row.lossCheck = Math.max(...loaded.variants.map((v) => Math.abs(loaded.loss[v]! - ourLoss) / Math.abs(ourLoss)));
        const m = Math.max(3, Math.min(2000, Math.round(BLOCK_MS / row.variants[best]!)));
        const theirs: number[] = [];
        for (let b = 0; b < BLOCKS; b++) {
          ours.push(timeSteps(step, n));
          theirs.push((await twin.ask<{ ms: number }>({ cmd: 'time', variant: best, steps: m })).ms);
        }
        row.twin = median(theirs);
      } else {
        for (let b = 0; b < BLOCKS; b++) ours.push(timeSteps(step, n));
      }
      row.ours = median(ours);
      rows.push(row);
      process.stderr.write(`  ${c.name}: ${row.ours.toFixed(3)} ms${row.twin ? ` vs ${row.twin.toFixed(3)} ms` : ''}\n`);
    }
    // The step as the dashboard sees it, for reference: every measurement included.
    if (!only || 'Attn-FC'.includes(only)) {
      const cfg = presetConfig('lu-fc');
      cfg.training.epochs = 1_000_000;
      const t = buildTrainer(cfg);
      timeSteps(() => void t.trainStep(), 20);
      const ms = median(Array.from({ length: BLOCKS }, () => timeSteps(() => void t.trainStep(), 50)));
      console.log(`Attn-FC paper size, one step with every dashboard measurement (norms, identity, evals, captures): ${ms.toFixed(3)} ms`);
    }
  } finally {
    twin?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const f = (x: number | undefined, d = 2) => (x === undefined ? '-' : x.toFixed(d));
  console.log(
    twin
      ? `\nms per optimisation step (forward + backward + update), one core; PyTorch ${torchVersion}, 1 thread; medians of ${BLOCKS} alternating blocks\n`
      : '\nPyTorch not found (apt-get install python3-torch, or set TORCH_PYTHON): twins not timed\n',
  );
  const header = ['model', 'shape', 'ours ms', 'PyTorch ms (formulation)', 'speed-up', 'target', '', 'projected twin ms (×)', 'first-loss match'];
  const table = rows.map((r) => {
    const ratio = r.twin !== undefined ? r.twin / r.ours : undefined;
    const proj = r.variants?.['projected'];
    return [
      r.c.name,
      r.c.what,
      f(r.ours, 3),
      r.twin !== undefined ? `${f(r.twin, 2)} (${r.twinVariant})` : '-',
      ratio !== undefined ? `${f(ratio, 1)}×` : '-',
      `≥ ${r.c.target}×`,
      ratio === undefined ? '' : ratio >= r.c.target ? 'met' : 'MISSED',
      proj !== undefined ? `${f(proj, 2)} (${f(proj / r.ours, 1)}×)` : '-',
      r.lossCheck !== undefined ? `${r.lossCheck.toExponential(1)} rel.` : '-',
    ];
  });
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const t of table) console.log(`| ${t.join(' | ')} |`);
  const missed = rows.filter((r) => r.twin !== undefined && r.twin / r.ours < r.c.target);
  console.log(
    missed.length === 0
      ? rows.some((r) => r.twin !== undefined) ? '\nevery target met' : ''
      : `\ntargets missed: ${missed.map((r) => `${r.c.name} ${(r.twin! / r.ours).toFixed(1)}× (needs ${r.c.target}×)`).join('; ')}`,
  );
  const twinVariants = rows.filter((r) => r.variants).map((r) => `${r.c.name}: ${Object.entries(r.variants!).map(([v, ms]) => `${v} ${ms.toFixed(2)}`).join(', ')}`);
  if (twinVariants.length) console.log(`\nevery twin formulation, ms per step (one timed block each):\n  ${twinVariants.join('\n  ')}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
