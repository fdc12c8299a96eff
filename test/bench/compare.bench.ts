/**
 * Compare-view benchmark (part of `npm run bench`, not a test): two real run folders of
 * 100,000 steps and two of 1,000,000 steps, written with the run store's RunWriter (Lu-like:
 * 4 parameter groups, identity of 8 topic words every step, an evaluation every 50 steps,
 * attention of 8 probes × 21 tokens every 1,000 steps), opened the way the compare panel
 * opens them. Measures, per size: scalars.bin bytes per step; host — reading the runs into
 * their compareSnapshot (StoredRun.snapshot, diffConfigs) and packing it for postMessage
 * (packForWebview), and host memory (heap + array buffers, after a GC) while posting and
 * after; page — the built compare view in Chromium, from the compareSnapshot's delivery
 * (window.postMessage, its buffer transferred as VS Code does) to the end of the first
 * repaint, and the page's memory after a GC (JS heap + array-buffer storage, and the renderer
 * process's RSS). Run with --expose-gc.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PROTOCOL_VERSION, type AttentionMapData, type HostToWebview, type RunInfo, type StepData } from '../../src/protocol/messages';
import { diffConfigs } from '../../src/runs/configDiff';
import { FILES, RunWriter } from '../../src/runs/store';
import { StoredRun } from '../../src/runs/storedRun';
import { presetConfig } from '../../src/trainer/presets';
import { packForWebview } from '../../src/extension/post';
import { launchBrowser, openPage, startServer } from '../webview/harness';

const quick = process.argv.includes('--quick');
/** `--steps=1000000` measures one size only. */
const only = process.argv.find((a) => a.startsWith('--steps='))?.slice(8);
const SIZES = only !== undefined ? [Number(only)] : quick ? [100_000] : [100_000, 1_000_000];
const GROUPS = ['query', 'keys', 'embeddings', 'classifier'];
const TOPIC_WORDS = 8;
const PROBES = 8;
const TOKENS = 21;
const EVAL_EVERY = 50;
const ATTENTION_EVERY = 1000;
const TARGET_OPEN_MS: Record<number, number> = { 100_000: 1000, 1_000_000: 3000 };
const TARGET_BYTES_PER_STEP = 64;
const TARGET_PAGE_MB = 300;

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
/** Heap + array buffers after a full GC; array buffers are freed on a later turn, so it waits for them. */
async function hostBytes(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * One Lu-like run of n steps, as a trainer would record it; `seed` shapes its curves and
 * config. Without `identity`: scalars, evaluations and attention only (an encoder run's kind).
 */
function writeRun(dir: string, n: number, seed: number, identity = true): void {
  const config = presetConfig('lu-fc');
  config.seed = seed;
  config.training.epochs = n;
  config.training.evalEvery = EVAL_EVERY;
  const info: RunInfo = {
    name: `bench-${n / 1000}k-seed${seed}`,
    modelKind: 'lu',
    groups: GROUPS,
    totalSteps: n,
    stepsPerEpoch: 1,
    classes: ['topic 0', 'topic 1', 'topic 2', 'topic 3'],
    probes: Array.from({ length: PROBES }, (_, p) => ({ tokens: Array.from({ length: TOKENS }, (_, t) => `w${p}_${t}`), label: p % 4 })),
    topicWords: Array.from({ length: TOPIC_WORDS }, (_, i) => `topic${i >> 1}_${i & 1 ? 'b' : 'a'}`),
    m: TOKENS - 1,
    config,
  };
  const w = RunWriter.open(dir, { name: info.name, seed, info }, config, { fsync: 'never' });
  const v = (): Float64Array => new Float64Array(TOPIC_WORDS);
  const d: StepData = { step: 0, epoch: 0, loss: 0, trainAccuracy: 0, gradNorms: new Float64Array(GROUPS.length), weightNorms: new Float64Array(GROUPS.length), identity: { score: v(), measured: v(), theory: v(), relError: v() }, stepMs: 2 };
  const frame = (step: number): AttentionMapData[][] =>
    Array.from({ length: PROBES }, (_, p) => {
      const data = new Float32Array(TOKENS).fill(0.5 / TOKENS);
      data[(p * 3 + step / ATTENTION_EVERY) % TOKENS] = 0.5 + 0.5 / TOKENS;
      return [{ layer: 0, head: 0, stage: 'weights' as const, rows: 1, cols: TOKENS, data }];
    });
  const id = d.identity!;
  if (!identity) delete d.identity;
  for (let s = 1; s <= n; s++) {
    const t = s / n;
    d.step = s;
    d.epoch = s;
    d.loss = 1.4 * Math.exp(-5 * t * seed) + 1e-3 + 0.01 * Math.sin(s / 7);
    d.trainAccuracy = Math.min(1, 0.25 + t * seed);
    for (let g = 0; g < GROUPS.length; g++) {
      d.gradNorms[g] = 10 ** -(g + 1) * (1 + Math.cos(s / 1000 + g));
      d.weightNorms[g] = 1 + t * (g + 1);
    }
    for (let k = 0; identity && k < TOPIC_WORDS; k++) {
      id.score[k] = 3 * t + k / 10;
      id.measured[k] = Math.sqrt(2 * id.score[k]!);
      id.theory[k] = id.measured[k]! * (1 + 1e-3);
      id.relError[k] = 1e-3;
    }
    if (s % EVAL_EVERY === 0) d.eval = { validationLoss: d.loss * 1.1, validationAccuracy: d.trainAccuracy, testLoss: d.loss * 1.2, testAccuracy: d.trainAccuracy, topicAttention: 0.7 * t };
    else delete d.eval;
    if (s % ATTENTION_EVERY === 0 || s === 1) d.attention = frame(s);
    else delete d.attention;
    w.appendStep(d);
  }
  w.close('completed');
}

/** The packed message's typed arrays as (type, offset, length) into its one buffer; the rest as JSON. */
function splitPacked(packed: unknown): { skeleton: unknown; buffer: ArrayBuffer } {
  let buffer: ArrayBuffer | undefined;
  const walk = (v: unknown): unknown => {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const b = v.buffer as ArrayBuffer;
      if (buffer === undefined) buffer = b;
      else if (buffer !== b) throw new Error('the packed message has more than one buffer');
      return { __view: Object.prototype.toString.call(v).slice(8, -1), offset: v.byteOffset, length: (v as unknown as { length: number }).length };
    }
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const skeleton = walk(packed);
  return { skeleton, buffer: buffer ?? new ArrayBuffer(8) };
}

interface HostResult {
  readMs: number[];
  packMs: number[];
  postingBytes: number;
  retainedBytes: number;
  messageBytes: number;
  steps: number;
}

function openRuns(dirs: string[]): StoredRun[] {
  return dirs.map((d) => {
    const r = StoredRun.fromDir(d);
    if (r === undefined) throw new Error(`${d} is not a run`);
    return r;
  });
}

function compareSnapshot(runs: StoredRun[]): Extract<HostToWebview, { type: 'compareSnapshot' }> {
  return { type: 'compareSnapshot', protocolVersion: PROTOCOL_VERSION, runs: runs.map((r) => r.snapshot()), configDiff: diffConfigs(runs.map((r) => r.info?.config)) };
}

/**
 * What the compare panel does on `ready`: read the runs into a compareSnapshot, pack it.
 * Memory after a GC: while the message is being posted (runs, snapshot and packed copy alive),
 * and after (the runs as read, which the host keeps for the scrubber and later updates).
 * A function per open, so nothing of an earlier open stays on the stack.
 */
async function hostOpenOnce(dirs: string[]): Promise<Omit<HostResult, 'readMs' | 'packMs'> & { readMs: number; packMs: number }> {
  const m0 = await hostBytes();
  const t0 = performance.now();
  const runs = openRuns(dirs);
  let msg: ReturnType<typeof compareSnapshot> | undefined = compareSnapshot(runs);
  const t1 = performance.now();
  let packed: unknown = packForWebview(msg);
  const t2 = performance.now();
  const posting = (await hostBytes()) - m0;
  const steps = msg.runs.reduce((a, s) => a + s.scalars.n, 0);
  const messageBytes = splitPacked(packed).buffer.byteLength;
  msg = undefined;
  packed = undefined;
  const retained = (await hostBytes()) - m0;
  if (runs.some((r) => r.step <= 0)) throw new Error('a run read back empty');
  return { readMs: t1 - t0, packMs: t2 - t1, postingBytes: posting, retainedBytes: retained, messageBytes, steps };
}

/** Two opens: the second with the files in the page cache and the code warm. */
async function hostOpen(dirs: string[]): Promise<HostResult> {
  const a = await hostOpenOnce(dirs);
  const b = await hostOpenOnce(dirs);
  return { ...b, readMs: [a.readMs, b.readMs], packMs: [a.packMs, b.packMs] };
}

/** Serves one binary to the page (a second origin, with CORS). */
async function serveBinary(buffer: ArrayBuffer): Promise<{ url: string; close(): Promise<void> }> {
  const body = Buffer.from(buffer);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'access-control-allow-origin': '*', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/compare.bin`, close: () => new Promise((r) => server.close(() => r())) };
}

/** Resident set of the page's renderer process (the largest renderer of this browser), in bytes. */
async function rendererRss(browser: Browser): Promise<number> {
  const cdp = await browser.newBrowserCDPSession();
  const info = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: { type: string; id: number }[] };
  await cdp.detach();
  let best = 0;
  for (const p of info.processInfo.filter((x) => x.type === 'renderer')) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p.id}/status`, 'utf8'));
      if (m) best = Math.max(best, Number(m[1]) * 1024);
    } catch {
      // gone
    }
  }
  return best;
}

async function pageMemory(page: Page): Promise<{ heap: number; buffers: number }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const u = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
  await cdp.detach();
  return { heap: u.usedSize, buffers: u.backingStorageSize ?? NaN };
}

interface PageResult {
  /** Delivered → the page's handler has checked and stored it. */
  applyMs: number;
  paintMs: number;
  presentedMs: number;
  emptyHeap: number;
  emptyBuffers: number;
  heap: number;
  buffers: number;
  rss: number;
  /** 5 s later. */
  rssIdle: number;
  emptyRss: number;
  curves: number[];
  heatmaps: number;
  steps: number[];
}

async function pageOpen(browser: Browser, origin: string, dirs: string[]): Promise<PageResult> {
  // The message as the host posts it, split into its one buffer and the rest (as JSON).
  const { skeleton, buffer } = splitPacked(packForWebview(compareSnapshot(openRuns(dirs))));
  const bin = await serveBinary(buffer);
  const { page, errors } = await openPage(browser, origin, { view: 'compare', width: 1400, height: 1000, bypassCSP: true });
  const empty = await pageMemory(page);
  const emptyRss = await rendererRss(browser);
  // Fetch and rebuild the message in the page (not timed): the packed buffer and its views.
  await page.evaluate(
    async ([url, skeleton]) => {
      const buf = await (await fetch(url)).arrayBuffer();
      const rebuild = (v: unknown): unknown => {
        if (Array.isArray(v)) return v.map(rebuild);
        if (typeof v === 'object' && v !== null) {
          const o = v as Record<string, unknown>;
          if (typeof o['__view'] === 'string') {
            const C = (globalThis as unknown as Record<string, new (b: ArrayBuffer, o: number, n: number) => unknown>)[o['__view']]!;
            return new C(buf, o['offset'] as number, o['length'] as number);
          }
          return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, rebuild(x)]));
        }
        return v;
      };
      (window as unknown as { __benchMsg?: unknown; __benchBuf?: ArrayBuffer }).__benchMsg = rebuild(skeleton);
      (window as unknown as { __benchBuf?: ArrayBuffer }).__benchBuf = buf;
    },
    [bin.url, skeleton] as const,
  );
  const timing = await page.evaluate(async () => {
    type Al = { nextRender(): Promise<void>; chartData(n: string): { xs: number[] }[] | undefined; heatmaps(): unknown[]; compare?: { runs: { step: { length: number } }[] } };
    const w = window as unknown as { __benchMsg?: unknown; __benchBuf?: ArrayBuffer; __attentionLens: Al };
    const al = w.__attentionLens;
    const msg = w.__benchMsg;
    const buf = w.__benchBuf!;
    delete w.__benchMsg;
    delete w.__benchBuf;
    // The page's own listener (registered first) applies the message; this one, right after
    // it, waits for the repaint that follows.
    let applied = NaN;
    const painted = new Promise<void>((resolve) =>
      window.addEventListener(
        'message',
        () => {
          applied = performance.now();
          void al.nextRender().then(resolve);
        },
        { once: true },
      ),
    );
    const t0 = performance.now();
    window.postMessage(msg, '*', [buf]);
    await painted;
    const t1 = performance.now();
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    const t2 = performance.now();
    return {
      applyMs: applied - t0,
      paintMs: t1 - t0,
      presentedMs: t2 - t0,
      curves: (al.chartData('loss') ?? []).map((d) => d.xs.length),
      heatmaps: al.heatmaps().length,
      steps: (al.compare?.runs ?? []).map((r) => r.step.length),
    };
  });
  const mem = await pageMemory(page);
  const rss = await rendererRss(browser);
  // Memory the page freed (the transferred message) goes back to the system a little later.
  await page.waitForTimeout(5000);
  const rssIdle = await rendererRss(browser);
  if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
  await page.context().close();
  await bin.close();
  return { ...timing, emptyHeap: empty.heap, emptyBuffers: empty.buffers, heap: mem.heap, buffers: mem.buffers, rss, rssIdle, emptyRss };
}

async function main(): Promise<void> {
  if ((globalThis as { gc?: unknown }).gc === undefined) console.warn('# run with --expose-gc for the memory figures');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'al-bench-compare-'));
  const server = await startServer();
  const browser = await launchBrowser();
  const rows: Record<string, string> = {};
  try {
    for (const n of SIZES) {
      const k = `${n.toLocaleString('en-US')} steps × 2 runs`;
      const dirs = [1, 2].map((seed) => path.join(root, `run-${n}-${seed}`));
      const tw = performance.now();
      dirs.forEach((d, i) => writeRun(d, n, i + 1));
      const writeMs = performance.now() - tw;
      const scalarsBytes = fs.statSync(path.join(dirs[0]!, FILES.scalars)).size;
      const diskBytes = fs.readdirSync(dirs[0]!).reduce((a, f) => a + fs.statSync(path.join(dirs[0]!, f)).size, 0);

      const host = await hostOpen(dirs);
      // Three opens in fresh pages; the timings vary on a busy machine, so the median is reported.
      const pages: PageResult[] = [];
      for (let i = 0; i < 3; i++) pages.push(await pageOpen(browser, server.origin, dirs));
      const median = (f: (p: PageResult) => number): number => pages.map(f).sort((x, y) => x - y)[1]!;
      const pg = { ...pages[pages.length - 1]!, applyMs: median((p) => p.applyMs), paintMs: median((p) => p.paintMs), presentedMs: median((p) => p.presentedMs) };
      if (pg.steps.some((s) => s !== n) || pg.curves.length !== 2 || pg.curves.some((c) => c < 100) || pg.heatmaps !== 2) throw new Error(`the page did not show both runs: ${JSON.stringify(pg)}`);
      const firstMs = host.readMs[0]! + host.packMs[0]! + pg.paintMs;
      const bestMs = Math.min(...host.readMs) + Math.min(...host.packMs) + pg.paintMs;
      const steps = host.steps;
      const pageBytes = pg.heap + pg.buffers - pg.emptyHeap - pg.emptyBuffers;
      const ok = (b: boolean): string => (b ? 'meets' : 'MISSES');
      rows[`${k}: written (RunWriter)`] = `${(writeMs / 1000).toFixed(1)} s; one run on disk ${mb(diskBytes)}`;
      rows[`${k}: scalars.bin per step`] = `${(scalarsBytes / n).toFixed(1)} B (target ≤ ${TARGET_BYTES_PER_STEP}: ${ok(scalarsBytes / n <= TARGET_BYTES_PER_STEP)})`;
      rows[`${k}: host read → compareSnapshot (1st / 2nd open)`] = host.readMs.map((t) => `${t.toFixed(0)} ms`).join(' / ');
      rows[`${k}: host pack for postMessage (1st / 2nd)`] = `${host.packMs.map((t) => `${t.toFixed(0)} ms`).join(' / ')}; message ${mb(host.messageBytes)} = ${(host.messageBytes / steps).toFixed(0)} B/step`;
      rows[`${k}: page compareSnapshot delivered → stored / painted / presented (median of 3)`] = `${pg.applyMs.toFixed(0)} / ${pg.paintMs.toFixed(0)} / ${pg.presentedMs.toFixed(0)} ms (painted: ${pages.map((p) => p.paintMs.toFixed(0)).join(', ')})`;
      const target = TARGET_OPEN_MS[n] ?? Infinity;
      rows[`${k}: open = host + page, 1st host open / best`] = `${firstMs.toFixed(0)} ms / ${bestMs.toFixed(0)} ms (target < ${target} ms: ${ok(firstMs < target)} / ${ok(bestMs < target)})`;
      rows[`${k}: host memory while posting (runs + snapshot + message)`] = `${mb(host.postingBytes)} = ${(host.postingBytes / steps).toFixed(0)} B/step`;
      rows[`${k}: host memory retained after (the runs as read)`] = `${mb(host.retainedBytes)} = ${(host.retainedBytes / steps).toFixed(0)} B/step (target ≤ ${TARGET_BYTES_PER_STEP}: ${ok(host.retainedBytes / steps <= TARGET_BYTES_PER_STEP)})`;
      rows[`${k}: page memory showing them (JS heap + array buffers, over an empty page)`] = `${mb(pageBytes)} = ${(pageBytes / steps).toFixed(0)} B/step (heap ${mb(pg.heap)}, buffers ${mb(pg.buffers)})`;
      rows[`${k}: page renderer process RSS, at once / 5 s later (empty page)`] = `${mb(pg.rss)} / ${mb(pg.rssIdle)} (${mb(pg.emptyRss)}) (target < ${TARGET_PAGE_MB} MB: ${ok(pg.rss < TARGET_PAGE_MB * 1e6)} / ${ok(pg.rssIdle < TARGET_PAGE_MB * 1e6)})`;
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });

      // The same runs without the identity stream: what the host holds for the scalars alone.
      const plain = [1, 2].map((seed) => path.join(root, `plain-${n}-${seed}`));
      plain.forEach((d, i) => writeRun(d, n, i + 1, false));
      const ph = await hostOpen(plain);
      rows[`${k}, no identity stream: host read → compareSnapshot (1st / 2nd)`] = ph.readMs.map((t) => `${t.toFixed(0)} ms`).join(' / ');
      rows[`${k}, no identity stream: host memory retained (scalars, evals, index)`] = `${mb(ph.retainedBytes)} = ${(ph.retainedBytes / ph.steps).toFixed(0)} B/step (target ≤ ${TARGET_BYTES_PER_STEP}: ${ok(ph.retainedBytes / ph.steps <= TARGET_BYTES_PER_STEP)})`;
      for (const d of plain) fs.rmSync(d, { recursive: true, force: true });
    }
  } finally {
    await browser.close();
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
  const w = Math.max(...Object.keys(rows).map((k) => k.length));
  for (const [k, v] of Object.entries(rows)) console.log(`${k.padEnd(w)}  ${v}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
