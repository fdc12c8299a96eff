/**
 * The dashboard's layout in real Chromium, as a person meets it in an editor pane of any width:
 * the attention card first, cards reordered and collapsed (remembered across a reload); long
 * probe sentences shown whole; at 320, 500 and 900 px nothing in any card overflows its box
 * (screenshots in test-artifacts/); the Lu map's compact mode and its fixed row labels; the
 * encoder's heads in a grid; the header's height whatever the status; card titles that keep
 * Save PNG in line; frozen groups, the identity chart's ticks and colours; the run's note.
 * Run `node esbuild.mjs` first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PROTOCOL_VERSION, type HostToWebview, type MeasureDecl, type RunSnapshot } from '../../src/protocol/messages';
import type { AttentionLensHooks } from '../../webview/hooks';
import { encoderRun, LONG_WORD, luRun } from './fixtures';
import { ARTIFACTS, deliver, launchBrowser, openPage, settle, startServer, waitReady, type OpenPage, type TestServer } from './harness';

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

function hooks<R>(page: Page, f: (al: AttentionLensHooks) => R | Promise<R>): Promise<R> {
  return page.evaluate(`(${f.toString()})(window.__attentionLens)`) as Promise<R>;
}

/** Let Chart.js size the charts (it resizes after a delay) and the page repaint. */
async function calm(page: Page): Promise<void> {
  await page.waitForTimeout(250);
  await settle(page);
}

const snapshotOf = (m: HostToWebview): RunSnapshot => {
  if (m.type !== 'snapshot') throw new Error('not a snapshot');
  return m.snapshot;
};

/** A Lu run with a note, a declared series card with a long title and a declared matrix. */
function fullLu(): { msg: HostToWebview; run: ReturnType<typeof luRun> } {
  const run = luRun();
  const s = snapshotOf(run.snapshot(300));
  const measures: MeasureDecl[] = [
    { id: 'lr', kind: 'series', label: 'Learning rate of each task under the Stable SGD schedule, decayed at every task boundary', unit: 'lr' },
    { id: 'acc/matrix', kind: 'matrix', label: 'Accuracy matrix', rows: ['after task 1', 'after task 2'], cols: ['task 1', 'task 2'] },
  ];
  const step = Float64Array.from({ length: 30 }, (_, i) => 10 * (i + 1));
  return {
    run,
    msg: {
      type: 'snapshot',
      protocolVersion: PROTOCOL_VERSION,
      snapshot: {
        ...s,
        note: 'Keys frozen on purpose: the baseline for the identity check. A second sentence, long enough to wrap at a narrow width.',
        info: { ...run.info, measures },
        measures: {
          series: [{ id: 'lr', step, values: step.map((x) => 0.1 * 0.5 ** Math.floor(x / 100)) }],
          matrices: [{ id: 'acc/matrix', step: 200, values: Float32Array.from([0.9, Number.NaN, 0.7, 0.85]) }],
          events: [],
        },
      },
    },
  };
}

test('L1. the dashboard opens on its attention; cards move and collapse, and a reload keeps them so', async () => {
  const lu = luRun();
  const p = await open({ width: 1280, height: 900 });
  await deliver(p.page, lu.snapshot(300));
  await calm(p.page);
  assert.deepEqual(await hooks(p.page, (al) => al.cardOrder?.()), ['attention', 'loss', 'accuracy', 'gradients', 'identity']);
  const top = async (sel: string): Promise<number> => (await p.page.locator(sel).boundingBox())!.y;
  assert.ok((await top('.al-attention')) < (await top('.al-loss-card')), 'attention above the charts');
  assert.ok((await top('.al-attention')) < 160, `the attention card starts near the top (${await top('.al-attention')} px)`);
  // The heatmap is on screen without scrolling.
  const heat = (await p.page.locator('.al-lu .al-heat').boundingBox())!;
  assert.ok(heat.y + heat.height < 900, 'the whole attention map in the first screen');

  // Move the loss chart up (above the attention), collapse the gradients.
  await p.page.locator('.al-loss-card .al-card-up').click();
  await p.page.locator('.al-grad-card .al-card-fold').click();
  await settle(p.page);
  assert.deepEqual(await hooks(p.page, (al) => al.cardOrder?.()), ['loss', 'attention', 'accuracy', 'gradients', 'identity']);
  const folded = async (): Promise<{ box: boolean; expanded: string | null; height: number }> =>
    p.page.locator('.al-grad-card').evaluate((el) => ({ box: (el.querySelector('.al-chart-box') as HTMLElement).offsetHeight > 0, expanded: el.querySelector('.al-card-fold')!.getAttribute('aria-expanded'), height: el.getBoundingClientRect().height }));
  let f = await folded();
  assert.deepEqual([f.box, f.expanded], [false, 'false']);
  assert.ok(f.height < 50, `collapsed to its title (${f.height} px)`);
  assert.equal(await p.page.locator('.al-loss-card .al-card-up').isDisabled(), true, 'the first card cannot go up');
  // The keyboard reaches them: ↓ on the attention card.
  await p.page.locator('.al-attention .al-card-down').focus();
  await p.page.keyboard.press('Enter');
  await settle(p.page);
  assert.deepEqual(await hooks(p.page, (al) => al.cardOrder?.()), ['loss', 'accuracy', 'attention', 'gradients', 'identity']);

  await p.page.reload();
  await waitReady(p.page);
  await deliver(p.page, lu.snapshot(320));
  await calm(p.page);
  assert.deepEqual(await hooks(p.page, (al) => al.cardOrder?.()), ['loss', 'accuracy', 'attention', 'gradients', 'identity'], 'the order survives a reload');
  f = await folded();
  assert.deepEqual([f.box, f.expanded], [false, 'false'], 'so does the collapsed card');
  // Expanded again: the chart is drawn at its size, with every step.
  await p.page.locator('.al-grad-card .al-card-fold').click();
  await calm(p.page);
  f = await folded();
  assert.equal(f.box, true);
  assert.equal((await hooks(p.page, (al) => al.chartData('gradients')))?.[0]?.xs.length, 320);
  assert.deepEqual(p.errors, []);
  await close(p);
});

test('L2. a long probe sentence is shown whole: written (scrolling, row labels fixed), fitted to the width (each token on hover), and the encoder\'s sentence wrapped', async () => {
  const lu = luRun('lu-long', 1500, { longProbe: 40 });
  const p = await open({ width: 900, height: 900 });
  await deliver(p.page, lu.snapshot(300));
  await calm(p.page);
  // Fit the width (the default): too wide to write, so every cell is inside the card, no scrolling.
  assert.equal(await hooks(p.page, (al) => al.luFitted?.()), true);
  const fit = await p.page.evaluate(() => {
    const wrap = document.querySelector('.al-lu-wrap') as HTMLElement;
    const heat = wrap.querySelector('.al-heat') as HTMLElement;
    const card = document.querySelector('.al-attention') as HTMLElement;
    return { scroll: wrap.scrollWidth - wrap.clientWidth, heatRight: heat.getBoundingClientRect().right, wrapRight: wrap.getBoundingClientRect().right, cardRight: card.getBoundingClientRect().right };
  });
  assert.ok(fit.scroll <= 1, `no sideways scroll (${fit.scroll} px)`);
  assert.ok(fit.heatRight <= fit.wrapRight + 0.5 && fit.wrapRight <= fit.cardRight, 'the 40th token\'s cell is inside the card');
  const heat = (await p.page.locator('.al-lu .al-heat').boundingBox())!;
  await p.page.mouse.move(heat.x + heat.width - 1, heat.y + 3);
  await p.page.waitForSelector('.al-tooltip:not([hidden])');
  assert.match(await p.page.locator('.al-tooltip').innerText(), new RegExp(`#0 topic 0 · ${LONG_WORD}: `), 'the last token, on hover');

  // Written: every token whole (none cut), the map scrolls, the row labels stay at the left.
  await p.page.locator('.al-tokens vscode-single-select').evaluate((e) => {
    (e as HTMLElement & { value: string }).value = 'written';
    e.dispatchEvent(new Event('change'));
  });
  await settle(p.page);
  assert.equal(await hooks(p.page, (al) => al.luFitted?.()), false);
  const row = await p.page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('.al-token[data-r="0"]')).map((t) => ({ text: t.textContent, cut: t.scrollWidth > t.clientWidth })),
  );
  assert.equal(row.length, 40);
  assert.deepEqual(row.filter((t) => t.cut), [], 'no token cut');
  assert.equal(row[39]?.text, LONG_WORD);
  const last = p.page.locator('.al-token[data-r="0"][data-c="39"]');
  await last.scrollIntoViewIfNeeded();
  const seen = await p.page.evaluate(() => {
    const wrap = document.querySelector('.al-lu-wrap') as HTMLElement;
    const t = document.querySelector('.al-token[data-r="0"][data-c="39"]') as HTMLElement;
    const label = document.querySelector('.al-lu .al-rowlabel') as HTMLElement;
    const w = wrap.getBoundingClientRect();
    const r = t.getBoundingClientRect();
    return { scrolled: wrap.scrollLeft, inside: r.left >= w.left - 0.5 && r.right <= w.right + 0.5, labelLeft: label.getBoundingClientRect().left - w.left, labelOver: document.elementFromPoint(label.getBoundingClientRect().left + 4, label.getBoundingClientRect().top + label.getBoundingClientRect().height / 2) === label };
  });
  assert.ok(seen.scrolled > 0 && seen.inside, `scrolled ${seen.scrolled} px, the last token in view`);
  assert.ok(Math.abs(seen.labelLeft) < 1 && seen.labelOver, 'the row labels stay at the left, over the scrolled cells');
  await p.page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-long-probe-written.png') });
  // Scrolling hides a tooltip that would name the wrong cell.
  const box = (await last.boundingBox())!;
  await p.page.mouse.move(box.x + 3, box.y + 3);
  await p.page.waitForSelector('.al-tooltip:not([hidden])');
  await p.page.locator('.al-lu-wrap').evaluate((w) => w.scrollBy({ left: -200 }));
  await p.page.waitForSelector('.al-tooltip[hidden]', { state: 'attached' });
  await close(p);

  // The encoder: the probe's whole sentence under the selector, wrapped within the card.
  const enc = encoderRun('enc-long', { longProbe: 30 });
  const q = await open({ width: 500, height: 900 });
  await deliver(q.page, enc.snapshot(200));
  await q.page.locator('.al-probe vscode-single-select').evaluate((e) => {
    (e as HTMLElement & { value: string }).value = '3';
    e.dispatchEvent(new Event('change'));
  });
  await settle(q.page);
  const sent = await q.page.evaluate(() => {
    const el = document.querySelector('.al-probe-text') as HTMLElement;
    const card = (document.querySelector('.al-attention') as HTMLElement).getBoundingClientRect();
    const r = el.getBoundingClientRect();
    return { text: el.textContent, cut: el.scrollWidth > el.clientWidth, inside: r.left >= card.left && r.right <= card.right, lines: r.height / (1.3 * parseFloat(getComputedStyle(el).fontSize)) };
  });
  assert.equal(sent.text, `#3 ${enc.info.probes[3]!.tokens.join(' ')}`);
  assert.deepEqual([sent.cut, sent.inside], [false, true]);
  assert.ok(sent.lines >= 1.8, `wrapped (${sent.lines.toFixed(1)} lines)`);
  assert.deepEqual(q.errors, []);
  await close(q);
});

/**
 * In the page: every element of `root` (and of the open shadow roots under it) whose content is
 * wider than its box, or whose box reaches past `root`'s right edge — except the boxes meant to
 * scroll sideways (and what is inside them), and a one-line text cut with an ellipsis that holds
 * its whole text on hover (data-clip="ellipsis" with the text as its title).
 */
function overflows(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((selector) => {
    const out: string[] = [];
    const name = (el: Element): string => `${el.tagName.toLowerCase()}${el.id !== '' ? `#${el.id}` : ''}${typeof el.className === 'string' && el.className !== '' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}`;
    for (const root of Array.from(document.querySelectorAll<HTMLElement>(selector))) {
      if (root.offsetParent === null && getComputedStyle(root).position !== 'fixed') continue;
      const edge = root.getBoundingClientRect().right + 1;
      const visit = (el: Element, path: string): void => {
        if (!(el instanceof HTMLElement)) return;
        const cs = getComputedStyle(el);
        if (cs.display === 'none' || el.hidden) return;
        const here = `${path} > ${name(el)}`;
        const scrolls = cs.overflowX === 'auto' || cs.overflowX === 'scroll';
        const clip = el.dataset['clip'] === 'ellipsis' && el.title === (el.textContent ?? '');
        if (!scrolls && !clip && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) out.push(`${here}: content ${el.scrollWidth} px in a box of ${el.clientWidth} px`);
        const r = el.getBoundingClientRect();
        if (r.width > 0 && r.right > edge && cs.position !== 'fixed') out.push(`${here}: reaches ${Math.round(r.right)} px, past ${Math.round(edge)} px`);
        if (scrolls) return;
        for (const c of Array.from(el.children)) visit(c, here);
        if (el.shadowRoot !== null) for (const c of Array.from(el.shadowRoot.children)) visit(c, `${here}::shadow`);
      };
      visit(root, '');
    }
    return out;
  }, selector);
}

test('L3. at 320, 500 and 900 px nothing in any card overflows its box; the header keeps its height whatever the status; screenshots', async () => {
  for (const width of [320, 500, 900]) {
    const { msg, run } = fullLu();
    const p = await open({ width, height: 800 });
    await deliver(p.page, msg);
    await calm(p.page);
    const pageWide = await p.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(pageWide, 0, `${width} px: no sideways scroll of the page`);
    const cards = await p.page.locator('.al-card').count();
    assert.ok(cards >= 7, `${cards} cards`);
    for (const sel of ['.al-card', '.al-header', '.al-axis-bar', '.al-run-note']) assert.deepEqual(await overflows(p.page, sel), [], `${width} px: ${sel}`);
    // Charts shrink with the card: each canvas as wide as its box.
    const charts = await p.page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('.al-chart-box')).map((b) => [b.clientWidth, (b.querySelector('canvas') as HTMLCanvasElement).getBoundingClientRect().width]));
    for (const [box, canvas] of charts) assert.ok(Math.abs(box! - canvas!) <= 1 && box! > 150, `${width} px: a chart ${canvas} px in a box of ${box} px`);
    await p.page.screenshot({ path: path.join(ARTIFACTS, `dashboard-width-${width}.png`), fullPage: true });

    // The header: one height for running, paused with its reason, and stopped.
    const height = (): Promise<number> => p.page.locator('.al-header').evaluate((e) => e.getBoundingClientRect().height);
    const running = await height();
    await deliver(p.page, { type: 'statusChanged', runId: run.runId, status: 'paused', step: 300, reason: 'paused: the loss became NaN at step 300 in group keys (the run waits for you)', pace: { stepsPerSecond: 10 } });
    const paused = await height();
    assert.deepEqual(await overflows(p.page, '.al-header'), [], `${width} px, paused: the header`);
    await deliver(p.page, { type: 'statusChanged', runId: run.runId, status: 'stopped', step: 300, reason: 'stopped by the user' });
    const stopped = await height();
    await deliver(p.page, { type: 'statusChanged', runId: run.runId, status: 'completed', step: 300 });
    const completed = await height();
    assert.deepEqual([paused, stopped, completed], [running, running, running], `${width} px: header heights running / paused / stopped / completed`);
    assert.deepEqual(p.errors, []);
    await close(p);

    const enc = encoderRun('enc-8', { heads: 8 });
    const e = await open({ width, height: 800 });
    await deliver(e.page, enc.snapshot(200));
    await calm(e.page);
    for (const sel of ['.al-card', '.al-header']) assert.deepEqual(await overflows(e.page, sel), [], `${width} px, encoder: ${sel}`);
    await e.page.screenshot({ path: path.join(ARTIFACTS, `dashboard-encoder-width-${width}.png`), fullPage: true });
    await close(e);
  }
  for (const w of [320, 500, 900]) assert.ok(fs.statSync(path.join(ARTIFACTS, `dashboard-width-${w}.png`)).size > 10_000);
});

test('L4. the encoder\'s per-head maps fill the card\'s width in a grid, not one tall column', async () => {
  const enc = encoderRun('enc-8', { heads: 8 });
  for (const width of [500, 900]) {
    const p = await open({ width, height: 900 });
    await deliver(p.page, enc.snapshot(200));
    await calm(p.page);
    const g = await p.page.evaluate(() => {
      const cardEl = document.querySelector('.al-attention') as HTMLElement;
      const card = cardEl.getBoundingClientRect();
      const thumbs = Array.from(document.querySelectorAll<HTMLElement>('.al-stage-weights .al-thumb')).map((t) => t.getBoundingClientRect());
      const maps = [...Array.from(document.querySelectorAll<HTMLElement>('.al-thumb')), document.querySelector('.al-focus-grid') as HTMLElement].map((t) => t.getBoundingClientRect());
      const enc = (document.querySelector('.al-encoder') as HTMLElement).getBoundingClientRect();
      return {
        rows: new Set(thumbs.map((t) => Math.round(t.top))).size,
        cols: new Set(thumbs.map((t) => Math.round(t.left))).size,
        thumbs: thumbs.length,
        used: (Math.max(...maps.map((t) => t.right)) - Math.min(...maps.map((t) => t.left))) / card.width,
        // The width of one line of W's heads, against the card's less one head (a full line).
        line: Math.max(...thumbs.map((t) => t.right)) - Math.min(...thumbs.map((t) => t.left)),
        room: enc.width - (thumbs[0]?.width ?? 0) - 24,
        height: enc.height,
      };
    });
    assert.equal(g.thumbs, 8);
    assert.ok(g.cols >= 3 && g.rows <= 3, `${width} px: W's 8 heads in ${g.rows} rows of up to ${g.cols}`);
    assert.ok(g.used > 0.8, `${width} px: the maps span ${(100 * g.used).toFixed(0)}% of the card's width`);
    assert.ok(g.line >= g.room, `${width} px: a line of heads spans ${g.line} px of the ${g.room} px it could`);
    // One column of 24 maps of ~130 px would be over 3,000 px tall.
    assert.ok(g.height < 1400, `${width} px: every stage's heads and the enlarged map in ${g.height} px`);
    await p.page.screenshot({ path: path.join(ARTIFACTS, `dashboard-encoder-heads-${width}.png`), fullPage: true });
    await close(p);
  }
});

test('L5. small things: long titles keep Save PNG in line; frozen groups marked; the identity chart\'s ticks and colours; the note', async () => {
  // Save PNG on each card's first line, level with the others in its row (the gradient chart's title wraps).
  const lu = luRun('lu-frozen', 1500, { keysFrozen: true });
  const p = await open({ width: 1280, height: 900 });
  const s = snapshotOf(lu.snapshot(300));
  // A topic word's score a hair below 0 at step 1 (the Lu model's scores start at 0).
  const id0 = s.identity[0]!;
  const score = id0.score.slice();
  score[0] = -0.004;
  await deliver(p.page, { type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: { ...s, identity: [{ ...id0, score }, ...s.identity.slice(1)], note: 'first try' } });
  await calm(p.page);
  const saves = await p.page.evaluate(() =>
    ['.al-loss-card', '.al-acc-card', '.al-grad-card'].map((c) => {
      const card = document.querySelector(c) as HTMLElement;
      const save = card.querySelector('.al-export') as HTMLElement;
      const name = card.querySelector('.al-card-name') as HTMLElement;
      return { top: save.getBoundingClientRect().top, titleTop: name.getBoundingClientRect().top, titleLines: Math.round((name.getBoundingClientRect().height - 4) / (1.4 * parseFloat(getComputedStyle(name).fontSize))), plotBottom: (card.querySelector('canvas') as HTMLElement).getBoundingClientRect().bottom };
    }),
  );
  assert.ok(saves[2]!.titleLines >= 2, 'the gradient chart\'s title wraps');
  for (const c of saves) assert.ok(Math.abs(c.top - saves[0]!.top) < 1 && Math.abs(c.titleTop - saves[0]!.titleTop) < 1, `Save PNG in line: ${JSON.stringify(saves)}`);
  for (const c of saves) assert.ok(Math.abs(c.plotBottom - saves[0]!.plotBottom) < 1, 'the plots end level');
  // Frozen: the keys get no gradient, so no line on the log chart; the legend says why.
  assert.deepEqual((await hooks(p.page, (al) => al.chartData('gradients')))?.map((d) => d.label), ['keys (frozen)', 'embeddings']);
  const legend = await p.page.evaluate(() => {
    const c = (window as unknown as { __attentionLens: { charts: Record<string, { legend: { legendItems: { text: string }[] } }> } }).__attentionLens.charts['gradients']!;
    return c.legend.legendItems.map((i) => i.text);
  });
  assert.deepEqual(legend, ['keys (frozen)', 'embeddings'], 'drawn in the legend');
  // The identity chart: no "-0.0" tick; every word's colour differs from the theory line's.
  const id = await p.page.evaluate(() => {
    const c = (window as unknown as { __attentionLens: { charts: Record<string, { scales: Record<string, { ticks: { label: string }[] }>; data: { datasets: { label: string; borderColor: string }[] } }> } }).__attentionLens.charts['identity']!;
    return { x: c.scales['x']!.ticks.map((t) => String(t.label)), y: c.scales['y']!.ticks.map((t) => String(t.label)), sets: c.data.datasets.map((d) => ({ label: d.label, color: d.borderColor })) };
  });
  for (const l of [...id.x, ...id.y]) assert.doesNotMatch(l, /^[-−]0(\.0*)?$/, `tick ${l}`);
  assert.equal(id.x[0], '0', `the first tick: ${JSON.stringify(id.x)}`);
  const theory = id.sets[0]!;
  assert.equal(theory.label, 'theory');
  for (const w of id.sets.slice(1)) assert.notEqual(w.color.toLowerCase(), theory.color.toLowerCase(), `${w.label}'s colour is not the theory line's`);
  assert.notEqual(id.sets.find((d) => d.label === 'topic3_a')?.color, theory.color);
  // The note, and its edit (a status message carries it; none: no note).
  assert.equal(await p.page.locator('.al-run-note-text').innerText(), 'first try');
  await deliver(p.page, { type: 'statusChanged', runId: lu.runId, status: 'running', step: 300, note: 'second try: keys frozen' });
  assert.equal(await p.page.locator('.al-run-note-text').innerText(), 'second try: keys frozen');
  await deliver(p.page, { type: 'statusChanged', runId: lu.runId, status: 'running', step: 300 });
  assert.equal(await p.page.locator('.al-run-note').isHidden(), true);
  assert.deepEqual(p.errors, []);
  await close(p);
});
