/**
 * All runs of a session: each a trainer process (RunProcess) plus the host's record of it
 * (RunHistory), with updates for webviews coalesced to a bounded rate. Runs are kept in
 * launch order; several train at once, each in its own process. No `vscode` import.
 *
 * Events:
 *   runAdded(run)               a run was launched
 *   runChanged(run)             status changed (at once) or the step advanced (throttled)
 *   runUpdate(run, msg)         new steps for webviews, coalesced (`stepsAppended`)
 *   selectionChanged(run?)      select() changed the selected run
 *   protocolError(run, text)    a trainer message was rejected
 *   log(run, text)              trainer stderr/stdout
 *   storeError(run, text)       the run could not be written to its folder (the run goes on)
 *
 * With a `runsDir`, every run is also recorded as it trains into its own folder there
 * (`<runsDir>/<run id>/`, the run store's format); the run's id is then the folder's name.
 */
import type { AttentionFrame, HostToWebview, Pace, RunInfo, RunSnapshot, RunStatus, RunSummaryData } from '../protocol/messages';
import { UpdateCoalescer } from './coalescer';
import { RunHistory, type StepsAppended } from './runHistory';
import { RunRecorder } from './runRecorder';
import { Emitter, RunProcess, isTerminal } from './runProcess';
import { createRunDir, gitCommit } from './store';

export type StatusChanged = Extract<HostToWebview, { type: 'statusChanged' }>;

export interface RunManagerOptions {
  /** Path of dist/trainer.js. */
  trainerPath: string;
  /** Minimum ms between two runUpdate events of one run (default 25, at most 40 Hz: a timer-driven 30 Hz would arrive a little under 30 times a second). */
  updateIntervalMs?: number;
  /** Minimum ms between two step-only runChanged events of one run (default 250). */
  changeIntervalMs?: number;
  /** Default for LaunchOptions.stopTimeoutMs (3000). */
  stopTimeoutMs?: number;
  execArgv?: string[];
  /** Folder that holds run folders; when set, every launched run is recorded there. */
  runsDir?: string;
  /** Who launches, for meta.json's `source` (default 'vscode'). */
  source?: string;
}

export interface LaunchOptions {
  /** A run config (unvalidated: the trainer validates it and fails the run if it is wrong). */
  config: unknown;
  /** Folder that relative data paths resolve against (the config file's folder). */
  baseDir: string;
  startPaused?: boolean;
  /** The pace to train at (default: as fast as it can). */
  pace?: Pace;
  /** Display name; default the config's name. Made unique among this manager's runs. */
  name?: string;
  /** Overrides for this run (tests use fixture trainers). */
  trainerPath?: string;
  stopTimeoutMs?: number;
  execArgv?: string[];
  args?: string[];
  /** For the run folder's meta.json: the preset or config file launched. */
  preset?: string;
  configFile?: string;
}

/** Whether a pace limits anything (an empty pace is full speed). */
export function hasPace(p: Pace): boolean {
  return p.stepsPerSecond !== undefined || (p.holdMs ?? 0) > 0;
}

let counter = 0;
function newRunId(): string {
  return `${Date.now().toString(36)}-${(++counter).toString(36)}`;
}

function configName(config: unknown): string | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  const n = (config as Record<string, unknown>)['name'];
  return typeof n === 'string' && n.trim() !== '' ? n : undefined;
}

/** One launched run: its process, its history and the coalescing between them and webviews. */
export class Run {
  readonly history = new RunHistory();
  /** Date.now() at launch. */
  readonly startedAt = Date.now();
  /** How it was launched (Run Again launches the same). Set by the manager. */
  launchedFrom: { config: unknown; baseDir: string; preset?: string; configFile?: string } = { config: undefined, baseDir: '' };
  /** Resolves with the final status once the process is gone. */
  readonly finished: Promise<RunStatus>;
  private readonly updates: UpdateCoalescer;
  private readonly changes: UpdateCoalescer;
  /** Writes the run into its folder, when the manager has a runsDir (and the folder could be made). */
  recorder: RunRecorder | undefined;

  constructor(
    readonly id: string,
    /** Display name (Rename changes it). */
    public name: string,
    readonly process: RunProcess,
    events: {
      changed: (run: Run) => void;
      update: (run: Run, msg: StepsAppended) => void;
      protocolError: (run: Run, text: string) => void;
      log: (run: Run, text: string) => void;
    },
    intervals: { update: number; change: number },
  ) {
    this.updates = new UpdateCoalescer(intervals.update, () => {
      const msg = this.history.drainUpdate(this.id);
      if (msg) events.update(this, msg);
    });
    this.changes = new UpdateCoalescer(intervals.change, () => events.changed(this));
    const p = process;
    p.on('message', (msg) => {
      try {
        switch (msg.type) {
          case 'runStarted':
            this.history.setInfo(msg.info);
            this.updates.notify();
            break;
          case 'stepCompleted':
            this.history.appendStep(msg.data);
            this.updates.notify();
            this.changes.notify();
            break;
          case 'runCompleted':
            this.history.setSummary(msg.summary);
            break;
          case 'paused':
            if (msg.attention) {
              this.history.addAttention(msg.step, msg.attention);
              this.updates.notify();
            }
            break;
          default:
            break; // status messages arrive through 'status'
        }
      } catch (e) {
        // The guards passed it, but the history could not take it: never trusted, never fatal.
        events.protocolError(this, `could not record ${msg.type}: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
    p.on('status', () => {
      // The steps before a status change go out before it.
      this.updates.flushNow();
      events.changed(this);
    });
    p.on('protocolError', (text) => events.protocolError(this, text));
    p.on('log', (text) => events.log(this, text));
    this.finished = new Promise((resolve) => {
      p.once('exit', (status) => {
        this.updates.flushNow();
        this.updates.dispose();
        this.changes.dispose();
        resolve(status);
      });
    });
  }

  get status(): RunStatus {
    return this.process.status;
  }
  get statusReason(): string | undefined {
    return this.process.statusReason;
  }
  /** The last step reported. */
  get step(): number {
    return this.process.step;
  }
  get info(): RunInfo | undefined {
    return this.history.info;
  }
  get summary(): RunSummaryData | undefined {
    return this.history.summary;
  }
  get isRunning(): boolean {
    return !isTerminal(this.process.status);
  }
  /** The run's folder in the run store, when it is recorded. */
  get dir(): string | undefined {
    return this.recorder?.dir;
  }

  pause(): void {
    this.process.pause();
  }
  resume(): void {
    this.process.resume();
  }
  /** While paused: exactly one step. */
  stepOnce(): void {
    this.process.stepOnce();
  }
  /** The pace it trains at ({}: as fast as it can). */
  get pace(): Pace {
    return this.process.pace;
  }
  /** Trains at `pace` from now on; views hear of it as a status change. */
  setPace(pace: Pace): void {
    this.process.setPace(pace);
    this.onPaceChanged?.();
  }
  /** Set by the manager: tells views the pace changed. */
  onPaceChanged: (() => void) | undefined;
  stop(): void {
    this.process.stop();
  }
  kill(): void {
    this.process.kill();
  }

  /**
   * The whole run for a (re)opened webview. Pending updates are flushed to runUpdate
   * listeners first, so a webview that takes this snapshot and then listens to runUpdate sees
   * every step exactly once.
   */
  snapshot(): RunSnapshot {
    this.updates.flushNow();
    const snap: RunSnapshot = { ...this.history.snapshot(this.id, this.status, this.statusReason), name: this.name };
    if (hasPace(this.pace) && this.isRunning) snap.pace = this.pace;
    return snap;
  }

  statusMessage(): StatusChanged {
    const msg: StatusChanged = { type: 'statusChanged', runId: this.id, status: this.status, step: this.step, name: this.name };
    if (this.statusReason !== undefined) msg.reason = this.statusReason;
    if (this.summary) msg.summary = this.summary;
    if (hasPace(this.pace) && this.isRunning) msg.pace = this.pace;
    return msg;
  }

  /** The attention captured at `step` or just before. */
  attentionAt(step: number): AttentionFrame | undefined {
    return this.history.attentionAt(step);
  }

  /** Stops forwarding (the manager is being disposed). */
  dispose(): void {
    this.updates.dispose();
    this.changes.dispose();
  }
}

export type RunManagerEvents = {
  runAdded: [run: Run];
  runChanged: [run: Run];
  runUpdate: [run: Run, msg: StepsAppended];
  selectionChanged: [run: Run | undefined];
  protocolError: [run: Run, text: string];
  log: [run: Run, text: string];
  storeError: [run: Run, text: string];
};

export class RunManager extends Emitter<RunManagerEvents> {
  private readonly runs: Run[] = [];
  private selectedId: string | undefined;
  /** Where new runs are recorded (undefined: not recorded). Changing it affects later launches. */
  runsDir: string | undefined;

  constructor(private readonly opts: RunManagerOptions) {
    super();
    this.runsDir = opts.runsDir;
  }

  /** Starts a run in its own trainer process (and, with a runsDir, its folder). */
  launch(o: LaunchOptions): Run {
    const name = this.uniqueName(o.name ?? configName(o.config) ?? 'run');
    let id = newRunId();
    let folder: { id: string; dir: string } | undefined;
    let folderError: string | undefined;
    if (this.runsDir !== undefined) {
      try {
        folder = createRunDir(this.runsDir, name);
        id = folder.id;
      } catch (e) {
        folderError = `could not create a run folder in ${this.runsDir}: ${e instanceof Error ? e.message : String(e)}; the run is not saved`;
      }
    }
    const stopTimeoutMs = o.stopTimeoutMs ?? this.opts.stopTimeoutMs;
    const execArgv = o.execArgv ?? this.opts.execArgv;
    const proc = RunProcess.start({
      trainerPath: o.trainerPath ?? this.opts.trainerPath,
      config: o.config,
      baseDir: o.baseDir,
      startPaused: o.startPaused ?? false,
      ...(o.pace !== undefined ? { pace: o.pace } : {}),
      runId: id,
      ...(stopTimeoutMs !== undefined ? { stopTimeoutMs } : {}),
      ...(execArgv !== undefined ? { execArgv } : {}),
      ...(o.args !== undefined ? { args: o.args } : {}),
    });
    const run = new Run(
      id,
      name,
      proc,
      {
        changed: (r) => this.emit('runChanged', r),
        update: (r, msg) => this.emit('runUpdate', r, msg),
        protocolError: (r, text) => this.emit('protocolError', r, text),
        log: (r, text) => this.emit('log', r, text),
      },
      { update: this.opts.updateIntervalMs ?? 25, change: this.opts.changeIntervalMs ?? 250 },
    );
    run.onPaceChanged = () => this.emit('runChanged', run);
    run.launchedFrom = { config: o.config, baseDir: o.baseDir, ...(o.preset !== undefined ? { preset: o.preset } : {}), ...(o.configFile !== undefined ? { configFile: o.configFile } : {}) };
    if (folder) this.record(run, folder.dir, o);
    this.runs.push(run);
    this.emit('runAdded', run);
    if (folderError !== undefined) this.emit('storeError', run, folderError);
    return run;
  }

  /** Feeds the run's trainer messages to a RunWriter in `dir`; never throws. */
  private record(run: Run, dir: string, o: LaunchOptions): void {
    const seed = typeof o.config === 'object' && o.config !== null ? (o.config as Record<string, unknown>)['seed'] : undefined;
    let git: { commit: string; branch?: string } | undefined;
    try {
      git = gitCommit(o.baseDir);
    } catch {
      git = undefined; // best effort
    }
    const rec = RunRecorder.open(
      dir,
      {
        name: run.name,
        source: this.opts.source ?? 'vscode',
        ...(o.preset !== undefined ? { preset: o.preset } : {}),
        ...(o.configFile !== undefined ? { configFile: o.configFile } : {}),
        ...(typeof seed === 'number' ? { seed } : {}),
        ...(git ? { git } : {}),
      },
      o.config,
      (text) => this.emit('storeError', run, text),
    );
    if (!rec) return;
    run.recorder = rec;
    // The folder holds every step: the host keeps only recent rows and reads older ones back.
    run.history.backing = rec.backing();
    run.history.onBackingError = (e) => this.emit('storeError', run, `could not read back the early steps of ${run.name} from ${dir}: ${e instanceof Error ? e.message : String(e)}; showing the steps still in memory`);
    run.process.on('message', (msg) => rec.onMessage(msg));
    // Registered before anyone can await run.finished: the folder is closed when it resolves.
    run.process.once('exit', (status, reason) => rec.close(status, reason));
  }

  private uniqueName(base: string): string {
    const taken = new Set(this.runs.map((r) => r.name));
    if (!taken.has(base)) return base;
    for (let i = 2; ; i++) if (!taken.has(`${base} (${i})`)) return `${base} (${i})`;
  }

  /** Tells listeners a run's name or note changed (Rename): as a runChanged. */
  touched(run: Run): void {
    this.emit('runChanged', run);
  }

  get(id: string): Run | undefined {
    return this.runs.find((r) => r.id === id);
  }

  /** Every run, in launch order. */
  list(): readonly Run[] {
    return this.runs;
  }

  /** Drops an ended run from the list (its folder was deleted); false if it is still training or unknown. */
  forget(id: string): boolean {
    const i = this.runs.findIndex((r) => r.id === id);
    if (i < 0 || this.runs[i]!.isRunning) return false;
    this.runs[i]!.dispose();
    this.runs.splice(i, 1);
    if (this.selectedId === id) this.selectedId = undefined;
    return true;
  }

  mostRecent(): Run | undefined {
    return this.runs[this.runs.length - 1];
  }

  /** Selects a run (false if there is none with that id). */
  select(id: string): boolean {
    const run = this.get(id);
    if (!run) return false;
    if (this.selectedId !== id) {
      this.selectedId = id;
      this.emit('selectionChanged', run);
    }
    return true;
  }

  /** The selected run, else the most recent one. */
  selected(): Run | undefined {
    return (this.selectedId !== undefined ? this.get(this.selectedId) : undefined) ?? this.mostRecent();
  }

  /** Kills every trainer process and stops forwarding. */
  disposeAll(): void {
    for (const r of this.runs) {
      if (r.isRunning) r.kill();
      r.dispose();
    }
  }
}
