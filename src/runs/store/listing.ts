/**
 * The runs root (default `.attention-lens/runs` in the workspace): naming and creating run
 * folders, and listing them. Listing reads each folder's meta.json and the 16-byte headers of
 * its stream files, never the records, so it stays fast with many long runs; a folder that is
 * not a readable run is reported by path and the others are listed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeHeader, FILES, HEADER_BYTES, KIND, metaProblem, scalarPayloadBytes, type RunMeta, type StoreProblem, type StreamName } from './format';

/** One run folder as listed. */
export interface RunListing {
  id: string;
  dir: string;
  meta: RunMeta;
  /** Steps recorded: meta.json's count for a closed run, else estimated from scalars.bin's size. */
  steps: number;
  /** The writer closed the run (meta.endedAt is set). */
  ended: boolean;
  /**
   * For a run not ended: whether its writing process still exists on this machine (best
   * effort, pids are reused); false means it was killed and `meta.status` is stale. Undefined
   * when it cannot be told (another machine) or the run ended.
   */
  writerAlive?: boolean;
  /** Stream files whose header is unreadable. */
  problems: StoreProblem[];
}

/** `20240501-142233-lu-fc-fast`: the local start time then the name, so ids sort by time. */
export function makeRunId(name: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '')
    .slice(0, 60);
  return slug ? `${stamp}-${slug}` : stamp;
}

/** Creates a new, empty run folder under `root` (created if absent); `-2`, `-3`… keep ids unique. */
export function createRunDir(root: string, name: string, now = new Date()): { id: string; dir: string } {
  fs.mkdirSync(root, { recursive: true });
  const base = makeRunId(name, now);
  for (let i = 1; ; i++) {
    const id = i === 1 ? base : `${base}-${i}`;
    const dir = path.join(root, id);
    try {
      fs.mkdirSync(dir); // atomic claim: fails if another writer took the name
      return { id, dir };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads one run folder's meta.json and stream headers. */
export function listRun(dir: string): { run: RunListing } | { problem: StoreProblem } {
  dir = path.resolve(dir);
  const metaFile = path.join(dir, FILES.meta);
  let meta: RunMeta;
  try {
    const v = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as unknown;
    const why = metaProblem(v);
    if (why !== undefined) return { problem: { file: metaFile, kind: 'invalid', message: `not a run: meta.json ${why}` } };
    meta = v as RunMeta;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: { file: dir, kind: 'missing', message: 'not a run: no meta.json' } };
    return { problem: { file: metaFile, kind: 'invalid', message: `not a run: ${e instanceof Error ? e.message : String(e)}` } };
  }
  const problems: StoreProblem[] = [];
  let estimate = 0;
  for (const name of ['scalars', 'evals', 'identity', 'attention', 'attentionIndex'] as StreamName[]) {
    const file = path.join(dir, FILES[name]);
    let head: Uint8Array;
    let size: number;
    try {
      const fd = fs.openSync(file, 'r');
      try {
        size = fs.fstatSync(fd).size;
        head = new Uint8Array(HEADER_BYTES);
        head = head.subarray(0, fs.readSync(fd, head, 0, HEADER_BYTES, 0));
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      continue; // absent: no records in that stream
    }
    if (head.length < HEADER_BYTES && meta.endedAt === undefined) continue; // being created
    const h = decodeHeader(head, KIND[name]);
    if ('error' in h) {
      problems.push({ file, offset: 0, kind: head.length < HEADER_BYTES ? 'torn' : 'corrupt', message: h.error });
      continue;
    }
    if (name === 'scalars') estimate = Math.floor((size - HEADER_BYTES) / (scalarPayloadBytes(h.width) + 8));
  }
  const ended = meta.endedAt !== undefined;
  const run: RunListing = { id: path.basename(dir), dir, meta, steps: meta.counts?.steps ?? estimate, ended, problems };
  if (!ended && meta.writer && meta.writer.hostname === os.hostname()) run.writerAlive = processAlive(meta.writer.pid);
  return { run };
}

/**
 * Every run folder under `root`, oldest first, and a problem for each folder that is not a
 * readable run. A missing root lists nothing. Plain files in the root are ignored.
 */
export function listRuns(root: string): { runs: RunListing[]; problems: StoreProblem[] } {
  const runs: RunListing[] = [];
  const problems: StoreProblem[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { runs, problems };
    return { runs, problems: [{ file: path.resolve(root), kind: 'invalid', message: `unreadable: ${e instanceof Error ? e.message : String(e)}` }] };
  }
  for (const ent of entries) {
    if (!ent.isDirectory()) continue;
    const r = listRun(path.join(root, ent.name));
    if ('run' in r) runs.push(r.run);
    else problems.push(r.problem);
  }
  runs.sort((a, b) => (a.meta.startedAt < b.meta.startedAt ? -1 : a.meta.startedAt > b.meta.startedAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { runs, problems };
}
