/**
 * Connects one webview to the runs it shows — a dashboard or the side view (one run), or a
 * compare view (several): the `ready` handshake with a version check, a snapshot on ready
 * (`snapshot`, or `compareSnapshot` for a compare view), then coalesced updates and status
 * changes of those runs; commands from the page act on a run. Everything the page sends
 * passes the protocol guard first; rejected messages are logged and counted. The one
 * messaging layer between the host and every page.
 */
import * as vscode from 'vscode';
import { emptyMeasures } from '../protocol/measures';
import { PROTOCOL_VERSION, assertNever, type HostToWebview, type RunSnapshot } from '../protocol/messages';
import { isWebviewToHost } from '../protocol/guards';
import { diffConfigs } from '../runs/configDiff';
import { isStored, type AnyRun, type RunCatalog } from '../runs/runCatalog';
import type { Run, RunManager } from '../runs/runManager';
import type { StepsAppended } from '../runs/runHistory';
import { UpdateFlow } from '../runs/updateFlow';
import { Disposable, toDisposable } from './dispose';
import { post } from './post';
import { saveImage } from './saveImage';

export interface BridgeHost {
  readonly manager: RunManager;
  /** Live and stored runs: a dashboard can show either. */
  readonly catalog: RunCatalog;
  readonly log: vscode.LogOutputChannel;
}

/** What a bridge shows: one run (a dashboard, the side view) or several side by side (a compare view). */
export type BridgeView = { kind: 'run'; runId: string | undefined } | { kind: 'compare'; runIds: readonly string[] };

export class WebviewBridge extends Disposable {
  private ready = false;
  private view: BridgeView;
  rejectedMessages = 0;
  /** Updates go out as the page takes them in (see UpdateFlow). */
  private readonly flow: UpdateFlow;

  constructor(
    private readonly webview: vscode.Webview,
    private readonly host: BridgeHost,
    view: BridgeView,
    /** A snapshot to show for a run that is not (or no longer) known. */
    private readonly missing: (runId: string | undefined) => RunSnapshot,
    /** At least this long between two updates (the side view shows little: a few a second will do). */
    minUpdateIntervalMs = 0,
    /** What the page is, for the log ('dashboard', 'compare view', 'side view'). */
    private readonly what = 'dashboard',
  ) {
    super();
    this.view = view;
    this.flow = new UpdateFlow((msg) => void this.post(msg), 2, minUpdateIntervalMs);
    this._register(toDisposable(() => this.flow.dispose()));
    this._register(webview.onDidReceiveMessage((m: unknown) => this.receive(m)));
    const update = (run: { id: string }, msg: StepsAppended) => {
      if (this.ready && this.shows(run.id)) this.flow.push(msg);
    };
    const changed = (run: AnyRun) => {
      if (this.ready && this.shows(run.id)) void this.post(this.withNote(run, run.statusMessage()));
    };
    this._register(toDisposable(host.manager.on('runUpdate', update)));
    this._register(toDisposable(host.manager.on('runChanged', changed)));
    // A run another process (the command line) writes, followed from its folder.
    this._register(toDisposable(host.catalog.on('runUpdate', update)));
    this._register(toDisposable(host.catalog.on('runChanged', changed)));
  }

  /** The run a one-run page shows (undefined for a compare view). */
  get currentRunId(): string | undefined {
    return this.view.kind === 'run' ? this.view.runId : undefined;
  }

  /** Every run the page shows. */
  get runIds(): readonly string[] {
    return this.view.kind === 'compare' ? this.view.runIds : this.view.runId !== undefined ? [this.view.runId] : [];
  }

  private shows(runId: string): boolean {
    return this.runIds.includes(runId);
  }

  /** Shows another run (the side view follows the selection). */
  showRun(runId: string | undefined): void {
    if (this.view.kind === 'run' && runId === this.view.runId) return;
    this.view = { kind: 'run', runId };
    if (this.ready) this.sendSnapshot();
  }

  /** The runs of the view that the catalog knows, in the view's order. */
  runs(): AnyRun[] {
    return this.runIds.map((id) => this.host.catalog.get(id)).filter((r): r is AnyRun => r !== undefined);
  }

  private sendSnapshot(): void {
    const view = this.view;
    if (view.kind === 'compare') {
      const runs = this.runs();
      const snapshots = this.flow.snapshot(() =>
        view.runIds.map((id) => {
          const r = this.host.catalog.get(id);
          return r ? this.withNote(r, r.snapshot()) : this.missing(id);
        }),
      );
      void this.post({ type: 'compareSnapshot', protocolVersion: PROTOCOL_VERSION, runs: snapshots, configDiff: diffConfigs(runs.map((r) => r.info?.config)) });
      return;
    }
    const run = view.runId === undefined ? undefined : this.host.catalog.get(view.runId);
    const snapshot = this.flow.snapshot(() => (run ? this.withNote(run, run.snapshot()) : this.missing(view.runId)));
    void this.post({ type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot });
  }

  /** The run's note (kept in its folder's meta.json) on a snapshot or status message. */
  private withNote<T extends { note?: string }>(run: AnyRun, msg: T): T {
    const note = this.host.catalog.noteOf(run);
    if (note) msg.note = note;
    else delete msg.note;
    return msg;
  }

  private post(msg: HostToWebview): Thenable<boolean> {
    return post(this.webview, msg);
  }

  private receive(m: unknown): void {
    if (!isWebviewToHost(m)) {
      this.rejectedMessages++;
      this.host.log.warn(`${this.what} sent an invalid message (dropped): ${describe(m)}`);
      return;
    }
    switch (m.type) {
      case 'ready':
        if (m.protocolVersion !== PROTOCOL_VERSION) {
          this.host.log.error(`${this.what} speaks protocol ${m.protocolVersion}, the extension ${PROTOCOL_VERSION}`);
          void this.post({ type: 'protocolMismatch', expected: PROTOCOL_VERSION, received: m.protocolVersion });
          void vscode.window.showErrorMessage(`Attention Lens: the ${this.what} speaks protocol version ${m.protocolVersion} but the extension speaks ${PROTOCOL_VERSION}. Reload the window.`);
          return;
        }
        this.ready = true;
        this.sendSnapshot();
        return;
      case 'applied':
        this.flow.ack(m.seq);
        return;
      case 'pauseRun':
        this.act(m.runId, (r) => r.pause());
        return;
      case 'resumeRun':
        this.act(m.runId, (r) => r.resume());
        return;
      case 'stepRun':
        this.act(m.runId, (r) => r.stepOnce());
        return;
      case 'stopRun':
        this.act(m.runId, (r) => r.stop());
        return;
      case 'setPace': {
        const pace = m.pace;
        this.act(m.runId, (r) => r.setPace(pace));
        return;
      }
      case 'requestAttention': {
        const run = this.host.catalog.get(m.runId);
        const frame = run?.attentionAt(m.step);
        if (frame) void this.post({ type: 'attentionLoaded', runId: m.runId, frame });
        return;
      }
      case 'exportImage': {
        // One run's picture is named after it; a chart of several runs after all of them.
        const id = m.runId ?? this.currentRunId;
        const one = id !== undefined ? this.host.catalog.get(id) : undefined;
        const name = one?.name ?? id ?? (this.runIds.length > 0 ? this.runs().map((r) => r.name).join('-vs-') : 'attention-lens');
        void saveImage(m.png, name, m.name, this.host.log);
        return;
      }
      default:
        assertNever(m);
    }
  }

  private act(runId: string, fn: (r: Run) => void): void {
    const run = this.host.catalog.get(runId);
    if (!run || !this.shows(runId)) this.host.log.warn(`${this.what} asked for run ${runId}, which it does not show`);
    else if (isStored(run)) void vscode.window.showInformationMessage(storedRunRefusal(run.name, run.beingWritten));
    else fn(run);
  }
}

/** Why pause / resume / step / stop do nothing for a run read from its folder. */
export function storedRunRefusal(name: string, beingWritten: boolean): string {
  return beingWritten
    ? `Attention Lens: run ${name} is being trained by another process (e.g. the command line); it can only be watched from here.`
    : `Attention Lens: run ${name} is a saved run that has ended; it can be viewed, not controlled. Launch a new run to train again.`;
}

function describe(m: unknown): string {
  try {
    // Typed arrays (an image to export can be megabytes) by kind and length only.
    const s = JSON.stringify(m, (_k, v: unknown) => (ArrayBuffer.isView(v) ? `${Object.prototype.toString.call(v).slice(8, -1)}(${v.byteLength} bytes)` : v));
    return s === undefined ? String(m) : s.length > 200 ? s.slice(0, 200) + '…' : s;
  } catch {
    return String(m);
  }
}

/** A snapshot for a run id the manager does not know (e.g. restored after a reload). */
export function missingRunSnapshot(runId: string | undefined, reason: string): RunSnapshot {
  return {
    runId: runId ?? '—',
    status: 'stopped',
    statusReason: reason,
    info: undefined,
    scalars: { n: 0, step: new Float64Array(0), loss: new Float64Array(0), trainAccuracy: new Float64Array(0), gradNorms: new Float64Array(0), weightNorms: new Float64Array(0) },
    evals: [],
    attentionSteps: [],
    latestAttention: undefined,
    identity: [],
    measures: emptyMeasures(),
  };
}

/** A random nonce for the CSP. */
export function nonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 32; i++) s += chars.charAt(Math.floor(Math.random() * chars.length));
  return s;
}
