/**
 * Connects one webview (a dashboard panel or the side view) to the run it shows: the
 * `ready` handshake with a version check, a snapshot on ready, then coalesced updates and
 * status changes; commands from the page act on the run. Everything the page sends passes
 * the protocol guard first; rejected messages are logged and counted.
 */
import { emptyMeasures } from '../protocol/measures';
import * as vscode from 'vscode';
import { PROTOCOL_VERSION, assertNever, type HostToWebview, type RunSnapshot } from '../protocol/messages';
import { isWebviewToHost } from '../protocol/guards';
import { isStored, type AnyRun, type RunCatalog } from '../runs/runCatalog';
import type { Run, RunManager } from '../runs/runManager';
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

export class WebviewBridge extends Disposable {
  private ready = false;
  private runId: string | undefined;
  rejectedMessages = 0;
  /** Updates go out as the page takes them in (see UpdateFlow). */
  private readonly flow: UpdateFlow;

  constructor(
    private readonly webview: vscode.Webview,
    private readonly host: BridgeHost,
    runId: string | undefined,
    /** A snapshot to show when the run is not (or no longer) known. */
    private readonly missing: (runId: string | undefined) => RunSnapshot,
    /** At least this long between two updates (the side view shows little: a few a second will do). */
    minUpdateIntervalMs = 0,
  ) {
    super();
    this.runId = runId;
    this.flow = new UpdateFlow((msg) => void this.post(msg), 2, minUpdateIntervalMs);
    this._register(toDisposable(() => this.flow.dispose()));
    this._register(webview.onDidReceiveMessage((m: unknown) => this.receive(m)));
    this._register(
      toDisposable(
        host.manager.on('runUpdate', (run, msg) => {
          if (this.ready && run.id === this.runId) this.flow.push(msg);
        }),
      ),
    );
    this._register(
      toDisposable(
        host.manager.on('runChanged', (run) => {
          if (this.ready && run.id === this.runId) void this.post(run.statusMessage());
        }),
      ),
    );
    // A run another process (the command line) writes, followed from its folder.
    this._register(
      toDisposable(
        host.catalog.on('runUpdate', (run, msg) => {
          if (this.ready && run.id === this.runId) this.flow.push(msg);
        }),
      ),
    );
    this._register(
      toDisposable(
        host.catalog.on('runChanged', (run) => {
          if (this.ready && run.id === this.runId) void this.post(run.statusMessage());
        }),
      ),
    );
  }

  get currentRunId(): string | undefined {
    return this.runId;
  }

  /** Shows another run (the side view follows the selection). */
  showRun(runId: string | undefined): void {
    if (runId === this.runId) return;
    this.runId = runId;
    if (this.ready) this.sendSnapshot();
  }

  private run(): AnyRun | undefined {
    return this.runId === undefined ? undefined : this.host.catalog.get(this.runId);
  }

  private sendSnapshot(): void {
    const run = this.run();
    const snapshot = this.flow.snapshot(() => (run ? run.snapshot() : this.missing(this.runId)));
    void this.post({ type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot });
  }

  private post(msg: HostToWebview): Thenable<boolean> {
    return post(this.webview, msg);
  }

  private receive(m: unknown): void {
    if (!isWebviewToHost(m)) {
      this.rejectedMessages++;
      this.host.log.warn(`dashboard sent an invalid message (dropped): ${describe(m)}`);
      return;
    }
    switch (m.type) {
      case 'ready':
        if (m.protocolVersion !== PROTOCOL_VERSION) {
          this.host.log.error(`dashboard speaks protocol ${m.protocolVersion}, the extension ${PROTOCOL_VERSION}`);
          void this.post({ type: 'protocolMismatch', expected: PROTOCOL_VERSION, received: m.protocolVersion });
          void vscode.window.showErrorMessage(`Attention Lens: the dashboard speaks protocol version ${m.protocolVersion} but the extension speaks ${PROTOCOL_VERSION}. Reload the window.`);
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
      case 'requestAttention': {
        const run = this.host.catalog.get(m.runId);
        const frame = run?.attentionAt(m.step);
        if (frame) void this.post({ type: 'attentionLoaded', runId: m.runId, frame });
        return;
      }
      case 'exportImage': {
        const id = m.runId ?? this.runId;
        const name = (id !== undefined ? this.host.catalog.get(id)?.name : undefined) ?? id ?? 'attention-lens';
        void saveImage(m.png, name, m.name, this.host.log);
        return;
      }
      default:
        assertNever(m);
    }
  }

  private act(runId: string, fn: (r: Run) => void): void {
    const run = this.host.catalog.get(runId);
    if (!run) this.host.log.warn(`dashboard asked for unknown run ${runId}`);
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
    identity: [], measures: emptyMeasures(),
  };
}

/** A random nonce for the CSP. */
export function nonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 32; i++) s += chars.charAt(Math.floor(Math.random() * chars.length));
  return s;
}
