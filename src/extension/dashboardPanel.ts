/**
 * Dashboard panels, one per run, opened beside the editor. createOrShow reveals an existing
 * panel; a panel restored after a window reload (the serializer) reconnects to its run, live
 * or read back from its run folder, and otherwise says that the run is gone.
 */
import * as vscode from 'vscode';
import { Disposable, toDisposable } from './dispose';
import { missingRunSnapshot, WebviewBridge, type BridgeHost } from './webviewBridge';
import { renderWebview, webviewOptions } from './webviewContent';

export const DASHBOARD_VIEW_TYPE = 'attentionLens.dashboard';

/** A dashboard tab's title: the run's (display) name. */
function dashboardTitle(name: string): string {
  return `Attention: ${name}`;
}

function setTitle(panel: vscode.WebviewPanel, name: string): void {
  const title = dashboardTitle(name);
  if (panel.title !== title) panel.title = title;
}

class DashboardPanel extends Disposable {
  readonly bridge: WebviewBridge;
  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly runId: string | undefined,
    host: BridgeHost,
    extensionUri: vscode.Uri,
    onDispose: () => void,
  ) {
    super();
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'activity.svg');
    panel.webview.options = webviewOptions(extensionUri);
    this.bridge = this._register(
      new WebviewBridge(panel.webview, host, { kind: 'run', runId }, (id) =>
        missingRunSnapshot(id, 'This run is not running in this window and has no run folder (it was not saved, or its folder was deleted).'),
      ),
    );
    panel.webview.html = renderWebview(panel.webview, extensionUri, 'dashboard', panel.title);
    // The tab follows a rename.
    const retitle = (run: { id: string; name: string }) => {
      if (run.id === runId) setTitle(panel, run.name);
    };
    this._register(toDisposable(host.manager.on('runChanged', retitle)));
    this._register(toDisposable(host.catalog.on('runChanged', retitle)));
    this._register(panel.onDidDispose(() => {
      onDispose();
      this.dispose();
    }));
  }
}

export class DashboardPanels extends Disposable implements vscode.WebviewPanelSerializer {
  private readonly panels = new Map<string, DashboardPanel>();

  constructor(
    private readonly host: BridgeHost,
    private readonly extensionUri: vscode.Uri,
  ) {
    super();
    this._register(vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, this));
  }

  /**
   * Reveals the run's dashboard, creating it when needed: in the editor group that already
   * holds a dashboard (so launches do not split the editor again and again), or beside the
   * active editor when there is none or `attentionLens.dashboardPlacement` is "beside".
   */
  createOrShow(run: { readonly id: string; readonly name: string }, preserveFocus = false): void {
    const existing = this.panels.get(run.id);
    if (existing) {
      existing.panel.reveal(undefined, preserveFocus);
      return;
    }
    const placement = vscode.workspace.getConfiguration('attentionLens').get<string>('dashboardPlacement', 'group');
    const group = placement === 'beside' ? undefined : [...this.panels.values()].map((p) => p.panel.viewColumn).find((c) => c !== undefined);
    const panel = vscode.window.createWebviewPanel(
      DASHBOARD_VIEW_TYPE,
      dashboardTitle(run.name),
      { viewColumn: group ?? vscode.ViewColumn.Beside, preserveFocus },
      webviewOptions(this.extensionUri),
    );
    this.track(panel, run.id);
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const runId = isObj(state) && typeof state['runId'] === 'string' ? state['runId'] : undefined;
    this.track(panel, runId);
  }

  private track(panel: vscode.WebviewPanel, runId: string | undefined): void {
    const key = runId ?? `orphan-${Math.random()}`;
    // A panel restored after a reload keeps its old title: the run may have been renamed since.
    const run = runId !== undefined ? this.host.catalog.get(runId) : undefined;
    if (run) setTitle(panel, run.name);
    this.panels.get(key)?.dispose();
    this.panels.set(key, new DashboardPanel(panel, runId, this.host, this.extensionUri, () => this.panels.delete(key)));
  }

  /** Closes the run's dashboard, if open (the run was deleted). */
  close(runId: string): void {
    this.panels.get(runId)?.panel.dispose();
  }

  /** Open panels (tests and the status bar read this). */
  get count(): number {
    return this.panels.size;
  }

  override dispose(): void {
    for (const p of this.panels.values()) p.dispose();
    this.panels.clear();
    super.dispose();
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
