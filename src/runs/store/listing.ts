/**
 * The runs root (default `.attention-lens/runs` in the workspace): naming and creating run
 * folders, and listing them. Listing reads each folder's meta.json and the 16-byte headers of
 * its stream files, never the records, so it stays fast with many long runs. A folder whose
 * meta.json is missing, unreadable or damaged but which holds stream files is still listed,
 * from what its streams say, and marked damaged; a folder that is not a run at all is
 * reported by path; the others are listed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeHeader, FILES, FORMAT_VERSION, HEADER_BYTES, KIND, META_FORMAT, STREAMS, type RunMeta, type StoreProblem } from './format';
import { closeQuietly, errorCode, openRead, readOptions, unreadableMessage } from './io';
import { readMeta } from './reader';
import { scalarRecord } from './records';

/** One run folder as listed. */
export interface RunListing {
  id: string;
  dir: string;
  /** meta.json; when it is damaged (see `damaged`), what could be recovered of it or made up from the streams. */
  meta: RunMeta;
  /**
   * meta.json is missing, unreadable, malformed or fails its checksum, yet the folder holds
   * stream files: `meta` is then what survives of meta.json (without its counts) or, when
   * nothing does, a stand-in (name = the folder's, status 'failed', times from the files).
   */
  damaged?: StoreProblem;
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
  /** Stream files that cannot be read or whose header is invalid, and a meta.json that disagrees with them. */
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
  const m = readMeta(metaFile);
  const problems: StoreProblem[] = [];
  let estimate = 0;
  let scalarsWidth: number | undefined;
  let streams = 0;
  let version = FORMAT_VERSION;
  const times: number[] = [];
  const { fs: sfs } = readOptions();
  for (const name of STREAMS) {
    const file = path.join(dir, FILES[name]);
    let head: Uint8Array;
    let size: number;
    try {
      const fd = openRead(file);
      try {
        const st = sfs.fstatSync(fd);
        if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
        size = st.size;
        head = new Uint8Array(HEADER_BYTES);
        head = head.subarray(0, sfs.readSync(fd, head, 0, HEADER_BYTES, 0));
      } finally {
        closeQuietly(fd);
      }
      streams++;
      try {
        times.push(sfs.statSync(file).mtimeMs);
      } catch {
        // only for a damaged meta.json's stand-in times
      }
    } catch (e) {
      if (errorCode(e) === 'ENOENT') continue; // absent: no records in that stream
      streams++;
      problems.push({ file, kind: 'unreadable', message: unreadableMessage(FILES[name], e) });
      continue;
    }
    if (head.length < HEADER_BYTES && m.meta?.endedAt === undefined) continue; // being created
    const h = decodeHeader(head, KIND[name]);
    if ('error' in h) {
      problems.push({ file, offset: 0, kind: head.length < HEADER_BYTES ? 'torn' : 'corrupt', message: h.error });
      continue;
    }
    if (name === 'scalars') {
      scalarsWidth = h.width;
      version = h.version;
      estimate = Math.floor((size - HEADER_BYTES) / (scalarRecord.bytes(h.width) + 8));
    }
  }
  let meta = m.meta;
  if (m.problem !== undefined) {
    const p = m.problem;
    if (streams === 0) {
      // Nothing to list: not a run (or one not yet started).
      if (p.kind === 'missing') return { problem: { file: dir, kind: 'missing', message: 'not a run: no meta.json' } };
      return { problem: { ...p, message: `not a run: ${p.message}` } };
    }
    if (meta === undefined) {
      const t0 = times.length > 0 ? Math.min(...times) : 0;
      const t1 = times.length > 0 ? Math.max(...times) : 0;
      meta = {
        format: META_FORMAT,
        formatVersion: version,
        id: path.basename(dir),
        name: path.basename(dir),
        startedAt: new Date(t0).toISOString(),
        endedAt: new Date(t1).toISOString(),
        status: 'failed',
        statusReason: `${p.message}; the run is listed from its stream files`,
      };
    }
  }
  if (meta === undefined) return { problem: { file: metaFile, kind: 'invalid', message: 'not a run' } };
  const groups = meta.info?.groups.length;
  if (groups !== undefined && scalarsWidth !== undefined && groups !== scalarsWidth) {
    problems.push({ file: metaFile, kind: 'invalid', message: `meta.json names ${groups} parameter groups, but scalars.bin's records have ${scalarsWidth}: the group names do not belong to these numbers` });
  }
  const ended = meta.endedAt !== undefined;
  const run: RunListing = { id: path.basename(dir), dir, meta, steps: meta.counts?.steps ?? estimate, ended, problems };
  if (m.problem) run.damaged = m.problem;
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
