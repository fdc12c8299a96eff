/**
 * Watching a run step by step on the dashboard, in real Chromium: the pace control; the charts'
 * log step axis and the last-N-steps window; the scrubber on that axis, the box to type a step
 * and ▶ play through the captured frames; the labels that say which step a view shows; and
 * every step-bound view (attention, identity chart, matrix cards, the charts' cursor) following
 * the scrubbed step. Run `node esbuild.mjs` first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { HostToWebview, MeasureDecl } from '../../src/protocol/messages';
import type { AttentionLensHooks } from '../../webview/hooks';
import { luRun } from './fixtures';
import { ARTIFACTS, deliver, launchBrowser, openPage, posted, settle, startServer, THEMES, type OpenPage, type TestServer } from './harness';

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

const open = (opts: Parameters<typeof openPage>[2] = {}): Promise<OpenPage> => openPage(browser, server.origin, opts);
const close = (p: OpenPage): Promise<void> => p.page.context().close();

/** Run a function against the page's hooks (evaluated in the page: it must not close over test-side variables). */
function hooks<R>(page: Page, f: (al: AttentionLensHooks) => R | Promise<R>): Promise<R> {
  return page.evaluate(`(${f.toString()})(window.__attentionLens)`) as Promise<R>;
}

const text = (page: Page, sel: string): Promise<string> => page.locator(sel).first().innerText();

/** Pick an option of a dropdown as a person does: open it, click the choice. */
async function pick(page: Page, field: string, option: string): Promise<void> {
  await page.locator(`${field} vscode-single-select`).click();
  await page.locator(`${field} vscode-single-select`).getByRole('option', { name: option, exact: true }).click();
  await settle(page);
}

const selected = (page: Page, field: string): Promise<string> => page.locator(`${field} vscode-single-select`).evaluate((e) => (e as HTMLElement & { value: string }).value);

/** Move the range input to an axis coordinate, as a drag does. */
async function rangeTo(page: Page, value: number): Promise<void> {
  await page.locator('.al-attention .al-range').evaluate((el, v) => {
    const input = el as HTMLInputElement;
    input.value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
  await settle(page);
}

/** The step a chart's cursor marks (undefined: none). */
const cursorOf = (page: Page, chart: string): Promise<number | undefined> => page.evaluate((c) => (window as unknown as { __attentionLens: AttentionLensHooks }).__attentionLens.stepCursor?.(c), chart);

const requests = async (page: Page): Promise<number[]> => (await posted(page)).filter((m) => m.type === 'requestAttention').map((m) => m.step as number);

/** The host's part: answer every frame request not answered yet with the run's capture at that step. */
async function answer(page: Page, run: ReturnType<typeof luRun>, done: Set<number>): Promise<void> {
  for (const step of await requests(page)) {
    if (done.has(step)) continue;
    done.add(step);
    await deliver(page, { type: 'attentionLoaded', runId: run.runId, frame: run.frame(step) });
  }
}

/** The x scale of a chart: its type, ticks (value, label), plot edges and a few pixels of values. */
function xScale(page: Page, chart: string, values: number[]) {
  return page.evaluate(
    ({ chart, values }) => {
      type Scale = { type: string; min: number; max: number; left: number; right: number; ticks: { value: number; label: string }[]; getPixelForValue(v: number): number };
      const c = (window as unknown as { __attentionLens: { charts: Record<string, { scales: Record<string, Scale> }> } }).__attentionLens.charts[chart]!;
      const x = c.scales['x']!;
      return { type: x.type, min: x.min, max: x.max, left: x.left, right: x.right, ticks: x.ticks.map((t) => ({ value: t.value, label: String(t.label) })), px: values.map((v) => x.getPixelForValue(v)) };
    },
    { chart, values },
  );
}

test('S1. the pace control posts setPace with the pace chosen and shows the pace the host reports; a finished run has none', async () => {
  const lu = luRun();
  const p = await open();
  await deliver(p.page, lu.snapshot(300));
  assert.equal(await selected(p.page, '.al-pace'), 'max', 'no pace reported: as fast as possible');
  await pick(p.page, '.al-pace', '10 steps/s');
  assert.deepEqual((await posted(p.page)).filter((m) => m.type === 'setPace'), [{ type: 'setPace', runId: lu.runId, pace: { stepsPerSecond: 10 } }]);
  // Until the host answers, the control shows the choice; steps arriving meanwhile do not undo it.
  await deliver(p.page, lu.appended(301, 310));
  assert.equal(await selected(p.page, '.al-pace'), '10');
  await deliver(p.page, { type: 'statusChanged', runId: lu.runId, status: 'running', step: 310, pace: { stepsPerSecond: 10 } });
  assert.equal(await selected(p.page, '.al-pace'), '10', 'the host reports the pace');
  // The pace set elsewhere (the Set Pace command): the control follows the host.
  await deliver(p.page, { type: 'statusChanged', runId: lu.runId, status: 'paused', step: 310, reason: 'paused by the user', pace: { stepsPerSecond: 100, holdMs: 400 } });
  assert.equal(await selected(p.page, '.al-pace'), 'slow-motion');
  await pick(p.page, '.al-pace', 'Slow motion (frames held)');
  await pick(p.page, '.al-pace', 'As fast as possible');
  assert.deepEqual(
    (await posted(p.page)).filter((m) => m.type === 'setPace').map((m) => m.pace),
    [{ stepsPerSecond: 10 }, { stepsPerSecond: 100, holdMs: 400 }, {}],
  );
  await deliver(p.page, { type: 'statusChanged', runId: lu.runId, status: 'running', step: 310 });
  assert.equal(await selected(p.page, '.al-pace'), 'max', 'no pace in the status: full speed');
  // A pace that is none of the choices is shown as it is.
  await deliver(p.page, { type: 'statusChanged', runId: lu.runId, status: 'running', step: 310, pace: { stepsPerSecond: 37 } });
  assert.equal(await selected(p.page, '.al-pace'), 'custom');
  assert.equal(await p.page.locator('.al-pace vscode-option[value="custom"]').textContent(), '37 steps/s');
  // Stopped: the control is disabled and out of sight (keeping its room: the header does not jump).
  await deliver(p.page, { type: 'statusChanged', runId: lu.runId, status: 'stopped', step: 310 });
  const off = await p.page.locator('.al-pace').evaluate((el) => ({ visibility: getComputedStyle(el).visibility, disabled: (el.querySelector('vscode-single-select') as HTMLElement & { disabled: boolean }).disabled, height: el.getBoundingClientRect().height }));
  assert.deepEqual([off.visibility, off.disabled], ['hidden', true]);
  assert.ok(off.height > 10, 'it keeps its room');
  const n = (await posted(p.page)).filter((m) => m.type === 'setPace').length;
  await p.page.locator('.al-pace vscode-single-select').evaluate((e) => {
    const sel = e as HTMLElement & { value: string };
    sel.value = '1';
    sel.dispatchEvent(new Event('change'));
  });
  assert.equal((await posted(p.page)).filter((m) => m.type === 'setPace').length, n, 'no setPace for a finished run');
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('S2. the log step axis: decade ticks at their log places, every point placed by its log step, the first steps all drawn; the last N steps', async () => {
  const lu = luRun();
  const p = await open({ width: 1280 });
  await deliver(p.page, lu.snapshot(1500, 'completed'));
  await p.page.waitForFunction(() => ((window as unknown as { __attentionLens: { charts: Record<string, { chartArea?: { width: number } }> } }).__attentionLens.charts['loss']?.chartArea?.width ?? 0) > 100);
  await settle(p.page);
  const lin = await xScale(p.page, 'loss', [10]);
  assert.equal(lin.type, 'linear');
  await pick(p.page, '.al-step-scale', 'log');
  await p.page.waitForTimeout(120);
  await settle(p.page);
  for (const name of ['loss', 'accuracy', 'gradients']) {
    const x = await xScale(p.page, name, [1, 10, 100, 1000, 1500]);
    assert.equal(x.type, 'logarithmic', name);
    assert.deepEqual([x.min, x.max], [1, 1500], `${name}: the run's steps`);
    assert.deepEqual(x.ticks.map((t) => t.label), ['1', '10', '100', '1k'], `${name}: a tick per decade`);
    const w = x.right - x.left;
    for (const [i, v] of [1, 10, 100, 1000, 1500].entries()) {
      const want = x.left + (w * Math.log10(v)) / Math.log10(1500);
      assert.ok(Math.abs(x.px[i]! - want) < 0.5, `${name}: step ${v} at ${x.px[i]} px, log place ${want}`);
    }
  }
  // The points: placed by their log step (Chart.js's point elements), and the first steps all there.
  const pts = await p.page.evaluate(() => {
    type Meta = { data: { x: number; y: number; $context?: unknown }[] };
    const c = (window as unknown as { __attentionLens: { charts: Record<string, { getDatasetMeta(i: number): Meta; data: { datasets: { data: { x: number; y: number }[] }[] }; scales: Record<string, { left: number; right: number; getPixelForValue(v: number): number }> }> } }).__attentionLens.charts['loss']!;
    const meta = c.getDatasetMeta(0);
    const data = c.data.datasets[0]!.data;
    const x = c.scales['x']!;
    const y = c.scales['y']!;
    return { left: x.left, right: x.right, points: data.map((d, i) => ({ step: d.x, px: meta.data[i]!.x, py: meta.data[i]!.y, wantY: y.getPixelForValue(d.y) })) };
  });
  const w = pts.right - pts.left;
  for (const q of pts.points) {
    const want = pts.left + (w * Math.log10(q.step)) / Math.log10(1500);
    assert.ok(Math.abs(q.px - want) < 0.5 && Math.abs(q.py - q.wantY) < 0.5, `step ${q.step} drawn at ${q.px}, log place ${want}`);
  }
  const steps = pts.points.map((q) => q.step);
  for (let s = 1; s <= 100; s++) assert.ok(steps.includes(s), `step ${s} is drawn (each of the first 100 steps has a pixel column of its own)`);
  assert.ok(steps.length <= 2 * Math.round(w) + 2, `${steps.length} points for ${w} px`);
  // On screen: the train line (charts-blue) passes through step 10's column at its loss, a third of the way along (a linear axis put it at the left edge).
  const log = await xScale(p.page, 'loss', [10]);
  assert.ok(log.px[0]! - log.left > 0.3 * (log.right - log.left) && lin.px[0]! - lin.left < 0.01 * (lin.right - lin.left), `step 10: log ${log.px[0]} px, linear ${lin.px[0]} px`);
  const blue = THEMES.dark['charts-blue'];
  const at10 = pts.points.find((q) => q.step === 10)!;
  const hit = await p.page.evaluate(
    ({ x, y, blue }) => {
      const c = (window as unknown as { __attentionLens: { charts: Record<string, { canvas: HTMLCanvasElement }> } }).__attentionLens.charts['loss']!;
      const ctx = c.canvas.getContext('2d')!;
      const d = ctx.getImageData(Math.round(x) - 1, Math.round(y) - 3, 3, 7).data;
      const r = parseInt(blue.slice(1, 3), 16);
      const g = parseInt(blue.slice(3, 5), 16);
      const b = parseInt(blue.slice(5, 7), 16);
      let best = Infinity;
      for (let i = 0; i < d.length; i += 4) best = Math.min(best, Math.abs(d[i]! - r) + Math.abs(d[i + 1]! - g) + Math.abs(d[i + 2]! - b));
      return best;
    },
    { x: at10.px, y: at10.py, blue },
  );
  assert.ok(hit < 90, `the blue train line is drawn at step 10's place (colour distance ${hit})`);
  await p.page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-log-axis.png'), fullPage: true });

  // The scrubber follows the axis: its coordinate is log10 of the step.
  const r = await p.page.locator('.al-attention .al-range').evaluate((e) => ({ min: (e as HTMLInputElement).min, max: (e as HTMLInputElement).max, value: (e as HTMLInputElement).value }));
  assert.equal(Number(r.min), 0);
  for (const v of [r.max, r.value]) assert.ok(Math.abs(Number(v) - Math.log10(1500)) < 1e-9, `log10(1500): ${v}`);

  // The last 1,000 steps (on a linear axis): the charts' range, and only those points.
  await pick(p.page, '.al-step-scale', 'linear');
  await pick(p.page, '.al-step-window', 'last 1,000');
  const win = await xScale(p.page, 'loss', []);
  assert.deepEqual([win.type, win.min, win.max], ['linear', 501, 1500]);
  const xs = (await hooks(p.page, (al) => al.chartData('loss')))?.[0]?.xs ?? [];
  assert.ok(xs.length > 0 && xs.every((x) => x >= 500 && x <= 1500), `points ${xs[0]} … ${xs[xs.length - 1]}`);
  // Both choices are view state: a reload keeps them.
  await p.page.reload();
  await p.page.waitForFunction(() => (window as unknown as { __attentionLens?: unknown }).__attentionLens !== undefined);
  await deliver(p.page, lu.snapshot(1500, 'completed'));
  assert.deepEqual([await selected(p.page, '.al-step-scale'), await selected(p.page, '.al-step-window')], ['linear', '1000']);
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('S3. the typed step and the log scrubber land on the step asked', async () => {
  const lu = luRun();
  const p = await open({ width: 1100 });
  await deliver(p.page, lu.snapshot(1500));
  await pick(p.page, '.al-step-scale', 'log');
  // Dragged to step 50's place on the log scrubber: step 50 (a capture), asked for and shown.
  await rangeTo(p.page, Math.log10(50));
  assert.deepEqual(await hooks(p.page, (al) => al.scrubber()), { live: false, step: 50, stops: 151 });
  assert.deepEqual(await requests(p.page), [50]);
  const done = new Set<number>();
  await answer(p.page, lu, done);
  assert.equal(await hooks(p.page, (al) => al.shownStep()), 50);
  assert.equal(await text(p.page, '.al-scrub-label'), 'step 50 · run at step 1,500');
  // A click half way along the log scrubber: step √1500 ≈ 39, so the capture at 30 (a linear one lands on 750).
  const box = (await p.page.locator('.al-attention .al-range').boundingBox())!;
  await p.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await settle(p.page);
  await answer(p.page, lu, done);
  assert.equal((await hooks(p.page, (al) => al.scrubber())).step, 30);
  // 1 % of the way: step 1 (the first capture); 80 %: 10^(0.8 · log10 1500) ≈ 348 → 340.
  await p.page.mouse.click(box.x + 7 + (box.width - 14) * 0.8, box.y + box.height / 2);
  await settle(p.page);
  await answer(p.page, lu, done);
  assert.equal((await hooks(p.page, (al) => al.scrubber())).step, 340);
  await pick(p.page, '.al-step-scale', 'linear');
  await p.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await settle(p.page);
  await answer(p.page, lu, done);
  assert.equal((await hooks(p.page, (al) => al.scrubber())).step, 750, 'linear: half way is step 750');

  // Typed: a captured step is shown exactly; one between captures shows the capture at or before it.
  const input = p.page.locator('.al-step-input');
  await input.fill('420');
  await input.press('Enter');
  await settle(p.page);
  assert.deepEqual(await hooks(p.page, (al) => al.scrubber()), { live: false, step: 420, stops: 151 });
  assert.equal((await requests(p.page)).pop(), 420);
  await answer(p.page, lu, done);
  assert.equal(await hooks(p.page, (al) => al.shownStep()), 420);
  assert.equal(await text(p.page, '.al-scrub-label'), 'step 420 · run at step 1,500');
  await input.fill('155');
  await input.press('Enter');
  await settle(p.page);
  assert.equal((await hooks(p.page, (al) => al.scrubber())).step, 150);
  // Past the latest capture: the latest, followed again.
  await input.fill('99999');
  await input.press('Enter');
  await settle(p.page);
  assert.deepEqual(await hooks(p.page, (al) => al.scrubber()), { live: true, step: 1500, stops: 151 });
  assert.equal(await text(p.page, '.al-scrub-label'), 'step 1,500 · the latest step');
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('S4. ▶ play advances through the captured frames, each once and in order, and stops at the latest', async () => {
  const lu = luRun();
  const p = await open();
  await deliver(p.page, lu.snapshot(100, 'paused'));
  await pick(p.page, '.al-speed', '30 frames/s');
  // Every frame painted, seen from the page (each animation frame).
  await p.page.evaluate(() => {
    const w = window as unknown as { __shown: number[]; __attentionLens: AttentionLensHooks };
    w.__shown = [];
    const look = (): void => {
      const s = w.__attentionLens.shownStep();
      if (s !== undefined && w.__shown[w.__shown.length - 1] !== s) w.__shown.push(s);
      requestAnimationFrame(look);
    };
    look();
  });
  await p.page.locator('vscode-button.al-play').click();
  // The host's part: answer each frame request (as the extension does) until play stops.
  const done = new Set<number>();
  for (let i = 0; i < 400 && (await hooks(p.page, (al) => al.playing?.() ?? false)); i++) {
    await answer(p.page, lu, done);
    await p.page.waitForTimeout(10);
  }
  assert.equal(await hooks(p.page, (al) => al.playing?.()), false, 'play stopped');
  await settle(p.page);
  await p.page.waitForTimeout(50);
  const shown = await p.page.evaluate(() => (window as unknown as { __shown: number[] }).__shown);
  assert.deepEqual(shown, [100, 1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 'from the latest, back to the first capture, then every captured frame in order');
  assert.deepEqual(await hooks(p.page, (al) => al.scrubber()), { live: true, step: 100, stops: 11 }, 'at the latest, following it again');
  assert.equal(await p.page.locator('vscode-button.al-play').innerText(), '▶');
  // ❚❚ stops it where it is.
  await p.page.locator('vscode-button.al-play').click();
  await p.page.waitForTimeout(100);
  await p.page.locator('vscode-button.al-play').click();
  await settle(p.page);
  assert.equal(await hooks(p.page, (al) => al.playing?.()), false);
  assert.equal((await hooks(p.page, (al) => al.scrubber())).live, false);
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('S5. every step-bound view follows the scrubbed step: attention, the identity chart, the matrix cards and a cursor on every step chart', async () => {
  const lu = luRun();
  const decl: MeasureDecl = { id: 'probe/matrix', kind: 'matrix', label: 'Probe matrix', rows: ['r0', 'r1'], cols: ['c0', 'c1'] };
  const snap = lu.snapshot(300) as Extract<HostToWebview, { type: 'snapshot' }>;
  const matrices = [100, 200, 300].map((step) => ({ id: decl.id, step, values: Float32Array.from([step / 1000, 0.1, 0.2, 0.3]) }));
  const msg: HostToWebview = { ...snap, snapshot: { ...snap.snapshot, info: { ...lu.info, measures: [decl] }, measures: { series: [], matrices, events: [] } } };
  const p = await open({ width: 1280 });
  await deliver(p.page, msg);
  await p.page.waitForTimeout(300);
  await settle(p.page);
  const idPoints = async (): Promise<number[]> => ((await hooks(p.page, (al) => al.chartData('identity'))) ?? []).slice(1).map((d) => d.xs.length);
  assert.match(await text(p.page, '.al-identity-card .al-card-caption'), /^step 300 · the latest step/);
  assert.deepEqual(await idPoints(), Array(8).fill(31), 'every recorded identity point (steps 1, 10 … 300)');
  for (const c of ['loss', 'accuracy', 'gradients']) assert.equal(await cursorOf(p.page, c), undefined, `${c}: no cursor at the latest`);

  await rangeTo(p.page, 150);
  await deliver(p.page, { type: 'attentionLoaded', runId: lu.runId, frame: lu.frame(150) });
  assert.equal(await hooks(p.page, (al) => al.shownStep()), 150);
  // The identity chart: the points up to step 150, its note at step 150.
  assert.match(await text(p.page, '.al-identity-card .al-card-caption'), /^step 150 · run at step 300 · m = 10/);
  assert.deepEqual(await idPoints(), Array(8).fill(16), 'steps 1, 10 … 150');
  const lastScore = ((await hooks(p.page, (al) => al.chartData('identity'))) ?? [])[1]?.xs.pop();
  assert.ok(Math.abs(lastScore! - 4 * (1 - Math.exp(-150 / 300))) < 1e-9, 'topic0_a\'s last point is its score at step 150');
  // The matrix card: the matrix at or before step 150.
  const m = (await hooks(p.page, (al) => al.matrices?.()))?.[0];
  assert.deepEqual({ step: m?.step, at: m?.at, live: m?.live }, { step: 100, at: 150, live: false });
  // A cursor at step 150 on every step chart.
  for (const c of ['loss', 'accuracy', 'gradients']) assert.equal(await cursorOf(p.page, c), 150, c);
  const cursorPx = await p.page.evaluate(() => {
    const c = (window as unknown as { __attentionLens: { charts: Record<string, { canvas: HTMLCanvasElement; chartArea: { top: number; bottom: number }; scales: Record<string, { getPixelForValue(v: number): number }> }> } }).__attentionLens.charts['loss']!;
    const x = Math.round(c.scales['x']!.getPixelForValue(150));
    const y = Math.round((c.chartArea.top + c.chartArea.bottom) / 2);
    return Array.from(c.canvas.getContext('2d')!.getImageData(x, y, 1, 1).data);
  });
  const focus = [0x00, 0x7f, 0xd4];
  assert.ok(Math.abs(cursorPx[0]! - focus[0]!) + Math.abs(cursorPx[1]! - focus[1]!) + Math.abs(cursorPx[2]! - focus[2]!) < 60, `the cursor line in the focus colour: ${cursorPx}`);
  await p.page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-scrubbed.png'), fullPage: true });

  // Latest: every view follows the run again.
  await p.page.locator('.al-attention vscode-button.al-live').click();
  await settle(p.page);
  assert.equal(await cursorOf(p.page, 'loss'), undefined);
  assert.deepEqual(await idPoints(), Array(8).fill(31));
  const live = (await hooks(p.page, (al) => al.matrices?.()))?.[0];
  assert.deepEqual({ step: live?.step, live: live?.live }, { step: 300, live: true });
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('S6. a paused run: the label says the frame\'s step and whether it is the latest, never "live" over an older frame', async () => {
  const lu = luRun();
  const p = await open();
  await deliver(p.page, lu.snapshot(300));
  assert.equal(await text(p.page, '.al-scrub-label'), 'step 300 · the latest step');
  // Paused at 305 (the host's status is ahead of the last capture at 300).
  await deliver(p.page, lu.appended(301, 305), { type: 'statusChanged', runId: lu.runId, status: 'paused', step: 305, reason: 'paused by the user' });
  await deliver(p.page, lu.appended(306, 306));
  const stale = await text(p.page, '.al-scrub-label');
  assert.equal(stale, 'step 300 · latest capture, run at step 306');
  assert.doesNotMatch(stale, /live/i);
  // The pause captures its step; each single step captures too: the label is at the run's step.
  for (const s of [307, 308, 309]) {
    const up = lu.appended(s, s) as Extract<HostToWebview, { type: 'stepsAppended' }>;
    await deliver(p.page, { ...up, attentionSteps: [s], latestAttention: lu.frame(s) });
    assert.equal(await hooks(p.page, (al) => al.shownStep()), s);
    assert.equal(await text(p.page, '.al-scrub-label'), `step ${s} · the latest step`);
  }
  assert.deepEqual(p.errors, []);
  await close(p);
});
