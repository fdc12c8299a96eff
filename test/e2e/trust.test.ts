/**
 * End to end in real VS Code with an untrusted workspace (Restricted Mode): the extension
 * launches only its built-in presets there. A run config file from the workspace is neither
 * offered, nor launched, nor given a Launch CodeLens, and `attentionLens.launchOnStartup` is
 * ignored; a preset still trains and shows its dashboard.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dashboardFrame, dashboardState, extensionLog, openFile, page, paletteCount, root, runCommand, shot, startVsCode, stopVsCode, waitFor } from './vscodeDriver';

before(() =>
  startVsCode(
    (dir) => {
      const cfg = JSON.parse(fs.readFileSync(path.join(root, 'demo/watch-attention.attnlens.json'), 'utf8')) as Record<string, unknown>;
      cfg['name'] = 'from-the-workspace';
      fs.writeFileSync(path.join(dir, 'from-the-workspace.attnlens.json'), JSON.stringify(cfg, null, 2));
    },
    { trusted: false, settings: { 'attentionLens.launchOnStartup': 'from-the-workspace.attnlens.json' } },
  ),
);
after(stopVsCode);

test('in an untrusted workspace only presets launch: config files are not offered, launched or given a CodeLens; launchOnStartup is ignored', async () => {
  try {
    // The window is in Restricted Mode.
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ state: 'visible', timeout: 20000 });
    await waitFor('the startup launch to be refused', () => /launchOnStartup "from-the-workspace\.attnlens\.json" ignored: the workspace is not trusted/.test(extensionLog()) || undefined, 20000);

    // Launch Run offers the presets and not the workspace's config file.
    await runCommand('Attention Lens: Launch Run');
    const input = page.locator('.quick-input-widget input[placeholder="Choose an experiment to train"]');
    await input.waitFor({ state: 'visible', timeout: 10000 });
    await input.fill('attnlens.json');
    await page.waitForTimeout(1000);
    assert.equal(await page.locator('.quick-input-list .monaco-list-row', { hasText: 'from-the-workspace' }).count(), 0, 'the config file is not offered');
    await input.fill('lu-fc-fast');
    await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: 'lu-fc-fast' }).first().waitFor({ state: 'visible', timeout: 10000 });
    await page.keyboard.press('Enter');
    const frame = await dashboardFrame('lu-fc-fast');
    await waitFor('the preset to complete', async () => ((await dashboardState(frame)).status === 'completed' ? true : undefined), 60000);

    // Launch Run from Config File is not in the palette.
    assert.equal(await paletteCount('Attention Lens: Launch Run from Config File', 1000), 0, 'hidden in Restricted Mode');

    // The config file opens, without a Launch CodeLens.
    await openFile('from-the-workspace.attnlens.json');
    await page.locator('.monaco-editor .view-lines', { hasText: 'from-the-workspace' }).first().waitFor({ state: 'visible', timeout: 15000 });
    // In a trusted window the lens shows within a few seconds (vscode.test.ts waits for it).
    await page.waitForTimeout(5000);
    assert.equal(await page.locator('.codelens-decoration', { hasText: 'Launch' }).count(), 0, 'no Launch CodeLens');

    // Nothing but the preset ran.
    assert.doesNotMatch(extensionLog(), /\[from-the-workspace\]/);
    await shot('e2e-untrusted-workspace');
  } catch (e) {
    await shot('e2e-failure-untrusted');
    throw e;
  }
});
