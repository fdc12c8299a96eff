/**
 * The compare panel: two or more runs (live or stored) side by side — overlaid curves, the
 * config fields that differ, attention of the same probe at one shared step. One panel per
 * set of runs; live runs keep updating it.
 */
import * as vscode from 'vscode';
import { PROTOCOL_VERSION, type HostToWebview } from '../protocol/messages';
import { isWebviewToHost } from '../protocol/guards';
import type { AnyRun } from '../runs/runCatalog';
import { diffConfigs } from '../runs/configDiff';
import type { StepsAppended } from '../runs/runHistory';
import { UpdateFlow } from '../runs/updateFlow';
import { Disposable, toDisposable } from './dispose';
import type { BridgeHost } from './webviewBridge';
import { renderWebview, webviewOptions } from './webviewContent';
import { post } from './post';
import { saveImage } from './saveImage';

export const COMPARE_VIEW_TYPE = 'attentionLens.compare';

/** A compare tab's title: the runs' (display) names. */
function compareTitle(runs: readonly AnyRun[]): string {
  return `Compare: ${runs.map((r) => r.name).join(' · ')}`;
}

class ComparePanel extends Disposable {
  private ready = false;
  rejectedMessages = 0;
  private readonly flow = new UpdateFlow((msg) => void post(this.panel.webview, msg));

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly runIds: string[],
    private readonly host: BridgeHost,
    extensionUri: vscode.Uri,
    onDispose: () => void,
  ) {
    super();
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'activity.svg');
    panel.webview.options = webviewOptions(extensionUri);
    const ids = new Set(runIds);
    const forward = (run: { id: string }, msg: HostToWebview) => {
      if (this.ready && ids.has(run.id)) void post(panel.webview, msg);
    };
    // Live runs' updates go out as the page takes them in (see UpdateFlow).
    const update = (run: { id: string }, msg: StepsAppended) => {
      if (this.ready && ids.has(run.id)) this.flow.push(msg);
    };
    this._register(toDisposable(host.manager.on('runUpdate', update)));
    // The tab names the runs as the Runs view does (Rename, Delete change it).
    const retitle = () => {
      const title = compareTitle(this.runs());
      if (panel.title !== title) panel.title = title;
    };
    const changed = (run: AnyRun) => {
      forward(run, run.statusMessage());
      if (ids.has(run.id)) retitle();
    };
    this._register(toDisposable(host.manager.on('runChanged', changed)));
    this._register(toDisposable(host.catalog.on('runUpdate', update)));
    this._register(toDisposable(host.catalog.on('runChanged', changed)));
    this._register(toDisposable(host.catalog.on('changed', retitle)));
    this._register(panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)));
    panel.webview.html = renderWebview(panel.webview, extensionUri, 'compare', panel.title);
    this._register(
      panel.onDidDispose(() => {
        onDispose();
        this.dispose();
      }),
    );
  }

  private runs(): AnyRun[] {
    return this.runIds.map((id) => this.host.catalog.get(id)).filter((r): r is AnyRun => r !== undefined);
  }

  private receive(m: unknown): void {
    if (!isWebviewToHost(m)) {
      this.rejectedMessages++;
      this.host.log.warn('compare view sent an invalid message (dropped)');
      return;
    }
    switch (m.type) {
      case 'ready': {
        if (m.protocolVersion !== PROTOCOL_VERSION) {
          void post(this.panel.webview, { type: 'protocolMismatch', expected: PROTOCOL_VERSION, received: m.protocolVersion });
          return;
        }
        this.ready = true;
        const runs = this.runs();
        const snapshots = this.flow.snapshot(() => runs.map((r) => r.snapshot()));
        void post(this.panel.webview, {
          type: 'compareSnapshot',
          protocolVersion: PROTOCOL_VERSION,
          runs: snapshots,
          configDiff: diffConfigs(runs.map((r) => r.info?.config)),
        });
        return;
      }
      case 'applied':
        this.flow.ack(m.seq);
        return;
      case 'requestAttention': {
        const frame = this.host.catalog.get(m.runId)?.attentionAt(m.step);
        if (frame) void post(this.panel.webview, { type: 'attentionLoaded', runId: m.runId, frame });
        return;
      }
      case 'exportImage': {
        // One run's map is named after it; a chart of every run after all of them.
        const one = m.runId !== undefined ? this.host.catalog.get(m.runId) : undefined;
        const base = one?.name ?? m.runId ?? this.runs().map((r) => r.name).join('-vs-');
        void saveImage(m.png, base, m.name, this.host.log);
        return;
      }
      default:
        // Run controls belong to the dashboard; the compare view only looks.
        return;
    }
  }
}

export class ComparePanels extends Disposable {
  private readonly panels = new Map<string, ComparePanel>();

  constructor(
    private readonly host: BridgeHost,
    private readonly extensionUri: vscode.Uri,
  ) {
    super();
  }

  createOrShow(runs: AnyRun[]): void {
    const key = runs.map((r) => r.id).join('|');
    const existing = this.panels.get(key);
    if (existing) {
      existing.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      COMPARE_VIEW_TYPE,
      compareTitle(runs),
      { viewColumn: vscode.ViewColumn.Active },
      webviewOptions(this.extensionUri),
    );
    this.panels.set(key, new ComparePanel(panel, runs.map((r) => r.id), this.host, this.extensionUri, () => this.panels.delete(key)));
  }

  override dispose(): void {
    for (const p of this.panels.values()) p.dispose();
    this.panels.clear();
    super.dispose();
  }
}
