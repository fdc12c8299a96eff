/**
 * The generic measurement views in real Chromium, fed by the task-sequence test model
 * (test/models/taskSequence.ts), which declares one measurement of each kind: `lr` (series,
 * log), `displacement` (groups weights, bias), `acc/matrix` (3 × 3, at steps 40, 80, 120) and
 * `task` (event bands at steps 1, 41, 81). Nothing in the page knows these ids: the cards
 * come from the declarations. Run `node esbuild.mjs` first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { stepData } from '../../src/io/convert';
import { PROTOCOL_VERSION, type HostToWebview } from '../../src/protocol/messages';
import type { AttentionLensHooks } from '../../webview/hooks';
import { BAND_ALPHA } from '../../webview/model/measures';
import { parseColor } from '../../webview/model/colorRamp';
import { recordTaskSequence } from '../models/taskSequenceRun';
import { configDiff } from './fixtures';
import { ARTIFACTS, clickExport, deliver, heatPixels, launchBrowser, openPage, settle, startServer, THEMES, type OpenPage, type TestServer } from './harness';
import { heatExportLayout } from '../../webview/model/exportLayout';
import { decodePng, hasSignature, pixel, pngSize } from './png';

let browser: Browser;
let server: TestServer;

before(async () => {
  assert.ok(fs.existsSync(path.join(__dirname, '../../../dist/webview.js')), 'dist/webview.js is missing: run `node esbuild.mjs` first');
  server = await startServer();
  browser = await launchBrowser();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const close = (p: OpenPage): Promise<void> => p.page.context().close();

function hooks<R>(page: Page, f: (al: AttentionLensHooks) => R | Promise<R>): Promise<R> {
  return page.evaluate(`(${f.toString()})(window.__attentionLens)`) as Promise<R>;
}

function snapshotOf(runId: string, config: unknown, steps?: number): { msg: HostToWebview; run: ReturnType<typeof recordTaskSequence> } {
  const run = recordTaskSequence(config, steps);
  const status = run.model.done ? 'completed' : 'running';
  return { msg: { type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: run.history.snapshot(runId, status) }, run };
}

async function scrubMatrix(page: Page, step: number, nth = 0): Promise<void> {
  await page.locator('.al-matrix-range').nth(nth).evaluate((el, v) => {
    const input = el as HTMLInputElement;
    input.value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }, step);
  await settle(page);
}

/** The 3 × 3 accuracy matrix as the cards write it: 3 significant digits, '–' for no value. */
const written = (m: number[][]): string[] => m.flat().map((v) => (Number.isFinite(v) ? String(Number(v.toPrecision(3))) : '–'));

/** The median colour of a chart canvas's pixel column at `step`, over the plot's height: what the plot shows behind its lines. */
function columnAt(page: Page, chart: string, step: number): Promise<number[]> {
  return page.evaluate(
    ({ chart, step }) => {
      const al = (window as unknown as { __attentionLens: { charts: Record<string, unknown> } }).__attentionLens;
      const c = al.charts[chart] as { canvas: HTMLCanvasElement; chartArea: { top: number; bottom: number }; scales: { x: { getPixelForValue(v: number): number } } };
      const x = Math.round(c.scales.x.getPixelForValue(step));
      const top = Math.ceil(c.chartArea.top) + 16; // under the labels
      const h = Math.floor(c.chartArea.bottom) - top - 1;
      if (h < 40) throw new Error(`the plot of ${chart} is ${h} px high`);
      const img = c.canvas.getContext('2d')!.getImageData(x, top, 1, h).data;
      const px: number[][] = [];
      for (let i = 0; i < img.length; i += 4) px.push([img[i]!, img[i + 1]!, img[i + 2]!, img[i + 3]!]);
      px.sort((a, b) => a[3]! - b[3]! || a[0]! - b[0]!);
      return px[Math.floor(px.length / 2)]!;
    },
    { chart, step },
  );
}

/** Wait until every step chart has its size (Chart.js resizes a new chart after a delay), then a repaint. */
async function chartsSized(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const al = (window as unknown as { __attentionLens: { charts: Record<string, { chartArea?: { top: number; bottom: number } }> } }).__attentionLens;
    return ['loss', 'accuracy', 'gradients', 'measure:lr', 'measure:displacement'].every((n) => {
      const a = al.charts[n]?.chartArea;
      return a !== undefined && a.bottom - a.top > 80;
    });
  });
  await settle(page);
}

/** The step charts: the built-in three and the two declared series cards. */
const STEP_CHARTS = ['loss', 'accuracy', 'gradients', 'measure:lr', 'measure:displacement'];

/** Feeds a task-sequence run as the host would: a snapshot at `from` (after an earlier page took the updates so far), then an update every `every` steps to `to`. */
function liveRun(runId: string, config: unknown, from: number) {
  const run = recordTaskSequence(config, from);
  run.history.drainUpdate(runId);
  const snapshot: HostToWebview = { type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: run.history.snapshot(runId, 'running') };
  const advance = (to: number): HostToWebview | undefined => {
    while (run.model.step < to && !run.model.done) run.history.appendStep(stepData(run.model.trainStep()));
    return run.history.drainUpdate(runId);
  };
  return { run, snapshot, advance };
}

test('M1. dashboard: a chart per series card, the matrix at the scrubbed step, task bands on every chart', async () => {
  const { msg, run } = snapshotOf('task-seq', {});
  const p = await openPage(browser, server.origin, { height: 1100 });
  await deliver(p.page, msg);
  await chartsSized(p.page);

  // Series: lr on a log axis, one point per step; displacement, a line per group, from 0.
  assert.deepEqual(await p.page.locator('.al-measure-card').evaluateAll((els) => els.map((e) => e.getAttribute('data-measure'))), ['lr', 'displacement']);
  const lr = await hooks(p.page, (al) => al.chartData('measure:lr'));
  assert.equal(lr?.length, 1);
  assert.equal(lr?.[0]?.label, 'learning rate');
  assert.equal(lr?.[0]?.xs.length, 120, 'a point per step');
  assert.deepEqual(lr?.[0]?.xs, Array.from({ length: 120 }, (_, i) => i + 1));
  assert.deepEqual(lr?.[0]?.ys, Array.from({ length: 120 }, (_, i) => 0.5 * 0.5 ** Math.floor(i / 40)), 'η₀ γ^t per task');
  const axes = await hooks(p.page, (al) => {
    const y = (name: string) => (al.charts[name] as { options: { scales: { y: { type: string; min?: number } } } }).options.scales.y;
    return { lr: y('measure:lr').type, disp: y('measure:displacement').type, dispMin: y('measure:displacement').min };
  });
  assert.deepEqual(axes, { lr: 'logarithmic', disp: 'linear', dispMin: 0 });
  assert.match(await p.page.locator('.al-measure-card[data-measure="lr"] .al-card-title').innerText(), /learning rate \(log\)/);
  const disp = await hooks(p.page, (al) => al.chartData('measure:displacement'));
  assert.deepEqual(disp?.map((d) => [d.label, d.xs.length]), [
    ['weights', 120],
    ['bias', 120],
  ]);
  // The convention: written under the chart, and on hover over its title.
  const conv = await p.page.locator('.al-measure-card[data-measure="displacement"] .al-convention').innerText();
  assert.match(conv, /per parameter group/);
  assert.equal(await p.page.locator('.al-measure-card[data-measure="displacement"] .al-card-title span').first().getAttribute('title'), conv);

  // Events: a band per task on every step chart, each to the next task's start, the last to the end.
  for (const chart of STEP_CHARTS) {
    const ms = await p.page.evaluate(`window.__attentionLens.markers(${JSON.stringify(chart)})`) as { step: number; end?: number; text: string; display: string }[];
    assert.deepEqual(
      ms.map((m) => [m.step, m.end, m.text, m.display]),
      [
        [1, 41, 'task 1', 'band'],
        [41, 81, 'task 2', 'band'],
        [81, undefined, 'task 3', 'band'],
      ],
      `${chart}: the task bands`,
    );
  }
  // … drawn: inside a band the plot is the theme's yellow at the band's opacity, alternating per task.
  const yellow = parseColor(THEMES.dark['charts-yellow'])!;
  for (const chart of ['loss', 'measure:lr']) {
    const [a, b, c] = [await columnAt(p.page, chart, 25), await columnAt(p.page, chart, 62), await columnAt(p.page, chart, 100)];
    for (const [px, alpha] of [
      [a, BAND_ALPHA[0]],
      [b, BAND_ALPHA[1]],
      [c, BAND_ALPHA[0]],
    ] as const) {
      assert.ok(Math.abs(px[0]! - yellow.r) <= 8 && Math.abs(px[1]! - yellow.g) <= 8 && px[2]! <= 8, `${chart}: band colour ${px}`);
      assert.ok(Math.abs(px[3]! - alpha * 255) <= 2, `${chart}: band opacity ${px[3]} (expected ${alpha * 255})`);
    }
  }

  // The matrix, live: step 120, every row.
  const acc = run.model.accuracyMatrix;
  let m = (await hooks(p.page, (al) => al.matrices?.()))?.[0];
  assert.deepEqual({ id: m?.id, step: m?.step, live: m?.live }, { id: 'acc/matrix', step: 120, live: true });
  assert.deepEqual(m?.cells, written(acc));
  assert.deepEqual(await p.page.locator('.al-matrix-card .al-matrix-cell').allInnerTexts(), written(acc), 'the values are written in the cells');
  assert.deepEqual(await p.page.locator('.al-matrix-card .al-matrix-collabel').allInnerTexts(), ['task 1', 'task 2', 'task 3']);
  assert.deepEqual(await p.page.locator('.al-matrix-card .al-rowlabel').allInnerTexts(), ['after task 1', 'after task 2', 'after task 3']);
  assert.match(await p.page.locator('.al-matrix-note').innerText(), /step 120/);
  // Save PNG: the matrix with its labels, values and scale (the export's layout for labelled values).
  const png = await clickExport(p.page, '.al-matrix-export');
  assert.equal(png.name, 'acc-matrix-step-120');
  assert.equal(png.runId, 'task-seq');
  assert.ok(hasSignature(png.png));
  const L = heatExportLayout('values', 3, 3);
  assert.deepEqual(pngSize(png.png), { width: L.width, height: L.height });
  const img = decodePng(png.png);
  const hot = pixel(img, L.grid.x + Math.round(0.2 * L.cellW), L.grid.y + Math.round(0.2 * L.cellH));
  assert.ok(hot[0]! > 150, `cell (0, 0) = ${acc[0]![0]} is hot: ${hot}`);
  const chartPng = await clickExport(p.page, '.al-measure-card[data-measure="lr"] .al-export');
  assert.equal(chartPng.name, 'measure-lr');
  await p.page.screenshot({ path: path.join(ARTIFACTS, 'measures-dashboard.png'), fullPage: true });

  // Scrubbed to step 60: the matrix of step 40, only its first row filled; the card says so.
  await scrubMatrix(p.page, 60);
  m = (await hooks(p.page, (al) => al.matrices?.()))?.[0];
  assert.deepEqual({ step: m?.step, at: m?.at, live: m?.live }, { step: 40, at: 60, live: false });
  const at40 = [acc[0]!, [NaN, NaN, NaN], [NaN, NaN, NaN]];
  assert.deepEqual(m?.cells, written(at40));
  assert.equal(await p.page.locator('.al-matrix-note').innerText(), 'step 40 · the latest at or before step 60');
  assert.equal(await p.page.locator('.al-matrix-cell.al-nan').count(), 6, 'rows not reached: no value');
  await p.page.locator('.al-matrix-card').screenshot({ path: path.join(ARTIFACTS, 'measures-matrix-step-60.png') });
  // Pixels: the row's cells in the heat of their value (bounds 0 … 1 declared), the others uncoloured.
  const px = await heatPixels(p.page, 'matrix:acc/matrix');
  assert.ok(px !== undefined);
  assert.deepEqual([px.rows, px.cols], [3, 3]);
  for (let i = 0; i < 9; i++) {
    if (i < 3) assert.ok(Math.abs((px.rampIndex[i] as number) - Math.round((acc[0]![i] as number) * 255)) <= 2, `cell ${i}: ramp ${px.rampIndex[i]} for ${acc[0]![i]}`);
    else assert.equal(px.rampIndex[i], -1, `cell ${i} has no value`);
  }
  await scrubMatrix(p.page, 100);
  m = (await hooks(p.page, (al) => al.matrices?.()))?.[0];
  assert.equal(m?.step, 80);
  assert.deepEqual(m?.cells, written([acc[0]!, acc[1]!, [NaN, NaN, NaN]]));
  // Before the first matrix: none, the cells empty.
  await scrubMatrix(p.page, 10);
  m = (await hooks(p.page, (al) => al.matrices?.()))?.[0];
  assert.equal(m?.step, undefined);
  assert.equal(await p.page.locator('.al-matrix-note').innerText(), 'none recorded by step 10');
  // Live again (the End of the range, or the Live button).
  await p.page.locator('.al-matrix-card .al-live').click();
  await settle(p.page);
  m = (await hooks(p.page, (al) => al.matrices?.()))?.[0];
  assert.deepEqual([m?.step, m?.live], [120, true]);

  // A model with no views of its own: no attention section; the built-in charts stay.
  assert.equal(await p.page.locator('.al-attention').isHidden(), true);
  assert.equal(await p.page.locator('.al-identity-card').isHidden(), true);
  assert.deepEqual(await hooks(p.page, (al) => al.chartData('loss')?.[0]?.xs.length), 120);
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.console.filter((c) => /attention-lens/.test(c)), []);
  await close(p);
});

test('M2. dashboard, live: a snapshot at step 50, then updates to 120; the cards, markers and matrix follow', async () => {
  const live = liveRun('task-live', {}, 50);
  const p = await openPage(browser, server.origin);
  await deliver(p.page, live.snapshot);
  assert.equal((await hooks(p.page, (al) => al.chartData('measure:lr')))?.[0]?.xs.length, 50);
  assert.deepEqual(((await hooks(p.page, (al) => al.markers?.('loss'))) ?? []).map((m) => [m.step, m.end]), [
    [1, 41],
    [41, undefined],
  ]);
  let m = (await hooks(p.page, (al) => al.matrices?.()))?.[0];
  assert.deepEqual([m?.step, m?.live], [40, true]);

  const first = live.advance(60);
  assert.ok(first !== undefined);
  await deliver(p.page, first);
  // The same update again (a re-sent one): nothing doubles.
  await deliver(p.page, first);
  assert.equal((await hooks(p.page, (al) => al.chartData('measure:displacement')))?.[1]?.xs.length, 60);
  for (let to = 70; to <= 120; to += 10) {
    const u = live.advance(to);
    assert.ok(u !== undefined);
    await deliver(p.page, u);
  }
  await deliver(p.page, { type: 'statusChanged', runId: 'task-live', status: 'completed', step: 120 });
  const lr = await hooks(p.page, (al) => al.chartData('measure:lr'));
  assert.deepEqual(lr?.[0]?.xs, Array.from({ length: 120 }, (_, i) => i + 1), 'every step once');
  const disp = await hooks(p.page, (al) => al.chartData('measure:displacement'));
  assert.deepEqual(disp?.map((d) => d.xs.length), [120, 120]);
  for (const chart of STEP_CHARTS) {
    const ms = (await p.page.evaluate(`window.__attentionLens.markers(${JSON.stringify(chart)})`)) as { step: number; end?: number }[];
    assert.deepEqual(
      ms.map((x) => [x.step, x.end]),
      [
        [1, 41],
        [41, 81],
        [81, undefined],
      ],
      chart,
    );
  }
  m = (await hooks(p.page, (al) => al.matrices?.()))?.[0];
  assert.deepEqual([m?.step, m?.live], [120, true]);
  assert.deepEqual(m?.cells, written(live.run.model.accuracyMatrix));
  // Scrubbed back, the card stays where it was while steps arrive.
  await scrubMatrix(p.page, 70);
  assert.equal((await hooks(p.page, (al) => al.matrices?.()))?.[0]?.step, 40);
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.console.filter((c) => /attention-lens/.test(c)), []);
  await close(p);
});

test('M3. dashboard: an event declared as a line is a dashed vertical line at its step; a unit titles the axis', async () => {
  const { msg } = snapshotOf('task-lines', {});
  assert.equal(msg.type, 'snapshot');
  const snap = (msg as Extract<HostToWebview, { type: 'snapshot' }>).snapshot;
  // The same run, its task event declared as lines instead of bands.
  const info = { ...snap.info!, measures: snap.info!.measures!.map((d) => (d.kind === 'event' ? { ...d, display: 'line' as const } : d.id === 'lr' ? { ...d, unit: 'η' } : d)) };
  const p = await openPage(browser, server.origin);
  await deliver(p.page, { ...msg, snapshot: { ...snap, info } });
  await chartsSized(p.page);
  const ms = (await hooks(p.page, (al) => al.markers?.('measure:displacement'))) ?? [];
  assert.deepEqual(ms.map((x) => [x.step, x.end, x.display]), [
    [1, undefined, 'line'],
    [41, undefined, 'line'],
    [81, undefined, 'line'],
  ]);
  // No band: the plot between the lines is the page's; at step 41 the line in yellow.
  // (Some columns cross a grid line: the clearest of a few.)
  const between = await Promise.all([52, 57, 62, 67, 72].map((st) => columnAt(p.page, 'loss', st)));
  assert.ok(Math.min(...between.map((px) => px[3]!)) < 4, `no band: ${JSON.stringify(between)}`);
  assert.ok(between.every((px) => !(px[0]! > 150 && px[2]! < 60)), 'nothing yellow between the lines');
  const line = await p.page.evaluate(() => {
    const al = (window as unknown as { __attentionLens: { charts: Record<string, unknown> } }).__attentionLens;
    const c = al.charts['loss'] as { canvas: HTMLCanvasElement; chartArea: { top: number; bottom: number }; scales: { x: { getPixelForValue(v: number): number } } };
    const x = Math.round(c.scales.x.getPixelForValue(41));
    const img = c.canvas.getContext('2d')!.getImageData(x, Math.ceil(c.chartArea.top) + 16, 1, 60).data;
    let on = 0;
    for (let i = 0; i < img.length; i += 4) if (img[i]! > 150 && img[i + 1]! > 120 && img[i + 2]! < 60 && img[i + 3]! > 100) on++;
    return on;
  });
  assert.ok(line >= 20 && line <= 45, `a dashed yellow line: ${line} of 60 pixels`);
  const yTitle = await hooks(p.page, (al) => (al.charts['measure:lr'] as { options: { scales: { y: { title?: { display: boolean; text: string } } } } }).options.scales.y.title);
  assert.deepEqual(yTitle && { display: yTitle.display, text: yTitle.text }, { display: true, text: 'η' });
  assert.equal((await hooks(p.page, (al) => (al.charts['measure:displacement'] as { options: { scales: { y: { title?: { display?: boolean } } } } }).options.scales.y.title?.display)) ?? false, false, 'no unit, no title');
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('M4. compare: each run’s series overlaid in its colour, each run’s matrix side by side, each run’s events as markers', async () => {
  const a = recordTaskSequence({ decay: 0.5 });
  const b = recordTaskSequence({ decay: 1, seed: 2 });
  const runs = [a.history.snapshot('seq-decay', 'completed'), { ...b.history.snapshot('seq-flat', 'completed'), name: 'flat lr' }];
  const p = await openPage(browser, server.origin, { view: 'compare', height: 1300 });
  await deliver(p.page, { type: 'compareSnapshot', protocolVersion: PROTOCOL_VERSION, runs, configDiff: configDiff([{ decay: 0.5 }, { decay: 1, seed: 2 }]) });

  const lr = await hooks(p.page, (al) => al.chartData('measure:lr'));
  assert.deepEqual(lr?.map((d) => [d.runId, d.xs.length]), [
    ['seq-decay', 120],
    ['seq-flat', 120],
  ]);
  assert.deepEqual(lr?.[1]?.ys, new Array(120).fill(0.5), 'γ = 1: the rate stays');
  assert.equal(await hooks(p.page, (al) => (al.charts['measure:lr'] as { options: { scales: { y: { type: string } } } }).options.scales.y.type), 'logarithmic');
  const colours = await hooks(p.page, (al) => (al.charts['measure:displacement'] as { data: { datasets: { borderColor: string; borderDash: number[] }[] } }).data.datasets.map((d) => [d.borderColor, d.borderDash.length > 0]));
  assert.deepEqual(colours, [
    ['#3794ff', false],
    ['#3794ff', true],
    ['#d18616', false],
    ['#d18616', true],
  ], 'a colour per run, a dash per group');
  const disp = await hooks(p.page, (al) => al.chartData('measure:displacement'));
  assert.deepEqual(disp?.map((d) => [d.runId, d.label]), [
    ['seq-decay', 'task-sequence · weights'],
    ['seq-decay', 'task-sequence · bias'],
    ['seq-flat', 'flat lr · weights'],
    ['seq-flat', 'flat lr · bias'],
  ]);
  assert.match(await p.page.locator('.al-measure-card[data-measure="displacement"] .al-card-note').first().innerText(), /weights.*bias/);

  // Events: both runs' bands on every step chart, each run in its colour.
  for (const chart of STEP_CHARTS) {
    const ms = (await p.page.evaluate(`window.__attentionLens.markers(${JSON.stringify(chart)})`)) as { step: number; runId?: string; color: string }[];
    assert.deepEqual(
      ms.map((m) => [m.runId, m.step, m.color]),
      [
        ['seq-decay', 1, '#3794ff'],
        ['seq-decay', 41, '#3794ff'],
        ['seq-decay', 81, '#3794ff'],
        ['seq-flat', 1, '#d18616'],
        ['seq-flat', 41, '#d18616'],
        ['seq-flat', 81, '#d18616'],
      ],
      chart,
    );
  }

  // The matrices side by side, at the shared step.
  const cells = async () => Object.fromEntries(((await hooks(p.page, (al) => al.matrices?.())) ?? []).map((x) => [x.runId, { step: x.step, cells: x.cells }]));
  assert.deepEqual(await cells(), {
    'seq-decay': { step: 120, cells: written(a.model.accuracyMatrix) },
    'seq-flat': { step: 120, cells: written(b.model.accuracyMatrix) },
  });
  assert.equal(await p.page.locator('.al-matrix-card .al-cmp-panel').count(), 2);
  await p.page.screenshot({ path: path.join(ARTIFACTS, 'measures-compare.png'), fullPage: true });
  await scrubMatrix(p.page, 55);
  const none = [NaN, NaN, NaN];
  assert.deepEqual(await cells(), {
    'seq-decay': { step: 40, cells: written([a.model.accuracyMatrix[0]!, none, none]) },
    'seq-flat': { step: 40, cells: written([b.model.accuracyMatrix[0]!, none, none]) },
  });
  assert.deepEqual(await p.page.locator('.al-matrix-card .al-cmp-panel-step').allInnerTexts(), ['step 40 · the latest at or before step 55', 'step 40 · the latest at or before step 55']);
  for (const run of ['seq-decay', 'seq-flat']) {
    const px = await heatPixels(p.page, `matrix:acc/matrix:${run}`);
    assert.ok(px !== undefined);
    assert.deepEqual(px.rampIndex.slice(3), new Array(6).fill(-1), `${run}: rows 2 and 3 uncoloured`);
  }

  // The legend hides a run: its lines, its markers and its matrix.
  await p.page.locator('.al-cmp-legend-item[data-run="seq-flat"]').click();
  await settle(p.page);
  assert.deepEqual((await hooks(p.page, (al) => al.chartData('measure:lr')))?.map((d) => [d.hidden, d.xs.length]), [
    [false, 120],
    [true, 0],
  ]);
  assert.deepEqual(((await hooks(p.page, (al) => al.markers?.('loss'))) ?? []).map((m) => m.runId), ['seq-decay', 'seq-decay', 'seq-decay']);
  assert.deepEqual((await hooks(p.page, (al) => al.heatmaps().map((h) => h.name))).filter((n) => n.startsWith('matrix:')), ['matrix:acc/matrix:seq-decay']);
  // Zoom reaches the measurement charts too.
  await hooks(p.page, (al) => al.setZoom?.({ x0: 30, x1: 60 }));
  await settle(p.page);
  const zoomed = (await hooks(p.page, (al) => al.chartData('measure:lr')))?.[0]?.xs ?? [];
  assert.ok(zoomed[0]! >= 29 && zoomed[zoomed.length - 1]! <= 61, `zoomed to ${zoomed[0]} … ${zoomed[zoomed.length - 1]}`);
  assert.equal(await p.page.locator('.al-cmp-attention').isHidden(), true, 'no run captures attention');
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.console.filter((c) => /attention-lens/.test(c)), []);
  await close(p);
});

test('M5. compare, live: one run appended to step 120 while the other is done; its lines, markers and matrix follow', async () => {
  const a = recordTaskSequence({ decay: 0.5 });
  const live = liveRun('seq-live', { decay: 1, seed: 2 }, 50);
  const snap = live.snapshot as Extract<HostToWebview, { type: 'snapshot' }>;
  const p = await openPage(browser, server.origin, { view: 'compare' });
  await deliver(p.page, { type: 'compareSnapshot', protocolVersion: PROTOCOL_VERSION, runs: [a.history.snapshot('seq-done', 'completed'), snap.snapshot], configDiff: [] });
  assert.deepEqual((await hooks(p.page, (al) => al.chartData('measure:lr')))?.map((d) => d.xs.length), [120, 50]);
  for (let to = 60; to <= 120; to += 20) {
    const u = live.advance(to);
    assert.ok(u !== undefined);
    await deliver(p.page, u);
  }
  assert.deepEqual((await hooks(p.page, (al) => al.chartData('measure:lr')))?.map((d) => d.xs.length), [120, 120]);
  assert.equal(((await hooks(p.page, (al) => al.markers?.('accuracy'))) ?? []).filter((m) => m.runId === 'seq-live').length, 3);
  const m = ((await hooks(p.page, (al) => al.matrices?.())) ?? []).find((x) => x.runId === 'seq-live');
  assert.deepEqual([m?.step, m?.cells], [120, written(live.run.model.accuracyMatrix)]);
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('M6. a declared series of 1,000,000 steps: decimated to the chart’s width, a one-step spike kept, repaints fast', async () => {
  const p = await openPage(browser, server.origin);
  const t = await p.page.evaluate(async () => {
    const al = (window as unknown as { __attentionLens: AttentionLensHooks }).__attentionLens;
    const n = 1_000_000;
    const chunk = (from: number, count: number) => {
      const step = new Float64Array(count);
      const values = new Float64Array(count * 2); // (count, 2 groups)
      for (let i = 0; i < count; i++) {
        const s = from + i;
        step[i] = s;
        values[2 * i] = s === 654_321 ? 50 : 1 + 0.01 * Math.sin(s / 1000);
        values[2 * i + 1] = 0.5;
      }
      return { step, values };
    };
    const c = chunk(1, n);
    const e = new Float64Array(0);
    const info = { name: 'big', modelKind: 'other', groups: [], totalSteps: 2 * n, stepsPerEpoch: 1, classes: [], probes: [], config: {}, measures: [{ id: 'g', kind: 'groups', label: 'two groups', groups: ['a', 'b'] }, { id: 'ev', kind: 'event', label: 'ev' }] };
    const scalars = { n: 0, step: e, loss: e, trainAccuracy: e, gradNorms: e, weightNorms: e };
    const t0 = performance.now();
    window.postMessage({ type: 'snapshot', protocolVersion: 1, snapshot: { runId: 'big', status: 'running', info, scalars, evals: [], attentionSteps: [], identity: [], measures: { series: [{ id: 'g', step: c.step, values: c.values }], matrices: [], events: [{ id: 'ev', step: 500_000, text: 'half way' }] } } }, '*');
    await new Promise((r) => setTimeout(r, 0));
    await al.nextRender();
    const t1 = performance.now();
    // Ten more steps, one repaint, timed alone.
    const more = chunk(n + 1, 10);
    window.postMessage({ type: 'stepsAppended', runId: 'big', scalars, evals: [], attentionSteps: [], identity: [], measures: { series: [{ id: 'g', step: more.step, values: more.values }], matrices: [], events: [] } }, '*');
    await new Promise((r) => setTimeout(r, 0));
    const t2 = performance.now();
    al.flush();
    const t3 = performance.now();
    const d = al.chartData('measure:g') ?? [];
    const width = (al.charts['measure:g'] as { chartArea: { width: number } }).chartArea.width;
    return { firstMs: t1 - t0, repaintMs: t3 - t2, held: al.store.measures.columns.get('g')?.step.length, points: d.map((x) => x.ys.length), max: Math.max(...(d[0]?.ys ?? [])), width, markers: al.markers?.('measure:g')?.length };
  });
  assert.equal(t.held, 1_000_010);
  for (const n of t.points) assert.ok(n <= 2 * Math.round(t.width) + 2, `${n} points for ${t.width} px`);
  assert.equal(t.max, 50, 'the spike at step 654,321 is drawn');
  assert.equal(t.markers, 1);
  assert.ok(t.repaintMs < 1000, `a repaint took ${t.repaintMs.toFixed(0)} ms`);
  console.log(`# 1M-step declared series: first paint ${t.firstMs.toFixed(0)} ms, repaint ${t.repaintMs.toFixed(0)} ms, ${t.points.join(' + ')} points`);
  assert.deepEqual(p.errors, []);
  await close(p);
});
