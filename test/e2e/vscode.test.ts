/**
 * End to end in real VS Code (code-server 4.139 = VS Code 1.139, in Debian's Chromium),
 * driven only through the command palette: launch, watch, pause, step, resume, stop.
 * Needs `scripts/setup-tools.sh` (npm test runs it). Screenshots go to test-artifacts/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  browser,
  commandAndPick,
  dashboardFrame,
  dashboardState,
  extensionLog,
  openFile,
  page,
  paletteCount,
  root,
  runCommand,
  shot,
  startVsCode,
  stopVsCode,
  tickRows,
  treeRowText,
  waitFor,
  workspace,
  type DashboardState,
} from './vscodeDriver';

/** The workspace: a long-running experiment to pause and step, and a config with a mistake. */
function prepareWorkspace(dir: string): void {
  // A long-running experiment to pause and step (the fast task for 200,000 epochs).
  const long = JSON.parse(fs.readFileSync(path.join(root, 'demo/watch-attention.attnlens.json'), 'utf8')) as Record<string, unknown>;
  long['name'] = 'long-watch';
  fs.writeFileSync(path.join(dir, 'long-watch.attnlens.json'), JSON.stringify(long, null, 2));
  // A config with a mistake: it must not launch, and its error must show on the field.
  fs.writeFileSync(
    path.join(dir, 'broken.attnlens.json'),
    JSON.stringify({ name: 'broken', data: { kind: 'synthetic' }, model: { kind: 'lu' }, optimizer: { kind: 'sgd', lr: -1 } }, null, 2),
  );
}

before(() => startVsCode(prepareWorkspace));
after(stopVsCode);

test('Launch Run (a fast preset) opens the dashboard with a heatmap and rising steps, and it completes', async () => {
  try {
    await commandAndPick('Attention Lens: Launch Run', 'lu-fc-fast');
    const f = await dashboardFrame('lu-fc-fast');
    const s = await waitFor('a heatmap and steps', async () => {
      const st = await dashboardState(f);
      return st.heatmaps > 0 && st.step > 0 ? st : undefined;
    });
    assert.ok(s.step > 0);
    const done = await waitFor('the run to complete', async () => {
      const st = await dashboardState(f);
      return st.status === 'completed' ? st : undefined;
    }, 60000);
    assert.equal(done.step, 1500);
    await runCommand('View: Show Attention Lens');
    await waitFor('the Runs tree to show completed', async () => /completed/.test(await treeRowText('lu-fc-fast')) || undefined);
    await shot('e2e-fast-preset-completed');
  } catch (e) {
    await shot('e2e-failure-launch');
    throw e;
  }
});

test('pause stops the steps, step moves exactly one, resume continues, stop ends the run; the tree follows', async () => {
  try {
    await commandAndPick('Attention Lens: Launch Run', 'long-watch.attnlens.json');
    const f = await dashboardFrame('long-watch');
    const a = await waitFor('steps rising', async () => {
      const st = await dashboardState(f);
      return st.step > 50 && st.heatmaps > 0 ? st : undefined;
    });
    // AL_E2E_TRACE=<file>: record a 4 s Chromium trace of the window while the run streams (diagnosis only).
    if (process.env['AL_E2E_TRACE']) {
      await browser!.startTracing(page, { path: process.env['AL_E2E_TRACE'], categories: ['devtools.timeline', 'toplevel', 'v8.execute', 'blink', 'cc'] });
      await new Promise((r) => setTimeout(r, 4000));
      await browser!.stopTracing();
    }
    await new Promise((r) => setTimeout(r, 500));
    const b = await dashboardState(f);
    assert.ok(b.step > a.step, `step count rises (${a.step} → ${b.step})`);
    assert.equal(b.status, 'running');
    await runCommand('View: Show Attention Lens');
    await waitFor('the Runs tree to show running', async () => /running/.test(await treeRowText('long-watch')) || undefined);
    await shot('e2e-running-dark');

    await runCommand('Attention Lens: Pause Run');
    const p1 = await waitFor('paused', async () => {
      const st = await dashboardState(f);
      return st.status === 'paused' ? st : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500));
    const p2 = await dashboardState(f);
    assert.equal(p2.step, p1.step, 'no step while paused');
    await waitFor('the Runs tree to show paused', async () => /paused/.test(await treeRowText('long-watch')) || undefined);

    await runCommand('Attention Lens: Step Run');
    const s1 = await waitFor('one step', async () => {
      const st = await dashboardState(f);
      return st.step !== p2.step ? st : undefined;
    });
    await new Promise((r) => setTimeout(r, 800));
    const s2 = await dashboardState(f);
    assert.equal(s1.step, p2.step + 1, 'Step moves by exactly one');
    assert.equal(s2.step, p2.step + 1, 'and then stays');
    assert.equal(s2.status, 'paused');

    await runCommand('Attention Lens: Resume Run');
    await waitFor('steps rising again', async () => {
      const st = await dashboardState(f);
      return st.status === 'running' && st.step > s2.step + 20 ? st : undefined;
    });

    await runCommand('Preferences: Toggle between Light/Dark Themes');
    await new Promise((r) => setTimeout(r, 1500));
    await shot('e2e-running-light');
    await runCommand('Preferences: Toggle between Light/Dark Themes');

    const isStopped = async () => {
      const st = await dashboardState(f);
      return st.status === 'stopped' ? st : undefined;
    };
    await runCommand('Attention Lens: Stop Run');
    let stopped: DashboardState;
    try {
      stopped = await waitFor('stopped', isStopped, 10000);
    } catch (e) {
      // Stop Run was seen (twice in many runs) not to take effect. The extension logs every
      // command it receives: if Stop never reached it, the palette lost the keystrokes, and a
      // person would run the command again; if it did reach it, the run failed to stop.
      const log = extensionLog();
      if (/\[long-watch\] stop requested/.test(log)) throw new Error(`${String(e)}; Stop Run reached the extension. Its log:\n${log}`);
      console.log('# Stop Run did not reach the extension (the palette lost it); running it again');
      await shot('e2e-stop-retry');
      await runCommand('Attention Lens: Stop Run');
      stopped = await waitFor('stopped', isStopped, 15000);
    }
    await waitFor('the log to record the end of the run', () => /\[long-watch\] stopped at step \d+/.test(extensionLog()) || undefined, 5000);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal((await dashboardState(f)).step, stopped.step, 'no step after stop');
    await waitFor('the Runs tree to show stopped', async () => /stopped/.test(await treeRowText('long-watch')) || undefined);
    await shot('e2e-stopped');
  } catch (e) {
    await shot('e2e-failure-controls');
    throw e;
  }
});

test('Pause Run with nothing running says so', async () => {
  await runCommand('Attention Lens: Pause Run');
  const toast = page.locator('.notifications-toasts .notification-list-item', { hasText: /nothing to pause|no run to pause|has ended|has failed/ }).first();
  await toast.waitFor({ state: 'visible', timeout: 10000 });
});

test('a closed dashboard reopens with the run\'s full state (Open Dashboard)', async () => {
  try {
    const before = await dashboardState(await dashboardFrame('long-watch'));
    await runCommand('View: Close All Editors');
    await page.waitForTimeout(500);
    await runCommand('Attention Lens: Open Dashboard');
    const f = await dashboardFrame('long-watch');
    const after = await waitFor('the snapshot', async () => {
      const st = await dashboardState(f);
      return st.step === before.step && st.heatmaps > 0 ? st : undefined;
    });
    assert.equal(after.status, 'stopped');
    const points = await f.evaluate(() => {
      const al = (window as unknown as { __attentionLens: { chartData(n: string): { xs: number[] }[] | undefined } }).__attentionLens;
      return al.chartData('loss')?.[0]?.xs.length ?? 0;
    });
    assert.ok(points > 10, `the loss chart is drawn again (${points} points)`);
  } catch (e) {
    await shot('e2e-failure-reopen');
    throw e;
  }
});

test('a run config with an error is not launched; the error shows on the field; valid configs get a Launch CodeLens', async () => {
  try {
    await commandAndPick('Attention Lens: Launch Run from Config File', 'broken.attnlens.json', '', 'Launch Run from Config File');
    const toast = page.locator('.notifications-toasts .notification-list-item', { hasText: 'is not a valid run config' }).first();
    await toast.waitFor({ state: 'visible', timeout: 15000 });
    assert.match(await toast.innerText(), /optimizer\.lr must be a positive number/);
    await runCommand('View: Focus Problems (Errors, Warnings, Infos)');
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'optimizer.lr must be a positive number' }).first().waitFor({ state: 'visible', timeout: 15000 });
    assert.equal(await page.locator('.monaco-list-row', { hasText: /^broken/ }).filter({ hasText: /running|completed/ }).count(), 0, 'not launched');
    // The valid config shows a Launch CodeLens.
    await openFile('long-watch.attnlens.json');
    await page.locator('.codelens-decoration', { hasText: 'Launch' }).first().waitFor({ state: 'visible', timeout: 20000 });
    await shot('e2e-config-codelens');
  } catch (e) {
    await shot('e2e-failure-config');
    throw e;
  }
});

test('after Reload Window both runs are listed from their folders and a saved run opens with its full dashboard', async () => {
  try {
    await runCommand('Developer: Reload Window');
    await page.waitForTimeout(1500);
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60000 });
    await waitFor('the Attention Lens commands after reload', async () => (await paletteCount('Attention Lens: Open Dashboard')) > 0 || undefined, 60000, 1000);
    await runCommand('View: Show Attention Lens');
    await waitFor('lu-fc-fast listed as completed', async () => /completed/.test(await treeRowText('lu-fc-fast')) || undefined, 30000);
    await waitFor('long-watch listed as stopped', async () => /stopped/.test(await treeRowText('long-watch')) || undefined, 30000);
    await commandAndPick('Attention Lens: Open Dashboard', 'lu-fc-fast', 'Choose a run');
    const f = await dashboardFrame('lu-fc-fast');
    const st = await waitFor('the saved run’s dashboard', async () => {
      const s = await dashboardState(f);
      return s.step === 1500 && s.heatmaps > 0 ? s : undefined;
    });
    assert.equal(st.status, 'completed');
    const points = await f.evaluate(() => (window as unknown as { __attentionLens: { chartData(n: string): { xs: number[] }[] | undefined } }).__attentionLens.chartData('loss')?.[0]?.xs.length ?? 0);
    assert.ok(points > 100, `loss curve restored (${points} points)`);
    await shot('e2e-after-reload');
  } catch (e) {
    await shot('e2e-failure-reload');
    throw e;
  }
});

test('Compare Runs overlays both runs\' curves and shows their attention side by side', async () => {
  try {
    await runCommand('Attention Lens: Compare Runs');
    await page.locator('.quick-input-widget input[placeholder="Choose two or more runs to compare"]').waitFor({ state: 'visible', timeout: 10000 });
    await tickRows(['lu-fc-fast', 'long-watch']);
    await page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).first().click();
    const f = await waitFor('the compare view', async () => {
      for (const fr of page.frames()) {
        const ok = await fr.evaluate(() => (window as unknown as { __attentionLens?: { view: string } }).__attentionLens?.view === 'compare').catch(() => false);
        if (ok) return fr;
      }
      return undefined;
    });
    const st = await waitFor('two curves and two heatmaps', async () => {
      const r = await f.evaluate(() => {
        const al = (window as unknown as { __attentionLens: { chartData(n: string): { runId?: string; xs: number[] }[] | undefined; heatmaps(): { name: string; values: ArrayLike<number> }[] } }).__attentionLens;
        const loss = al.chartData('loss') ?? [];
        const maps = al.heatmaps().filter((h) => h.name.startsWith('cmp:'));
        return { curves: loss.filter((d) => d.xs.length > 10).length, maps: maps.map((m) => Array.from(m.values)) };
      });
      return r.curves === 2 && r.maps.length === 2 ? r : undefined;
    }, 20000);
    assert.notDeepEqual(st.maps[0], st.maps[1], 'the two runs attend differently');
    await shot('e2e-compare');
  } catch (e) {
    await shot('e2e-failure-compare');
    throw e;
  }
});

test('Export Runs as CSV writes every step of the chosen runs through the save dialog', async () => {
  try {
    const out = path.join(workspace, 'exported-runs.csv');
    await runCommand('Attention Lens: Export Runs as CSV');
    const input = page.locator('.quick-input-widget input[placeholder="Choose the runs"]');
    await input.waitFor({ state: 'visible', timeout: 10000 });
    await tickRows(['lu-fc-fast', 'long-watch']);
    await page.locator('.quick-input-widget .quick-input-count', { hasText: '2 Selected' }).first().waitFor({ state: 'visible', timeout: 5000 });
    await page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).first().click();
    // The save dialog (VS Code's own file dialog in the browser): its input holds the default
    // path; replace it with ours, Enter.
    const pathInput = page.locator('.quick-input-widget input').first();
    await waitFor('the save dialog', async () => (/\.csv$/.test(await pathInput.inputValue()) ? true : undefined), 10000);
    await pathInput.fill(out);
    await page.keyboard.press('Enter');
    await page.locator('.notifications-toasts .notification-list-item', { hasText: 'exported 2 runs' }).first().waitFor({ state: 'visible', timeout: 20000 });
    const text = fs.readFileSync(out, 'utf8');
    const lines = text.trim().split('\n');
    assert.equal(lines[0]!.split(',').slice(0, 4).join(','), 'run,step,loss,train_accuracy');
    const fast = lines.filter((l) => l.startsWith('lu-fc-fast,'));
    assert.equal(fast.length, 1500, 'every step of lu-fc-fast');
    assert.deepEqual(fast.slice(0, 3).map((l) => l.split(',')[1]), ['1', '2', '3']);
    assert.ok(lines.filter((l) => l.startsWith('long-watch,')).length > 100);
  } catch (e) {
    await shot('e2e-failure-export');
    throw e;
  }
});

test('Save PNG on the dashboard\'s loss chart writes a PNG of the chart through the save dialog', async () => {
  try {
    const out = path.join(workspace, 'exported-loss.png');
    await commandAndPick('Attention Lens: Open Dashboard', 'lu-fc-fast', 'Choose a run');
    const f = await dashboardFrame('lu-fc-fast');
    await waitFor('the loss curve', async () => (await dashboardState(f)).step === 1500 || undefined);
    const button = f.locator('.al-loss-card .al-export');
    await button.waitFor({ state: 'visible', timeout: 10000 });
    const size = await f.locator('.al-loss-card canvas').evaluate((c) => ({ width: (c as HTMLCanvasElement).width, height: (c as HTMLCanvasElement).height }));
    await button.click();
    // The save dialog opens in the workspace with <run name>-loss.png; replace it with ours, Enter.
    const pathInput = page.locator('.quick-input-widget input').first();
    const suggested = await waitFor('the save dialog', async () => {
      const v = await pathInput.inputValue();
      return /\.png$/.test(v) ? v : undefined;
    }, 15000);
    assert.match(suggested, /lu-fc-fast-loss\.png$/);
    await pathInput.fill(out);
    await page.keyboard.press('Enter');
    await page.locator('.notifications-toasts .notification-list-item', { hasText: 'saved exported-loss.png' }).first().waitFor({ state: 'visible', timeout: 20000 });
    const png = new Uint8Array(fs.readFileSync(out));
    assert.deepEqual(Array.from(png.subarray(0, 8)), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    assert.equal(String.fromCharCode(...png.subarray(12, 16)), 'IHDR');
    const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
    assert.deepEqual({ width: dv.getUint32(16), height: dv.getUint32(20) }, size, 'the chart canvas\'s size');
    assert.ok(size.width > 100 && size.height > 50, JSON.stringify(size));
    await shot('e2e-export-png');
  } catch (e) {
    await shot('e2e-failure-export-png');
    throw e;
  }
});

/** The run folders' meta.json, by run name. */
function storedMetas(): Map<string, { dir: string; meta: { name: string; note?: string } }> {
  const runs = path.join(workspace, '.attention-lens', 'runs');
  const out = new Map<string, { dir: string; meta: { name: string; note?: string } }>();
  for (const id of fs.existsSync(runs) ? fs.readdirSync(runs) : []) {
    const f = path.join(runs, id, 'meta.json');
    if (!fs.existsSync(f)) continue;
    const meta = JSON.parse(fs.readFileSync(f, 'utf8')) as { name: string; note?: string };
    out.set(meta.name, { dir: path.join(runs, id), meta });
  }
  return out;
}

/** Type into the input box showing `prompt` (replacing its value) and press Enter. */
async function answerInputBox(prompt: string, value: string): Promise<void> {
  // The input box reuses the quick pick's widget: wait for its own prompt, not just an input.
  await page.locator('.quick-input-widget .quick-input-message', { hasText: prompt }).first().waitFor({ state: 'visible', timeout: 10000 });
  const input = page.locator('.quick-input-widget input').first();
  await input.fill(value);
  await page.keyboard.press('Enter');
}

test('Rename Run, Edit Run Note, Reveal Run Folder and Delete Run (with its confirmation) from the palette change the run folders, the Explorer and the Runs tree', async () => {
  try {
    await commandAndPick('Attention Lens: Rename Run', 'long-watch', 'Choose the run to rename');
    await answerInputBox('display name', 'long-watch (baseline)');
    await waitFor('meta.json to hold the new name', () => storedMetas().has('long-watch (baseline)') || undefined, 10000);
    await runCommand('View: Show Attention Lens');
    await waitFor('the Runs tree to show the new name', async () => /stopped/.test(await treeRowText('long-watch (baseline)')) || undefined, 15000);
    // The compare view opened earlier names the runs as the Runs view does.
    await page.locator('.tab', { hasText: 'Compare: lu-fc-fast · long-watch (baseline)' }).first().waitFor({ state: 'attached', timeout: 10000 });

    await commandAndPick('Attention Lens: Edit Run Note', 'long-watch (baseline)', 'Choose the run to annotate');
    await answerInputBox('free-text note', 'keys trainable; compare with keys frozen');
    await waitFor('meta.json to hold the note', () => storedMetas().get('long-watch (baseline)')?.meta.note === 'keys trainable; compare with keys frozen' || undefined, 10000);

    // Reveal Run Folder: in the browser there is no OS file manager, so the Explorer shows it.
    const kept = storedMetas().get('long-watch (baseline)')!;
    await commandAndPick('Attention Lens: Reveal Run Folder', 'long-watch (baseline)', 'Choose the run to reveal');
    await page
      .locator('.explorer-folders-view .monaco-list-row.focused', { hasText: path.basename(kept.dir) })
      .first()
      .waitFor({ state: 'visible', timeout: 15000 });

    assert.ok((await page.locator('.tab', { hasText: 'Attention: lu-fc-fast' }).count()) > 0, 'its dashboard is open before the delete');
    const doomed = storedMetas().get('lu-fc-fast');
    assert.ok(doomed, 'lu-fc-fast has a folder');
    await commandAndPick('Attention Lens: Delete Run', 'lu-fc-fast', 'Choose the run to delete');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: 10000 });
    assert.match(await dialog.innerText(), /Delete run lu-fc-fast\?/);
    assert.ok(fs.existsSync(doomed.dir), 'nothing is deleted before the confirmation');
    await dialog.locator('.monaco-button', { hasText: 'Delete' }).first().click();
    await waitFor('the folder to be deleted', () => !fs.existsSync(doomed.dir) || undefined, 10000);
    await waitFor('the Runs tree to drop the run', async () => (await page.locator('.monaco-list-row:visible', { hasText: 'lu-fc-fast' }).count()) === 0 || undefined, 15000);
    assert.ok(storedMetas().has('long-watch (baseline)'), 'the other run stays');
    await waitFor('the deleted run’s dashboard to close', async () => (await page.locator('.tab', { hasText: 'Attention: lu-fc-fast' }).count()) === 0 || undefined, 10000);
    // The compare view of both names the deleted run as deleted.
    await page.locator('.tab', { hasText: /^Compare: lu-fc-fast \(deleted\) · long-watch \(baseline\)$/ }).first().waitFor({ state: 'attached', timeout: 10000 });
    await shot('e2e-rename-note-delete');
  } catch (e) {
    await shot('e2e-failure-rename-note-delete');
    throw e;
  }
});
