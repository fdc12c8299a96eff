/**
 * Attention Lens in VS Code: wires the run manager (trainer processes and their histories)
 * to the Runs tree, the dashboards, the side view, the status bar, the log and the commands.
 * Everything that imports 'vscode' lives in this folder and stays thin.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isStored, RunCatalog, type AnyRun } from '../runs/runCatalog';
import { RunManager } from '../runs/runManager';
import { DEFAULT_RUNS_DIR } from '../runs/store';
import { findPreset } from '../trainer/presets';
import { Commands } from './commands';
import { ConfigFiles } from './configFiles';
import { CurrentRunView } from './currentRunView';
import { DashboardPanels } from './dashboardPanel';
import { ComparePanels } from './comparePanel';
import { RunsTree } from './runsTree';
import { RunStatusBar } from './statusBar';

let manager: RunManager | undefined;

export function activate(context: vscode.ExtensionContext): { manager: RunManager } {
  const log = vscode.window.createOutputChannel('Attention Lens', { log: true });
  context.subscriptions.push(log);
  const settings = vscode.workspace.getConfiguration('attentionLens');
  manager = new RunManager({
    trainerPath: context.asAbsolutePath('dist/trainer.js'),
    updateIntervalMs: settings.get<number>('updateIntervalMs', 25),
    stopTimeoutMs: settings.get<number>('stopTimeoutSeconds', 3) * 1000,
    runsDir: runsFolder(context.globalStorageUri.fsPath),
    source: 'vscode',
  });
  const m = manager;
  const catalog = new RunCatalog(m);
  context.subscriptions.push({ dispose: () => m.disposeAll() });
  m.on('storeError', (run, text) => log.error(`[${run.name}] run folder: ${text}`));
  m.on('log', (run, text) => {
    for (const line of text.split('\n')) if (line.trim()) log.info(`[${run.name}] ${line}`);
  });
  m.on('protocolError', (run, text) => log.error(`[${run.name}] protocol error: ${text}`));
  const lastStatus = new WeakMap<object, string>();
  m.on('runChanged', (run) => {
    if (lastStatus.get(run) === run.status) return;
    lastStatus.set(run, run.status);
    if (run.status === 'failed') log.error(`[${run.name}] failed: ${run.statusReason ?? ''}`);
    else log.info(`[${run.name}] ${run.status} at step ${run.step}${run.statusReason ? ` (${run.statusReason})` : ''}`);
  });
  const host = { manager: m, catalog, log };
  const dashboards = new DashboardPanels(host, context.extensionUri);
  const compares = new ComparePanels(host, context.extensionUri);
  const tree = new RunsTree(m, catalog);
  const current = new CurrentRunView(host, context.extensionUri);
  // The side view follows the tree's selection, saved runs included (live ones go through the manager).
  context.subscriptions.push(
    tree.view.onDidChangeSelection((e) => {
      const r = e.selection[0];
      if (r && 'snapshot' in r && isStored(r as AnyRun)) current.showRun((r as AnyRun).id);
    }),
  );
  const configFiles = new ConfigFiles();
  context.subscriptions.push(
    dashboards,
    compares,
    configFiles,
    tree,
    current,
    new RunStatusBar(m),
    new Commands({ manager: m, treeSelection: () => tree.selectedRuns, catalog, dashboards, compares, configFiles, log }),
    watchRunsFolder(catalog, log, context.globalStorageUri.fsPath),
  );
  void launchOnStartup(log);
  return { manager: m };
}

/**
 * The `attentionLens.runsFolder` setting as an absolute path: relative to the first workspace
 * folder; with no folder open, relative to the extension's global storage (`noWorkspace`).
 */
function runsFolder(noWorkspace: string): string {
  const value = vscode.workspace.getConfiguration('attentionLens').get<string>('runsFolder', DEFAULT_RUNS_DIR).trim() || DEFAULT_RUNS_DIR;
  const expanded = value.startsWith('~') ? path.join(os.homedir(), value.slice(1)) : value;
  if (path.isAbsolute(expanded)) return expanded;
  const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? noWorkspace;
  return path.join(base, expanded);
}

/**
 * Keeps the catalog in step with the runs folder: reread when a run folder's meta.json is
 * created, changed or deleted (the command line starting or ending a run, a folder removed
 * by hand), about once a second while another process writes a run (its step advances),
 * and when the setting changes.
 */
function watchRunsFolder(catalog: RunCatalog, log: vscode.LogOutputChannel, noWorkspace: string): vscode.Disposable {
  const subs: vscode.Disposable[] = [];
  let timer: NodeJS.Timeout | undefined;
  const refresh = () => {
    try {
      catalog.refresh();
    } catch (e) {
      log.warn(`could not read the runs folder: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const p of catalog.problems) log.warn(`runs folder: ${p.file}: ${p.message}`);
  };
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  };
  let watcher: vscode.FileSystemWatcher | undefined;
  const watch = () => {
    watcher?.dispose();
    const root = catalog.manager.runsDir;
    if (root === undefined) return;
    watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(root), '*/meta.json'));
    watcher.onDidCreate(soon);
    watcher.onDidChange(soon);
    watcher.onDidDelete(soon);
  };
  watch();
  refresh();
  const stopFollowing = catalog.follow(250);
  const poll = setInterval(() => {
    if (catalog.list().some((r) => isStored(r) && r.beingWritten)) refresh();
  }, 1000);
  subs.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('attentionLens.runsFolder')) return;
      catalog.manager.runsDir = runsFolder(noWorkspace);
      log.info(`runs folder: ${catalog.manager.runsDir}`);
      watch();
      refresh();
    }),
  );
  log.info(`runs folder: ${catalog.manager.runsDir ?? '(none)'}`);
  return {
    dispose: () => {
      clearTimeout(timer);
      clearInterval(poll);
      stopFollowing();
      watcher?.dispose();
      for (const s of subs) s.dispose();
    },
  };
}

/** The `attentionLens.launchOnStartup` setting: a preset name or a workspace config file. */
async function launchOnStartup(log: vscode.LogOutputChannel): Promise<void> {
  const what = vscode.workspace.getConfiguration('attentionLens').get<string>('launchOnStartup', '').trim();
  if (!what) return;
  if (!vscode.workspace.isTrusted) {
    log.warn(`launchOnStartup "${what}" ignored: the workspace is not trusted`);
    return;
  }
  if (findPreset(what)) {
    await vscode.commands.executeCommand('attentionLens.launchRun', what);
    return;
  }
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) return;
  const uri = vscode.Uri.joinPath(folder.uri, what);
  try {
    await vscode.workspace.fs.stat(uri);
  } catch {
    void vscode.window.showWarningMessage(`Attention Lens: attentionLens.launchOnStartup names "${what}", which is neither a preset nor a file in the workspace.`);
    return;
  }
  await vscode.commands.executeCommand('attentionLens.launchConfigFile', uri);
}

export function deactivate(): void {
  manager?.disposeAll();
  manager = undefined;
}
