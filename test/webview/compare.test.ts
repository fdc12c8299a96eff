/**
 * The compare view in real Chromium: the page from webviewHtml (view 'compare') under its
 * strict CSP, host messages built like the host's (compareSnapshot, then per-run
 * stepsAppended / attentionLoaded). Run `node esbuild.mjs` first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { AttentionLensHooks } from '../../webview/hooks';
import { compareSnapshot, configDiff, encoderRun, luRun } from './fixtures';
import { ARTIFACTS, clickExport, cspViolations, deliver, heatPixels, launchBrowser, openPage, posted, settle, startServer, type OpenPage, type TestServer } from './harness';
import { isWebviewToHost } from '../../src/protocol/guards';
import { heatExportLayout } from '../../webview/model/exportLayout';
import { countHue, decodePng, hasSignature, pixel, pngSize } from './png';

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

const open = (opts: Parameters<typeof openPage>[2] = {}): Promise<OpenPage> => openPage(browser, server.origin, { view: 'compare', ...opts });
const close = (p: OpenPage): Promise<void> => p.page.context().close();

function hooks<R>(page: Page, f: (al: AttentionLensHooks) => R | Promise<R>): Promise<R> {
  return page.evaluate(`(${f.toString()})(window.__attentionLens)`) as Promise<R>;
}

/** Two recorded Lu runs: keys trained (A) and keys frozen, attention uniform (B). */
function twoRuns() {
  const a = luRun('lu-keys', 1500, { seed: 1 });
  const b = luRun('lu-frozen', 1500, { keysFrozen: true, seed: 2 });
  return { a, b, snap: compareSnapshot([{ run: a, upTo: 300 }, { run: b, upTo: 250 }]) };
}

async function scrubTo(page: Page, step: number): Promise<void> {
  await page.locator('.al-range').evaluate((el, v) => {
    const input = el as HTMLInputElement;
    input.value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }, step);
  await settle(page);
}

test('C1. two recorded runs: one curve per run per chart, the legend toggles a run, live steps extend a curve', async () => {
  const { a, b, snap } = twoRuns();
  const p = await open();
  assert.equal(await hooks(p.page, (al) => al.view), 'compare');
  await deliver(p.page, snap);
  for (const chart of ['loss', 'accuracy', 'gradients']) {
    const sets = (await p.page.evaluate(`window.__attentionLens.chartData(${JSON.stringify(chart)})`)) as { runId: string; xs: number[]; hidden: boolean }[];
    assert.deepEqual(
      sets.map((d) => [d.runId, d.xs.length, d.hidden]),
      [
        [a.runId, 300, false],
        [b.runId, 250, false],
      ],
      `${chart}: one dataset per run, every step`,
    );
  }
  const loss = await hooks(p.page, (al) => al.chartData('loss'));
  assert.deepEqual(loss?.[0]?.ys, Array.from({ length: 300 }, (_, i) => a.loss(i + 1)));
  assert.deepEqual(loss?.[1]?.ys, Array.from({ length: 250 }, (_, i) => b.loss(i + 1)));
  // Gradients: one curve per run, the norm over all parameter groups.
  const grads = await hooks(p.page, (al) => al.chartData('gradients'));
  const g0 = (s: number, g: number): number => (g === 0 ? 1e-3 : 1e-6) * (1 + 50 * Math.exp(-((s - 150) ** 2) / 5000));
  assert.ok(Math.abs((grads?.[0]?.ys[149] as number) - Math.hypot(g0(150, 0), g0(150, 1))) < 1e-12);
  // One colour per run: --vscode-charts-blue, -orange; the same on the legend swatch.
  const colours = await hooks(p.page, (al) => (al.charts['loss'] as { data: { datasets: { borderColor: string }[] } }).data.datasets.map((d) => d.borderColor));
  assert.deepEqual(colours, ['#3794ff', '#d18616']);
  const swatch = await p.page.locator('.al-cmp-legend-item').nth(1).locator('.al-swatch').evaluate((e) => getComputedStyle(e).backgroundColor);
  assert.equal(swatch, 'rgb(209, 134, 22)');

  // The legend hides run B everywhere (curves and its heatmap), and shows it again.
  await p.page.locator(`.al-cmp-legend-item[data-run="${b.runId}"]`).click();
  await settle(p.page);
  const hidden = await hooks(p.page, (al) => al.chartData('loss')?.map((d) => [d.hidden, d.xs.length]));
  assert.deepEqual(hidden, [
    [false, 300],
    [true, 0],
  ]);
  assert.equal(await p.page.locator(`.al-cmp-legend-item[data-run="${b.runId}"]`).getAttribute('aria-pressed'), 'false');
  assert.deepEqual(await hooks(p.page, (al) => al.heatmaps().map((h) => h.name)), [`cmp:${a.runId}`]);
  await p.page.locator(`.al-cmp-legend-item[data-run="${b.runId}"]`).click();
  await settle(p.page);
  assert.deepEqual(await hooks(p.page, (al) => al.chartData('loss')?.map((d) => d.xs.length)), [300, 250]);

  // Live: steps appended to run B extend only its curve; its heatmap follows.
  await deliver(p.page, b.appended(251, 300));
  assert.deepEqual(await hooks(p.page, (al) => al.chartData('loss')?.map((d) => d.xs.length)), [300, 300]);
  assert.deepEqual(await hooks(p.page, (al) => al.shownSteps?.()), { [a.runId]: 300, [b.runId]: 300 });
  await deliver(p.page, { type: 'statusChanged', runId: b.runId, status: 'completed', step: 300 });
  assert.match(await p.page.locator(`.al-cmp-legend-item[data-run="${b.runId}"]`).innerText(), /completed/);
  // Rename: the new display name reaches the legend, the attention panel and the page title.
  await deliver(p.page, { type: 'statusChanged', runId: b.runId, status: 'completed', step: 300, name: 'run B (baseline)' });
  assert.match(await p.page.locator(`.al-cmp-legend-item[data-run="${b.runId}"] .al-cmp-run-name`).innerText(), /^run B \(baseline\)$/);
  assert.equal(await p.page.locator('.al-cmp-panel-head .al-cmp-run-name', { hasText: 'run B (baseline)' }).count(), 1);
  assert.match(await p.page.title(), /run B \(baseline\)/);
  assert.deepEqual(await hooks(p.page, (al) => al.chartData('loss')?.map((d) => d.xs.length)), [300, 300], 'the curves are drawn again in full');
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('C2. the config-diff table lists exactly the differing fields; the Lu table shows identity error and topic attention', async () => {
  const { a, b, snap } = twoRuns();
  const expected = configDiff([a.info.config, b.info.config]);
  assert.deepEqual(
    expected.map((d) => d.path),
    ['model.trainable.keys', 'training.seed'],
    'the fixture configs differ in two fields',
  );
  const p = await open();
  await deliver(p.page, snap);
  const rows = await p.page.locator('.al-cmp-config-table tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children).map((c) => (c as HTMLElement).innerText.trim())));
  assert.deepEqual(rows, [
    ['model.trainable.keys', 'true', 'false'],
    ['training.seed', '1', '2'],
  ]);
  const head = await p.page.locator('.al-cmp-config-table thead th').allInnerTexts();
  assert.deepEqual(head.map((t) => t.trim()), ['field', a.info.name, b.info.name]);

  const lu = await p.page.locator('.al-cmp-lu-table tbody tr').evaluateAll((trs) => trs.map((tr) => ({ run: tr.getAttribute('data-run'), cells: Array.from(tr.children).map((c) => (c as HTMLElement).innerText.trim()) })));
  assert.deepEqual(
    lu.map((r) => r.run),
    [a.runId, b.runId],
  );
  // Topic attention of the last eval (step 300 and 250): rising for A, 1/11 for B.
  assert.equal(lu[1]?.cells[3], String(Number((1 / 11).toPrecision(3))));
  assert.ok(Number(lu[0]?.cells[3]) > 0.5, `topic attention of A: ${lu[0]?.cells[3]}`);
  assert.match(lu[0]?.cells[2] ?? '', /%$/, 'identity max relative error');
  assert.equal(lu[0]?.cells[4], String(Number(a.loss(300).toPrecision(4))));
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('C3. one shared scrubber moves both heatmaps; each run shows its frame at or before the step', async () => {
  const { a, b, snap } = twoRuns();
  const p = await open();
  await deliver(p.page, snap);
  assert.deepEqual(await hooks(p.page, (al) => al.scrubber()), { live: true, step: 300, stops: 31 }, 'stops: the union of both runs’ captures');
  const liveA = await heatPixels(p.page, `cmp:${a.runId}`);
  const liveB = await heatPixels(p.page, `cmp:${b.runId}`);
  assert.ok(liveA !== undefined && liveB !== undefined);
  assert.equal(liveA.cols, 11);
  assert.equal(liveA.rows, 1);
  // Probe 0's row: A attends its topic word; B (keys frozen) is uniform.
  assert.deepEqual(liveA.values.map((v) => Math.fround(v)), Array.from(a.frame(300).probes[0]?.[0]?.data ?? []));
  assert.ok(liveB.values.every((v) => Math.abs(v - 1 / 11) < 1e-6));

  await scrubTo(p.page, 155);
  const req = (await posted(p.page)).filter((m) => m.type === 'requestAttention');
  assert.deepEqual(req, [
    { type: 'requestAttention', runId: a.runId, step: 150 },
    { type: 'requestAttention', runId: b.runId, step: 150 },
  ]);
  assert.match(await p.page.locator('.al-scrub-label').innerText(), /step 150 of 300 · loading/);
  // B's frames differ only in values that are all 1/11: give B a recognisable frame at 150.
  const bFrame = a.frame(150);
  await deliver(p.page, { type: 'attentionLoaded', runId: a.runId, frame: a.frame(150) }, { type: 'attentionLoaded', runId: b.runId, frame: { ...bFrame, probes: bFrame.probes.map((maps) => maps.map((m) => ({ ...m, data: m.data.map((v, j) => (j === 0 ? 0.9 : v * 0.1)) }))) } });
  assert.deepEqual(await hooks(p.page, (al) => al.shownSteps?.()), { [a.runId]: 150, [b.runId]: 150 });
  const oldA = await heatPixels(p.page, `cmp:${a.runId}`);
  const oldB = await heatPixels(p.page, `cmp:${b.runId}`);
  assert.ok(oldA !== undefined && oldB !== undefined);
  assert.notDeepEqual(oldA.rgba, liveA.rgba, 'run A’s heatmap changed pixels');
  assert.notDeepEqual(oldB.rgba, liveB.rgba, 'run B’s heatmap changed pixels');
  assert.doesNotMatch(await p.page.locator('.al-scrub-label').innerText(), /loading/);

  // Past B's last capture (B's snapshot ends at 250; A goes on): B shows its latest frame,
  // already held, so only A's frame is asked for.
  await deliver(p.page, a.appended(301, 320));
  await scrubTo(p.page, 280);
  const req2 = (await posted(p.page)).filter((m) => m.type === 'requestAttention').slice(2);
  assert.deepEqual(req2, [{ type: 'requestAttention', runId: a.runId, step: 280 }]);
  assert.equal((await hooks(p.page, (al) => al.shownSteps?.()))?.[b.runId], 250);
  // Choosing another probe repaints each run's row of that probe (no new request).
  await deliver(p.page, { type: 'attentionLoaded', runId: a.runId, frame: a.frame(280) });
  await p.page.evaluate(() => {
    const sel = document.querySelector('.al-probe vscode-single-select') as HTMLElement & { value: string };
    sel.value = '7';
    sel.dispatchEvent(new Event('change'));
  });
  await settle(p.page);
  const p7 = await heatPixels(p.page, `cmp:${a.runId}`);
  assert.deepEqual(p7?.values.map((v) => Math.fround(v)), Array.from(a.frame(280).probes[7]?.[0]?.data ?? []));
  assert.equal(await p.page.locator(`.al-cmp-panel[data-run="${a.runId}"] .al-token`).nth(a.topicPos[7] as number).innerText(), 'topic3_b');
  // Live again: both follow their latest.
  await p.page.locator('vscode-button.al-live').click();
  await settle(p.page);
  assert.deepEqual(await hooks(p.page, (al) => al.shownSteps?.()), { [a.runId]: 320, [b.runId]: 250 });
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('C4. zoom redraws a step range from the full data; a 1,000,000-step run keeps a one-step spike', async () => {
  const { snap, a } = twoRuns();
  const p = await open();
  await deliver(p.page, snap);
  const inRange = (): Promise<number[] | undefined> => hooks(p.page, (al) => al.chartData('loss')?.map((d) => d.xs.filter((x) => x >= 100 && x <= 150).length));
  // Drag across the loss chart: zoom to the steps under the drag.
  const box = await p.page.locator('.al-loss-card canvas').boundingBox();
  assert.ok(box !== null);
  await p.page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await p.page.mouse.down();
  await p.page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 4 });
  await p.page.mouse.up();
  await settle(p.page);
  const dragged = await hooks(p.page, (al) => al.zoom?.());
  assert.ok(dragged !== undefined && dragged.x0 > 50 && dragged.x1 < 250 && dragged.x1 > dragged.x0, `drag zoom ${JSON.stringify(dragged)}`);
  const xs = await hooks(p.page, (al) => al.chartData('loss')?.[0]?.xs ?? []);
  assert.ok(xs.length > 0 && xs.length < 300, `${xs.length} points drawn in the zoomed range`);
  assert.ok(Math.min(...xs) >= dragged.x0 - 1 && Math.max(...xs) <= dragged.x1 + 1);
  // Numeric inputs: the same, precisely.
  await p.page.locator('.al-zoom-from').fill('100');
  await p.page.locator('.al-zoom-to').fill('150');
  await p.page.locator('.al-zoom-to').dispatchEvent('change');
  await settle(p.page);
  assert.deepEqual(await hooks(p.page, (al) => al.zoom?.()), { x0: 100, x1: 150 });
  assert.deepEqual(await inRange(), [51, 51]);
  const axis = await hooks(p.page, (al) => {
    const x = (al.charts['loss'] as { scales: { x: { min: number; max: number } } }).scales.x;
    return [x.min, x.max];
  });
  assert.deepEqual(axis, [100, 150]);
  await p.page.locator('vscode-button.al-zoom-reset').click();
  await settle(p.page);
  assert.equal(await hooks(p.page, (al) => al.zoom?.()), undefined);
  assert.deepEqual(await hooks(p.page, (al) => al.chartData('loss')?.map((d) => d.xs.length)), [300, 250]);
  await close(p);

  // A million-step run beside a short one.
  const q = await open();
  const big = luRun('lu-million', 1_000_000);
  await deliver(q.page, compareSnapshot([{ run: big, upTo: 10 }, { run: a, upTo: 300 }]));
  const r = await q.page.evaluate(async (runId) => {
    const al = (window as unknown as { __attentionLens: AttentionLensHooks }).__attentionLens;
    const chunk = (from: number, count: number, spikeAt: number) => {
      const step = new Float64Array(count);
      const loss = new Float64Array(count);
      const acc = new Float64Array(count);
      const g = new Float64Array(count * 2);
      for (let i = 0; i < count; i++) {
        step[i] = from + i;
        loss[i] = from + i === spikeAt ? 40 : 1 / Math.sqrt(from + i);
        acc[i] = 0.9;
        g[2 * i] = 1e-3;
        g[2 * i + 1] = 1e-5;
      }
      return { n: count, step, loss, trainAccuracy: acc, gradNorms: g, weightNorms: g.slice() };
    };
    for (let k = 0; k < 100; k++) window.postMessage({ type: 'stepsAppended', runId, scalars: chunk(11 + k * 10_000, 10_000, 777_777), evals: [], attentionSteps: [], identity: [], measures: { series: [], matrices: [], events: [] } }, '*');
    await new Promise((res) => setTimeout(res, 0));
    await al.nextRender();
    const full = al.chartData('loss')?.[0];
    const width = (al.charts['loss'] as { chartArea: { width: number } }).chartArea.width;
    const near = (d: { xs: number[] } | undefined): number => d?.xs.filter((x) => x >= 770_000 && x <= 790_000).length ?? 0;
    const before = { steps: al.compare?.run(runId)?.step.length, points: full?.ys.length ?? 0, maxY: Math.max(...(full?.ys ?? [])), near: near(full) };
    al.setZoom?.({ x0: 770_000, x1: 790_000 });
    al.flush();
    const z = al.chartData('loss')?.[0];
    const zw = (al.charts['loss'] as { chartArea: { width: number } }).chartArea.width;
    return { before, width, zoomed: { width: zw, points: z?.ys.length ?? 0, maxY: Math.max(...(z?.ys ?? [])), near: near(z), hasSpikeStep: z?.xs.includes(777_777) ?? false } };
  }, big.runId);
  assert.equal(r.before.steps, 1_000_010);
  assert.ok(r.before.points <= 2 * Math.round(r.width) + 2, `${r.before.points} points for ${r.width}px`);
  assert.equal(r.before.maxY, 40, 'the one-step spike at 777,777 is drawn');
  assert.ok(r.zoomed.near > 10 * r.before.near, `zoomed: ${r.zoomed.near} points in the range, before ${r.before.near}`);
  assert.ok(r.zoomed.points <= 2 * Math.round(r.zoomed.width) + 2, `${r.zoomed.points} points zoomed for ${r.zoomed.width}px`);
  assert.equal(r.zoomed.maxY, 40, 'the spike survives the zoomed decimation');
  assert.ok(r.zoomed.hasSpikeStep);
  assert.deepEqual(q.errors, []);
  await close(q);
});

test('C5. no CSP violation; encoder runs show the softmax weights of one head; screenshots', async () => {
  const { a, b, snap } = twoRuns();
  for (const theme of ['dark', 'light'] as const) {
    const p = await open({ theme, height: 1400 });
    await deliver(p.page, snap);
    await scrubTo(p.page, 120);
    await deliver(p.page, { type: 'attentionLoaded', runId: a.runId, frame: a.frame(120) }, { type: 'attentionLoaded', runId: b.runId, frame: b.frame(120) });
    const heat = await p.page.locator('.al-cmp-panel .al-lu .al-heat').first().boundingBox();
    assert.ok(heat !== null);
    await p.page.mouse.move(heat.x + heat.width * 0.3, heat.y + heat.height * 0.5);
    await p.page.waitForSelector('.al-tooltip:not([hidden])');
    await p.page.mouse.move(0, 0);
    await p.page.locator('vscode-single-select').first().click();
    await p.page.keyboard.press('Escape');
    await p.page.waitForTimeout(150);
    await settle(p.page);
    await p.page.screenshot({ path: path.join(ARTIFACTS, `compare-${theme}.png`), fullPage: true });
    assert.deepEqual(await cspViolations(p.page), [], 'securitypolicyviolation events');
    assert.deepEqual(p.console.filter((c) => /Content Security Policy|Refused to/i.test(c)), []);
    assert.deepEqual(p.errors, []);
    await close(p);
  }
  assert.ok(fs.statSync(path.join(ARTIFACTS, 'compare-dark.png')).size > 10_000);

  // Two encoder runs: head 0 of W by default, the head selector switches both.
  const e1 = encoderRun('enc-a');
  const e2 = encoderRun('enc-b');
  const q = await open();
  await deliver(q.page, compareSnapshot([{ run: e1, upTo: 200 }, { run: e2, upTo: 100 }]));
  const w = (f: ReturnType<typeof e1.frame>, head: number): number[] => Array.from(f.probes[0]?.find((m) => m.stage === 'weights' && m.head === head)?.data ?? []);
  assert.deepEqual((await heatPixels(q.page, 'cmp:enc-a'))?.values.map((v) => Math.fround(v)), w(e1.frame(200), 0));
  assert.deepEqual((await heatPixels(q.page, 'cmp:enc-b'))?.values.map((v) => Math.fround(v)), w(e2.frame(100), 0));
  await q.page.evaluate(() => {
    const sel = document.querySelector('.al-head vscode-single-select') as HTMLElement & { value: string };
    sel.value = '1';
    sel.dispatchEvent(new Event('change'));
  });
  await settle(q.page);
  assert.deepEqual((await heatPixels(q.page, 'cmp:enc-a'))?.values.map((v) => Math.fround(v)), w(e1.frame(200), 1));
  assert.equal(await q.page.locator('.al-cmp-lu').isHidden(), true, 'no Lu table without Lu runs');
  assert.deepEqual(await cspViolations(q.page), []);
  assert.deepEqual(q.errors, []);
  await close(q);
});

test('C6. Save PNG: a compare chart (every run, no runId) and one run\'s attention map', async () => {
  const { b, snap } = twoRuns();
  const p = await open();
  await deliver(p.page, snap);
  const bg = [30, 30, 30, 255];

  const loss = await clickExport(p.page, '.al-loss-card .al-export');
  assert.equal(loss.tag, '[object Uint8Array]');
  assert.equal(loss.runId, undefined, 'a chart of several runs');
  assert.equal(loss.name, 'loss');
  assert.ok(hasSignature(loss.png));
  assert.ok(isWebviewToHost(loss));
  const size = await p.page.locator('.al-loss-card canvas').evaluate((c) => ({ width: (c as HTMLCanvasElement).width, height: (c as HTMLCanvasElement).height }));
  assert.deepEqual(pngSize(loss.png), size);
  const img = decodePng(loss.png);
  assert.deepEqual(pixel(img, 0, 0), bg);
  assert.ok(countHue(img, 'blue') > 150, `run A in --vscode-charts-blue (${countHue(img, 'blue')} pixels)`);
  assert.ok(countHue(img, 'orange') > 150, `run B in --vscode-charts-orange (${countHue(img, 'orange')} pixels)`);
  fs.writeFileSync(path.join(ARTIFACTS, 'export-compare-loss.png'), loss.png);
  // The legend was drawn into the export only.
  assert.equal(await hooks(p.page, (al) => (al.charts['loss'] as { options: { plugins: { legend: { display: boolean } } } }).options.plugins.legend.display), false);

  // Zoomed: the range is in the name.
  await hooks(p.page, (al) => al.setZoom?.({ x0: 100, x1: 200 }));
  await settle(p.page);
  const zoomed = await clickExport(p.page, '.al-grad-card .al-export');
  assert.equal(zoomed.name, 'gradients-steps-100-200');

  // One run's map: its runId, every cell as on screen.
  const heat = await clickExport(p.page, `.al-cmp-panel[data-run="${b.runId}"] .al-cmp-panel-export`);
  assert.equal(heat.runId, b.runId);
  assert.equal(heat.name, 'attention-step-250');
  const px = await heatPixels(p.page, `cmp:${b.runId}`);
  assert.ok(px !== undefined);
  const L = heatExportLayout('lu', px.rows, px.cols);
  assert.deepEqual(pngSize(heat.png), { width: L.width, height: L.height });
  const himg = decodePng(heat.png);
  for (let r = 0; r < px.rows; r++)
    for (let c = 0; c < px.cols; c++) {
      const i = (r * px.cols + c) * 4;
      const want: number[] = px.rgba[i + 3] === 0 ? bg : px.rgba.slice(i, i + 4);
      assert.deepEqual(pixel(himg, L.grid.x + c * L.cellW + 3, L.grid.y + r * L.cellH + 3), want, `cell (${r}, ${c})`);
    }
  fs.writeFileSync(path.join(ARTIFACTS, 'export-compare-attention.png'), heat.png);
  assert.equal((await posted(p.page)).filter((m) => m.type === 'exportImage').length, 3);
  assert.deepEqual(await cspViolations(p.page), []);
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('C7. the page keeps the compared run ids, in order, in its state (the host restores the panel from them after a window reload)', async () => {
  const { a, b } = twoRuns();
  const p = await open();
  const state = (): Promise<{ runIds?: unknown } | undefined> => p.page.evaluate(() => {
    const s = sessionStorage.getItem('__attentionLensTestState');
    return s === null ? undefined : (JSON.parse(s) as { runIds?: unknown });
  });
  // Runs in the order the user chose: B first.
  await deliver(p.page, compareSnapshot([{ run: b, upTo: 250 }, { run: a, upTo: 300 }]));
  assert.deepEqual((await state())?.runIds, [b.runId, a.runId]);
  // A view choice saved later keeps them.
  await p.page.locator('.al-cmp-legend-item').first().click();
  await settle(p.page);
  assert.deepEqual((await state())?.runIds, [b.runId, a.runId]);
  // After a reload, before the host's snapshot, the ids are still in the state for the host to read.
  await p.page.reload();
  await p.page.waitForFunction(() => (window as unknown as { __attentionLens?: unknown }).__attentionLens !== undefined);
  await settle(p.page);
  assert.deepEqual((await state())?.runIds, [b.runId, a.runId]);
  assert.deepEqual(p.errors, []);
  await close(p);
});
