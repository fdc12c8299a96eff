/**
 * End to end in real VS Code, in the demo workspace as a new user opens it: the demo run starts
 * by itself at a pace where attention visibly forms; pausing and stepping shows exactly the
 * step the run is at; launches share one editor group. Screenshots go to test-artifacts/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { commandAndPick, dashboardFrame, dashboardState, page, root, runCommand, shot, startVsCode, stopVsCode, waitFor } from './vscodeDriver';
import type { Frame } from 'playwright-core';

/** The demo folder as shipped (its .vscode/settings.json launches the demo at its pace). */
function copyDemo(dir: string): void {
  fs.cpSync(path.join(root, 'demo'), dir, { recursive: true });
}

before(() => startVsCode(copyDemo));
after(stopVsCode);

/** The step of the attention the dashboard shows, and the label over it. */
async function attentionShown(f: Frame): Promise<{ frameStep: number | undefined; label: string; lastStep: number; status: string }> {
  return f.evaluate(() => {
    const al = (window as unknown as { __attentionLens: { store: { lastStep: number; status: string }; shownStep(): number | undefined } }).__attentionLens;
    return {
      frameStep: al.shownStep(),
      label: document.querySelector('.al-scrub-label')?.textContent ?? '',
      lastStep: al.store.lastStep,
      status: al.store.status,
    };
  });
}

test('the demo opens at its watchable pace: attention shows at a step below 1,000 within the first seconds', async () => {
  try {
    const f = await dashboardFrame('watch-attention');
    const first = await waitFor('the first attention on screen', async () => {
      const a = await attentionShown(f);
      return a.frameStep !== undefined && (await dashboardState(f)).heatmaps > 0 ? a : undefined;
    }, 30000);
    assert.ok(first.frameStep! < 1000, `attention first shown at step ${first.frameStep}`);
    await page.waitForTimeout(3000);
    const later = await attentionShown(f);
    // At the demo's 100 steps/s, three more seconds are a few hundred steps, not tens of thousands.
    assert.ok(later.lastStep > first.lastStep, 'it trains');
    assert.ok(later.lastStep - first.lastStep < 1000, `${later.lastStep - first.lastStep} steps in 3 s at the demo's pace`);
    assert.ok(later.frameStep! < 2000, `still in the early steps (${later.frameStep})`);
    await shot('e2e-demo-watchable-pace');
  } catch (e) {
    await shot('e2e-failure-demo-pace');
    throw e;
  }
});

test('pause, then step three times: the attention section reports exactly the paused step, with a frame captured at it', async () => {
  try {
    const f = await dashboardFrame('watch-attention');
    await runCommand('Attention Lens: Pause Run');
    const paused = await waitFor('paused, its frame shown', async () => {
      const a = await attentionShown(f);
      return a.status === 'paused' && a.frameStep === a.lastStep ? a : undefined;
    }, 15000);
    assert.match(paused.label, new RegExp(`step ${paused.lastStep.toLocaleString('en')}\\b`));
    for (let i = 1; i <= 3; i++) {
      await runCommand('Attention Lens: Step Run');
      const s = await waitFor(`single step ${i}`, async () => {
        const a = await attentionShown(f);
        return a.lastStep === paused.lastStep + i && a.frameStep === a.lastStep ? a : undefined;
      }, 15000);
      assert.match(s.label, new RegExp(`step ${s.lastStep.toLocaleString('en')}\\b`), `the label says step ${s.lastStep}: ${s.label}`);
    }
    await shot('e2e-paused-stepped');
    await runCommand('Attention Lens: Resume Run');
  } catch (e) {
    await shot('e2e-failure-pause-step');
    throw e;
  }
});

test('two runs launched one after the other share one editor group', async () => {
  try {
    const groups = () => page.locator('.editor-group-container').count();
    const before = await groups();
    await commandAndPick('Attention Lens: Launch Run', 'lu-fc-fast');
    await dashboardFrame('lu-fc-fast');
    await commandAndPick('Attention Lens: Launch Run', 'lu-tc-fast');
    await dashboardFrame('lu-tc-fast');
    await page.waitForTimeout(500);
    assert.equal(await groups(), before, 'no new editor group per launch');
    // Both dashboards are tabs of the group that holds the demo's.
    const group = page.locator('.editor-group-container', { has: page.locator('.tab', { hasText: 'Attention: watch-attention' }) });
    for (const name of ['lu-fc-fast', 'lu-tc-fast']) assert.equal(await group.locator('.tab', { hasText: `Attention: ${name}` }).count(), 1, `${name} in the dashboards' group`);
    await shot('e2e-one-dashboard-group');
  } catch (e) {
    await shot('e2e-failure-one-group');
    throw e;
  }
});
