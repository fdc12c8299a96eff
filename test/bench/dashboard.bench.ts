/**
 * Dashboard and host benchmark (part of `npm run bench`, not a test): a real trainer process
 * at full speed (fast preset, attention captured every step for 8 probes) streams through the
 * host's RunManager to the built dashboard page in Chromium. Measures: steps recorded vs
 * steps trained (gaps), dashboard repaints per second while streaming and the cost of one
 * repaint, step-to-screen latency (trainer's clock at the step → page painted it; p50/p95),
 * how many steps a pause lets through, and host memory per step over a 1,000,000-step scalar
 * stream.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunManager } from '../../src/runs/runManager';
import { RunHistory } from '../../src/runs/runHistory';
import { RunRecorder } from '../../src/runs/runRecorder';
import { presetConfig } from '../../src/trainer/presets';
import { encode, launchBrowser, openPage, startServer } from '../webview/harness';
import { luRun } from '../webview/fixtures';

const ROOT = path.resolve(__dirname, '../../..');
const quick = process.argv.includes('--quick');

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Host side: a real trainer process through RunManager, no browser. */
async function hostBench(): Promise<Record<string, string>> {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-bench-runs-'));
  const manager = new RunManager({ trainerPath: path.join(ROOT, 'dist/trainer.js'), runsDir });
  const cfg = presetConfig('lu-fc-fast');
  cfg.training.epochs = quick ? 20000 : 60000;
  cfg.training.captureEvery = 1;
  cfg.training.probes = 8;
  const wall = new Map<number, number>();
  const run = manager.launch({ config: cfg, baseDir: ROOT });
  let pausedAt: number | undefined;
  run.process.on('message', (m) => {
    if (m.type === 'stepCompleted' && m.data.wallTime !== undefined) wall.set(m.data.step, m.data.wallTime);
    if (m.type === 'paused') pausedAt = m.step;
  });
  const latencies: number[] = [];
  const updateSizes: number[] = [];
  manager.on('runUpdate', (r, msg) => {
    if (r.id !== run.id) return;
    const now = Date.now();
    updateSizes.push(msg.scalars.n);
    for (const s of msg.scalars.step) {
      const w = wall.get(s);
      if (w !== undefined) latencies.push(now - w);
    }
  });
  await new Promise((r) => setTimeout(r, 1000));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const s0 = run.step;
  await new Promise((r) => setTimeout(r, quick ? 2000 : 5000));
  const cpu = process.cpuUsage(cpu0);
  const hostCpu = (cpu.user + cpu.system) / 1000 / (performance.now() - t0);
  const stepsPerSec = ((run.step - s0) * 1000) / (performance.now() - t0);
  const pauses: number[] = [];
  const afterReceipt: number[] = [];
  for (let i = 0; i < 5; i++) {
    const sentAt = run.step;
    pausedAt = undefined;
    run.pause();
    await new Promise<void>((resolve) => {
      const off = manager.on('runChanged', (r) => {
        if (r.id === run.id && r.status !== 'running') {
          off();
          resolve();
        }
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    pauses.push(run.step - sentAt);
    // The trainer's `paused` names the step it was at when the pause arrived; any step after it would be a step the pause let through.
    afterReceipt.push(pausedAt === undefined ? NaN : run.step - pausedAt);
    run.resume();
    await new Promise((r) => setTimeout(r, 300));
  }
  run.stop();
  await run.finished;
  const sc = run.snapshot().scalars;
  let gaps = 0;
  for (let i = 0; i < sc.n; i++) if (sc.step[i] !== i + 1) gaps++;
  manager.disposeAll();
  fs.rmSync(runsDir, { recursive: true, force: true });
  return {
    'host: steps trained / recorded / gaps': `${run.step} / ${sc.n} / ${gaps}`,
    'host: trainer speed (steps/s, 8 probes captured every step)': stepsPerSec.toFixed(0),
    'host: the host process\'s CPU while it streams (share of one core; µs per step)': `${(hostCpu * 100).toFixed(0)} % (${((hostCpu * 1e6) / stepsPerSec).toFixed(0)} µs)`,
    'host: trainer step → update leaves the host, p50 / p95 (ms)': `${pct(latencies, 50).toFixed(0)} / ${pct(latencies, 95).toFixed(0)}`,
    'host: updates per second / steps per update (median)': `${(updateSizes.length / ((Date.now() - run.startedAt) / 1000)).toFixed(1)} / ${pct(updateSizes, 50)}`,
    'pause: steps trained after the trainer received it (5 pauses)': afterReceipt.join(', '),
    'pause: steps already in flight when the host sent it (5 pauses)': pauses.join(', '),
  };
}

/**
 * Page side: the built dashboard in Chromium fed from inside the page with updates of 70 steps
 * (attention every step) every `intervalMs` — 25 ms is the host's rate (at most 40 updates a second), 16 ms shows the
 * headroom — on top of a run that already has `base` steps (100,000; and 1,000,000, where a
 * redraw must not cost in proportion to the run's length).
 */
async function pageBench(intervalMs: number, base = 100_000): Promise<Record<string, string>> {
  const server = await startServer();
  const browser = await launchBrowser();
  const { page } = await openPage(browser, server.origin, { width: 1400, height: 1000 });
  const run = luRun('bench', 2_000_000);
  const deliver = (m: unknown) => page.evaluate((x) => (window as unknown as { __deliver(x: unknown): void }).__deliver(x), m);
  const first = Math.min(base, 100_000);
  await deliver(encode(run.snapshot(first)));
  for (let from = first + 1; from <= base; from += 50_000) await deliver(encode(run.appended(from, Math.min(base, from + 49_999))));
  const per = 70;
  const updates = (quick ? 150 : 450);
  const msgs: unknown[] = [];
  for (let i = 0; i < updates; i++) {
    const from = base + 1 + i * per;
    const m = run.appended(from, from + per - 1) as { latestAttention?: unknown };
    m.latestAttention = run.frame(from + per - 1);
    msgs.push(encode(m));
  }
  const r = await page.evaluate(async ([encoded, intervalMs]) => {
    type W = { __decodeForBench?: unknown; __attentionLens: { renders: number; store: { lastStep: number }; nextRender(): Promise<void> } };
    const w = window as unknown as W & { __deliver(x: unknown): void };
    const al = w.__attentionLens;
    // Decode once up front (the harness's __deliver decodes and posts); here we post pre-decoded copies.
    const decoded: unknown[] = [];
    const orig = window.postMessage.bind(window);
    (window as unknown as { postMessage: (m: unknown) => void }).postMessage = (m: unknown) => decoded.push(m);
    for (const e of encoded) w.__deliver(e);
    (window as unknown as { postMessage: typeof orig }).postMessage = orig;
    const sentAt = new Map<number, number>();
    const paints: [number, number][] = [];
    let seen = al.renders;
    let done = false;
    const tick = () => {
      if (al.renders !== seen) {
        seen = al.renders;
        paints.push([performance.now(), al.store.lastStep]);
      }
      if (!done) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    const r0 = al.renders;
    const t0 = performance.now();
    for (const m of decoded) {
      const last = (m as { scalars: { step: Float64Array } }).scalars.step;
      sentAt.set(last[last.length - 1] as number, performance.now());
      orig(m, '*');
      await new Promise((res) => setTimeout(res, intervalMs));
    }
    await al.nextRender();
    const elapsed = performance.now() - t0;
    done = true;
    const lat: number[] = [];
    let p = 0;
    for (const [step, t] of [...sentAt.entries()].sort((a, b) => a[0] - b[0])) {
      while (p < paints.length && (paints[p] as [number, number])[1] < step) p++;
      if (p < paints.length) lat.push((paints[p] as [number, number])[0] - t);
    }
    lat.sort((a, b) => a - b);
    return {
      fps: ((al.renders - r0) * 1000) / elapsed,
      p50: lat[lat.length >> 1] ?? NaN,
      p95: lat[Math.floor(lat.length * 0.95)] ?? NaN,
      lastStep: al.store.lastStep,
    };
  }, [msgs, intervalMs] as const);
  await browser.close();
  await server.close();
  const on = `page, ${base.toLocaleString('en')}-step run, an update every ${intervalMs} ms`;
  return {
    [`${on}: repaints per second`]: r.fps.toFixed(1),
    [`${on}: update posted → painted, p50 / p95 (ms)`]: `${r.p50.toFixed(0)} / ${r.p95.toFixed(0)}`,
    [`${on}: last step shown / sent`]: `${r.lastStep} / ${base + updates * per}`,
  };
}

/**
 * Host memory over a 1,000,000-step scalar stream, as the host records a run: RunHistory fed
 * step by step and drained as the coalescer would (every 33 steps here), with the run's
 * folder written by the real RunRecorder (and so backing the history), and without a folder.
 */
function memoryBench(): Record<string, string> {
  const steps = 1_000_000;
  const groups = 4;
  const info = { name: 'mem', modelKind: 'lu' as const, groups: ['embeddings', 'keys', 'query', 'classifier'], totalSteps: steps, stepsPerEpoch: 1, classes: ['a', 'b', 'c', 'd'], probes: [], config: {} };
  const gc = (globalThis as { gc?: () => void }).gc;
  const rows: Record<string, string> = {};
  for (const recorded of [false, true]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-mem-'));
    const h = new RunHistory();
    const rec = recorded ? RunRecorder.open(path.join(dir, 'run'), { name: 'mem', source: 'bench' }, {}, (t) => console.error(t)) : undefined;
    if (recorded && !rec) throw new Error('could not record');
    if (rec) h.backing = rec.backing();
    h.setInfo(info);
    rec?.onMessage({ type: 'runStarted', info });
    const g = new Float64Array(groups);
    const w = new Float64Array(groups);
    const fullGc = () => {
      for (let i = 0; i < 3; i++) gc?.();
    };
    fullGc();
    const m0 = process.memoryUsage();
    const used = () => {
      fullGc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers - m0.heapUsed - m0.arrayBuffers;
    };
    const samples: string[] = [];
    const t0 = performance.now();
    for (let s = 1; s <= steps; s++) {
      g.fill(1 / s);
      w.fill(s);
      const data = { step: s, epoch: s, loss: 1 / s, trainAccuracy: 1, gradNorms: g, weightNorms: w, stepMs: 0.1 };
      h.appendStep(data);
      rec?.onMessage({ type: 'stepCompleted', data });
      if (s % 33 === 0) h.drainUpdate('mem');
      if (s % 100_000 === 0) samples.push(`${s / 1000}k: ${(used() / 1e6).toFixed(1)} MB`);
    }
    const ms = performance.now() - t0;
    const grown = used();
    const label = recorded ? 'recorded run (folder backs the history)' : 'unrecorded run (no folder: all in memory)';
    rows[`host memory, 1,000,000 scalar steps, ${label}`] = `${(grown / 1e6).toFixed(1)} MB at the end; ${samples.join(', ')}`;
    if (rec) {
      const t1 = performance.now();
      const snap = h.snapshot('mem', 'running');
      const snapMs = performance.now() - t1;
      rec.close('completed', undefined);
      const bytes = fs.statSync(path.join(dir, 'run', 'scalars.bin')).size;
      rows['recorded run: record + write 1,000,000 steps / snapshot of all of them'] = `${ms.toFixed(0)} ms / ${snapMs.toFixed(0)} ms (${snap.scalars.n} steps)`;
      rows['recorded run: scalars.bin bytes per step'] = (bytes / steps).toFixed(1);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

async function main(): Promise<void> {
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
  const rows = {
    ...(!only || only === 'host' ? await hostBench() : {}),
    ...(!only || only === 'page' ? { ...(await pageBench(25)), ...(await pageBench(16)), ...(await pageBench(25, 1_000_000)) } : {}),
    ...(!only || only === 'memory' ? memoryBench() : {}),
  };
  const w = Math.max(...Object.keys(rows).map((k) => k.length));
  for (const [k, v] of Object.entries(rows)) console.log(`${k.padEnd(w)}  ${v}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
