/**
 * The runs root (default `.attention-lens/runs` in the workspace): naming and creating run
 * folders, and listing them. Listing reads each folder's meta.json and the 16-byte headers of
 * its stream files, never the records, so it stays fast with many long runs. A folder whose
 * meta.json is missing, unreadable or damaged but which holds stream files is still listed,
 * from what its streams say, and marked damaged; a folder that is not a run at all is
 * reported by path; the others are listed.
 *
 * A writer killed (or out of disk space) while it starts a run leaves a folder with nothing
 * in it but, perhaps, a temp file of its own (`.meta.json.<pid>.tmp`, format.ts): listing
 * removes the temp files of writers that no longer exist, in every folder, and lists such a
 * folder once, as an empty run (`empty`, status 'failed', damaged) that can be deleted.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeHeader, FILES, FORMAT_VERSION, HEADER_BYTES, KIND, META_FORMAT, parseTempFileName, STREAMS, type RunMeta, type StoreProblem } from './format';
import { closeQuietly, errorCode, errorText, openRead, readOptions, unreadableMessage } from './io';
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
  /**
   * The folder holds no run yet: nothing, or only what a writer leaves while it starts one
   * (config.json, its temp files). With `writerAlive` true a writer is starting it now;
   * otherwise it ended before it wrote meta.json, and the folder is listed (status 'failed',
   * `damaged`) so that it can be deleted.
   */
  empty?: true;
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

/** A temp file older than this whose writer seems alive belongs to another process that reused the pid. */
const STALE_TEMP_MS = 10 * 60 * 1000;

/**
 * The folder's entries, after removing the temp files (`.meta.json.<pid>.tmp`…) of writers
 * that no longer exist on this machine. Leaves them alone in a folder whose meta.json names a
 * writer on another machine. `liveWriter` is the pid of a temp file whose writer exists.
 */
function sweepTempFiles(dir: string, meta: RunMeta | undefined): { names: string[]; liveWriter?: number } | { error: unknown } {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    return { error: e };
  }
  const host = os.hostname();
  if (meta?.writer && meta.writer.hostname !== host) return { names };
  const left: string[] = [];
  let liveWriter: number | undefined;
  for (const name of names) {
    const t = parseTempFileName(name);
    if (t === undefined) {
      left.push(name);
      continue;
    }
    let stale = !processAlive(t.pid);
    if (!stale && meta === undefined) {
      // No meta.json, and a temp file a starting writer would have renamed long ago.
      try {
        stale = Date.now() - fs.statSync(path.join(dir, name)).mtimeMs > STALE_TEMP_MS;
      } catch {
        stale = true;
      }
    }
    if (stale) {
      try {
        fs.unlinkSync(path.join(dir, name));
        continue;
      } catch (e) {
        if (errorCode(e) === 'ENOENT') continue;
        // read-only, say: it stays, harmless
      }
    }
    if (!stale) liveWriter = t.pid;
    left.push(name);
  }
  return liveWriter === undefined ? { names: left } : { names: left, liveWriter };
}

/** A folder with nothing of a run in it (see RunListing.empty), listed so that it can be deleted. */
function emptyRun(dir: string, liveWriter: number | undefined): RunListing {
  let t = 0;
  try {
    t = fs.statSync(dir).mtimeMs;
  } catch {
    // a date of 1970 says it well enough
  }
  const at = new Date(t).toISOString();
  const id = path.basename(dir);
  const meta: RunMeta = { format: META_FORMAT, formatVersion: FORMAT_VERSION, id, name: id, startedAt: at, status: 'failed' };
  if (liveWriter !== undefined) {
    meta.status = 'starting';
    meta.writer = { pid: liveWriter, hostname: os.hostname() };
    return { id, dir, meta, steps: 0, ended: false, writerAlive: true, problems: [], empty: true };
  }
  meta.endedAt = at;
  meta.statusReason = 'nothing was recorded: the run ended while it was starting (killed, or no space left on the disk), before it wrote meta.json; the folder can be deleted';
  const damaged: StoreProblem = { file: path.join(dir, FILES.meta), kind: 'missing', message: 'an empty run folder: meta.json was never written (the run ended while it was starting)' };
  return { id, dir, meta, damaged, steps: 0, ended: true, problems: [], empty: true };
}

/** What a writer leaves in a folder before its meta.json: config.json (writers before meta-first did) and temp files. */
function onlyStartingFiles(names: string[]): boolean {
  return names.every((n) => n === FILES.config || parseTempFileName(n) !== undefined);
}

/**
 * Reads one run folder's meta.json and stream headers (and removes temp files its writer left
 * behind, if that writer no longer exists).
 */
export function listRun(dir: string): { run: RunListing } | { problem: StoreProblem } {
  dir = path.resolve(dir);
  const metaFile = path.join(dir, FILES.meta);
  const m = readMeta(metaFile);
  const swept = sweepTempFiles(dir, m.meta);
  if ('error' in swept) {
    const e = swept.error;
    if (errorCode(e) === 'ENOENT') return { problem: { file: dir, kind: 'missing', message: 'not a run: no such folder' } };
    return { problem: { file: dir, kind: 'unreadable', message: `not a run: the folder cannot be read (${errorText(e)})` } };
  }
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
      // A run that ended (or is being written) before it had a meta.json, else not a run.
      if (p.kind === 'missing' && onlyStartingFiles(swept.names)) return { run: emptyRun(dir, swept.liveWriter) };
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
