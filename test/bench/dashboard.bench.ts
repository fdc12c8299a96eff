/**
 * Dashboard and host benchmark (part of `npm run bench`, not a test): a real trainer process
 * at full speed (fast preset, attention captured every step for 8 probes) streams through the
 * host's RunManager to the built dashboard page in Chromium. Measures: steps recorded vs
 * steps trained (gaps), dashboard repaints per second while streaming and the cost of one
 * repaint, step-to-screen latency (trainer's clock at the step → page painted it; p50/p95),
 * how many steps a pause lets through, and host memory per step over a 1,000,000-step scalar
 * stream.
 */
import * as path from 'node:path';
import { RunManager } from '../../src/runs/runManager';
import { RunHistory } from '../../src/runs/runHistory';
import { presetConfig } from '../../src/trainer/presets';
import type { HostToWebview } from '../../src/protocol/messages';
import { PROTOCOL_VERSION } from '../../src/protocol/messages';
import { encode, launchBrowser, openPage, startServer } from '../webview/harness';

const ROOT = path.resolve(__dirname, '../../..');
const quick = process.argv.includes('--quick');

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function streamBench(): Promise<Record<string, string>> {
  const server = await startServer();
  const browser = await launchBrowser();
  const { page } = await openPage(browser, server.origin, { width: 1400, height: 1000 });
  const manager = new RunManager({ trainerPath: path.join(ROOT, 'dist/trainer.js'), updateIntervalMs: 33 });
  const cfg = presetConfig('lu-fc-fast');
  cfg.training.epochs = quick ? 6000 : 20000;
  cfg.training.captureEvery = 1;
  cfg.training.probes = 8;
  const wall = new Map<number, number>();
  const run = manager.launch({ config: cfg, baseDir: ROOT });
  run.process.on('message', (m) => {
    if (m.type === 'stepCompleted' && m.data.wallTime !== undefined) wall.set(m.data.step, m.data.wallTime);
  });
  const latencies: number[] = [];
  let delivering = Promise.resolve();
  const deliver = (msg: HostToWebview, steps: Float64Array | undefined) => {
    delivering = delivering.then(async () => {
      const paintedAt = await page.evaluate(async (encoded) => {
        (window as unknown as { __deliver(m: unknown): void }).__deliver(encoded);
        await new Promise((r) => setTimeout(r, 0));
        await (window as unknown as { __attentionLens: { nextRender(): Promise<void> } }).__attentionLens.nextRender();
        return Date.now();
      }, encode(msg));
      if (steps) for (const s of steps) {
        const w = wall.get(s);
        if (w !== undefined) latencies.push(paintedAt - w);
      }
    });
  };
  // The webview's ready → snapshot, then every coalesced update, as the extension's bridge does.
  deliver({ type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: run.snapshot() }, undefined);
  manager.on('runUpdate', (r, msg) => r.id === run.id && deliver(msg, msg.scalars.step));
  manager.on('runChanged', (r) => r.id === run.id && deliver(r.statusMessage(), undefined));

  // Let it stream, count repaints.
  await new Promise((r) => setTimeout(r, 1500));
  const renders0 = await page.evaluate(() => (window as unknown as { __attentionLens: { renders: number } }).__attentionLens.renders);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, quick ? 2000 : 5000));
  const renders1 = await page.evaluate(() => (window as unknown as { __attentionLens: { renders: number } }).__attentionLens.renders);
  const fps = ((renders1 - renders0) * 1000) / (Date.now() - t0);
  const stepsPerSec = run.step / ((Date.now() - run.startedAt) / 1000);

  // Pause: how many steps get through after the host sends it.
  const sentAt = run.step;
  run.pause();
  await new Promise<void>((resolve) => {
    const off = manager.on('runChanged', (r) => {
      if (r.id === run.id && r.status === 'paused') {
        off();
        resolve();
      }
    });
  });
  await new Promise((r) => setTimeout(r, 300));
  const pausedAt = run.step;
  run.resume();
  await run.finished;
  await delivering;
  // Cost of one full repaint of the dashboard with everything on it.
  const repaintMs = await page.evaluate(() => {
    const al = (window as unknown as { __attentionLens: { flush(): void; store: { version: number } } }).__attentionLens;
    const t = performance.now();
    for (let i = 0; i < 20; i++) {
      al.store.version++;
      al.flush();
    }
    return (performance.now() - t) / 20;
  });
  const h = run.history;
  let gaps = 0;
  const sc = h.scalars();
  for (let i = 0; i < sc.n; i++) if (sc.step[i] !== i + 1) gaps++;
  const pageSteps = await page.evaluate(() => (window as unknown as { __attentionLens: { store: { lastStep: number } } }).__attentionLens.store.lastStep);
  await browser.close();
  await server.close();
  manager.disposeAll();
  return {
    'steps trained / recorded by the host / gaps': `${run.info?.totalSteps} / ${sc.n} / ${gaps}`,
    'trainer speed while streaming (steps/s, attention every step)': stepsPerSec.toFixed(0),
    'dashboard repaints per second while streaming': fps.toFixed(1),
    'cost of one full dashboard repaint (ms)': repaintMs.toFixed(2),
    'step → painted latency p50 / p95 (ms)': `${pct(latencies, 50).toFixed(0)} / ${pct(latencies, 95).toFixed(0)}  (${latencies.length} steps)`,
    'steps after pause was sent (host view)': `${pausedAt - sentAt}`,
    'dashboard shows last step': `${pageSteps}`,
  };
}

function memoryBench(): Record<string, string> {
  const steps = 1_000_000;
  const groups = 4;
  const h = new RunHistory();
  h.setInfo({ name: 'mem', modelKind: 'lu', groups: ['embeddings', 'keys', 'query', 'classifier'], totalSteps: steps, stepsPerEpoch: 1, classes: ['a', 'b', 'c', 'd'], probes: [], config: {} });
  const g = new Float64Array(groups);
  const w = new Float64Array(groups);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const m0 = process.memoryUsage();
  const samples: string[] = [];
  for (let s = 1; s <= steps; s++) {
    g.fill(1 / s);
    w.fill(s);
    h.appendStep({ step: s, epoch: s, loss: 1 / s, trainAccuracy: 1, gradNorms: g, weightNorms: w, stepMs: 0.1 });
    if (s % 250_000 === 0) {
      gc?.();
      const m = process.memoryUsage();
      samples.push(`${s / 1000}k: ${((m.heapUsed + m.arrayBuffers - m0.heapUsed - m0.arrayBuffers) / 1e6).toFixed(1)} MB`);
    }
  }
  gc?.();
  const m1 = process.memoryUsage();
  const grown = m1.heapUsed + m1.arrayBuffers - m0.heapUsed - m0.arrayBuffers;
  return {
    'host memory for 1,000,000 steps of scalars (heap + array buffers)': `${(grown / 1e6).toFixed(1)} MB = ${(grown / steps).toFixed(1)} B/step (RunHistory says ${(h.scalarBytes / steps).toFixed(1)} B/step)`,
    'growth along the way': samples.join(', '),
  };
}

async function main(): Promise<void> {
  const rows = { ...(await streamBench()), ...memoryBench() };
  const w = Math.max(...Object.keys(rows).map((k) => k.length));
  for (const [k, v] of Object.entries(rows)) console.log(`${k.padEnd(w)}  ${v}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
