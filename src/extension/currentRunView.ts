/** The compact side view: the selected run's loss sparkline and its current attention. */
import * as vscode from 'vscode';
import type { RunManager } from '../runs/runManager';
import { Disposable, toDisposable } from './dispose';
import { missingRunSnapshot, WebviewBridge, type BridgeHost } from './webviewBridge';
import { renderWebview, webviewOptions } from './webviewContent';

export const CURRENT_RUN_VIEW_ID = 'attentionLens.current';

export class CurrentRunView extends Disposable implements vscode.WebviewViewProvider {
  private bridge: WebviewBridge | undefined;

  constructor(
    private readonly host: BridgeHost & { manager: RunManager },
    private readonly extensionUri: vscode.Uri,
  ) {
    super();
    this._register(vscode.window.registerWebviewViewProvider(CURRENT_RUN_VIEW_ID, this));
    this._register(toDisposable(host.manager.on('selectionChanged', (run) => this.bridge?.showRun(run?.id))));
    this._register(
      toDisposable(
        host.manager.on('runAdded', (run) => {
          if (this.host.manager.selected()?.id === run.id) this.bridge?.showRun(run.id);
        }),
      ),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    view.webview.options = webviewOptions(this.extensionUri);
    this.bridge?.dispose();
    const bridge = new WebviewBridge(
      view.webview,
      this.host,
      { kind: 'run', runId: this.initialRunId() },
      (id) => missingRunSnapshot(id, 'No run yet: launch one with “Attention Lens: Launch Run”.'),
      // A sparkline and one heatmap: four updates a second, leaving the transport to the dashboards.
      250,
      'side view',
    );
    this.bridge = bridge;
    view.webview.html = renderWebview(view.webview, this.extensionUri, 'sidebar', 'Current Run');
    view.onDidDispose(() => {
      bridge.dispose();
      if (this.bridge === bridge) this.bridge = undefined;
    });
  }

  /** Shows a run chosen elsewhere (a saved run selected in the Runs tree). */
  showRun(runId: string): void {
    this.bridge?.showRun(runId);
  }

  /** The selected live run, else the most recent run of any kind (after a reload: a saved one). */
  private initialRunId(): string | undefined {
    return this.host.manager.selected()?.id ?? this.host.catalog.list().at(-1)?.id;
  }

  override dispose(): void {
    this.bridge?.dispose();
    super.dispose();
  }
}
