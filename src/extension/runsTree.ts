/**
 * The Runs tree: two groups, Running and Finished (a group shows only when it has runs), of
 * live runs and runs read back from the runs folder (so they are there after a window
 * reload). Each row shows a status icon, the step, loss and when the run started, a mark for a
 * note, and has inline controls (live runs) and a context menu (rename, note, delete, reveal
 * the folder).
 */
import * as vscode from 'vscode';
import type { RunStatus } from '../protocol/messages';
import { isStored, type AnyRun, type RunCatalog } from '../runs/runCatalog';
import type { RunManager } from '../runs/runManager';
import { isTerminal } from '../runs/runProcess';
import { Disposable, toDisposable } from './dispose';
import { relativeTime } from './relativeTime';

/**
 * Status icons. A running run's is still (pulse, as in the status bar), not spinning: a run
 * can run for hours, and a spinning icon makes the window redraw every frame for as long as
 * it spins (in VS Code in the browser, measured: a third of the dashboard's repaints).
 */
const ICONS: Record<RunStatus, vscode.ThemeIcon> = {
  starting: new vscode.ThemeIcon('loading~spin'),
  running: new vscode.ThemeIcon('pulse', new vscode.ThemeColor('charts.blue')),
  paused: new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('charts.yellow')),
  completed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  stopped: new vscode.ThemeIcon('debug-stop'),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
};

/** The mark a row with a note carries. */
export const NOTE_MARK = '✎';

/**
 * `status · step N/T · loss X · 5 min ago` (and ` · ✎` with a note): the status word first
 * (tests read it from the row's aria-label); when it started tells two runs of one preset apart.
 */
export function runDescription(run: AnyRun, note?: string, now = Date.now()): string {
  const parts: string[] = [run.status];
  const total = run.info?.totalSteps;
  parts.push(total ? `step ${run.step}/${total}` : `step ${run.step}`);
  const loss = latestLoss(run);
  if (loss !== undefined) parts.push(`loss ${formatLoss(loss)}`);
  parts.push(relativeTime(run.startedAt, now));
  if (note) parts.push(NOTE_MARK);
  return parts.join(' · ');
}

/** The last recorded step's loss, if any (a stored run's once its records were read). */
export function latestLoss(run: AnyRun): number | undefined {
  if (isStored(run)) return run.latestLoss ?? run.summary?.loss;
  const n = run.history.length;
  return n > 0 ? run.history.scalars(n - 1, n).loss[0] : undefined;
}

export function formatLoss(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(4) : x.toExponential(2);
}

/** A group row: runs still training, or runs that ended. */
class Group {
  constructor(
    readonly finished: boolean,
    readonly label: string,
  ) {}
}
const RUNNING = new Group(false, 'Running');
const FINISHED = new Group(true, 'Finished');

type Node = Group | AnyRun;

/** Finished = a live run in a terminal status, or a stored run that ended (or whose writer died). */
export function isFinished(run: AnyRun): boolean {
  return isTerminal(run.status);
}

export class RunsTree extends Disposable implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<Node>;
  /** Which group each live run was last shown in: a move needs a full refresh. */
  private readonly shownFinished = new Map<string, boolean>();

  constructor(
    manager: RunManager,
    private readonly catalog: RunCatalog,
  ) {
    super();
    this._register(this.changed);
    this.view = this._register(vscode.window.createTreeView('attentionLens.runs', { treeDataProvider: this, canSelectMany: true }));
    this._register(toDisposable(manager.on('runAdded', () => this.changed.fire(undefined))));
    this._register(
      toDisposable(
        manager.on('runChanged', (run) => {
          if (this.shownFinished.get(run.id) !== isFinished(run)) this.changed.fire(undefined);
          else this.changed.fire(run);
        }),
      ),
    );
    this._register(toDisposable(catalog.on('changed', () => this.changed.fire(undefined))));
    this._register(
      toDisposable(
        catalog.on('runChanged', (run) => {
          if (this.shownFinished.get(run.id) !== isFinished(run)) this.changed.fire(undefined);
          else this.changed.fire(run);
        }),
      ),
    );
    // "5 min ago" goes stale: every row once a minute.
    const tick = setInterval(() => this.changed.fire(undefined), 60_000);
    this._register(toDisposable(() => clearInterval(tick)));
    this._register(
      this.view.onDidChangeSelection((e) => {
        const run = e.selection[0];
        if (run && !(run instanceof Group) && !isStored(run)) manager.select(run.id);
      }),
    );
  }

  /** The runs selected in the tree (groups left out). */
  get selectedRuns(): AnyRun[] {
    return this.view.selection.filter((n): n is AnyRun => !(n instanceof Group));
  }

  /** Rebuilds every row (after a reload of the runs folder). */
  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node instanceof Group) {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `group.${node.finished ? 'finished' : 'running'}`;
      item.contextValue = item.id;
      return item;
    }
    const run = node;
    const stored = isStored(run);
    const item = new vscode.TreeItem(run.name, vscode.TreeItemCollapsibleState.None);
    item.id = run.id;
    const note = this.catalog.noteOf(run);
    item.description = runDescription(run, note);
    const damaged = isStored(run) ? run.damaged : undefined;
    item.iconPath = damaged ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground')) : ICONS[run.status];
    if (damaged) item.description = `damaged · ${item.description}`;
    item.contextValue = stored ? `run.stored.${run.status}` : `run.${run.status}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${escape(run.name)}** — ${run.status}${stored ? (run.beingWritten ? ' (written by another process)' : ' (saved)') : ''}\n\n`);
    if (run.info) md.appendMarkdown(`${run.info.modelKind} model · ${run.info.totalSteps} steps · groups: ${run.info.groups.join(', ')}\n\n`);
    if (run.statusReason) md.appendMarkdown(`${escape(run.statusReason)}\n\n`);
    if (note) md.appendMarkdown(`*Note:* ${escape(note)}\n\n`);
    if (!stored) {
      const tail = run.process.stderrTail.trim();
      if (run.status === 'failed' && tail) md.appendCodeblock(tail.split('\n').slice(-12).join('\n'), 'text');
    }
    md.appendMarkdown(`started ${new Date(run.startedAt).toLocaleString()}`);
    const dir = run.dir;
    if (dir) md.appendMarkdown(`\n\n\`${dir}\``);
    item.tooltip = md;
    this.shownFinished.set(run.id, isFinished(run));
    item.command = { command: 'attentionLens.openDashboard', title: 'Open Dashboard', arguments: [run] };
    return item;
  }

  getChildren(node?: Node): Node[] {
    if (node === undefined) {
      const all = this.catalog.list();
      if (all.length === 0) return []; // the welcome view
      return [RUNNING, FINISHED].filter((g) => all.some((r) => isFinished(r) === g.finished));
    }
    if (!(node instanceof Group)) return [];
    // Newest first within each group.
    return this.catalog
      .list()
      .filter((r) => isFinished(r) === node.finished)
      .sort((a, b) => b.startedAt - a.startedAt);
  }
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
