/**
 * The dashboard and side-panel webviews in real Chromium: the page from webviewHtml under its
 * strict CSP, the bundled dist/webview.js, host messages built like the host's (typed arrays
 * included) delivered with window.postMessage. Run `node esbuild.mjs` first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { AttentionFrame } from '../../src/protocol/messages';
import { decimateMinMax } from '../../webview/model/decimate';
import type { AttentionLensHooks } from '../../webview/hooks';
import { encoderRun, luRun } from './fixtures';
import { ARTIFACTS, clickExport, cspViolations, deliver, heatPixels, launchBrowser, openPage, posted, settle, startServer, waitReady, type HeatPixels, type OpenPage, type TestServer } from './harness';
import { isWebviewToHost } from '../../src/protocol/guards';
import { heatExportLayout } from '../../webview/model/exportLayout';
import { countHue, decodePng, hasSignature, pixel, pngSize, type Png } from './png';

let browser: Browser;
let server: TestServer;
const opened: OpenPage[] = [];

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

async function open(opts: Parameters<typeof openPage>[2] = {}): Promise<OpenPage> {
  const p = await openPage(browser, server.origin, opts);
  opened.push(p);
  return p;
}

async function close(p: OpenPage): Promise<void> {
  await p.page.context().close();
}

/**
 * Run a function against the page's hooks. Its source is evaluated through the DevTools
 * protocol (like any page.evaluate), which the page's CSP does not restrict; it must not
 * close over test-side variables.
 */
function hooks<R>(page: Page, f: (al: AttentionLensHooks) => R | Promise<R>): Promise<R> {
  return page.evaluate(`(${f.toString()})(window.__attentionLens)`) as Promise<R>;
}

const text = (page: Page, sel: string): Promise<string> => page.locator(sel).first().innerText();

/** The index of the cell with the hottest colour on the canvas. */
function hottest(px: HeatPixels): number {
  let best = -1;
  let bi = -1;
  px.rampIndex.forEach((v, i) => {
    if (v > bi) {
      bi = v;
      best = i;
    }
  });
  return best;
}

function argmax(xs: ArrayLike<number>): number {
  let best = -1;
  let bv = -Infinity;
  for (let i = 0; i < xs.length; i++) if ((xs[i] as number) > bv) [bv, best] = [xs[i] as number, i];
  return best;
}

/** A Lu frame as the probes × tokens grid the dashboard shows, (8, 11). */
function luValues(frame: AttentionFrame): number[] {
  return frame.probes.flatMap((maps) => Array.from(maps[0]?.data ?? []));
}

/** Colours follow values: a clearly larger value never gets a cooler colour. */
function assertMonotone(px: HeatPixels, values: number[]): void {
  for (let i = 0; i < values.length; i++)
    for (let j = 0; j < values.length; j++) {
      if ((values[i] as number) > (values[j] as number) + 2 / 255) assert.ok((px.rampIndex[i] as number) >= (px.rampIndex[j] as number), `cell ${i} (${values[i]}) is cooler than cell ${j} (${values[j]})`);
    }
}

test('1. heatmap pixels follow the data: Lu probes × tokens and encoder head grids', async () => {
  const lu = luRun();
  const p = await open();
  await deliver(p.page, lu.snapshot(300));
  const px = await heatPixels(p.page, 'lu');
  assert.ok(px !== undefined, 'the Lu heatmap is shown');
  assert.equal(px.rows, 8);
  assert.equal(px.cols, 11);
  const values = luValues(lu.frame(300));
  assert.deepEqual(px.values.map((v) => Math.fround(v)), values.map((v) => Math.fround(v)), 'the canvas holds the latest frame');
  const hot = hottest(px);
  assert.equal(hot, argmax(values), 'the hottest cell is the largest attention weight');
  assert.equal(hot, 7 * 11 + (lu.topicPos[7] as number), '… the topic word of probe 7');
  assertMonotone(px, values);
  // The tokens are written on the cells: the topic word's cell sits in the right place.
  const topicCell = p.page.locator(`.al-token[data-r="7"][data-c="${lu.topicPos[7]}"]`);
  assert.equal(await topicCell.innerText(), 'topic3_b');
  await close(p);

  const enc = encoderRun();
  const q = await open();
  await deliver(q.page, enc.snapshot(200));
  const frame = enc.frame(200);
  const maps = frame.probes[0] ?? [];
  const focus = await heatPixels(q.page, 'focus');
  assert.ok(focus !== undefined);
  assert.equal(focus.rows, 7);
  assert.equal(focus.cols, 7);
  const w0 = maps.find((m) => m.stage === 'weights' && m.head === 0);
  assert.ok(w0 !== undefined);
  assert.equal(hottest(focus), argmax(w0.data), 'the enlarged map (W, head 0) is hottest at the largest weight');
  assert.equal(hottest(focus), enc.peak.row * 7 + enc.peak.col, '… "good" → "not"');
  assertMonotone(focus, Array.from(w0.data));
  // Every head of the softmax stage, as a small grid.
  for (const head of [0, 1]) {
    const t = await heatPixels(q.page, `thumb:weights:${head}`);
    const m = maps.find((x) => x.stage === 'weights' && x.head === head);
    assert.ok(t !== undefined && m !== undefined);
    assert.equal(hottest(t), argmax(m.data), `thumbnail of W head ${head}`);
  }
  const stages = await q.page.locator('.al-stage-symbol').allInnerTexts();
  assert.deepEqual(stages, ['J', 'W', 'U'], 'talking heads: logits, weights and mixed side by side');
  // Tokens on both axes of the enlarged map.
  assert.deepEqual(await q.page.locator('.al-focus-grid .al-collabel').allInnerTexts(), ['the', 'film', 'was', 'not', 'good', 'at', 'all']);
  assert.deepEqual(await q.page.locator('.al-focus-grid .al-rowlabel').allInnerTexts(), ['the', 'film', 'was', 'not', 'good', 'at', 'all']);
  // Selecting head 1 enlarges it.
  await q.page.locator('.al-stage-weights .al-thumb').nth(1).click();
  await settle(q.page);
  const f1 = await heatPixels(q.page, 'focus');
  const w1 = maps.find((m) => m.stage === 'weights' && m.head === 1);
  assert.ok(f1 !== undefined && w1 !== undefined);
  assert.equal(hottest(f1), argmax(w1.data));
  assert.match(await text(q.page, '.al-focus-title'), /head 1/);
  await close(q);
});

test('2. the charts hold every streamed step and the header shows the last one', async () => {
  const lu = luRun();
  const p = await open();
  await deliver(p.page, lu.snapshot(300));
  for (let k = 0; k < 5; k++) await deliver(p.page, lu.appended(301 + 20 * k, 320 + 20 * k));
  const n = await hooks(p.page, (al) => al.store.step.length);
  assert.equal(n, 400);
  const loss = await hooks(p.page, (al) => al.chartData('loss'));
  assert.ok(loss !== undefined);
  const train = loss[0];
  assert.ok(train !== undefined);
  assert.equal(train.label, 'train');
  assert.deepEqual(train.xs, Array.from({ length: 400 }, (_, i) => i + 1), 'the loss line holds every step');
  assert.deepEqual(train.ys, Array.from({ length: 400 }, (_, i) => lu.loss(i + 1)));
  assert.equal(loss[1]?.xs.length, 16, 'validation loss at every evaluation (every 25 steps)');
  const grads = await hooks(p.page, (al) => al.chartData('gradients'));
  assert.deepEqual(
    grads?.map((g) => [g.label, g.xs.length]),
    [
      ['keys', 400],
      ['embeddings', 400],
    ],
  );
  // The log axis spans several decades: a tick (and grid line) only where there is a label, and
  // the axis wide enough for the widest one.
  const axis = await p.page.evaluate(() => {
    type Scale = { ticks: { value: number; label: string }[]; width: number; ctx: CanvasRenderingContext2D; _resolveTickFontOptions(i: number): { string: string } };
    const c = (window as unknown as { __attentionLens: { charts: Record<string, { scales: Record<string, Scale> }> } }).__attentionLens.charts['gradients']!;
    const y = c.scales['y']!;
    y.ctx.font = y._resolveTickFontOptions(0).string;
    return { labels: y.ticks.map((t) => String(t.label)), width: y.width, widest: Math.max(...y.ticks.map((t) => y.ctx.measureText(String(t.label)).width)) };
  });
  assert.ok(axis.labels.length >= 3, JSON.stringify(axis.labels));
  assert.ok(axis.labels.every((l) => l !== ''), `every log tick labelled: ${JSON.stringify(axis.labels)}`);
  assert.ok(axis.width >= axis.widest, `the y axis (${axis.width} px) fits its widest label (${axis.widest.toFixed(1)} px)`);
  assert.equal(await text(p.page, '.al-step'), '400 / 1,500');
  assert.equal(await text(p.page, '.al-loss'), String(Number(lu.loss(400).toPrecision(4))));

  // A burst of 100 messages (1,000 steps) repaints a handful of times, not once per message.
  const before = await hooks(p.page, (al) => al.renders);
  const burst = Array.from({ length: 100 }, (_, k) => lu.appended(401 + 10 * k, 410 + 10 * k));
  await deliver(p.page, ...burst);
  const renders = (await hooks(p.page, (al) => al.renders)) - before;
  assert.ok(renders >= 1 && renders <= 5, `${renders} repaints for 100 messages`);
  assert.equal(await hooks(p.page, (al) => al.store.step.length), 1400);
  assert.equal(await text(p.page, '.al-step'), '1,400 / 1,500');
  assert.equal(await hooks(p.page, (al) => al.shownStep()), 1400, 'the live heatmap follows the latest frame');

  // Run controls post the matching commands; their state follows the status.
  await p.page.locator('vscode-button.al-pause').click();
  await deliver(p.page, { type: 'statusChanged', runId: lu.runId, status: 'paused', step: 1400, reason: 'paused by the user' });
  assert.equal(await text(p.page, '.al-status'), 'paused');
  assert.equal(await text(p.page, '.al-reason'), 'paused by the user');
  assert.equal(await p.page.locator('vscode-button.al-pause').evaluate((b) => (b as HTMLElement & { disabled: boolean }).disabled), true);
  await p.page.locator('vscode-button.al-stepbtn').click();
  await p.page.locator('vscode-button.al-resume').click();
  await p.page.locator('vscode-button.al-stop').click();
  const cmds = (await posted(p.page)).filter((m) => m.type !== 'ready' && m.type !== 'requestAttention');
  assert.deepEqual(cmds, [
    { type: 'pauseRun', runId: lu.runId },
    { type: 'stepRun', runId: lu.runId },
    { type: 'resumeRun', runId: lu.runId },
    { type: 'stopRun', runId: lu.runId },
  ]);
  await deliver(p.page, { type: 'statusChanged', runId: lu.runId, status: 'completed', step: 1400 });
  for (const b of ['al-pause', 'al-resume', 'al-stepbtn', 'al-stop']) assert.equal(await p.page.locator(`vscode-button.${b}`).evaluate((el) => (el as HTMLElement & { disabled: boolean }).disabled), true, `${b} disabled when completed`);

  // Flow control: a numbered update is answered with `applied` once taken in; unnumbered ones are not.
  // The trainer's clock at the update's last step (sent 400 ms "ago"): the repaint records how long it took to reach the screen.
  const wall = await p.page.evaluate(() => Date.now() - 400);
  await deliver(p.page, { ...lu.appended(1401, 1410), seq: 7, lastWallTime: wall });
  const answers = (await posted(p.page)).filter((m) => m.type === 'applied');
  assert.deepEqual(answers, [{ type: 'applied', seq: 7 }]);
  assert.equal(await hooks(p.page, (al) => al.store.step.length), 1410);
  // Rename: a statusChanged with the run's new display name retitles the header.
  await deliver(p.page, { type: 'statusChanged', runId: lu.runId, status: 'stopped', step: 1410, name: 'lu (baseline)' });
  assert.equal(await text(p.page, '.al-run-name'), 'lu (baseline)');
  const lat = await hooks(p.page, (al) => al.stepLatencies?.() ?? []);
  assert.equal(lat.length, 1, 'one repaint measured');
  assert.ok(lat[0]! >= 400 && lat[0]! < 5000, `step → screen ${lat[0]} ms`);
  assert.deepEqual(p.errors, []);
  await close(p);
});

/** Move the range input as a user's drag does. */
async function scrubTo(page: Page, step: number): Promise<void> {
  await page.locator('.al-range').evaluate((el, v) => {
    const input = el as HTMLInputElement;
    input.value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }, step);
  await settle(page);
}

test('3. the scrubber shows any recorded step while training goes on; Latest returns to the latest', async () => {
  const lu = luRun();
  const p = await open();
  await deliver(p.page, lu.snapshot(300));
  const live = await heatPixels(p.page, 'lu');
  assert.ok(live !== undefined);
  assert.deepEqual(await hooks(p.page, (al) => al.scrubber()), { live: true, step: 300, stops: 31 });
  assert.match(await text(p.page, '.al-scrub-label'), /^step 300 · the latest step$/);

  // 155 is between stops: the nearest recorded step at or before it is 150.
  await scrubTo(p.page, 155);
  const req = (await posted(p.page)).filter((m) => m.type === 'requestAttention');
  assert.deepEqual(req, [{ type: 'requestAttention', runId: lu.runId, step: 150 }]);
  assert.match(await text(p.page, '.al-scrub-label'), /^step 150 · loading…/);

  await deliver(p.page, { type: 'attentionLoaded', runId: lu.runId, frame: lu.frame(150) });
  const old = await heatPixels(p.page, 'lu');
  assert.ok(old !== undefined);
  assert.equal(await hooks(p.page, (al) => al.shownStep()), 150);
  assert.notDeepEqual(old.rgba, live.rgba, 'the canvas shows the older frame');
  assert.equal(hottest(old), argmax(luValues(lu.frame(150))));
  assert.doesNotMatch(await text(p.page, '.al-scrub-label'), /loading/);

  // Training continues: new steps arrive, the scrubbed view stays where it is.
  await deliver(p.page, lu.appended(301, 320));
  assert.equal(await hooks(p.page, (al) => al.shownStep()), 150);
  assert.deepEqual((await heatPixels(p.page, 'lu'))?.rgba, old.rgba);
  assert.match(await text(p.page, '.al-scrub-label'), /^step 150 · run at step 320$/);

  // Back to a step already loaded: no new request.
  await scrubTo(p.page, 300);
  await deliver(p.page, { type: 'attentionLoaded', runId: lu.runId, frame: lu.frame(300) });
  assert.equal(await hooks(p.page, (al) => al.shownStep()), 300);
  await scrubTo(p.page, 150);
  const reqs = (await posted(p.page)).filter((m) => m.type === 'requestAttention').map((m) => m.step);
  assert.deepEqual(reqs, [150, 300], 'step 300 (the former latest) is asked for once, 150 comes from the cache');

  // Live: follows the newest frame again.
  await p.page.locator('vscode-button.al-live').click();
  await settle(p.page);
  assert.deepEqual(await hooks(p.page, (al) => al.scrubber()), { live: true, step: 320, stops: 33 });
  assert.equal(await hooks(p.page, (al) => al.shownStep()), 320);
  const back = await heatPixels(p.page, 'lu');
  assert.ok(back !== undefined);
  assert.deepEqual(back.values.map((v) => Math.fround(v)), luValues(lu.frame(320)).map((v) => Math.fround(v)));
  await deliver(p.page, lu.appended(321, 340));
  assert.equal(await hooks(p.page, (al) => al.shownStep()), 340, 'live follows appended frames');

  // Keyboard: the previous stop.
  await p.page.locator('.al-range').focus();
  await p.page.keyboard.press('ArrowLeft');
  await settle(p.page);
  const last = (await posted(p.page)).filter((m) => m.type === 'requestAttention').pop();
  assert.deepEqual(last, { type: 'requestAttention', runId: lu.runId, step: 330 });
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('4. a snapshot after a reload restores charts, heatmap, step and the scrubber position', async () => {
  const lu = luRun();
  const p = await open();
  const page = p.page;
  await deliver(page, lu.snapshot(300), lu.appended(301, 400));
  await scrubTo(page, 200);
  await deliver(page, { type: 'attentionLoaded', runId: lu.runId, frame: lu.frame(200) });
  const capture = async () => {
    // The identity scatter redraws at most every 250 ms while points stream in; let a deferred
    // redraw happen before reading the charts.
    await page.waitForTimeout(300);
    await settle(page);
    return {
      step: await text(page, '.al-step'),
      loss: await text(page, '.al-loss'),
      status: await text(page, '.al-status'),
      name: await text(page, '.al-run-name'),
      charts: await hooks(page, (al) => ['loss', 'accuracy', 'gradients', 'identity'].map((c) => al.chartData(c))),
      heat: await heatPixels(page, 'lu'),
      scrubber: await hooks(page, (al) => al.scrubber()),
      shown: await hooks(page, (al) => al.shownStep()),
      label: await text(page, '.al-scrub-label'),
    };
  };
  const beforeReload = await capture();
  assert.equal(beforeReload.shown, 200);

  await page.reload();
  await waitReady(page);
  const hello = await posted(page);
  assert.deepEqual(hello[0], { type: 'ready', protocolVersion: 1 }, 'the reloaded page opens with ready');
  // The host answers ready with a snapshot of the run as it is now.
  await deliver(page, lu.snapshot(400));
  // The page remembered (setState) that it was scrubbed back, and asks for that frame again.
  const req = (await posted(page)).filter((m) => m.type === 'requestAttention');
  assert.deepEqual(req, [{ type: 'requestAttention', runId: lu.runId, step: 200 }]);
  await deliver(page, { type: 'attentionLoaded', runId: lu.runId, frame: lu.frame(200) });
  const afterReload = await capture();
  assert.deepEqual(afterReload, beforeReload);
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('5. an invalid message is logged and dropped; the page goes on', async () => {
  const lu = luRun();
  const p = await open();
  await deliver(p.page, lu.snapshot(300));
  const plainArrays = {
    type: 'stepsAppended',
    runId: lu.runId,
    // number[] where the protocol says Float64Array: rejected.
    scalars: { n: 1, step: [301], loss: [0.5], trainAccuracy: [0.9], gradNorms: [1, 1], weightNorms: [1, 1] },
    evals: [],
    attentionSteps: [],
    identity: [],
  };
  const badFrame = { type: 'attentionLoaded', runId: lu.runId, frame: { step: 10, probes: [[{ layer: 0, head: 0, stage: 'weights', rows: 1, cols: 3, data: [0.2, 0.3, 0.5] }]] } };
  const invalid: unknown[] = [plainArrays, { type: 'snapshot' }, badFrame, { type: 'statusChanged', runId: lu.runId, status: 'exploded', step: 3 }, { type: 'somethingElse' }, 'hello', null];
  await p.page.evaluate((msgs) => {
    for (const m of msgs) window.postMessage(m, '*');
  }, invalid);
  await settle(p.page);
  assert.equal(await hooks(p.page, (al) => al.dropped), invalid.length);
  const logged = p.console.filter((c) => c.startsWith('error: [attention-lens] dropped an invalid host message'));
  assert.equal(logged.length, invalid.length, 'each rejected message is logged');
  assert.equal(await hooks(p.page, (al) => al.store.step.length), 300, 'nothing of them reached the store');
  assert.equal(await text(p.page, '.al-status'), 'running');
  // The next valid message still renders.
  await deliver(p.page, lu.appended(301, 310));
  assert.equal(await text(p.page, '.al-step'), '310 / 1,500');
  assert.equal((await hooks(p.page, (al) => al.chartData('loss')))?.[0]?.xs.length, 310);
  assert.deepEqual(p.errors, [], 'no uncaught exception');
  await close(p);
});

test('6. min/max decimation keeps a one-step spike in a million steps, ≤ 2 points per bucket', async () => {
  const n = 1_000_000;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = i + 1;
    ys[i] = 1 + 0.01 * Math.sin(i / 1000);
  }
  ys[654_321] = 50; // a one-step spike
  ys[123_456] = -3; // and a one-step dip
  const buckets = 640;
  const t0 = performance.now();
  const d = decimateMinMax(xs, ys, 0, n, buckets);
  const ms = performance.now() - t0;
  assert.ok(d.length <= 2 * buckets, `${d.length} points`);
  const out = Array.from(d.ys.subarray(0, d.length));
  assert.equal(Math.max(...out), 50);
  assert.equal(Math.min(...out), -3);
  assert.ok(Array.from(d.xs.subarray(0, d.length)).includes(654_322));
  const perBucket = new Map<number, number>();
  for (let k = 0; k < d.length; k++) {
    const b = Math.min(buckets - 1, Math.floor((((d.xs[k] as number) - 1) / (n - 1)) * buckets));
    perBucket.set(b, (perBucket.get(b) ?? 0) + 1);
  }
  assert.ok(Math.max(...perBucket.values()) <= 2);
  assert.ok(ms < 500, `decimating 1M points took ${ms.toFixed(0)} ms`);

  // The same in the page: a million-step run streamed into the dashboard keeps its spike.
  const p = await open();
  const lu = luRun('lu-million', 1_000_000);
  await deliver(p.page, lu.snapshot(10));
  const timing = await p.page.evaluate(async (runId) => {
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
    const t0 = performance.now();
    // 100 messages of 10,000 steps each, as fast as they come.
    for (let k = 0; k < 100; k++) window.postMessage({ type: 'stepsAppended', runId, scalars: chunk(11 + k * 10_000, 10_000, 777_777), evals: [], attentionSteps: [], identity: [], measures: { series: [], matrices: [], events: [] } }, '*');
    await new Promise((r) => setTimeout(r, 0));
    const r0 = al.renders;
    await al.nextRender();
    const t1 = performance.now();
    // One more repaint of the full million-step charts, timed alone.
    window.postMessage({ type: 'stepsAppended', runId, scalars: chunk(1_000_011, 10, -1), evals: [], attentionSteps: [], identity: [], measures: { series: [], matrices: [], events: [] } }, '*');
    await new Promise((r) => setTimeout(r, 0));
    const t2 = performance.now();
    al.flush();
    const t3 = performance.now();
    const loss = al.chartData('loss')?.[0];
    const canvas = (al.charts['loss'] as { chartArea: { width: number } }).chartArea.width;
    return { ingestMs: t1 - t0, repaintMs: t3 - t2, renders: al.renders - r0, steps: al.store.step.length, points: loss?.ys.length ?? 0, maxY: Math.max(...(loss?.ys ?? [])), width: canvas };
  }, lu.runId);
  assert.equal(timing.steps, 1_000_020);
  assert.ok(timing.points <= 2 * Math.round(timing.width) + 2, `${timing.points} points for ${timing.width}px`);
  assert.equal(timing.maxY, 40, 'the spike at step 777,777 is drawn');
  assert.ok(timing.renders <= 3, `${timing.renders} repaints for 100 messages`);
  assert.ok(timing.repaintMs < 1000, `a full repaint took ${timing.repaintMs.toFixed(0)} ms`);
  console.log(`# million-step run: ingest+first paint ${timing.ingestMs.toFixed(0)} ms, repaint ${timing.repaintMs.toFixed(0)} ms, ${timing.points} loss points`);
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('7. no Content-Security-Policy violation while the dashboard runs', async () => {
  const res = await fetch(`${server.origin}/page?view=dashboard`);
  const html = await res.text();
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
  assert.equal(csp, `default-src 'none'; img-src ${server.origin} data:; style-src ${server.origin}; font-src ${server.origin}; script-src 'nonce-dGVzdG5vbmNlMTIzNDU2Nzg5MA';`);
  assert.doesNotMatch(html, /style="/, 'no inline style attributes');
  assert.equal((html.match(/<script/g) ?? []).length, 1, 'one script, with the nonce');

  const lu = luRun();
  const p = await open();
  await deliver(p.page, lu.snapshot(300), lu.appended(301, 340));
  await scrubTo(p.page, 120);
  await deliver(p.page, { type: 'attentionLoaded', runId: lu.runId, frame: lu.frame(120) });
  // Hover the heatmap (tooltip positioned through CSSOM) and a chart (Chart.js tooltip).
  const box = await p.page.locator('.al-lu .al-heat').boundingBox();
  assert.ok(box !== null);
  await p.page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
  await p.page.waitForSelector('.al-tooltip:not([hidden])');
  const chart = await p.page.locator('.al-loss-card canvas').boundingBox();
  assert.ok(chart !== null);
  await p.page.mouse.move(chart.x + chart.width / 2, chart.y + chart.height / 2);
  // Open and close a dropdown (vscode-single-select renders a popup).
  await p.page.locator('vscode-single-select').last().click();
  await p.page.keyboard.press('Escape');
  await p.page.evaluate(() => document.body.classList.replace('vscode-dark', 'vscode-light'));
  await p.page.waitForTimeout(100);
  await settle(p.page);

  const e = await open();
  const enc = encoderRun();
  await deliver(e.page, enc.snapshot(200));
  await e.page.locator('.al-stage-mixed .al-thumb').nth(1).click();
  const thumb = await e.page.locator('.al-stage-logits .al-thumb .al-heat').first().boundingBox();
  assert.ok(thumb !== null);
  await e.page.mouse.move(thumb.x + 10, thumb.y + 10);
  await settle(e.page);

  const s = await open({ view: 'sidebar' });
  await deliver(s.page, lu.snapshot(300));

  for (const x of [p, e, s]) {
    assert.deepEqual(await cspViolations(x.page), [], 'securitypolicyviolation events');
    assert.deepEqual(
      x.console.filter((c) => /Content Security Policy|Refused to/i.test(c)),
      [],
      'CSP messages in the console',
    );
    assert.deepEqual(x.errors, []);
  }
  for (const x of [p, e, s]) await close(x);
});

test('8. the theme drives the colours: dark → light repaints the heatmaps; screenshots', async () => {
  const lu = luRun();
  const p = await open({ theme: 'dark' });
  await deliver(p.page, lu.snapshot(300));
  await p.page.waitForTimeout(150);
  const dark = await heatPixels(p.page, 'lu');
  assert.ok(dark !== undefined);
  await p.page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-dark.png'), fullPage: true });

  await p.page.evaluate(() => document.body.classList.replace('vscode-dark', 'vscode-light'));
  await p.page.waitForFunction(() => {
    const al = (window as unknown as { __attentionLens: AttentionLensHooks }).__attentionLens;
    return al.palette().positive[0] === 255; // the ramp now starts at the light background
  });
  await settle(p.page);
  const light = await heatPixels(p.page, 'lu');
  assert.ok(light !== undefined);
  assert.notDeepEqual(light.rgba, dark.rgba, 'the heatmap colours changed');
  // Cold cells take the editor background of each theme; the hottest stays where it was.
  const cold = argmax(luValues(lu.frame(300)).map((v) => -v));
  const lum = (px: HeatPixels, i: number): number => (px.rgba[4 * i] as number) + (px.rgba[4 * i + 1] as number) + (px.rgba[4 * i + 2] as number);
  assert.ok(lum(dark, cold) < 200 && lum(light, cold) > 600, `cold cell: dark ${lum(dark, cold)}, light ${lum(light, cold)}`);
  assert.equal(hottest(light), hottest(dark));
  // Chart colours follow too.
  const axis = await hooks(p.page, (al) => {
    const c = al.charts['loss'] as { options: { scales: { x: { ticks: { color: string } } } } };
    return c.options.scales.x.ticks.color;
  });
  assert.equal(axis, '#717171', 'axis labels take the light descriptionForeground');
  await p.page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-light.png'), fullPage: true });

  // The encoder dashboard and the side panel, for a look in both themes.
  const enc = encoderRun();
  for (const theme of ['dark', 'light'] as const) {
    const e = await open({ theme });
    await deliver(e.page, enc.snapshot(200));
    await e.page.waitForTimeout(150);
    await e.page.screenshot({ path: path.join(ARTIFACTS, `dashboard-encoder-${theme}.png`), fullPage: true });
    const s = await open({ view: 'sidebar', theme, width: 320, height: 600 });
    await deliver(s.page, lu.snapshot(300));
    await s.page.waitForTimeout(150);
    await s.page.screenshot({ path: path.join(ARTIFACTS, `sidebar-${theme}.png`), fullPage: true });
    await close(e);
    await close(s);
  }
  for (const f of ['dashboard-dark.png', 'dashboard-light.png']) assert.ok(fs.statSync(path.join(ARTIFACTS, f)).size > 10_000, f);
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('9. the side panel: loss sparkline and current attention of the selected run', async () => {
  const lu = luRun();
  const s = await open({ view: 'sidebar', width: 320, height: 600 });
  assert.match(await text(s.page, '.al-empty'), /No run selected/);
  await deliver(s.page, lu.snapshot(300));
  assert.equal(await text(s.page, '.al-run-name'), lu.info.name);
  assert.match(await text(s.page, '.al-side-step'), /step 300 \/ 1,500/);
  const px = await heatPixels(s.page, 'lu');
  assert.ok(px !== undefined);
  assert.equal(hottest(px), argmax(luValues(lu.frame(300))));
  await deliver(s.page, lu.appended(301, 320));
  assert.equal(await hooks(s.page, (al) => al.shownStep()), 320);
  const spark = await s.page.locator('.al-spark').evaluate((c) => {
    const cv = c as HTMLCanvasElement;
    const d = cv.getContext('2d')?.getImageData(0, 0, cv.width, cv.height).data ?? new Uint8ClampedArray();
    let painted = 0;
    for (let i = 3; i < d.length; i += 4) if ((d[i] as number) > 0) painted++;
    return { w: cv.width, painted };
  });
  assert.ok(spark.w > 100 && spark.painted > 100, `sparkline: ${JSON.stringify(spark)}`);
  // Another run selected: the host sends its snapshot; the view switches to it.
  const enc = encoderRun();
  await deliver(s.page, enc.snapshot(100));
  assert.equal(await text(s.page, '.al-run-name'), enc.info.name);
  const maps = await hooks(s.page, (al) => al.heatmaps().map((h) => h.name));
  assert.deepEqual(maps, ['thumb:weights:0', 'thumb:weights:1']);
  assert.deepEqual(s.errors, []);
  assert.deepEqual(await cspViolations(s.page), []);
  await close(s);
});

/** Every cell of an exported heatmap has its on-screen colour (sampled inside the cell, clear of the written tokens). */
function assertCellsMatch(img: Png, px: HeatPixels, kind: 'lu' | 'matrix', background: number[]): void {
  const L = heatExportLayout(kind, px.rows, px.cols);
  for (let r = 0; r < px.rows; r++)
    for (let c = 0; c < px.cols; c++) {
      const i = (r * px.cols + c) * 4;
      const want = px.rgba[i + 3] === 0 ? background : px.rgba.slice(i, i + 4);
      const got = pixel(img, L.grid.x + c * L.cellW + 3, L.grid.y + r * L.cellH + 3);
      assert.deepEqual(got, want, `cell (${r}, ${c})`);
    }
}

test('10. Save PNG: a chart posts a PNG of its canvas on the theme background; heatmaps with labels and scale', async () => {
  const lu = luRun();
  const p = await open();
  await deliver(p.page, lu.snapshot(300));
  const bg = [30, 30, 30, 255]; // --vscode-editor-background of the dark theme

  // The loss chart: the canvas's size, opaque, the train curve in --vscode-charts-blue.
  const loss = await clickExport(p.page, '.al-loss-card .al-export');
  assert.equal(loss.tag, '[object Uint8Array]');
  assert.equal(loss.runId, lu.runId);
  assert.equal(loss.name, 'loss');
  assert.ok(hasSignature(loss.png), 'PNG signature');
  assert.ok(isWebviewToHost(loss), 'the host\'s guard accepts it');
  const size = await p.page.locator('.al-loss-card canvas').evaluate((c) => ({ width: (c as HTMLCanvasElement).width, height: (c as HTMLCanvasElement).height }));
  assert.deepEqual(pngSize(loss.png), size, 'the chart\'s size');
  assert.ok(size.width > 200 && size.height > 100);
  const img = decodePng(loss.png);
  assert.deepEqual(pixel(img, 0, 0), bg, 'filled with the editor background, not transparent');
  assert.ok(img.rgba.every((v, i) => i % 4 !== 3 || v === 255), 'every pixel opaque');
  assert.ok(countHue(img, 'blue') > 150, `the train loss curve is drawn (${countHue(img, 'blue')} blue pixels)`);
  // The title is drawn only into the export; the page's chart is as before.
  assert.equal(await hooks(p.page, (al) => (al.charts['loss'] as { options: { plugins: { title: { display: boolean } } } }).options.plugins.title.display), false);

  for (const [card, name] of [['.al-acc-card', 'accuracy'], ['.al-grad-card', 'gradient-norms'], ['.al-identity-card', 'identity']] as const) {
    const m = await clickExport(p.page, `${card} .al-export`);
    assert.equal(m.name, name);
    const sz = await p.page.locator(`${card} canvas`).evaluate((c) => ({ width: (c as HTMLCanvasElement).width, height: (c as HTMLCanvasElement).height }));
    assert.deepEqual(pngSize(m.png), sz, `${name}: the chart's size`);
  }

  // The Lu heatmap: every cell in the file with its colour on screen, at the layout's place.
  const heat = await clickExport(p.page, '.al-attn-export');
  assert.equal(heat.name, 'attention-step-300');
  assert.equal(heat.runId, lu.runId);
  const px = await heatPixels(p.page, 'lu');
  assert.ok(px !== undefined);
  const L = heatExportLayout('lu', px.rows, px.cols);
  assert.deepEqual(pngSize(heat.png), { width: L.width, height: L.height });
  const himg = decodePng(heat.png);
  assert.deepEqual(pixel(himg, 0, 0), bg);
  assertCellsMatch(himg, px, 'lu', bg);
  fs.writeFileSync(path.join(ARTIFACTS, 'export-lu-attention.png'), heat.png);
  fs.writeFileSync(path.join(ARTIFACTS, 'export-loss.png'), loss.png);
  assert.deepEqual(await cspViolations(p.page), []);
  assert.deepEqual(p.errors, []);
  await close(p);

  // An encoder run: the enlarged map (W head 0), tokens on both axes.
  const enc = encoderRun();
  const q = await open({ theme: 'light' });
  await deliver(q.page, enc.snapshot(200));
  const em = await clickExport(q.page, '.al-attn-export');
  assert.equal(em.name, 'attention-step-200-probe-0-layer-0-weights-head-0');
  const fpx = await heatPixels(q.page, 'focus');
  assert.ok(fpx !== undefined);
  const E = heatExportLayout('matrix', fpx.rows, fpx.cols);
  assert.deepEqual(pngSize(em.png), { width: E.width, height: E.height });
  const eimg = decodePng(em.png);
  assert.deepEqual(pixel(eimg, 0, 0), [255, 255, 255, 255], 'the light theme\'s editor background');
  assertCellsMatch(eimg, fpx, 'matrix', [255, 255, 255, 255]);
  fs.writeFileSync(path.join(ARTIFACTS, 'export-encoder-attention.png'), em.png);
  assert.deepEqual(await cspViolations(q.page), []);
  assert.deepEqual(q.errors, []);
  await close(q);
});
