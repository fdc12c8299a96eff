/**
 * `npm run bench`: training speed. Paper-size Attn-FC, one full-batch epoch (forward,
 * backward, SGD update) on one core; target ≤ 3 ms. Where a Python with PyTorch is found,
 * the PyTorch twin (scripts/torch_twin.py) is timed in the same run, one thread, and the
 * ratio printed. Figures are medians of 5 blocks after a warm-up.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { presetConfig } from '../src/trainer/presets';
import { buildTrainer } from '../src/trainer/setup';
import { splitAsBatch } from '../src/trainer/data/dataset';

const quick = process.argv.includes('--quick');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeBlocks(fn: () => void, perBlock: number, blocks = 5, warmup = 100): number {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let b = 0; b < blocks; b++) {
    const t0 = performance.now();
    for (let i = 0; i < perBlock; i++) fn();
    out.push((performance.now() - t0) / perBlock);
  }
  return median(out);
}

function benchLu(preset: string, epochs: number): { epochMs: number; stepMs: number } {
  const cfg = presetConfig(preset);
  cfg.training.epochs = 1_000_000;
  const t = buildTrainer(cfg);
  const batch = splitAsBatch(t.data.train);
  const epochMs = timeBlocks(() => {
    t.model.trainBatch(batch);
    t.optimizer.step();
  }, epochs);
  const stepMs = timeBlocks(() => void t.trainStep(), epochs, 5, 20);
  return { epochMs, stepMs };
}

function findTorchPython(): string | undefined {
  for (const py of [process.env['TORCH_PYTHON'], 'python3', '/usr/bin/python3'].filter((x): x is string => !!x)) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return undefined;
}

const n = quick ? 50 : 200;
const rows: [string, string][] = [];
const fc = benchLu('lu-fc', n);
rows.push(['Attn-FC paper size: ms per epoch (forward+backward+update)', fc.epochMs.toFixed(3)]);
rows.push(['Attn-FC paper size: ms per step incl. all dashboard measurements', fc.stepMs.toFixed(3)]);
const tc = benchLu('lu-tc', Math.ceil(n / 2));
rows.push(['Attn-TC paper size: ms per epoch', tc.epochMs.toFixed(3)]);
const tl = benchLu('lu-tl', Math.ceil(n / 4));
rows.push(['Attn-TL paper size: ms per epoch', tl.epochMs.toFixed(3)]);
for (const name of ['encoder-mha-small-heads', 'encoder-talking-heads-small-heads']) {
  const cfg = presetConfig(name);
  cfg.training.epochs = 100000;
  const t = buildTrainer(cfg);
  rows.push([`${name}: ms per step (batch ${cfg.training.batchSize})`, timeBlocks(() => void t.trainStep(), quick ? 10 : 40, 5, 20).toFixed(3)]);
}

const py = findTorchPython();
let verdict = '';
if (py) {
  const r = spawnSync(py, [path.join(__dirname, '..', 'scripts', 'torch_twin.py'), '1', String(quick ? 50 : 200)], { encoding: 'utf8' });
  if (r.status === 0) {
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { torch: string; msPerEpoch: number };
    rows.push([`PyTorch ${out.torch} twin, 1 thread: ms per epoch`, out.msPerEpoch.toFixed(3)]);
    rows.push(['speed-up over PyTorch (×)', (out.msPerEpoch / fc.epochMs).toFixed(1)]);
  } else {
    verdict += `PyTorch twin failed: ${r.stderr.trim().split('\n').at(-1)}\n`;
  }
} else {
  verdict += 'PyTorch not found (apt-get install python3-torch, or set TORCH_PYTHON) — twin not timed\n';
}
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
console.log(verdict + `target ≤ 3 ms per Attn-FC epoch: ${fc.epochMs <= 3 ? 'met' : 'NOT met'} (${fc.epochMs.toFixed(3)} ms)`);
