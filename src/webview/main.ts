/**
 * The webview entry (bundled to dist/webview.js): picks the view named by
 * <body data-view>, validates every host message with the protocol guard (an invalid one is
 * logged and dropped), and opens the channel by posting `ready` with the protocol version.
 */
import { isAttentionFrame, isScalarChunk, isHostToWebview } from '../protocol/guards';
import { PROTOCOL_VERSION, type WebviewToHost } from '../protocol/messages';
import { CompareView } from './compare';
import { Dashboard, type WebviewHost } from './dashboard';
import type { AttentionLensHooks } from './hooks';
import { Sidebar } from './sidebar';

interface VsCodeApi {
  postMessage(msg: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

declare global {
  interface Window {
    __attentionLens?: AttentionLensHooks;
  }
}

/** A short description of a rejected message for the log (never the whole payload). */
function describe(v: unknown): string {
  if (typeof v !== 'object' || v === null) return typeof v;
  const t = (v as Record<string, unknown>)['type'];
  return `type=${typeof t === 'string' ? JSON.stringify(t) : typeof t}, keys=${Object.keys(v).join(',')}`;
}

function start(): void {
  const vscode = acquireVsCodeApi();
  const host: WebviewHost = {
    post: (m) => vscode.postMessage(m),
    getState: () => vscode.getState(),
    setState: (s) => vscode.setState(s),
  };
  const named = document.body.dataset['view'];
  const kind = named === 'sidebar' || named === 'compare' ? named : 'dashboard';
  const root = document.getElementById('app') ?? document.body.appendChild(document.createElement('div'));
  const view = kind === 'sidebar' ? new Sidebar(root, host) : kind === 'compare' ? new CompareView(root, host) : new Dashboard(root, host);
  let received = 0;
  let dropped = 0;

  window.addEventListener('message', (e: MessageEvent<unknown>) => {
    const msg = e.data;
    if (!isHostToWebview(msg)) {
      dropped++;
      console.error(`[attention-lens] dropped an invalid host message (${describe(msg)})${whyCompareInvalid(msg)}`);
      return;
    }
    received++;
    view.receive(msg);
  });

  const hooks = view.hooks();
  window.__attentionLens = Object.defineProperties(
    { ...hooks, view: kind } as AttentionLensHooks,
    {
      received: { get: () => received },
      dropped: { get: () => dropped },
      renders: { get: () => hooks.renders },
    },
  );
  host.post({ type: 'ready', protocolVersion: PROTOCOL_VERSION });
}

start();

/** For a rejected compareSnapshot: which run's snapshot (or the config table) failed the guard. */
function whyCompareInvalid(msg: unknown): string {
  if (typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'stepsAppended') {
    const m = msg as Record<string, unknown>;
    const la = m['latestAttention'] as { probes?: unknown[][] } | undefined;
    const map0 = la?.probes?.[0]?.[0] as Record<string, unknown> | undefined;
    const mapInfo = map0 ? Object.entries(map0).map(([k, v]) => `${k}=${Object.prototype.toString.call(v)}${typeof v === 'number' ? v : ''}${ArrayBuffer.isView(v) ? (v as unknown as { length: number }).length : ''}`).join(' ') : 'none';
    return `: scalars ${isScalarChunk(m['scalars'])}, latestAttention ${m['latestAttention'] === undefined || isAttentionFrame(m['latestAttention'])}, map0 ${mapInfo}`;
  }
  if (typeof msg !== 'object' || msg === null || (msg as { type?: unknown }).type !== 'compareSnapshot') return '';
  const m = msg as { runs?: unknown; configDiff?: unknown };
  if (!Array.isArray(m.runs)) return ': runs is not an array';
  const bad = m.runs.map((r, i) => (isHostToWebview({ type: 'snapshot', protocolVersion: 0, snapshot: r }) ? -1 : i)).filter((i) => i >= 0);
  if (bad.length > 0) {
    const r = m.runs[bad[0]!] as Record<string, unknown>;
    const parts = Object.entries(r ?? {}).map(([k, v]) => `${k}:${v === null ? 'null' : Array.isArray(v) ? 'array' : v instanceof Float64Array ? 'f64' : typeof v}`);
    return `: run ${bad.join(', ')} is not a valid snapshot (${parts.join(' ')})`;
  }
  return ': the config-difference table is invalid';
}
