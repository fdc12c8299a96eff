/**
 * Attention Lens in VS Code: wires the run manager (trainer processes and their histories)
 * to the Runs tree, the dashboards, the side view, the status bar, the log and the commands.
 * Everything that imports 'vscode' lives in this folder and stays thin.
 */
import * as vscode from 'vscode';
import { RunManager } from '../runs/runManager';
import { findPreset } from '../trainer/presets';
import { Commands } from './commands';
import { ConfigFiles } from './configFiles';
import { CurrentRunView } from './currentRunView';
import { DashboardPanels } from './dashboardPanel';
import { RunsTree } from './runsTree';
import { RunStatusBar } from './statusBar';

let manager: RunManager | undefined;

export function activate(context: vscode.ExtensionContext): { manager: RunManager } {
  const log = vscode.window.createOutputChannel('Attention Lens', { log: true });
  context.subscriptions.push(log);
  const settings = vscode.workspace.getConfiguration('attentionLens');
  manager = new RunManager({
    trainerPath: context.asAbsolutePath('dist/trainer.js'),
    updateIntervalMs: settings.get<number>('updateIntervalMs', 33),
    stopTimeoutMs: settings.get<number>('stopTimeoutSeconds', 3) * 1000,
  });
  const m = manager;
  context.subscriptions.push({ dispose: () => m.disposeAll() });
  m.on('log', (run, text) => {
    for (const line of text.split('\n')) if (line.trim()) log.info(`[${run.name}] ${line}`);
  });
  m.on('protocolError', (run, text) => log.error(`[${run.name}] protocol error: ${text}`));
  m.on('runChanged', (run) => {
    if (run.status === 'failed') log.error(`[${run.name}] failed: ${run.statusReason ?? ''}`);
  });
  const host = { manager: m, log };
  const dashboards = new DashboardPanels(host, context.extensionUri);
  const configFiles = new ConfigFiles();
  context.subscriptions.push(
    dashboards,
    configFiles,
    new RunsTree(m),
    new CurrentRunView(host, context.extensionUri),
    new RunStatusBar(m),
    new Commands({ manager: m, dashboards, configFiles, log }),
  );
  void launchOnStartup(log);
  return { manager: m };
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
