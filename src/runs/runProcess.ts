/**
 * One run's trainer child process, seen from the host: starts it, does the handshake, relays
 * pause / resume / step / stop, checks every message it sends with the protocol guards, and
 * turns however it ends (finished, stopped, failed, crashed, killed) into a final RunStatus
 * with a reason. No `vscode` import: testable in plain Node.
 *
 * Two kinds of trainer, one protocol: the built-in trainer (a Node script forked with
 * `serialization: 'advanced'`, messages over Node's IPC channel), and a user's PyTorch script
 * (a run config of kind `python`, pythonTrainer.ts: spawned with the protocol framed by
 * protocol/frames.ts on its file descriptor 3). After the bytes are decoded every message goes
 * through the same guards, order checks and outcome rules.
 *
 * Events: 'message' for every accepted trainer message after the handshake (in order),
 * 'status' when the status changes, 'exit' once when the process is gone and the status is
 * final, 'protocolError' for each rejected message, 'log' for stderr/stdout output.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import * as os from 'node:os';
import { encodeFrame, FrameDecoder, FrameError } from '../protocol/frames';
import { PROTOCOL_VERSION, type HostToTrainer, type MeasureDecl, type Pace, type RunInfo, type RunStatus, type RunSummaryData, type StepData, type TrainerToHost } from '../protocol/messages';
import { isTrainerToHost } from '../protocol/guards';
import { declsById } from '../protocol/measures';
import { helperDirFor, isPythonRunConfig, noPythonReason, pythonCommand, pythonLaunch, pythonStderrSummary, torchHint, torchMissing, type PythonLaunch } from './pythonTrainer';

// ─── A tiny typed event emitter ──────────────────────────────────────────────────────

/** Event name → listener argument tuple. */
export type EventMap = Record<string, unknown[]>;

export class Emitter<E extends EventMap> {
  private listeners: { [K in keyof E]?: Set<(...args: E[K]) => void> } = {};

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, fn: (...args: E[K]) => void): () => void {
    const set = (this.listeners[event] ??= new Set());
    set.add(fn);
    return () => this.off(event, fn);
  }

  once<K extends keyof E>(event: K, fn: (...args: E[K]) => void): () => void {
    const off = this.on(event, (...args: E[K]) => {
      off();
      fn(...args);
    });
    return off;
  }

  off<K extends keyof E>(event: K, fn: (...args: E[K]) => void): void {
    this.listeners[event]?.delete(fn);
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners[event];
    if (set) for (const fn of [...set]) fn(...args);
  }

  protected removeAllListeners(): void {
    this.listeners = {};
  }
}

// ─── RunProcess ──────────────────────────────────────────────────────────────────────

export interface RunProcessOptions {
  /** Path of the trainer entry, dist/trainer.js. */
  trainerPath: string;
  /** The run config (validated again by the trainer). */
  config: unknown;
  /** Folder that relative data paths in the config resolve against. */
  baseDir: string;
  /** Start paused, before the first step. */
  startPaused?: boolean;
  /** The pace to train at from the first step (default: as fast as it can). */
  pace?: Pace;
  /** Names the run in the host's own log lines. */
  runId?: string;
  /** A stop not obeyed within this many ms kills the process (default 3000). */
  stopTimeoutMs?: number;
  /** A trainer that has not said trainerReady within this many ms fails the run (default 20000). */
  readyTimeoutMs?: number;
  /** Node options for the child (default: none, so a debugger flag of the host is not inherited). */
  execArgv?: string[];
  /** Command-line arguments for the trainer script (test fixtures use them). */
  args?: string[];
  /** A python run config's interpreter when it names none (the Python extension's, or a setting; default python3). */
  pythonInterpreter?: string;
  /** The folder holding the attention_lens package (default: `python/` beside trainerPath's folder). */
  helperDir?: string;
}

/** How the host talks to the process: Node IPC (built-in trainer) or framed bytes on a pipe (Python). */
interface TrainerChannel {
  send(msg: HostToTrainer, done: (err: Error | null) => void): void;
  readonly open: boolean;
}

export type RunProcessEvents = {
  /** An accepted trainer message after the handshake, in the order sent. */
  message: [msg: TrainerToHost];
  status: [status: RunStatus, reason: string | undefined];
  /** The process is gone and the status is final. */
  exit: [status: RunStatus, reason: string | undefined];
  /** A message was rejected (it failed its guard or came out of order). */
  protocolError: [description: string];
  /** A chunk of the trainer's stderr or stdout. */
  log: [text: string];
};

const TAIL_CHARS = 4096;
const TERMINAL: readonly RunStatus[] = ['completed', 'stopped', 'failed'];

export function isTerminal(s: RunStatus): boolean {
  return TERMINAL.includes(s);
}

/** A short description of a rejected message, for logs (never its whole content). */
function describeMessage(v: unknown): string {
  if (typeof v !== 'object' || v === null) return `a ${v === null ? 'null' : typeof v}`;
  if (Array.isArray(v)) return 'an array';
  const type = (v as Record<string, unknown>)['type'];
  return typeof type === 'string' ? `"${type.slice(0, 40)}"` : 'an object without a string type';
}

/** The most telling line of a crashed process's stderr: its last error line, else its last line. */
export function stderrSummary(tail: string): string {
  const lines = tail
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^at\s/.test(l) && !/^Node\.js v\d/.test(l) && l !== '^');
  const err = [...lines].reverse().find((l) => /^(Uncaught\s+)?([A-Za-z_$][\w$]*)?(Error|Exception)\b/.test(l));
  const line = err ?? lines[lines.length - 1] ?? '';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

export class RunProcess extends Emitter<RunProcessEvents> {
  /** Messages rejected by the guards (or out of order), never trusted. */
  rejectedMessages = 0;
  /** Messages that passed the guards (a stepsCompleted counts once, however many steps it holds). */
  acceptedMessages = 0;
  /** The last ~4 KB of the trainer's stderr. */
  stderrTail = '';
  /** Set by runStarted. */
  info: RunInfo | undefined;
  /** The run's measurement declarations by id (from runStarted): each step's samples and events are checked against them. */
  private measures: ReadonlyMap<string, MeasureDecl> | undefined;
  /** Set by runCompleted. */
  summary: RunSummaryData | undefined;
  /** OS process id (undefined if the process could not be started). */
  readonly pid: number | undefined;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;

  private _status: RunStatus = 'starting';
  private _reason: string | undefined;
  private _step = 0;
  /** Undefined when there was nothing to start (an invalid python run config). */
  private readonly child: ChildProcess | undefined;
  private readonly channel: TrainerChannel;
  /** Set for a Python trainer. */
  private readonly python: PythonLaunch | undefined = undefined;
  private initTimer: NodeJS.Timeout | undefined;
  private ready = false;
  private runSent = false;
  private wantPaused: boolean;
  private _pace: Pace;
  private ended: { kind: 'completed' } | { kind: 'stopped'; reason?: string } | { kind: 'failed'; message: string } | undefined;
  /** Set when the host decides the outcome before the process exits (kill, timeout, mismatch). */
  private forced: { status: RunStatus; reason: string } | undefined;
  private stopTimer: NodeJS.Timeout | undefined;
  private readyTimer: NodeJS.Timeout | undefined;
  private exited = false;
  private readonly stopTimeoutMs: number;

  private constructor(private readonly opts: RunProcessOptions) {
    super();
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 3000;
    this.wantPaused = opts.startPaused ?? false;
    this._pace = { ...(opts.pace ?? {}) };
    let configProblem: string | undefined;
    if (isPythonRunConfig(opts.config)) {
      try {
        const defaults = { helperDir: opts.helperDir ?? helperDirFor(opts.trainerPath), ...(opts.pythonInterpreter !== undefined ? { python: opts.pythonInterpreter } : {}) };
        this.python = pythonLaunch(opts.config, opts.baseDir, defaults);
      } catch (e) {
        configProblem = e instanceof Error ? e.message : String(e);
      }
    }
    if (configProblem !== undefined) {
      // Nothing to start: the run fails as soon as its listeners are attached.
      this.channel = { send: (_m, done) => done(new Error('no trainer process')), open: false };
      this.pid = undefined;
      setImmediate(() => this.finalize('failed', configProblem));
      return;
    }
    let child: ChildProcess;
    if (this.python) {
      const { command, args, options } = pythonCommand(this.python);
      child = spawn(command, args, options);
      this.channel = this.framedChannel(child.stdio[3] as Duplex | null | undefined);
    } else {
      child = fork(opts.trainerPath, opts.args ?? [], { serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: opts.execArgv ?? [] });
      this.channel = { send: (m, done) => child.send(m, done), get open() { return child.connected; } };
      child.on('message', (m: unknown) => this.onMessage(m));
    }
    this.child = child;
    this.pid = child.pid;
    // Training is background work: below the editor's own processes, so that on a machine with
    // few cores VS Code, the extension host and the dashboards stay responsive (the trainer
    // still gets every idle cycle).
    if (this.pid !== undefined) {
      try {
        os.setPriority(this.pid, os.constants.priority.PRIORITY_BELOW_NORMAL);
      } catch {
        // not permitted here: train at normal priority
      }
    }
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.onStderr(chunk));
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.emit('log', chunk));
    child.on('exit', (code, signal) => {
      this.exitCode = code;
      this.exitSignal = signal;
    });
    // 'close' comes after 'exit', once stdio and the IPC channel (or the pipe) are drained:
    // every message the trainer sent has been delivered by then.
    child.on('close', (code, signal) => this.onClose(code, signal));
    child.on('error', (e) => this.onError(e));
    const readyMs = opts.readyTimeoutMs ?? 20000;
    this.readyTimer = setTimeout(() => {
      if (!this.ready) this.forceEnd('failed', `the trainer did not start within ${readyMs} ms`);
    }, readyMs);
  }

  /** The protocol as frames on the Python process's pipe (fd 3): decoded, then handled as IPC messages are. */
  private framedChannel(pipe: Duplex | null | undefined): TrainerChannel {
    const decoder = new FrameDecoder();
    pipe?.on('data', (chunk: Buffer) => {
      if (this.exited) return;
      let messages: unknown[];
      try {
        messages = decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (e) {
        // Bytes that are not frames: nothing after them can be trusted, so the run ends here.
        const why = `the trainer's channel is damaged: ${e instanceof FrameError ? e.message : String(e)}`;
        this.reject(why);
        this.forceEnd('failed', why);
        return;
      }
      for (const m of messages) this.onMessage(m);
    });
    pipe?.on('error', (e) => this.emit('log', `${this.tag} trainer channel error: ${e.message}\n`));
    return {
      send: (m, done) => {
        if (!pipe || pipe.destroyed || !pipe.writable) return done(new Error('the channel is closed'));
        pipe.write(encodeFrame(m), (err) => done(err ?? null));
      },
      get open() {
        return !!pipe && !pipe.destroyed && pipe.writable;
      },
    };
  }

  /** Forks the trainer and starts the run (after the handshake). */
  static start(opts: RunProcessOptions): RunProcess {
    return new RunProcess(opts);
  }

  get status(): RunStatus {
    return this._status;
  }

  /** Why the run is paused, failed or stopped (undefined while it runs normally). */
  get statusReason(): string | undefined {
    return this._reason;
  }

  /** The last step the trainer reported. */
  get step(): number {
    return this._step;
  }

  get isRunning(): boolean {
    return !isTerminal(this._status);
  }

  pause(): void {
    if (!this.runSent) this.wantPaused = true;
    else if (this._status === 'running' || this._status === 'starting') this.send({ type: 'pause' });
  }

  resume(): void {
    if (!this.runSent) this.wantPaused = false;
    else if (this._status === 'paused' || this._status === 'starting') this.send({ type: 'resume' });
  }

  /** While paused: exactly one step. */
  stepOnce(): void {
    if (this.runSent && this._status === 'paused') this.send({ type: 'step' });
  }

  /** The pace the run trains at. */
  get pace(): Pace {
    return { ...this._pace };
  }

  /** Trains at `pace` from now on (before the run starts: from its first step). */
  setPace(pace: Pace): void {
    this._pace = { ...pace };
    if (this.runSent && this.isRunning) this.send({ type: 'setPace', pace: this.pace });
  }

  /** Asks the trainer to stop; kills it if it has not exited within stopTimeoutMs. */
  stop(): void {
    if (this.exited || this.stopTimer) return;
    if (!this.runSent) {
      this.forceEnd('stopped', 'stopped before the run started');
      return;
    }
    this.send({ type: 'stop' });
    this.stopTimer = setTimeout(() => {
      if (!this.exited) this.forceEnd('stopped', `killed after not stopping within ${this.stopTimeoutMs} ms`);
    }, this.stopTimeoutMs);
  }

  /** Kills the process at once (SIGKILL); the run ends 'stopped'. */
  kill(reason = 'killed by the host'): void {
    if (!this.exited) this.forceEnd('stopped', reason);
  }

  /** Prefix of the host's own log lines. */
  private get tag(): string {
    return `[host${this.opts.runId !== undefined ? ` run ${this.opts.runId}` : ''}]`;
  }

  private send(msg: HostToTrainer): void {
    if (this.exited || !this.channel.open) return;
    try {
      this.channel.send(msg, (err) => {
        if (err) this.emit('log', `${this.tag} could not send ${msg.type}: ${err.message}\n`);
      });
    } catch (e) {
      this.emit('log', `${this.tag} could not send ${msg.type}: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }

  private setStatus(status: RunStatus, reason: string | undefined): void {
    if (this._status === status && this._reason === reason) return;
    this._status = status;
    this._reason = reason;
    this.emit('status', status, reason);
  }

  /** The host decides the outcome: remember it and kill the process; onClose makes it final. */
  private forceEnd(status: RunStatus, reason: string): void {
    if (!this.forced) this.forced = { status, reason };
    if (!this.exited) this.child?.kill('SIGKILL');
  }

  private acceptStep(data: StepData): void {
    if (!this.info) {
      this.reject('trainer sent stepCompleted before runStarted');
      return;
    }
    if (data.step <= this._step) {
      this.reject(`trainer sent step ${data.step} after step ${this._step}`);
      return;
    }
    this._step = data.step;
    this.emit('message', { type: 'stepCompleted', data });
  }

  private reject(description: string): void {
    this.rejectedMessages++;
    this.emit('protocolError', description);
  }

  private onStderr(chunk: string): void {
    this.stderrTail = (this.stderrTail + chunk).slice(-TAIL_CHARS);
    this.emit('log', chunk);
  }

  private onMessage(m: unknown): void {
    // Messages that arrive after a kill was decided were still sent before it: keep them.
    if (this.exited) return;
    if (!isTrainerToHost(m, this.info?.groups.length, this.measures)) {
      this.reject(`invalid trainer message: ${describeMessage(m)}`);
      return;
    }
    this.acceptedMessages++;
    if (!this.ready) {
      if (m.type !== 'trainerReady') {
        this.reject(`trainer sent "${m.type}" before trainerReady`);
        return;
      }
      if (m.protocolVersion !== PROTOCOL_VERSION) {
        const reason = `protocol version mismatch: host speaks ${PROTOCOL_VERSION}, trainer speaks ${m.protocolVersion}`;
        this.reject(reason);
        this.forceEnd('failed', reason);
        return;
      }
      this.ready = true;
      clearTimeout(this.readyTimer);
      this.runSent = true;
      const start: HostToTrainer = { type: 'startRun', protocolVersion: PROTOCOL_VERSION, config: this.opts.config, baseDir: this.opts.baseDir, startPaused: this.wantPaused };
      if (this._pace.stepsPerSecond !== undefined || this._pace.holdMs !== undefined) start.pace = this.pace;
      this.send(start);
      if (this.python) {
        const ms = this.python.initTimeoutMs;
        this.initTimer = setTimeout(() => {
          if (!this.info) this.forceEnd('failed', `the script did not call attention_lens.init() within ${ms / 1000} s`);
        }, ms);
      }
      return;
    }
    if (this.ended) {
      this.reject(`trainer sent "${m.type}" after the run ended`);
      return;
    }
    switch (m.type) {
      case 'trainerReady':
        this.reject('trainer sent trainerReady twice');
        return;
      case 'runStarted':
        if (this.info) {
          this.reject('trainer sent runStarted twice');
          return;
        }
        this.info = m.info;
        clearTimeout(this.initTimer);
        this.measures = declsById(m.info.measures);
        this.emit('message', m);
        this.setStatus('running', undefined);
        return;
      case 'stepCompleted':
        this.acceptStep(m.data);
        return;
      case 'stepsCompleted':
        // Listeners see each step as its own stepCompleted, as from a trainer that does not batch.
        for (const d of m.data) this.acceptStep(d);
        return;
      case 'paused':
        this.emit('message', m);
        this.setStatus('paused', m.reason);
        return;
      case 'resumed':
        this.emit('message', m);
        this.setStatus('running', undefined);
        return;
      case 'runCompleted':
        this.summary = m.summary;
        this.ended = { kind: 'completed' };
        this.emit('message', m);
        return;
      case 'runStopped':
        this.ended = m.reason !== undefined ? { kind: 'stopped', reason: m.reason } : { kind: 'stopped' };
        this.emit('message', m);
        return;
      case 'runFailed':
        this.ended = { kind: 'failed', message: m.message };
        this.emit('message', m);
        return;
      default: {
        const never: never = m;
        this.reject(`unhandled trainer message ${describeMessage(never)}`);
      }
    }
  }

  private onError(e: Error): void {
    this.emit('log', `${this.tag} trainer process error: ${e.message}\n`);
    // A process that never started gets no 'close': end the run here.
    if (this.child?.pid === undefined && !this.exited) this.finalize('failed', this.python ? noPythonReason(this.python.python, e) : `could not start the trainer: ${e.message}`);
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exitCode = code;
    this.exitSignal = signal;
    this.finalize(...this.outcome(code, signal));
  }

  /** How the run ended, from what the trainer said and how its process exited. */
  private outcome(code: number | null, signal: NodeJS.Signals | null): [RunStatus, string | undefined] {
    if (this.forced) return [this.forced.status, this.forced.reason];
    const ended = this.ended;
    if (ended?.kind === 'failed') return ['failed', ended.message];
    if (this.python) return this.pythonOutcome(code, signal);
    const detail = stderrSummary(this.stderrTail);
    const how = signal ? `trainer was killed (${signal})` : `trainer exited with code ${code}`;
    // A trainer that stopped on SIGTERM reported its run stopped, then exits 143 as it should.
    if (ended?.kind === 'stopped' && ended.reason !== undefined && code === 143) return ['stopped', ended.reason];
    if (signal || code !== 0) return ['failed', detail ? `${how}: ${detail}` : how];
    if (ended?.kind === 'completed') return ['completed', undefined];
    if (ended?.kind === 'stopped') return ['stopped', this.stopTimer ? undefined : 'stopped by the trainer'];
    return ['failed', `trainer exited before the run ended${detail ? `: ${detail}` : ''}`];
  }

  /** How a Python run ended that did not say it failed: a person's reasons, from its exit and its stderr. */
  private pythonOutcome(code: number | null, signal: NodeJS.Signals | null): [RunStatus, string | undefined] {
    const ended = this.ended;
    const python = this.python!.python;
    if (ended?.kind === 'stopped' && ended.reason !== undefined && code === 143) return ['stopped', ended.reason];
    if (signal) return ['failed', `the Python process was killed (${signal})${this._step > 0 ? ` after step ${this._step}` : ''}`];
    if (code !== 0) {
      if (torchMissing(this.stderrTail)) return ['failed', `torch is not installed for ${python}: ${torchHint(python)}`];
      const detail = pythonStderrSummary(this.stderrTail);
      return ['failed', `the script exited with code ${code}${detail ? `: ${detail}` : ''}`];
    }
    if (ended?.kind === 'completed') return ['completed', undefined];
    if (ended?.kind === 'stopped') return ['stopped', this.stopTimer ? undefined : 'stopped by the trainer'];
    if (!this.info) return ['failed', 'the script exited without calling attention_lens.init()'];
    return ['failed', `the script exited (code 0) before the run ended, after step ${this._step}`];
  }

  private finalize(status: RunStatus, reason: string | undefined): void {
    this.exited = true;
    clearTimeout(this.stopTimer);
    clearTimeout(this.readyTimer);
    clearTimeout(this.initTimer);
    this.setStatus(status, reason);
    this.emit('exit', status, reason);
  }
}
