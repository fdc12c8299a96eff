/**
 * Test harness for the webview in real Chromium: a tiny HTTP server for the page
 * (webviewHtml with a test nonce), dist/webview.js, media/dashboard.css and a theme
 * stylesheet with the --vscode-* variables VS Code injects; a stub acquireVsCodeApi that
 * records posted messages and keeps state across reloads; delivery of host messages with
 * typed arrays intact.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { webviewHtml } from '../../src/extension/webviewHtml';

export const ROOT = path.resolve(__dirname, '../../..');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');
export const NONCE = 'dGVzdG5vbmNlMTIzNDU2Nzg5MA';

const DARK = {
  'editor-background': '#1e1e1e',
  'editor-foreground': '#d4d4d4',
  foreground: '#cccccc',
  'descriptionForeground': '#ccccccb3',
  'errorForeground': '#f48771',
  'focusBorder': '#007fd4',
  'panel-border': '#80808059',
  'sideBar-background': '#252526',
  'charts-red': '#f14c4c',
  'charts-blue': '#3794ff',
  'charts-yellow': '#cca700',
  'charts-orange': '#d18616',
  'charts-green': '#89d185',
  'charts-purple': '#b180d7',
  'charts-foreground': '#cccccc',
  'charts-lines': '#cccccc80',
  'button-background': '#0e639c',
  'button-foreground': '#ffffff',
  'button-hoverBackground': '#1177bb',
  'button-secondaryBackground': '#3a3d41',
  'button-secondaryForeground': '#ffffff',
  'button-secondaryHoverBackground': '#45494e',
  'badge-background': '#4d4d4d',
  'badge-foreground': '#ffffff',
  'settings-dropdownBackground': '#3c3c3c',
  'settings-dropdownForeground': '#f0f0f0',
  'settings-dropdownBorder': '#3c3c3c',
  'settings-dropdownListBorder': '#454545',
  'list-activeSelectionBackground': '#04395e',
  'list-activeSelectionForeground': '#ffffff',
  'list-hoverBackground': '#2a2d2e',
  'list-focusOutline': '#007fd4',
  'widget-shadow': '#0000005c',
  'editorHoverWidget-background': '#252526',
  'editorHoverWidget-foreground': '#cccccc',
  'editorHoverWidget-border': '#454545',
  'scrollbarSlider-background': '#79797966',
  'inputValidation-errorBackground': '#5a1d1d',
  'inputValidation-errorBorder': '#be1100',
};

const LIGHT: Record<keyof typeof DARK, string> = {
  'editor-background': '#ffffff',
  'editor-foreground': '#000000',
  foreground: '#616161',
  'descriptionForeground': '#717171',
  'errorForeground': '#a1260d',
  'focusBorder': '#0090f1',
  'panel-border': '#80808059',
  'sideBar-background': '#f3f3f3',
  'charts-red': '#e51400',
  'charts-blue': '#1a85ff',
  'charts-yellow': '#bf8803',
  'charts-orange': '#d18616',
  'charts-green': '#388a34',
  'charts-purple': '#652d90',
  'charts-foreground': '#616161',
  'charts-lines': '#61616180',
  'button-background': '#007acc',
  'button-foreground': '#ffffff',
  'button-hoverBackground': '#0062a3',
  'button-secondaryBackground': '#5f6a79',
  'button-secondaryForeground': '#ffffff',
  'button-secondaryHoverBackground': '#4c5561',
  'badge-background': '#c4c4c4',
  'badge-foreground': '#333333',
  'settings-dropdownBackground': '#ffffff',
  'settings-dropdownForeground': '#616161',
  'settings-dropdownBorder': '#cecece',
  'settings-dropdownListBorder': '#c8c8c8',
  'list-activeSelectionBackground': '#0060c0',
  'list-activeSelectionForeground': '#ffffff',
  'list-hoverBackground': '#e8e8e8',
  'list-focusOutline': '#0090f1',
  'widget-shadow': '#00000029',
  'editorHoverWidget-background': '#f3f3f3',
  'editorHoverWidget-foreground': '#616161',
  'editorHoverWidget-border': '#c8c8c8',
  'scrollbarSlider-background': '#64646466',
  'inputValidation-errorBackground': '#f2dede',
  'inputValidation-errorBorder': '#be1100',
};

const COMMON = {
  'font-family': "-apple-system, BlinkMacSystemFont, 'Segoe WPC', 'Segoe UI', Ubuntu, 'Droid Sans', 'DejaVu Sans', sans-serif",
  'font-size': '13px',
  'font-weight': 'normal',
  'editor-font-family': "'DejaVu Sans Mono', 'Droid Sans Mono', monospace",
  'editor-font-size': '13px',
};

const block = (vars: Record<string, string>): string =>
  Object.entries(vars)
    .map(([k, v]) => `  --vscode-${k}: ${v};`)
    .join('\n');

/** What VS Code injects, as a served stylesheet (the CSP forbids inline styles). */
export const THEME_CSS = `body {\n${block(COMMON)}\n}\nbody.vscode-dark {\n${block(DARK)}\n}\nbody.vscode-light {\n${block(LIGHT)}\n}\n`;

export const THEMES = { dark: DARK, light: LIGHT };

export interface TestServer {
  origin: string;
  close(): Promise<void>;
}

export async function startServer(): Promise<TestServer> {
  const files: Record<string, { file: string; type: string }> = {
    '/dist/webview.js': { file: path.join(ROOT, 'dist/webview.js'), type: 'text/javascript' },
    '/dist/webview.js.map': { file: path.join(ROOT, 'dist/webview.js.map'), type: 'application/json' },
    '/media/dashboard.css': { file: path.join(ROOT, 'media/dashboard.css'), type: 'text/css' },
  };
  let origin = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const send = (status: number, type: string, body: string | Buffer): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url.pathname === '/page') {
      const v = url.searchParams.get('view');
      const view = v === 'sidebar' || v === 'compare' ? v : 'dashboard';
      const theme = url.searchParams.get('theme') === 'light' ? 'vscode-light' : 'vscode-dark';
      const html = webviewHtml({ view, cspSource: origin, nonce: NONCE, scriptUri: `${origin}/dist/webview.js`, styleUri: `${origin}/media/dashboard.css`, title: 'Attention Lens test' })
        // VS Code adds its theme variables and body classes around the page; so does the test.
        .replace('</head>', `<link rel="stylesheet" href="${origin}/theme.css">\n</head>`)
        .replace('<body ', `<body class="${theme}" `);
      return send(200, 'text/html; charset=utf-8', html);
    }
    if (url.pathname === '/theme.css') return send(200, 'text/css', THEME_CSS);
    if (url.pathname === '/favicon.ico') return send(204, 'image/x-icon', '');
    const f = files[url.pathname];
    if (f !== undefined && fs.existsSync(f.file)) return send(200, f.type, fs.readFileSync(f.file));
    send(404, 'text/plain', 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * The stub VS Code API and test plumbing, run before the page's scripts on every load:
 * window.__posted records webview→host messages, the state survives reloads (sessionStorage),
 * window.__deliver(encoded) posts a host message with its typed arrays rebuilt, and CSP
 * violations are collected in window.__csp.
 */
const INIT_SCRIPT = `(() => {
  const KEY = '__attentionLensTestState';
  window.__posted = [];
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sourceFile || '') + ':' + e.lineNumber);
  });
  let state;
  try { const s = sessionStorage.getItem(KEY); state = s === null ? undefined : JSON.parse(s); } catch { state = undefined; }
  let acquired = false;
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi called twice');
    acquired = true;
    return {
      postMessage: (m) => { window.__posted.push(m); },
      getState: () => state,
      setState: (s) => { state = s; sessionStorage.setItem(KEY, JSON.stringify(s)); },
    };
  };
  const decode = (v) => {
    if (Array.isArray(v)) return v.map(decode);
    if (v !== null && typeof v === 'object') {
      if (typeof v.__typed === 'string') return new globalThis[v.__typed](v.data);
      const o = {};
      for (const k of Object.keys(v)) o[k] = decode(v[k]);
      return o;
    }
    return v;
  };
  window.__deliver = (encoded) => { window.postMessage(decode(encoded), '*'); };
})();`;

/** Typed arrays as markers Playwright can serialize; __deliver rebuilds them in the page. */
export function encode(v: unknown): unknown {
  if (v instanceof Float64Array) return { __typed: 'Float64Array', data: Array.from(v) };
  if (v instanceof Float32Array) return { __typed: 'Float32Array', data: Array.from(v) };
  if (Array.isArray(v)) return v.map(encode);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = encode(x);
    return o;
  }
  return v;
}

export interface OpenPage {
  page: Page;
  /** Console messages as "type: text". */
  console: string[];
  /** Uncaught page errors. */
  errors: string[];
}

/**
 * Opens the page. `bypassCSP` is for benchmarks only: it lets the test side fetch large
 * payloads into the page (the page's own CSP forbids any fetch), never for tests of the page.
 */
export async function openPage(
  browser: Browser,
  origin: string,
  opts: { view?: 'dashboard' | 'sidebar' | 'compare'; theme?: 'dark' | 'light'; width?: number; height?: number; bypassCSP?: boolean } = {},
): Promise<OpenPage> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 }, deviceScaleFactor: 1, ...(opts.bypassCSP === true ? { bypassCSP: true } : {}) });
  const page = await context.newPage();
  const out: OpenPage = { page, console: [], errors: [] };
  page.on('console', (m) => out.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => out.errors.push(String(e)));
  await page.addInitScript(INIT_SCRIPT);
  await page.goto(`${origin}/page?view=${opts.view ?? 'dashboard'}&theme=${opts.theme ?? 'dark'}`);
  await waitReady(page);
  return out;
}

/** Wait until the page has posted `ready` (after a load or reload). */
export async function waitReady(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const w = window as unknown as { __posted?: { type: string }[]; __attentionLens?: unknown };
    return w.__attentionLens !== undefined && (w.__posted ?? []).some((m) => m.type === 'ready');
  });
}

/** Post host messages to the page, then wait for the repaint. */
export async function deliver(page: Page, ...msgs: unknown[]): Promise<void> {
  await page.evaluate((encoded) => {
    const w = window as unknown as { __deliver(m: unknown): void };
    for (const m of encoded) w.__deliver(m);
  }, msgs.map(encode));
  await settle(page);
}

/** Let queued messages arrive and the next animation frame render them. */
export async function settle(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await new Promise((r) => setTimeout(r, 0));
    const al = (window as unknown as { __attentionLens: { nextRender(): Promise<void> } }).__attentionLens;
    await al.nextRender();
  });
}

/** Messages the page posted to the host so far. */
export function posted(page: Page): Promise<{ type: string; [k: string]: unknown }[]> {
  return page.evaluate(() => (window as unknown as { __posted: { type: string }[] }).__posted);
}

export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
}

/** A heatmap canvas's pixels and the values painted into it, read in the page. */
export interface HeatPixels {
  rows: number;
  cols: number;
  /** RGBA bytes, (rows, cols, 4). */
  rgba: number[];
  values: number[];
  /** Per cell, the index into the positive ramp whose colour is nearest (-1: transparent). */
  rampIndex: number[];
}

export function heatPixels(page: Page, name: string): Promise<HeatPixels | undefined> {
  return page.evaluate((name) => {
    interface Hooks {
      heatmaps(): { name: string; canvas: HTMLCanvasElement; rows: number; cols: number; values: ArrayLike<number> }[];
      palette(): { positive: Uint8ClampedArray };
    }
    const al = (window as unknown as { __attentionLens: Hooks }).__attentionLens;
    const h = al.heatmaps().find((x) => x.name === name);
    if (h === undefined) return undefined;
    const ctx = h.canvas.getContext('2d');
    if (ctx === null) return undefined;
    const img = ctx.getImageData(0, 0, h.canvas.width, h.canvas.height).data;
    const lut = al.palette().positive;
    const rampIndex: number[] = [];
    for (let i = 0; i < img.length; i += 4) {
      if (img[i + 3] === 0) {
        rampIndex.push(-1);
        continue;
      }
      let best = -1;
      let bd = Infinity;
      for (let j = 0; j < lut.length; j += 4) {
        const d = (img[i]! - lut[j]!) ** 2 + (img[i + 1]! - lut[j + 1]!) ** 2 + (img[i + 2]! - lut[j + 2]!) ** 2;
        if (d < bd) {
          bd = d;
          best = j / 4;
        }
      }
      rampIndex.push(best);
    }
    return { rows: h.canvas.height, cols: h.canvas.width, rgba: Array.from(img), values: Array.from(h.values), rampIndex };
  }, name);
}

/** An exportImage message the page posted, its PNG bytes back in a Uint8Array. */
export interface PostedImage {
  type: 'exportImage';
  runId?: string;
  name: string;
  png: Uint8Array;
  /** Object.prototype.toString of the posted bytes, e.g. "[object Uint8Array]". */
  tag: string;
}

/** Every exportImage message posted so far. */
export async function exportedImages(page: Page): Promise<PostedImage[]> {
  const raw = await page.evaluate(() =>
    (window as unknown as { __posted: { type: string; runId?: string; name?: string; png?: Uint8Array }[] }).__posted
      .filter((m) => m.type === 'exportImage')
      .map((m) => ({ runId: m.runId, name: m.name ?? '', png: Array.from(m.png ?? []), tag: Object.prototype.toString.call(m.png) })),
  );
  return raw.map((m) => ({ type: 'exportImage', ...(m.runId !== undefined ? { runId: m.runId } : {}), name: m.name, png: Uint8Array.from(m.png), tag: m.tag }));
}

/** Click a Save PNG button and return the image it posted. */
export async function clickExport(page: Page, selector: string): Promise<PostedImage> {
  const before = (await exportedImages(page)).length;
  await page.locator(selector).first().click();
  await page.waitForFunction((n) => (window as unknown as { __posted: { type: string }[] }).__posted.filter((m) => m.type === 'exportImage').length > n, before, { timeout: 10000 });
  const all = await exportedImages(page);
  return all[all.length - 1]!;
}
