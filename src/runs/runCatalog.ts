/**
 * Every run the user can see: the manager's live runs and the run folders under its
 * runsDir (from earlier sessions, or written by the command line), merged so a live run's
 * own folder is listed once, as the live run. Rename, note and delete act on either kind.
 * No `vscode` import.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StepsAppended } from './runHistory';
import type { Run, RunManager } from './runManager';
import { Emitter } from './runProcess';
import { annotateRun, listRuns, type StoreProblem } from './store';
import { StoredRun } from './storedRun';

/** A run either training in this host (Run) or read from its folder (StoredRun). */
export type AnyRun = Run | StoredRun;

export function isStored(r: AnyRun): r is StoredRun {
  return r instanceof StoredRun;
}

export type RunCatalogEvents = {
  /** The list of stored runs changed (refresh found new, removed or changed folders), or a run was renamed/deleted. */
  changed: [];
  /** New records of a stored run another process is writing (see follow()). */
  runUpdate: [run: StoredRun, msg: StepsAppended];
  /** A followed stored run's status or step changed. */
  runChanged: [run: StoredRun];
};

export class RunCatalog extends Emitter<RunCatalogEvents> {
  private readonly stored = new Map<string, StoredRun>();
  /** Folders that are not readable runs, from the last refresh. */
  problems: StoreProblem[] = [];

  constructor(readonly manager: RunManager) {
    super();
  }

  /** Rereads the runs folder (meta.json and headers only). Emits 'changed' when anything differs. */
  refresh(): void {
    const root = this.manager.runsDir;
    const seen = new Set<string>();
    let changed = false;
    if (root !== undefined) {
      const { runs, problems } = listRuns(root);
      this.problems = problems;
      for (const l of runs) {
        seen.add(l.id);
        const old = this.stored.get(l.id);
        if (!old) {
          this.stored.set(l.id, new StoredRun(l));
          changed = true;
        } else {
          if (JSON.stringify(old.meta) !== JSON.stringify(l.meta) || old.step !== l.steps) changed = true;
          old.update(l);
        }
      }
    } else this.problems = [];
    for (const id of [...this.stored.keys()])
      if (!seen.has(id)) {
        this.stored.delete(id);
        changed = true;
      }
    if (changed) this.emit('changed');
  }

  /**
   * Follows runs other processes are writing: every `intervalMs` (default 250, about 4×/s)
   * each stored run whose records were read (a dashboard shows it) and that has not ended is
   * polled for what was appended, emitted as runUpdate / runChanged. A run whose meta.json
   * says it ended is read to its end once more and then no longer polled. Returns a stop function.
   */
  follow(intervalMs = 250): () => void {
    const timer = setInterval(() => this.pollFollowed(), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** One round of follow(): exposed for tests. */
  pollFollowed(): void {
    for (const s of this.stored.values()) {
      if (!s.following) continue;
      let r: ReturnType<StoredRun['poll']>;
      try {
        r = s.poll();
      } catch {
        continue; // a folder removed under us: the next refresh drops it
      }
      if (r.update) this.emit('runUpdate', s, r.update);
      if (r.update || r.statusChanged) this.emit('runChanged', s);
    }
  }

  /** Live runs first in launch order, then stored runs not live here, oldest first. */
  list(): AnyRun[] {
    const live = this.manager.list();
    const liveIds = new Set(live.map((r) => r.id));
    const liveDirs = new Set(live.map((r) => r.dir).filter((d): d is string => d !== undefined).map((d) => path.resolve(d)));
    const stored = [...this.stored.values()].filter((s) => !liveIds.has(s.id) && !liveDirs.has(path.resolve(s.dir)));
    stored.sort((a, b) => (a.meta.startedAt < b.meta.startedAt ? -1 : a.meta.startedAt > b.meta.startedAt ? 1 : 0));
    return [...live, ...stored];
  }

  /** A live run, else a stored one (read from disk if not listed yet). */
  get(id: string): AnyRun | undefined {
    const live = this.manager.get(id);
    if (live) return live;
    const s = this.stored.get(id);
    if (s) return s;
    const root = this.manager.runsDir;
    if (root === undefined || id.includes('/') || id.includes('\\') || id.startsWith('.')) return undefined;
    const found = StoredRun.fromDir(path.join(root, id));
    if (found) this.stored.set(id, found);
    return found;
  }

  /** Whether the run is being trained or written now (live here, or another process writes its folder). */
  isTraining(run: AnyRun): boolean {
    return isStored(run) ? run.beingWritten : run.isRunning;
  }

  /** Renames a run: its display name and meta.json `name`; the folder keeps its name. */
  rename(run: AnyRun, name: string): void {
    this.annotate(run, { name });
    // Pages showing the run hear of it as a status change (which carries the name).
    if (isStored(run)) this.emit('runChanged', run); // annotate's refresh updated it in place
    else {
      run.name = name;
      this.manager.touched(run);
    }
  }

  /** Sets (or, with '', removes) the run's free-text note, kept in meta.json `note`. */
  setNote(run: AnyRun, note: string): void {
    this.annotate(run, { note });
    // Pages showing the run hear of it as a status change (which carries the note).
    if (isStored(run)) this.emit('runChanged', run);
    else this.manager.touched(run);
  }

  /** The note of a run (live runs: from their recorder's meta). */
  noteOf(run: AnyRun): string | undefined {
    if (isStored(run)) return run.note;
    const stored = run.dir ? this.stored.get(path.basename(run.dir)) : undefined;
    return run.recorder?.note ?? stored?.note;
  }

  private annotate(run: AnyRun, fields: { name?: string; note?: string }): void {
    if (isStored(run)) {
      if (run.beingWritten) throw new Error(`run ${run.name} is being written by another process (pid ${run.meta.writer?.pid ?? '?'}); change it when it has ended`);
      annotateRun(run.dir, fields);
    } else {
      if (!run.dir) throw new Error(`run ${run.name} is not saved in a run folder`);
      if (!run.recorder?.annotate(fields)) annotateRun(run.dir, fields);
    }
    this.refresh();
    this.emit('changed');
  }

  /** Deletes the run's folder (and forgets a live run); refuses while it trains. */
  delete(run: AnyRun): void {
    if (this.isTraining(run)) throw new Error(`run ${run.name} is still training; stop it first`);
    const dir = isStored(run) ? run.dir : run.dir;
    if (!isStored(run)) this.manager.forget(run.id);
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    this.stored.delete(run.id);
    this.refresh();
    this.emit('changed');
  }
}
