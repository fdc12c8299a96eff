/**
 * Records one live run into its run folder (the run store, store/): the trainer's messages,
 * as the RunProcess relays them, go to a RunWriter; the process's final status closes it.
 * The writer buffers in memory and writes in the background, so the trainer (another process)
 * never waits for the disk. A write error is reported once through `onError` and ends the
 * recording; the run itself goes on. A failed write to the folder (a full disk) is reported
 * with the store's own message (StoreWriteError: the file, what the folder keeps, whether
 * meta.json says failed). No `vscode` import.
 */
import type { RunStatus, TrainerToHost } from '../protocol/messages';
import type { HistoryBacking } from './runHistory';
import { AttentionReader, readRows, RunWriter, StoreWriteError, toScalarChunk, type RunMetaInit, type StreamCounts } from './store';

export class RunRecorder {
  private writer: RunWriter | undefined;
  private failed = false;
  /** The note set while recording (meta.json holds it too). */
  note: string | undefined;
  /** Records in the files as of the last flush: what a reader of the folder can get back. */
  persisted: StreamCounts = { steps: 0, evals: 0, identity: 0, attention: 0 };

  private constructor(
    readonly dir: string,
    writer: RunWriter,
    private readonly onError: (text: string) => void,
  ) {
    this.writer = writer;
  }

  /** Opens the writer in `dir` (an empty run folder); undefined, after onError, if it cannot. */
  static open(dir: string, meta: RunMetaInit, config: unknown, onError: (text: string) => void): RunRecorder | undefined {
    let rec: RunRecorder | undefined;
    try {
      const w = RunWriter.open(dir, meta, config, {
        onError: (e) => rec?.fail('flush', e),
        onFlush: (counts) => {
          if (rec) rec.persisted = counts;
        },
      });
      rec = new RunRecorder(dir, w, onError);
      return rec;
    } catch (e) {
      onError(e instanceof StoreWriteError ? e.message : `could not create run folder ${dir}: ${message(e)}`);
      return undefined;
    }
  }

  /**
   * The run's folder as a RunHistory's backing: the history lets go of what the files hold and
   * reads it back from them. Only records flushed without error count as persisted.
   */
  backing(): HistoryBacking {
    let attention: AttentionReader | undefined;
    return {
      persisted: () => this.persisted,
      read: (steps, identity) => {
        const r = readRows(this.dir, steps, identity);
        return { scalars: toScalarChunk(r.scalars), identity: r.identity };
      },
      readAttention: (step) => (attention ??= new AttentionReader(this.dir)).frameAt(step),
    };
  }

  /** Still writing (not closed, no error). */
  get recording(): boolean {
    return this.writer !== undefined;
  }

  /** Renames or re-notes the run while it is recorded (false once the writer is gone). */
  annotate(fields: { name?: string; note?: string }): boolean {
    const w = this.writer;
    if (!w) return false;
    try {
      w.annotate(fields);
      if (fields.note !== undefined) this.note = fields.note === '' ? undefined : fields.note;
      return true;
    } catch (e) {
      this.fail('annotate', e);
      return false;
    }
  }

  /** One accepted trainer message, in order. */
  onMessage(msg: TrainerToHost): void {
    const w = this.writer;
    if (!w) return;
    try {
      switch (msg.type) {
        case 'runStarted':
          w.setInfo(msg.info);
          break;
        case 'stepCompleted':
          w.appendStep(msg.data);
          break;
        case 'runCompleted':
          w.setSummary(msg.summary);
          break;
        case 'paused':
          // The attention at the step it paused at, when that step had not captured it.
          if (msg.attention) w.appendAttention(msg.step, msg.attention);
          break;
        default:
          break; // pause/resume/stop/fail: the status reaches the folder at close
      }
    } catch (e) {
      this.fail(msg.type, e);
    }
  }

  /** The process is gone: flush, fsync and record the final status. */
  close(status: RunStatus, reason: string | undefined): void {
    const w = this.writer;
    if (!w) return;
    this.writer = undefined;
    try {
      w.close(status, reason);
    } catch (e) {
      if (e instanceof StoreWriteError) {
        if (e.kept) this.persisted = e.kept;
        this.reportOnce(e.message);
      } else this.reportOnce(`could not finish writing ${this.dir}: ${message(e)}`);
    }
  }

  private fail(what: string, e: unknown): void {
    const w = this.writer;
    this.writer = undefined;
    if (e instanceof StoreWriteError) {
      // The writer has stopped and said in meta.json why, when it could: nothing to add there.
      if (e.kept) this.persisted = e.kept;
      this.reportOnce(`${e.message}. The run goes on but is no longer saved`);
      return;
    }
    this.reportOnce(`could not record ${what} in ${this.dir}: ${message(e)}; the run goes on but is no longer saved`);
    // Record at least that the run did not end cleanly, if the folder still takes a write.
    try {
      w?.close('failed', `the host stopped recording: ${message(e)}`);
    } catch {
      // already reported
    }
  }

  private reportOnce(text: string): void {
    if (this.failed) return;
    this.failed = true;
    this.onError(text);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
