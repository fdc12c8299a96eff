/** The Runs tree: one item per run with a status icon, step and loss, and inline controls. */
import * as vscode from 'vscode';
import type { RunStatus } from '../protocol/messages';
import type { Run, RunManager } from '../runs/runManager';
import { Disposable, toDisposable } from './dispose';

const ICONS: Record<RunStatus, vscode.ThemeIcon> = {
  starting: new vscode.ThemeIcon('loading~spin'),
  running: new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.blue')),
  paused: new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('charts.yellow')),
  completed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  stopped: new vscode.ThemeIcon('debug-stop'),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
};

export function runDescription(run: Run): string {
  const parts: string[] = [run.status];
  const total = run.info?.totalSteps;
  parts.push(total ? `step ${run.step}/${total}` : `step ${run.step}`);
  const loss = latestLoss(run);
  if (loss !== undefined) parts.push(`loss ${formatLoss(loss)}`);
  return parts.join(' · ');
}

/** The last recorded step's loss, if any. */
export function latestLoss(run: Run): number | undefined {
  const n = run.history.length;
  return n > 0 ? run.history.scalars(n - 1, n).loss[0] : undefined;
}

export function formatLoss(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(4) : x.toExponential(2);
}

export class RunsTree extends Disposable implements vscode.TreeDataProvider<Run> {
  private readonly changed = new vscode.EventEmitter<Run | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<Run>;

  constructor(private readonly manager: RunManager) {
    super();
    this._register(this.changed);
    this.view = this._register(vscode.window.createTreeView('attentionLens.runs', { treeDataProvider: this, canSelectMany: true }));
    this._register(toDisposable(manager.on('runAdded', () => this.changed.fire(undefined))));
    this._register(toDisposable(manager.on('runChanged', (run) => this.changed.fire(run))));
    this._register(
      this.view.onDidChangeSelection((e) => {
        const run = e.selection[0];
        if (run) manager.select(run.id);
      }),
    );
  }

  getTreeItem(run: Run): vscode.TreeItem {
    const item = new vscode.TreeItem(run.name, vscode.TreeItemCollapsibleState.None);
    item.id = run.id;
    item.description = runDescription(run);
    item.iconPath = ICONS[run.status];
    item.contextValue = `run.${run.status}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${run.name}** — ${run.status}\n\n`);
    if (run.info) md.appendMarkdown(`${run.info.modelKind} model · ${run.info.totalSteps} steps · groups: ${run.info.groups.join(', ')}\n\n`);
    if (run.statusReason) md.appendMarkdown(`${run.statusReason}\n\n`);
    const tail = run.process.stderrTail.trim();
    if (run.status === 'failed' && tail) md.appendCodeblock(tail.split('\n').slice(-12).join('\n'), 'text');
    md.appendMarkdown(`started ${new Date(run.startedAt).toLocaleTimeString()}`);
    item.tooltip = md;
    item.command = { command: 'attentionLens.openDashboard', title: 'Open Dashboard', arguments: [run] };
    return item;
  }

  getChildren(run?: Run): Run[] {
    return run ? [] : [...this.manager.list()].reverse();
  }
}
