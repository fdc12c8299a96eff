/**
 * The webview entry (bundled to dist/webview.js): picks the view named by
 * <body data-view>, validates every host message with the protocol guard (an invalid one is
 * logged and dropped), and opens the channel by posting `ready` with the protocol version.
 */
import { isHostToWebview } from '../src/protocol/guards';
import { PROTOCOL_VERSION, type WebviewToHost } from '../src/protocol/messages';
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
      console.error(`[attention-lens] dropped an invalid host message (${describe(msg)})`);
      return;
    }
    received++;
    view.receive(msg);
    // Flow control: the host sends the next update once this one is taken in.
    if (msg.type === 'stepsAppended' && msg.seq !== undefined) host.post({ type: 'applied', seq: msg.seq });
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
