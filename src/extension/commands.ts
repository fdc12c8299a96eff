/**
 * The palette commands (category “Attention Lens”): launch, pause, resume, step, stop,
 * open dashboard, show log; and, from the Runs tree's context menu, rename, edit note,
 * delete and reveal a run's folder. Each acts on the run it is given (tree, status bar,
 * CodeLens) or on the selected / most recent run, and says clearly when there is none.
 * Saved runs (read from their folder) can be viewed and edited but not controlled.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import * as os from 'node:os';
import { PRESETS, presetConfig } from '../trainer/presets';
import { isStored, type AnyRun, type RunCatalog } from '../runs/runCatalog';
import type { Run, RunManager } from '../runs/runManager';
import { StoredRun } from '../runs/storedRun';
import type { ConfigFiles } from './configFiles';
import { findConfigFiles } from './findConfigs';
import { exportFileName } from './exportFileName';
import { saveThroughDialog } from './saveImage';
import type { DashboardPanels } from './dashboardPanel';
import { Disposable } from './dispose';
import { storedRunRefusal } from './webviewBridge';
import type { ComparePanels } from './comparePanel';
import { runJson, scalarsCsv } from '../runs/export';
import { choiceOfPace, PACE_CHOICES, paceChoice } from '../protocol/pace';

interface Deps {
  manager: RunManager;
  /** The runs selected in the Runs tree (the palette's Compare starts from them). */
  treeSelection: () => AnyRun[];
  catalog: RunCatalog;
  dashboards: DashboardPanels;
  compares: ComparePanels;
  configFiles: ConfigFiles;
  log: vscode.LogOutputChannel;
}

const PREFIX = 'Attention Lens';

function settings() {
  return vscode.workspace.getConfiguration('attentionLens');
}

export class Commands extends Disposable {
  constructor(private readonly d: Deps) {
    super();
    const reg = (id: string, fn: (...args: unknown[]) => unknown) => this._register(vscode.commands.registerCommand(id, fn));
    reg('attentionLens.launchRun', (arg) => this.launchRun(arg));
    reg('attentionLens.launchRunPaused', (arg) => this.launchRun(arg, true));
    reg('attentionLens.runAgain', (arg) => this.runAgain(arg));
    reg('attentionLens.launchConfigFile', (arg) => this.launchConfigFile(arg instanceof vscode.Uri ? arg : undefined));
    reg('attentionLens.pauseRun', (arg) => this.control(arg, 'pause'));
    reg('attentionLens.resumeRun', (arg) => this.control(arg, 'resume'));
    reg('attentionLens.stepRun', (arg) => this.control(arg, 'step'));
    reg('attentionLens.stopRun', (arg) => this.control(arg, 'stop'));
    reg('attentionLens.setPace', (arg) => this.setPace(arg));
    reg('attentionLens.openDashboard', (arg) => this.openDashboard(arg));
    reg('attentionLens.showLog', () => this.d.log.show());
    reg('attentionLens.renameRun', (arg) => this.renameRun(arg));
    reg('attentionLens.deleteRun', (arg) => this.deleteRun(arg));
    reg('attentionLens.editRunNote', (arg) => this.editRunNote(arg));
    reg('attentionLens.revealRunFolder', (arg) => this.revealRunFolder(arg));
    reg('attentionLens.compareRuns', (clicked, selected) => this.compareRuns(clicked, selected));
    reg('attentionLens.exportCsv', (clicked, selected) => this.exportRuns(clicked, selected, 'csv'));
    reg('attentionLens.exportJson', (clicked) => this.exportRuns(clicked, undefined, 'json'));
  }

  /** The runs a command was given by the tree (clicked + selection), else a quick pick. */
  private async chooseRuns(clicked: unknown, selected: unknown, title: string, many: boolean, placeHolder = many ? 'Choose the runs' : 'Choose a run'): Promise<AnyRun[] | undefined> {
    const asRun = (v: unknown): AnyRun | undefined => (isRun(v) || v instanceof StoredRun ? v : undefined);
    const given = Array.isArray(selected) ? selected.map(asRun).filter((r): r is AnyRun => r !== undefined) : [];
    const one = asRun(clicked);
    if (given.length > 0) return many ? given : given.slice(0, 1);
    if (one) return [one];
    const all = this.d.catalog.list();
    if (all.length === 0) {
      void vscode.window.showInformationMessage(`${PREFIX}: there are no runs yet. Launch one with “${PREFIX}: Launch Run”.`);
      return undefined;
    }
    const items = [...all].reverse().map((r) => ({ label: r.name, description: `${r.status} · step ${r.step}`, run: r }));
    if (many) {
      const picks = await vscode.window.showQuickPick(items, { title, placeHolder, canPickMany: true, ignoreFocusOut: true });
      return picks && picks.length > 0 ? picks.map((p) => p.run) : undefined;
    }
    const pick = await vscode.window.showQuickPick(items, { title, placeHolder });
    return pick ? [pick.run] : undefined;
  }

  /** Scalars of runs as CSV, or a run as JSON, written where the save dialog says. */
  private async exportRuns(clicked: unknown, selected: unknown, kind: 'csv' | 'json'): Promise<void> {
    const title = kind === 'csv' ? `${PREFIX}: Export Runs as CSV` : `${PREFIX}: Export Run as JSON`;
    const runs = await this.chooseRuns(clicked, selected, title, kind === 'csv');
    if (!runs) return;
    const name = runs.length === 1 ? runs[0]!.name : 'runs';
    await saveThroughDialog({
      title,
      fileName: exportFileName(name, '', kind),
      filters: kind === 'csv' ? { CSV: ['csv'] } : { JSON: ['json'] },
      bytes: () => {
        const data = runs.map((r) => ({ name: r.name, snapshot: r.snapshot() }));
        return new TextEncoder().encode(kind === 'csv' ? scalarsCsv(data) : runJson(data[0]!));
      },
      done: (file) => `exported ${runs.length === 1 ? runs[0]!.name : `${runs.length} runs`} to ${file}`,
      log: this.d.log,
    });
  }

  /**
   * Compare two or more runs: those selected in the Runs tree (its context menu passes the
   * clicked item and the selection), or a multi-select quick pick of every run.
   */
  private async compareRuns(clicked: unknown, selected: unknown): Promise<void> {
    const asRun = (v: unknown): AnyRun | undefined => (isRun(v) || v instanceof StoredRun ? v : undefined);
    let runs: AnyRun[] = Array.isArray(selected) ? selected.map(asRun).filter((r): r is AnyRun => r !== undefined) : [];
    // From the palette: the runs selected in the tree, when they are two or more.
    if (clicked === undefined && selected === undefined) {
      const inTree = this.d.treeSelection();
      if (inTree.length >= 2) runs = inTree;
    }
    if (runs.length < 2) {
      const all = this.d.catalog.list();
      if (all.length < 2) {
        void vscode.window.showInformationMessage(`${PREFIX}: comparing needs at least two runs; there ${all.length === 1 ? 'is one' : 'are none'}. Launch another with “${PREFIX}: Launch Run”.`);
        return;
      }
      const first = asRun(clicked);
      const inTree = new Set(this.d.treeSelection().map((r) => r.id));
      const picks = await vscode.window.showQuickPick(
        all.map((r) => ({ label: r.name, description: `${r.status} · step ${r.step}`, detail: r.info ? `${r.info.modelKind} model · ${r.info.totalSteps} steps` : undefined, picked: r.id === first?.id || inTree.has(r.id), run: r })),
        { title: `${PREFIX}: Compare Runs`, placeHolder: 'Choose two or more runs to compare', canPickMany: true, ignoreFocusOut: true, matchOnDescription: true },
      );
      if (!picks) return;
      runs = picks.map((p) => p.run);
      if (runs.length < 2) {
        void vscode.window.showInformationMessage(`${PREFIX}: choose at least two runs to compare.`);
        return;
      }
    }
    this.d.compares.createOrShow(runs);
  }

  /** Quick pick of the presets (and, in a trusted workspace, the workspace's run config files). */
  /**
   * Quick pick of the presets (and, in a trusted workspace, the workspace's run config files).
   * Each item has a "Launch paused" button; `paused` (Launch Run (Paused)) launches every pick paused.
   */
  private async launchRun(arg: unknown, paused = false): Promise<Run | undefined> {
    if (typeof arg === 'string') return this.launchPreset(arg, paused);
    type Item = vscode.QuickPickItem & { preset?: string; uri?: vscode.Uri };
    const pauseButton: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('debug-pause'), tooltip: 'Launch paused (start with Step or Resume)' };
    const buttons = paused ? [] : [pauseButton];
    const items: Item[] = [{ label: 'Presets', kind: vscode.QuickPickItemKind.Separator }];
    for (const p of PRESETS) items.push({ label: p.name, detail: p.description, preset: p.name, buttons });
    if (vscode.workspace.isTrusted) {
      const files = await findConfigFiles();
      if (files.length > 0) {
        items.push({ label: 'Run config files', kind: vscode.QuickPickItemKind.Separator });
        for (const uri of files) items.push({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri), uri, iconPath: new vscode.ThemeIcon('json'), buttons });
      }
    }
    const qp = vscode.window.createQuickPick<Item>();
    qp.items = items;
    qp.title = paused ? `${PREFIX}: Launch Run (Paused)` : `${PREFIX}: Launch Run`;
    qp.placeholder = paused ? 'Choose an experiment to launch paused' : 'Choose an experiment to train';
    qp.matchOnDetail = true;
    const chosen = await new Promise<{ item: Item; paused: boolean } | undefined>((resolve) => {
      qp.onDidAccept(() => resolve(qp.selectedItems[0] ? { item: qp.selectedItems[0], paused } : undefined));
      qp.onDidTriggerItemButton((e) => resolve({ item: e.item, paused: true }));
      qp.onDidHide(() => resolve(undefined));
      qp.show();
    });
    qp.dispose();
    if (!chosen) return undefined;
    if (chosen.item.preset) return this.launchPreset(chosen.item.preset, chosen.paused);
    if (chosen.item.uri) return this.launchConfigFile(chosen.item.uri, chosen.paused);
    return undefined;
  }

  /** Run Again: a new run of the same config (a finished or a live run's), launched the way it was. */
  private runAgain(arg: unknown): Run | undefined {
    const run = this.target(arg, 'run again');
    if (!run) return undefined;
    const from = isStored(run) ? run.launchedFrom() : run.launchedFrom;
    if (from.config === undefined || from.config === null) {
      void vscode.window.showErrorMessage(`${PREFIX}: run ${run.name} has no config to run again (its config.json is missing or unreadable).`);
      return undefined;
    }
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir();
    if (from.preset === undefined && !vscode.workspace.isTrusted) {
      void vscode.window.showInformationMessage(`${PREFIX}: run ${run.name} came from a run config file; in an untrusted workspace only presets are launched.`);
      return undefined;
    }
    // Data paths in the config are relative to its config file's folder (a preset's to the workspace).
    const baseDir = !isStored(run) ? run.launchedFrom.baseDir : from.configFile !== undefined ? path.dirname(path.resolve(root, from.configFile)) : root;
    const name = typeof (from.config as { name?: unknown }).name === 'string' ? (from.config as { name: string }).name : run.name;
    return this.start(from.config, baseDir, name, from.preset !== undefined ? 'preset' : 'file', from.preset ?? from.configFile ?? name);
  }

  private launchPreset(name: string, paused = false): Run | undefined {
    let config;
    try {
      config = presetConfig(name);
    } catch (e) {
      void vscode.window.showErrorMessage(`${PREFIX}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
    const baseDir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir();
    return this.start(config, baseDir, name, 'preset', name, paused);
  }

  /** Validates a config file (errors become diagnostics) and launches it when valid. */
  private async launchConfigFile(uri: vscode.Uri | undefined, paused = false): Promise<Run | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(`${PREFIX}: run config files are not launched in an untrusted workspace. Trust the workspace, or launch a preset.`);
      return undefined;
    }
    if (!uri) {
      const active = vscode.window.activeTextEditor?.document.uri;
      if (active && active.path.endsWith('.attnlens.json')) uri = active;
      else {
        const files = await findConfigFiles();
        if (files.length === 0) {
          void vscode.window.showInformationMessage(`${PREFIX}: no run config files (*.attnlens.json) in this workspace.`);
          return undefined;
        }
        const pick = await vscode.window.showQuickPick(
          files.map((f) => ({ label: vscode.workspace.asRelativePath(f), uri: f })),
          { title: `${PREFIX}: Launch Run from Config File` },
        );
        if (!pick) return undefined;
        uri = pick.uri;
      }
    }
    const doc = await vscode.workspace.openTextDocument(uri);
    const check = this.d.configFiles.validate(doc);
    if (!check || check.problems.length > 0 || check.config === undefined) {
      const n = check?.problems.length ?? 0;
      const first = check?.problems[0]?.message ?? 'not a run config file';
      const choice = await vscode.window.showErrorMessage(
        `${PREFIX}: ${path.basename(uri.fsPath)} is not a valid run config (${n} problem${n === 1 ? '' : 's'}: ${first}). It was not launched.`,
        'Show Problems',
      );
      if (choice === 'Show Problems') await vscode.commands.executeCommand('workbench.actions.view.problems');
      return undefined;
    }
    return this.start(check.config, path.dirname(uri.fsPath), path.basename(uri.fsPath, '.attnlens.json'), 'file', vscode.workspace.asRelativePath(uri), paused);
  }

  private start(config: unknown, baseDir: string, name: string, kind: 'preset' | 'file' = 'preset', origin = name, paused = false): Run | undefined {
    const active = this.d.manager.list().filter((r) => r.status === 'starting' || r.status === 'running' || r.status === 'paused').length;
    const max = settings().get<number>('maxConcurrentRuns', 8);
    if (active >= max) {
      void vscode.window.showWarningMessage(`${PREFIX}: ${active} runs are already training (attentionLens.maxConcurrentRuns is ${max}). Stop one first.`);
      return undefined;
    }
    const run = this.d.manager.launch({
      config,
      baseDir,
      name,
      startPaused: paused || settings().get<boolean>('startPaused', false),
      pace: paceChoice(settings().get<string>('pace', 'max')).pace,
      ...(kind === 'preset' ? { preset: name } : { configFile: origin }),
      stopTimeoutMs: settings().get<number>('stopTimeoutSeconds', 3) * 1000,
    });
    this.d.log.info(`launched ${run.name} (run ${run.id})`);
    this.d.manager.select(run.id);
    if (settings().get<boolean>('openDashboardOnLaunch', true)) this.d.dashboards.createOrShow(run, true);
    void run.finished.then((status) => {
      if (status === 'failed') {
        void vscode.window.showErrorMessage(`${PREFIX}: run ${run.name} failed: ${run.statusReason ?? 'unknown reason'}`, 'Show Log').then((c) => {
          if (c === 'Show Log') this.d.log.show();
        });
      }
    });
    return run;
  }

  /** The run a command acts on: the one passed (tree item, status bar), else the selected / most recent. */
  private target(arg: unknown, verb: string): AnyRun | undefined {
    const run = isRun(arg) || arg instanceof StoredRun ? arg : typeof arg === 'string' ? this.d.catalog.get(arg) : this.d.manager.selected();
    if (!run) void vscode.window.showInformationMessage(`${PREFIX}: there is no run to ${verb}. Launch one with “${PREFIX}: Launch Run”.`);
    return run;
  }

  private control(arg: unknown, action: 'pause' | 'resume' | 'step' | 'stop'): void {
    const run = this.target(arg, action);
    if (!run) return;
    if (isStored(run)) {
      void vscode.window.showInformationMessage(storedRunRefusal(run.name, run.beingWritten));
      return;
    }
    const s = run.status;
    this.d.log.info(`[${run.name}] ${action} requested (status ${s}, step ${run.step})`);
    const live = s === 'running' || s === 'paused' || s === 'starting';
    if (!live) {
      void vscode.window.showInformationMessage(`${PREFIX}: run ${run.name} has ${s === 'failed' ? 'failed' : 'ended'} (${s}); there is nothing to ${action}.`);
      return;
    }
    switch (action) {
      case 'pause':
        if (s === 'paused') void vscode.window.showInformationMessage(`${PREFIX}: run ${run.name} is already paused.`);
        else run.pause();
        return;
      case 'resume':
        if (s !== 'paused') void vscode.window.showInformationMessage(`${PREFIX}: run ${run.name} is not paused.`);
        else run.resume();
        return;
      case 'step':
        if (s !== 'paused') void vscode.window.showInformationMessage(`${PREFIX}: pause run ${run.name} first; Step trains exactly one step of a paused run.`);
        else run.stepOnce();
        return;
      case 'stop':
        run.stop();
        return;
    }
  }

  /** Set Pace: how fast the run trains (steps per second, slow motion, as fast as possible); what is recorded does not change. */
  private async setPace(arg: unknown): Promise<void> {
    const run = this.target(arg, 'set the pace of');
    if (!run) return;
    if (isStored(run) || !run.isRunning) {
      void vscode.window.showInformationMessage(isStored(run) ? storedRunRefusal(run.name, run.beingWritten) : `${PREFIX}: run ${run.name} has ended; there is no pace to set.`);
      return;
    }
    const current = choiceOfPace(run.pace);
    const pick = await vscode.window.showQuickPick(
      PACE_CHOICES.map((c) => ({ label: c.label, description: c.id === current?.id ? 'current' : undefined, choice: c })),
      { title: `${PREFIX}: Set Pace of ${run.name}`, placeHolder: 'Steps per second (every step is recorded at any pace)' },
    );
    if (!pick) return;
    run.setPace(pick.choice.pace);
    this.d.log.info(`[${run.name}] pace: ${pick.choice.label}`);
  }

  /** The given run's dashboard; from the palette with no live run selected, a pick of every run (saved ones too). */
  private async openDashboard(arg: unknown): Promise<void> {
    let run: AnyRun | undefined;
    if (arg === undefined && !this.d.manager.selected() && this.d.catalog.list().length > 0) {
      const pick = await vscode.window.showQuickPick(
        [...this.d.catalog.list()].reverse().map((r) => ({ label: r.name, description: `${r.status} · step ${r.step}`, run: r })),
        { title: `${PREFIX}: Open Dashboard`, placeHolder: 'Choose a run' },
      );
      if (!pick) return;
      run = pick.run;
    } else {
      // A click that extends a multi-selection in the tree (to compare, say) only selects.
      if (arg !== undefined && this.d.treeSelection().length > 1) return;
      run = this.target(arg, 'show');
    }
    if (!run) return;
    if (!isStored(run)) this.d.manager.select(run.id);
    this.d.dashboards.createOrShow(run);
  }

  /** The run a run-folder command acts on: the one passed (tree item), else a pick of every run (from the palette). */
  private async chosenRun(arg: unknown, verb: string, title: string): Promise<AnyRun | undefined> {
    if (arg !== undefined) return this.target(arg, verb);
    return (await this.chooseRuns(undefined, undefined, `${PREFIX}: ${title}`, false, `Choose the run to ${verb}`))?.[0];
  }

  /** chosenRun, when it has a run folder; says why when it cannot act (no run, or no run folder). */
  private async savedTarget(arg: unknown, verb: string, title: string): Promise<AnyRun | undefined> {
    const run = await this.chosenRun(arg, verb, title);
    if (run && !run.dir) {
      void vscode.window.showInformationMessage(`${PREFIX}: run ${run.name} has no run folder (it was launched before attentionLens.runsFolder could be written), so there is nothing to ${verb}.`);
      return undefined;
    }
    return run;
  }

  private report(what: string, e: unknown): void {
    const text = e instanceof Error ? e.message : String(e);
    this.d.log.error(`${what}: ${text}`);
    void vscode.window.showErrorMessage(`${PREFIX}: ${what}: ${text}`);
  }

  private async renameRun(arg: unknown): Promise<void> {
    const run = await this.savedTarget(arg, 'rename', 'Rename Run');
    if (!run) return;
    const name = await vscode.window.showInputBox({
      title: `${PREFIX}: Rename Run`,
      prompt: 'The run’s display name (its folder keeps its name)',
      value: run.name,
      validateInput: (v) => (v.trim() === '' ? 'A run needs a name' : undefined),
    });
    if (name === undefined || name.trim() === run.name) return;
    try {
      this.d.catalog.rename(run, name.trim());
    } catch (e) {
      this.report(`could not rename ${run.name}`, e);
    }
  }

  private async editRunNote(arg: unknown): Promise<void> {
    const run = await this.savedTarget(arg, 'annotate', 'Edit Run Note');
    if (!run) return;
    const note = await vscode.window.showInputBox({
      title: `${PREFIX}: Edit Run Note — ${run.name}`,
      prompt: 'A free-text note kept in the run’s meta.json (empty removes it)',
      value: this.d.catalog.noteOf(run) ?? '',
    });
    if (note === undefined) return;
    try {
      this.d.catalog.setNote(run, note.trim());
    } catch (e) {
      this.report(`could not save the note of ${run.name}`, e);
    }
  }

  private async deleteRun(arg: unknown): Promise<void> {
    const run = await this.chosenRun(arg, 'delete', 'Delete Run');
    if (!run) return;
    if (this.d.catalog.isTraining(run)) {
      void vscode.window.showWarningMessage(`${PREFIX}: run ${run.name} is still training${isStored(run) ? ' in another process' : ''}. Stop it before deleting it.`);
      return;
    }
    const detail = run.dir ? `Its folder ${run.dir} and everything recorded in it will be deleted. This cannot be undone.` : 'It was not saved in a run folder; it is removed from the list.';
    const choice = await vscode.window.showWarningMessage(`Delete run ${run.name}?`, { modal: true, detail }, 'Delete');
    if (choice !== 'Delete') return;
    try {
      this.d.catalog.delete(run);
      this.d.dashboards.close(run.id);
      this.d.log.info(`deleted run ${run.name}${run.dir ? ` (${run.dir})` : ''}`);
    } catch (e) {
      this.report(`could not delete ${run.name}`, e);
    }
  }

  private async revealRunFolder(arg: unknown): Promise<void> {
    const run = await this.savedTarget(arg, 'reveal', 'Reveal Run Folder');
    if (!run?.dir) return;
    const uri = vscode.Uri.file(run.dir);
    // In a browser (code-server, vscode.dev) there is no OS file manager: reveal it in the Explorer.
    if (vscode.env.uiKind === vscode.UIKind.Web || vscode.env.remoteName !== undefined) {
      await vscode.commands.executeCommand('revealInExplorer', uri);
      return;
    }
    try {
      await vscode.commands.executeCommand('revealFileInOS', uri);
    } catch {
      await vscode.commands.executeCommand('revealInExplorer', uri);
    }
  }
}

function isRun(v: unknown): v is Run {
  return typeof v === 'object' && v !== null && 'history' in v && 'process' in v && typeof (v as { id?: unknown }).id === 'string';
}
