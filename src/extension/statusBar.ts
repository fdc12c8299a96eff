/** A status-bar item for the active run: step and loss; a click opens its dashboard. */
import * as vscode from 'vscode';
import type { Run, RunManager } from '../runs/runManager';
import { Disposable, toDisposable } from './dispose';
import { formatLoss, latestLoss } from './runsTree';

const ICON: Record<string, string> = { starting: '$(loading~spin)', running: '$(pulse)', paused: '$(debug-pause)', completed: '$(pass)', stopped: '$(debug-stop)', failed: '$(error)' };

export class RunStatusBar extends Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor(private readonly manager: RunManager) {
    super();
    this.item = this._register(vscode.window.createStatusBarItem('attentionLens.activeRun', vscode.StatusBarAlignment.Left, 50));
    this.item.name = 'Attention Lens: Active Run';
    const refresh = () => this.refresh();
    this._register(toDisposable(manager.on('runAdded', refresh)));
    this._register(toDisposable(manager.on('runChanged', (r) => r.id === manager.selected()?.id && refresh())));
    this._register(toDisposable(manager.on('selectionChanged', refresh)));
    refresh();
  }

  private refresh(): void {
    const run: Run | undefined = this.manager.selected();
    if (!run) {
      this.item.hide();
      return;
    }
    const loss = latestLoss(run);
    this.item.text = `${ICON[run.status] ?? ''} ${run.name}: step ${run.step}${loss !== undefined ? ` · loss ${formatLoss(loss)}` : ''}`;
    this.item.tooltip = `Attention Lens — ${run.name} (${run.status}${run.statusReason ? `: ${run.statusReason}` : ''}). Click to open its dashboard.`;
    this.item.command = { command: 'attentionLens.openDashboard', title: 'Open Dashboard', arguments: [run] };
    this.item.backgroundColor = run.status === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.show();
  }
}
