/**
 * The run store's on-disk format: file names, the file header, the record framing, each
 * stream's record layout, and the metadata document. docs/run-format.md describes the same
 * bytes for readers in other languages; scripts/read_run.py is a reader in standard Python.
 *
 * A run is a folder:
 *   meta.json      RunMeta below; replaced atomically (temp file + rename) at start and end
 *   config.json    the run config (JSON), replaced atomically
 *   scalars.bin    one record per step                      (kind SCAL, width G)
 *   evals.bin      one record per evaluation                (kind EVAL)
 *   identity.bin   one record per step with Lu identity     (kind IDEN, width K)
 *   attention.bin  one record per captured attention frame  (kind ATTN)
 *   attention.idx  one record per frame: step → offset      (kind AIDX; rebuildable from attention.bin)
 * A stream with no records yet may have no file.
 *
 * Every .bin/.idx file: a 16-byte header, then records, all little-endian:
 *   header  0 'ALRS'  4 kind (4 ASCII)  8 u16 version  10 u16 width  12 u32 crc32(bytes 0..11)
 *   record  0 u32 n   4 payload (n bytes, n a multiple of 4)   4+n u32 crc32(bytes 0..4+n)
 * The record CRC covers the length field and the payload, so it is one zlib.crc32 call over
 * contiguous bytes. Records are written whole and only appended, so a file cut anywhere holds
 * a prefix of complete records followed by at most one torn record.
 */
import type { EvalData, RunInfo, RunStatus, RunSummaryData } from '../../protocol/messages';
import { crc32 } from './crc32';

export const FORMAT_VERSION = 1;
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
} as const;

export type StreamName = 'scalars' | 'evals' | 'identity' | 'attention' | 'attentionIndex';

/** The 4-byte kind tag in each stream's header. */
export const KIND: Record<StreamName, string> = {
  scalars: 'SCAL',
  evals: 'EVAL',
  identity: 'IDEN',
  attention: 'ATTN',
  attentionIndex: 'AIDX',
};

export const MAGIC = 'ALRS';
export const HEADER_BYTES = 16;
/** Length field + CRC around every payload. */
export const FRAME_BYTES = 8;
/** Larger payloads are treated as a corrupt length field. */
export const MAX_PAYLOAD_BYTES = 1 << 30;

// ─── payload layouts (byte offsets within the payload) ──────────────────────────────

/**
 * scalars.bin payload, G = header width (parameter groups):
 *   0 u32 step   4 f64 loss   12 f32 trainAccuracy   16 f32 stepMs
 *   20 f32[G] gradNorms   20+4G f32[G] weightNorms
 * 20 + 8G bytes; 28 + 8G on disk with framing (60 B for G = 4). The epoch is not stored:
 * the trainer's is ceil(step / info.stepsPerEpoch).
 */
export function scalarPayloadBytes(groups: number): number {
  return 20 + 8 * groups;
}

/**
 * evals.bin payload (48 bytes):
 *   0 u32 step   4 u32 flags (bit 0: topicAttention present)
 *   8 f64 validationLoss   16 f64 validationAccuracy   24 f64 testLoss   32 f64 testAccuracy
 *   40 f64 topicAttention (NaN when absent)
 */
export const EVAL_PAYLOAD_BYTES = 48;

/**
 * identity.bin payload, K = header width (topic words, in the order of info.topicWords):
 *   0 u32 step   4 f32[K] score   4+4K f32[K] measured   4+8K f32[K] theory   4+12K f32[K] relError
 */
export function identityPayloadBytes(k: number): number {
  return 4 + 16 * k;
}

/**
 * attention.bin payload:
 *   0 u32 step   4 u32 P (probes)
 *   then per probe: u32 M (maps), then per map:
 *     u32 layer, u32 head, u32 stage (STAGES index), u32 rows, u32 cols, f32[rows·cols] data (row-major)
 */
export const STAGES = ['weights', 'logits', 'premix', 'mixed'] as const;

/**
 * attention.idx payload (16 bytes): 0 u32 step   4 u32 n (payload bytes of the frame's record)
 *   8 u64 offset of that record (its length field) in attention.bin.
 * One read of n + 8 bytes at `offset` gets the frame with its framing.
 */
export const INDEX_PAYLOAD_BYTES = 16;

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

/** The header's width, or a reason it is not a valid header of `kind`. */
export function decodeHeader(b: Uint8Array, kind: string): { width: number } | { error: string } {
  if (b.length < HEADER_BYTES) return { error: `header is ${b.length} of ${HEADER_BYTES} bytes` };
  const dv = new DataView(b.buffer, b.byteOffset, HEADER_BYTES);
  if (getAscii(b, 0, 4) !== MAGIC) return { error: 'not an Attention Lens run file (bad magic)' };
  if (dv.getUint32(12, true) !== crc32(b, 0, 12)) return { error: 'header checksum mismatch' };
  const k = getAscii(b, 4, 4);
  if (k !== kind) return { error: `holds a ${JSON.stringify(k)} stream, expected ${JSON.stringify(kind)}` };
  const v = dv.getUint16(8, true);
  if (v !== FORMAT_VERSION) return { error: `format version ${v}, this reader knows ${FORMAT_VERSION}` };
  return { width: dv.getUint16(10, true) };
}

// ─── metadata ────────────────────────────────────────────────────────────────────────

export const META_FORMAT = 'attention-lens-run';

/** Records in each stream. */
export interface StreamCounts {
  steps: number;
  evals: number;
  identity: number;
  attention: number;
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
  if (v['formatVersion'] !== FORMAT_VERSION) return `formatVersion ${JSON.stringify(v['formatVersion'])}, this reader knows ${FORMAT_VERSION}`;
  if (typeof v['id'] !== 'string' || typeof v['name'] !== 'string') return 'id or name is not a string';
  if (typeof v['startedAt'] !== 'string') return 'startedAt is not a string';
  if (typeof v['status'] !== 'string' || !STATUSES.includes(v['status'])) return `status ${JSON.stringify(v['status'])} is not a run status`;
  if (v['endedAt'] !== undefined && typeof v['endedAt'] !== 'string') return 'endedAt is not a string';
  if (v['note'] !== undefined && typeof v['note'] !== 'string') return 'note is not a string';
  const info = v['info'];
  if (info !== undefined && (!isObj(info) || !Array.isArray(info['groups']) || !info['groups'].every((g) => typeof g === 'string'))) return 'info.groups is not a list of names';
  const c = v['counts'];
  if (c !== undefined && (!isObj(c) || !isCount(c['steps']) || !isCount(c['evals']) || !isCount(c['identity']) || !isCount(c['attention']))) return 'counts is malformed';
  return undefined;
}

// ─── problems ────────────────────────────────────────────────────────────────────────

/**
 * Something wrong found while reading: `torn` = a file ends inside a record (or has fewer
 * records than meta.json counts); `corrupt` = a checksum, length or header is wrong;
 * `invalid` = a JSON file is unreadable or malformed; `missing` = a required file is absent.
 * Records before `offset` were loaded; nothing at or after it in that file was.
 */
export interface StoreProblem {
  /** Absolute path of the file (or run folder). */
  file: string;
  /** Byte offset in the file where reading stopped (absent for whole-file problems). */
  offset?: number;
  kind: 'torn' | 'corrupt' | 'invalid' | 'missing';
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

/** EvalData with presence of topicAttention encoded as the flag. */
export function evalFlags(e: EvalData): number {
  return e.topicAttention !== undefined ? 1 : 0;
}
