/**
 * Step → screen inside real VS Code (part of `npm run bench`, not a test): the packaged
 * extension in code-server, in Chromium, on this machine. A run of the fast task at full
 * speed with attention captured every step for 8 probes is launched from the palette, the
 * Attention Lens side bar (Runs tree, Current Run view) is shown beside the dashboard; then,
 * with nothing else happening, the dashboard's own hooks give, per repaint, the time from the
 * trainer's clock at the last step of the oldest update not yet shown to the repaint that shows it
 * (step → screen), and per update
 * the time from the host posting it to the page receiving it (the host → page hop).
 * Measured over three 8-second windows after a 3-second settle.
 *
 * The same targets as the dashboard bench (≥ 30 repaints/s, step → screen < 100 ms p95), but
 * here VS Code's own path is included: the extension host, its transport to the window, and
 * (in code-server) the webview running in the window's renderer beside the workbench.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { presetConfig } from '../../src/trainer/presets';
import { browser, commandAndPick, dashboardFrame, dashboardState, page, root, runCommand, startVsCode, stopVsCode, waitFor } from '../e2e/vscodeDriver';

const RUN = 'bench-every-step';
const WINDOWS = 3;
const WINDOW_MS = 8000;

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

interface Sample {
  at: number;
  step: number;
  renders: number;
  latencies: number;
  hops: number;
}

async function main(): Promise<void> {
  const cfg = presetConfig('lu-fc-fast');
  cfg.training.epochs = 2_000_000;
  cfg.training.captureEvery = 1;
  cfg.training.probes = 8;
  await startVsCode((dir) => fs.writeFileSync(path.join(dir, `${RUN}.attnlens.json`), JSON.stringify({ ...cfg, name: RUN }, null, 2)));
  const rows: Record<string, string> = {};
  try {
    await commandAndPick('Attention Lens: Launch Run', `${RUN}.attnlens.json`);
    const f = await dashboardFrame(RUN);
    await waitFor('steps and a heatmap', async () => {
      const st = await dashboardState(f);
      return st.step > 50 && st.heatmaps > 0 ? st : undefined;
    });
    // As a user would have it: the Attention Lens side bar open too (the Runs tree, the Current Run view).
    await runCommand(process.env['AL_BENCH_VIEW'] ?? 'View: Show Attention Lens');
    await new Promise((r) => setTimeout(r, 3000));
    type Hooks = { __attentionLens: { renders: number; store: { lastStep: number }; stepLatencies(): number[]; hopLatencies(): number[] } };
    const sample = (): Promise<Sample> =>
      f.evaluate(() => {
        const h = (window as unknown as Hooks).__attentionLens;
        return { at: Date.now(), step: h.store.lastStep, renders: h.renders, latencies: h.stepLatencies().length, hops: h.hopLatencies().length };
      });
    const lat: number[] = [];
    const hop: number[] = [];
    let renders = 0;
    let steps = 0;
    let ms = 0;
    const perWindow: string[] = [];
    // AL_BENCH_PROFILE=<file>: a V8 CPU profile of the window's renderer over the windows (diagnosis).
    const cdp = process.env['AL_BENCH_PROFILE'] ? await page.context().newCDPSession(page) : undefined;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
      await cdp.send('Profiler.start');
    }
    // AL_BENCH_TRACE=<file>: a 4 s Chromium trace of the window first (diagnosis; not in the figures).
    if (process.env['AL_BENCH_TRACE']) {
      await browser!.startTracing(page, { path: process.env['AL_BENCH_TRACE'], categories: ['devtools.timeline', 'toplevel', 'v8.execute', 'blink', 'cc', 'viz', 'gpu'] });
      await new Promise((r) => setTimeout(r, 4000));
      await browser!.stopTracing();
    }
    for (let w = 0; w < WINDOWS; w++) {
      const a = await sample();
      await new Promise((r) => setTimeout(r, WINDOW_MS));
      const b = await sample();
      const [l, hp] = await f.evaluate(() => {
        const h = (window as unknown as Hooks).__attentionLens;
        return [h.stepLatencies(), h.hopLatencies()] as const;
      });
      // The hooks keep the latest 1,000–2,000 entries: take this window's from the end.
      const wl = l.slice(l.length - (b.latencies - a.latencies >= 0 ? Math.min(l.length, b.latencies - a.latencies) : 0));
      const wh = hp.slice(hp.length - (b.hops - a.hops >= 0 ? Math.min(hp.length, b.hops - a.hops) : 0));
      lat.push(...wl);
      hop.push(...wh);
      renders += b.renders - a.renders;
      steps += b.step - a.step;
      ms += b.at - a.at;
      perWindow.push(`${(((b.renders - a.renders) * 1000) / (b.at - a.at)).toFixed(1)}/s, p95 ${pct(wl, 95).toFixed(0)} ms`);
    }
    if (cdp) {
      const { profile } = (await cdp.send('Profiler.stop')) as { profile: { nodes: { id: number; children?: number[]; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples: number[]; timeDeltas: number[] } };
      fs.writeFileSync(process.env['AL_BENCH_PROFILE']!, JSON.stringify(profile));
    }
    rows['trainer steps per second (attention every step, 8 probes)'] = ((steps * 1000) / ms).toFixed(0);
    rows['dashboard repaints per second'] = ((renders * 1000) / ms).toFixed(1);
    rows['step → screen, p50 / p95 (ms)'] = `${pct(lat, 50).toFixed(0)} / ${pct(lat, 95).toFixed(0)} (${lat.length} repaints)`;
    rows['of it host post → page received, p50 / p95 (ms)'] = `${pct(hop, 50).toFixed(0)} / ${pct(hop, 95).toFixed(0)} (${hop.length} updates)`;
    rows['per window: repaints, step → screen p95'] = perWindow.join('; ');
    await runCommand('Attention Lens: Stop Run');
  } finally {
    await stopVsCode();
  }
  const width = Math.max(...Object.keys(rows).map((k) => k.length));
  console.log(`\nInside VS Code (code-server, Chromium), ${new Date().toISOString()}, root ${root}`);
  for (const [k, v] of Object.entries(rows)) console.log(`${k.padEnd(width)}  ${v}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
