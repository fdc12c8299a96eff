/**
 * What the run store's durability costs (part of `npm run bench`, not a test): the time of one
 * flush of 20 steps (scalars, identity, evals, frames, measurements) with fsync never and
 * always, and of one meta.json rewrite (a note edited while the run is recorded: temp file,
 * rename, and the space kept for the next one), on the system's temp folder and on the disk
 * holding the repository. Prints the figures; asserts nothing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunInfo, StepData } from '../../src/protocol/messages';
import { RunWriter } from '../../src/runs/store';

const ROOT = path.resolve(__dirname, '../../..');
const fx = require(path.join(ROOT, 'test/fixtures/store-writer.js')) as { makeStep(step: number): StepData; info: RunInfo };

const FLUSHES = 100;
const STEPS_PER_FLUSH = 20;
const META_WRITES = 50;

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `mean ${mean.toFixed(3)} ms, p50 ${at(0.5).toFixed(3)}, p95 ${at(0.95).toFixed(3)}`;
}

function measure(base: string, fsync: 'never' | 'always'): { flush: number[]; meta: number[] } {
  const top = fs.mkdtempSync(path.join(base, `al-store-bench-${fsync}-`));
  try {
    const w = RunWriter.open(path.join(top, 'run'), { name: 'bench', info: fx.info }, fx.info.config, { fsync, flushIntervalMs: 1e9, maxPendingBytes: 1 << 30 });
    const flush: number[] = [];
    for (let i = 0; i < FLUSHES; i++) {
      for (let s = 1; s <= STEPS_PER_FLUSH; s++) w.appendStep(fx.makeStep(i * STEPS_PER_FLUSH + s));
      const t0 = performance.now();
      w.flush();
      flush.push(performance.now() - t0);
    }
    const meta: number[] = [];
    for (let i = 0; i < META_WRITES; i++) {
      const t0 = performance.now();
      w.annotate({ note: `note ${i}` });
      meta.push(performance.now() - t0);
    }
    w.close('completed');
    return { flush, meta };
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
}

function main(): void {
  const places = [os.tmpdir(), path.join(ROOT, 'out')];
  for (const base of places) {
    for (const fsync of ['never', 'always'] as const) {
      const r = measure(base, fsync);
      console.log(`store, ${base}, fsync ${fsync}: flush of ${STEPS_PER_FLUSH} steps ${stats(r.flush)}; meta.json rewrite ${stats(r.meta)}`);
    }
  }
}

main();
