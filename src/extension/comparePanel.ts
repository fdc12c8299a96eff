/**
 * Compare panels: two or more runs (live or stored) side by side — overlaid curves, the
 * config fields that differ, attention of the same probe at one shared step. One panel per
 * set of runs; live runs keep updating it. The page talks to the host through the same
 * WebviewBridge as a dashboard; a panel restored after a window reload (the serializer, from
 * the run ids the page keeps in its state) reconnects to its runs.
 */
import * as vscode from 'vscode';
import type { AnyRun } from '../runs/runCatalog';
import { Disposable, toDisposable } from './dispose';
import { missingRunSnapshot, WebviewBridge, type BridgeHost } from './webviewBridge';
import { renderWebview, webviewOptions } from './webviewContent';

export const COMPARE_VIEW_TYPE = 'attentionLens.compare';

/** A compare tab's title: the runs' (display) names. */
export function compareTitle(names: readonly string[]): string {
  return `Compare: ${names.join(' · ')}`;
}

/** The run ids a restored compare page kept in its state (its `runIds` field), if any. */
export function compareRunIds(state: unknown): string[] | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const ids = (state as Record<string, unknown>)['runIds'];
  return Array.isArray(ids) && ids.length > 0 && ids.every((x) => typeof x === 'string') ? (ids as string[]) : undefined;
}

/** A set of runs as a key: the same runs in any order are one compare. */
function setKey(ids: readonly string[]): string {
  return [...new Set(ids)].sort().join('|');
}

class ComparePanel extends Disposable {
  readonly bridge: WebviewBridge;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly runIds: readonly string[],
    host: BridgeHost,
    extensionUri: vscode.Uri,
    onDispose: () => void,
  ) {
    super();
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'activity.svg');
    panel.webview.options = webviewOptions(extensionUri);
    this.bridge = this._register(
      new WebviewBridge(panel.webview, host, { kind: 'compare', runIds }, (id) => missingRunSnapshot(id, 'This run is not in this window and has no run folder (it was deleted, or never saved).'), 0, 'compare view'),
    );
    // The tab names the runs as the Runs view does (Rename, Delete change it).
    // The names last seen, so a deleted run is still named (as deleted) in the tab.
    const names = new Map(runIds.map((id) => [id, host.catalog.get(id)?.name ?? id]));
    const retitle = () => {
      const title = compareTitle(
        runIds.map((id) => {
          const name = host.catalog.get(id)?.name;
          if (name !== undefined) names.set(id, name);
          return name ?? `${names.get(id) ?? id} (deleted)`;
        }),
      );
      if (panel.title !== title) panel.title = title;
    };
    const changed = (run: AnyRun) => {
      if (runIds.includes(run.id)) retitle();
    };
    this._register(toDisposable(host.manager.on('runChanged', changed)));
    this._register(toDisposable(host.catalog.on('runChanged', changed)));
    this._register(toDisposable(host.catalog.on('changed', retitle)));
    panel.webview.html = renderWebview(panel.webview, extensionUri, 'compare', panel.title);
    retitle();
    this._register(
      panel.onDidDispose(() => {
        onDispose();
        this.dispose();
      }),
    );
  }
}

export class ComparePanels extends Disposable implements vscode.WebviewPanelSerializer {
  private readonly panels = new Map<string, ComparePanel>();

  constructor(
    private readonly host: BridgeHost,
    private readonly extensionUri: vscode.Uri,
  ) {
    super();
    this._register(vscode.window.registerWebviewPanelSerializer(COMPARE_VIEW_TYPE, this));
  }

  /** Shows a compare of `runs`: the open one of the same set of runs (in any order), or a new one. */
  createOrShow(runs: AnyRun[]): void {
    const key = setKey(runs.map((r) => r.id));
    const existing = this.panels.get(key);
    if (existing) {
      existing.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      COMPARE_VIEW_TYPE,
      compareTitle(runs.map((r) => r.name)),
      { viewColumn: vscode.ViewColumn.Active },
      webviewOptions(this.extensionUri),
    );
    this.track(panel, runs.map((r) => r.id));
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const ids = compareRunIds(state);
    if (!ids) {
      // A page from before it kept its runs: nothing to reconnect to.
      panel.dispose();
      return;
    }
    this.track(panel, ids);
  }

  private track(panel: vscode.WebviewPanel, runIds: string[]): void {
    const key = setKey(runIds);
    this.panels.get(key)?.dispose();
    this.panels.set(key, new ComparePanel(panel, runIds, this.host, this.extensionUri, () => this.panels.delete(key)));
  }

  /** Open panels. */
  get count(): number {
    return this.panels.size;
  }

  override dispose(): void {
    for (const p of this.panels.values()) p.dispose();
    this.panels.clear();
    super.dispose();
  }
}
