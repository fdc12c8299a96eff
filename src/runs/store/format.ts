/**
 * The run store's on-disk format: file names, the file header, the record framing, and the
 * metadata document (records.ts has each record kind's payload). docs/run-format.md describes
 * the same bytes for readers in other languages; scripts/read_run.py is a reader in standard Python.
 *
 * A run is a folder:
 *   meta.json      RunMeta below, with a checksum; replaced atomically (temp file + rename)
 *   config.json    the run config (JSON), replaced atomically
 *   scalars.bin    one record per step                      (kind SCAL, width G)
 *   evals.bin      one record per evaluation                (kind EVAL)
 *   identity.bin   one record per step with Lu identity     (kind IDEN, width K)
 *   attention.bin  one record per captured attention frame  (kind ATTN)
 *   attention.idx  one record per frame: step → offset      (kind AIDX; rebuildable from attention.bin)
 *   measures.bin   one record per step with measurement samples (kind MEAS; version 2)
 *   events.bin     one record per measurement event         (kind EVNT; version 2)
 * A stream with no records yet may have no file.
 *
 * Every .bin/.idx file: a 16-byte header, then records, all little-endian:
 *   header  0 'ALRS'  4 kind (4 ASCII)  8 u16 version  10 u16 width  12 u32 crc32(bytes 0..11)
 *   record  0 u32 n   4 payload (n bytes, n a multiple of 4)   4+n u32 crc32(bytes 0..4+n)
 * The record CRC covers the length field and the payload, so it is one zlib.crc32 call over
 * contiguous bytes. Records are written whole and only appended, so a file cut anywhere holds
 * a prefix of complete records followed by at most one torn record; a damaged record in the
 * middle is skipped and reported, and reading goes on at the next record that checks.
 */
import type { RunInfo, RunStatus, RunSummaryData } from '../../protocol/messages';
import { crc32 } from './crc32';

/** Version 2 added measures.bin, events.bin and meta.json's checksum; version 1 folders still read. */
export const FORMAT_VERSION = 2;
/** Oldest format version this reader reads. */
export const OLDEST_FORMAT_VERSION = 1;
/** The default run folder root, relative to the workspace folder. */
export const DEFAULT_RUNS_DIR = '.attention-lens/runs';

export const FILES = {
  meta: 'meta.json',
  config: 'config.json',
  scalars: 'scalars.bin',
  evals: 'evals.bin',
  identity: 'identity.bin',
  attention: 'attention.bin',
  attentionIndex: 'attention.idx',
  measures: 'measures.bin',
  events: 'events.bin',
} as const;

export type StreamName = 'scalars' | 'evals' | 'identity' | 'attention' | 'attentionIndex' | 'measures' | 'events';
/** Every stream, in the order a flush writes them (attention.bin before its index). */
export const STREAMS: readonly StreamName[] = ['scalars', 'evals', 'identity', 'attention', 'attentionIndex', 'measures', 'events'];

/** The 4-byte kind tag in each stream's header. */
export const KIND: Record<StreamName, string> = {
  scalars: 'SCAL',
  evals: 'EVAL',
  identity: 'IDEN',
  attention: 'ATTN',
  attentionIndex: 'AIDX',
  measures: 'MEAS',
  events: 'EVNT',
};

export const MAGIC = 'ALRS';
export const HEADER_BYTES = 16;
/** Length field + CRC around every payload. */
export const FRAME_BYTES = 8;
/** Larger payloads are treated as a corrupt length field. */
export const MAX_PAYLOAD_BYTES = 1 << 30;

/**
 * The temporary file a JSON file is written to before it is renamed over the old one:
 * `.meta.json.<pid>.tmp`. The writer's pid in its name tells a live writer's temp file (its
 * next replacement, or the space kept for it) from one a killed writer left behind.
 */
export function tempFileName(jsonFile: string, pid = process.pid): string {
  return `.${jsonFile}.${pid}.tmp`;
}

/** The JSON file and writer pid of an Attention Lens temp file name (`tempFileName`), else undefined. */
export function parseTempFileName(name: string): { file: string; pid: number } | undefined {
  const m = /^\.(meta\.json|config\.json)\.([0-9]{1,10})\.tmp$/.exec(name);
  return m ? { file: m[1]!, pid: Number(m[2]) } : undefined;
}

// ─── header and framing ──────────────────────────────────────────────────────────────

function putAscii(b: Uint8Array, o: number, text: string): void {
  for (let i = 0; i < text.length; i++) b[o + i] = text.charCodeAt(i) & 0xff;
}

function getAscii(b: Uint8Array, o: number, n: number): string {
  return String.fromCharCode(...b.subarray(o, o + n));
}

/** The 16-byte header of a stream of `kind` whose records have `width` (G, K or 0). */
export function encodeHeader(kind: string, width: number): Uint8Array {
  const b = new Uint8Array(HEADER_BYTES);
  const dv = new DataView(b.buffer);
  putAscii(b, 0, MAGIC);
  putAscii(b, 4, kind);
  dv.setUint16(8, FORMAT_VERSION, true);
  dv.setUint16(10, width, true);
  dv.setUint32(12, crc32(b, 0, 12), true);
  return b;
}

/** The header's width and version, or a reason it is not a valid header of `kind`. */
export function decodeHeader(b: Uint8Array, kind: string): { width: number; version: number } | { error: string } {
  if (b.length < HEADER_BYTES) return { error: `header is ${b.length} of ${HEADER_BYTES} bytes` };
  const dv = new DataView(b.buffer, b.byteOffset, HEADER_BYTES);
  if (getAscii(b, 0, 4) !== MAGIC) return { error: 'not an Attention Lens run file (bad magic)' };
  if (dv.getUint32(12, true) !== crc32(b, 0, 12)) return { error: 'header checksum mismatch' };
  const k = getAscii(b, 4, 4);
  if (k !== kind) return { error: `holds a ${JSON.stringify(k)} stream, expected ${JSON.stringify(kind)}` };
  const v = dv.getUint16(8, true);
  if (v < OLDEST_FORMAT_VERSION || v > FORMAT_VERSION) return { error: `format version ${v}, this reader knows ${OLDEST_FORMAT_VERSION}–${FORMAT_VERSION}` };
  return { width: dv.getUint16(10, true), version: v };
}

// ─── metadata ────────────────────────────────────────────────────────────────────────

export const META_FORMAT = 'attention-lens-run';

/** Records in each stream. */
export interface StreamCounts {
  steps: number;
  evals: number;
  identity: number;
  attention: number;
  /** measures.bin records (steps with samples); absent in version-1 folders. */
  measures?: number;
  /** events.bin records; absent in version-1 folders. */
  events?: number;
}

/** meta.json. */
export interface RunMeta {
  format: typeof META_FORMAT;
  formatVersion: number;
  /** The run folder's name. */
  id: string;
  name: string;
  /** The preset the run was launched from, if any. */
  preset?: string;
  /** The config file the run was launched from (as given), if any. */
  configFile?: string;
  seed?: number;
  /** Who wrote the run, e.g. 'vscode' or 'cli'. */
  source?: string;
  /** ISO 8601. */
  startedAt: string;
  /** ISO 8601; present once the writer closed the run. */
  endedAt?: string;
  /** 'running' (or 'starting') until the writer closes; a killed writer leaves it so. */
  status: RunStatus;
  statusReason?: string;
  /** The workspace's git commit when the run started, when it is a git work tree. */
  git?: { commit: string; branch?: string };
  /** What the trainer reported at start, without the config (that is config.json). */
  info?: Omit<RunInfo, 'config'>;
  summary?: RunSummaryData;
  /** Records in each stream when the writer closed; readers report a shortfall as a tear. */
  counts?: StreamCounts;
  /** The writing process, to tell a live run from a killed one (best effort: pids are reused). */
  writer?: { pid: number; hostname: string };
  /** A free-text note the user attached to the run (editable at any time). */
  note?: string;
  /** crc32 (8 hex digits) of the document's canonical JSON without this field (metaChecksum); absent in version-1 folders. */
  checksum?: string;
}

const STATUSES: readonly string[] = ['starting', 'running', 'paused', 'completed', 'stopped', 'failed'];

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** Why `v` is not a RunMeta this reader understands; undefined when it is one. */
export function metaProblem(v: unknown): string | undefined {
  if (!isObj(v)) return 'is not a JSON object';
  if (v['format'] !== META_FORMAT) return `format is ${JSON.stringify(v['format'])}, expected "${META_FORMAT}"`;
  const fv = v['formatVersion'];
  if (typeof fv !== 'number' || !Number.isInteger(fv) || fv < OLDEST_FORMAT_VERSION || fv > FORMAT_VERSION) return `formatVersion ${JSON.stringify(fv)}, this reader knows ${OLDEST_FORMAT_VERSION}–${FORMAT_VERSION}`;
  if (typeof v['id'] !== 'string' || typeof v['name'] !== 'string') return 'id or name is not a string';
  if (typeof v['startedAt'] !== 'string') return 'startedAt is not a string';
  if (typeof v['status'] !== 'string' || !STATUSES.includes(v['status'])) return `status ${JSON.stringify(v['status'])} is not a run status`;
  if (v['endedAt'] !== undefined && typeof v['endedAt'] !== 'string') return 'endedAt is not a string';
  if (v['note'] !== undefined && typeof v['note'] !== 'string') return 'note is not a string';
  const info = v['info'];
  if (info !== undefined && (!isObj(info) || !Array.isArray(info['groups']) || !info['groups'].every((g) => typeof g === 'string'))) return 'info.groups is not a list of names';
  const c = v['counts'];
  if (c !== undefined && (!isObj(c) || !isCount(c['steps']) || !isCount(c['evals']) || !isCount(c['identity']) || !isCount(c['attention']) || (c['measures'] !== undefined && !isCount(c['measures'])) || (c['events'] !== undefined && !isCount(c['events'])))) return 'counts is malformed';
  if (v['checksum'] !== undefined && (typeof v['checksum'] !== 'string' || !/^[0-9a-f]{8}$/.test(v['checksum']))) return 'checksum is not 8 hex digits';
  if (info !== undefined && isObj(info) && info['measures'] !== undefined && !Array.isArray(info['measures'])) return 'info.measures is not a list';
  return undefined;
}

/**
 * The checksum meta.json carries: crc32, as 8 lowercase hex digits, of the UTF-8 bytes of the
 * document's canonical JSON — `JSON.stringify` of it without its `checksum` member: no
 * whitespace, members in the file's order, numbers in their shortest round-trip form.
 */
export function metaChecksum(doc: Record<string, unknown>): string {
  const { checksum: _omit, ...rest } = doc;
  return crc32(new TextEncoder().encode(JSON.stringify(rest))).toString(16).padStart(8, '0');
}

/** `meta` with its checksum, as the last member (what the writer puts in meta.json). */
export function sealMeta(meta: RunMeta): RunMeta {
  const { checksum: _old, ...rest } = meta;
  // Round trip first so the checksum is of exactly what a reader will parse (undefined members dropped).
  const plain = JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
  return { ...(plain as unknown as RunMeta), checksum: metaChecksum(plain) };
}

/**
 * Whether a parsed meta.json's checksum holds: 'ok'; 'absent' (a version-1 document: accepted);
 * 'missing' (a version-2 document without one: damaged, since every version-2 writer seals it); 'mismatch'.
 */
export function checkMetaChecksum(doc: Record<string, unknown>): 'ok' | 'absent' | 'missing' | 'mismatch' {
  const c = doc['checksum'];
  if (c === undefined) return typeof doc['formatVersion'] === 'number' && doc['formatVersion'] >= 2 ? 'missing' : 'absent';
  return c === metaChecksum(doc) ? 'ok' : 'mismatch';
}

// ─── problems ────────────────────────────────────────────────────────────────────────

/**
 * Something wrong found while reading: `torn` = a file ends inside a record (or has fewer
 * records than meta.json counts); `corrupt` = a checksum, length, header or record order is
 * wrong; `invalid` = a JSON file is unreadable or malformed, or disagrees with the streams;
 * `missing` = a required file is absent; `unreadable` = a file exists but cannot be read (no
 * permission, a directory). A damaged record in the middle of a stream is skipped: bytes
 * [offset, end) were not loaded, the records around them were.
 */
export interface StoreProblem {
  /** Absolute path of the file (or run folder). */
  file: string;
  /** Byte offset in the file where the damage starts (absent for whole-file problems). */
  offset?: number;
  /** Where reading went on after skipped damage (the file's size when nothing after it was readable). */
  end?: number;
  /** The step of the last record read before the damage, and of the first read after it: what was lost lies strictly between. */
  stepBefore?: number;
  stepAfter?: number;
  kind: 'torn' | 'corrupt' | 'invalid' | 'missing' | 'unreadable';
  message: string;
}

/** A failed read of one record on demand (readAttention). */
export class StoreError extends Error {
  constructor(
    readonly problem: StoreProblem,
  ) {
    super(`${problem.file}${problem.offset !== undefined ? ` @${problem.offset}` : ''}: ${problem.message}`);
    this.name = 'StoreError';
  }
}
