/**
 * Every record kind's payload: its size, its encoder and its decoder, side by side, so the
 * writer and the readers cannot disagree about a byte. Offsets are within the payload (after
 * the u32 length field; format.ts has the framing and docs/run-format.md the same tables).
 * Every payload starts with its u32 step. All little-endian; every size a multiple of 4.
 */
import type { AttentionFrame, AttentionMapData, EvalData, EvalPoint, IdentityData, JsonValue } from '../../protocol/messages';
import { isJson } from '../../protocol/measures';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `a` (any float array) as little-endian f32 at `o`. */
function putF32(dv: DataView, o: number, a: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) dv.setFloat32(o + 4 * i, a[i]!, true);
}

/** The step every payload starts with. */
export function recordStep(dv: DataView, p: number): number {
  return dv.getUint32(p, true);
}

// ─── decoded columns ─────────────────────────────────────────────────────────────────

/** Per-step scalars, columnar, at their stored precision. All columns have n rows. */
export interface StoredScalars {
  n: number;
  /** G, the parameter groups (meta.info.groups names them). */
  groups: number;
  /** (n) */
  step: Uint32Array;
  /** (n) */
  loss: Float64Array;
  /** (n) */
  trainAccuracy: Float32Array;
  /** (n) */
  stepMs: Float32Array;
  /** (n × G), row-major */
  gradNorms: Float32Array;
  /** (n × G), row-major */
  weightNorms: Float32Array;
}

/** Lu identity rows, columnar. */
export interface StoredIdentity {
  n: number;
  /** K, the topic words (meta.info.topicWords names them). */
  k: number;
  /** (n) */
  step: Uint32Array;
  /** (n × K) each, row-major */
  score: Float32Array;
  measured: Float32Array;
  theory: Float32Array;
  relError: Float32Array;
}

export function emptyScalars(groups: number, n = 0): StoredScalars {
  return { n, groups, step: new Uint32Array(n), loss: new Float64Array(n), trainAccuracy: new Float32Array(n), stepMs: new Float32Array(n), gradNorms: new Float32Array(n * groups), weightNorms: new Float32Array(n * groups) };
}

export function emptyIdentity(k: number, n = 0): StoredIdentity {
  return { n, k, step: new Uint32Array(n), score: new Float32Array(n * k), measured: new Float32Array(n * k), theory: new Float32Array(n * k), relError: new Float32Array(n * k) };
}

// ─── scalars.bin (SCAL, width G) ─────────────────────────────────────────────────────

/**
 * 0 u32 step   4 f64 loss   12 f32 trainAccuracy   16 f32 stepMs   20 f32[G] gradNorms
 * 20+4G f32[G] weightNorms: 20 + 8G bytes (28 + 8G framed: 60 B for G = 4). The epoch is not
 * stored: the trainer's is ceil(step / info.stepsPerEpoch).
 */
export const scalarRecord = {
  bytes: (g: number): number => 20 + 8 * g,
  encode(dv: DataView, p: number, d: { step: number; loss: number; trainAccuracy: number; stepMs: number; gradNorms: ArrayLike<number>; weightNorms: ArrayLike<number> }): void {
    const g = d.gradNorms.length;
    dv.setUint32(p, d.step, true);
    dv.setFloat64(p + 4, d.loss, true);
    dv.setFloat32(p + 12, d.trainAccuracy, true);
    dv.setFloat32(p + 16, d.stepMs, true);
    putF32(dv, p + 20, d.gradNorms);
    putF32(dv, p + 20 + 4 * g, d.weightNorms);
  },
  /** Decodes the payload at `p` into row `i` of `s` (which has room for it). */
  decodeInto(dv: DataView, p: number, s: StoredScalars, i: number): void {
    const g = s.groups;
    s.step[i] = dv.getUint32(p, true);
    s.loss[i] = dv.getFloat64(p + 4, true);
    s.trainAccuracy[i] = dv.getFloat32(p + 12, true);
    s.stepMs[i] = dv.getFloat32(p + 16, true);
    const w = p + 20 + 4 * g;
    for (let j = 0; j < g; j++) {
      s.gradNorms[i * g + j] = dv.getFloat32(p + 20 + 4 * j, true);
      s.weightNorms[i * g + j] = dv.getFloat32(w + 4 * j, true);
    }
  },
};

// ─── evals.bin (EVAL, width 0) ───────────────────────────────────────────────────────

/**
 * 0 u32 step   4 u32 flags (bit 0: topicAttention present)   8 f64 validationLoss
 * 16 f64 validationAccuracy   24 f64 testLoss   32 f64 testAccuracy   40 f64 topicAttention (NaN when absent): 48 bytes.
 */
export const evalRecord = {
  bytes: (): number => 48,
  encode(dv: DataView, p: number, step: number, e: EvalData): void {
    dv.setUint32(p, step, true);
    dv.setUint32(p + 4, e.topicAttention !== undefined ? 1 : 0, true);
    dv.setFloat64(p + 8, e.validationLoss, true);
    dv.setFloat64(p + 16, e.validationAccuracy, true);
    dv.setFloat64(p + 24, e.testLoss, true);
    dv.setFloat64(p + 32, e.testAccuracy, true);
    dv.setFloat64(p + 40, e.topicAttention ?? NaN, true);
  },
  decode(dv: DataView, p: number): EvalPoint {
    const e: EvalPoint = {
      step: dv.getUint32(p, true),
      validationLoss: dv.getFloat64(p + 8, true),
      validationAccuracy: dv.getFloat64(p + 16, true),
      testLoss: dv.getFloat64(p + 24, true),
      testAccuracy: dv.getFloat64(p + 32, true),
    };
    if (dv.getUint32(p + 4, true) & 1) e.topicAttention = dv.getFloat64(p + 40, true);
    return e;
  },
};

// ─── identity.bin (IDEN, width K) ────────────────────────────────────────────────────

/** 0 u32 step   4 f32[K] score   4+4K f32[K] measured   4+8K f32[K] theory   4+12K f32[K] relError: 4 + 16K bytes. */
export const identityRecord = {
  bytes: (k: number): number => 4 + 16 * k,
  encode(dv: DataView, p: number, step: number, id: IdentityData): void {
    const k = id.score.length;
    dv.setUint32(p, step, true);
    putF32(dv, p + 4, id.score);
    putF32(dv, p + 4 + 4 * k, id.measured);
    putF32(dv, p + 4 + 8 * k, id.theory);
    putF32(dv, p + 4 + 12 * k, id.relError);
  },
  decodeInto(dv: DataView, p: number, s: StoredIdentity, i: number): void {
    const k = s.k;
    s.step[i] = dv.getUint32(p, true);
    const cols = [s.score, s.measured, s.theory, s.relError];
    for (let c = 0; c < 4; c++) {
      const col = cols[c]!;
      const base = p + 4 + 4 * k * c;
      for (let j = 0; j < k; j++) col[i * k + j] = dv.getFloat32(base + 4 * j, true);
    }
  },
};

// ─── attention.bin (ATTN, width 0) ───────────────────────────────────────────────────

export const STAGES = ['weights', 'logits', 'premix', 'mixed'] as const;

/**
 * 0 u32 step   4 u32 P (probes), then per probe: u32 M (maps), then per map: u32 layer,
 * u32 head, u32 stage (STAGES index), u32 rows, u32 cols, f32[rows·cols] data (row-major).
 */
export const attentionRecord = {
  /** The payload size of a frame; throws a message when a map is malformed. */
  bytes(step: number, probes: AttentionMapData[][]): number {
    let n = 8;
    for (const maps of probes) {
      n += 4;
      for (const m of maps) {
        if (m.data.length !== m.rows * m.cols) throw new Error(`attention at step ${step}: a ${m.rows}×${m.cols} map has ${m.data.length} values`);
        if (!STAGES.includes(m.stage)) throw new Error(`attention at step ${step}: unknown stage ${String(m.stage)}`);
        n += 20 + 4 * m.data.length;
      }
    }
    return n;
  },
  encode(b: Uint8Array, dv: DataView, p: number, step: number, probes: AttentionMapData[][]): void {
    let o = p;
    dv.setUint32(o, step, true);
    dv.setUint32(o + 4, probes.length, true);
    o += 8;
    for (const maps of probes) {
      dv.setUint32(o, maps.length, true);
      o += 4;
      for (const m of maps) {
        dv.setUint32(o, m.layer, true);
        dv.setUint32(o + 4, m.head, true);
        dv.setUint32(o + 8, STAGES.indexOf(m.stage), true);
        dv.setUint32(o + 12, m.rows, true);
        dv.setUint32(o + 16, m.cols, true);
        o += 20;
        if (LITTLE_ENDIAN) b.set(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength), o);
        else putF32(dv, o, m.data);
        o += 4 * m.data.length;
      }
    }
  },
  /** Decodes a checksummed payload of n bytes at `p`; throws a message on malformed contents. Each map owns its buffer. */
  decode(buf: Uint8Array, p: number, n: number): AttentionFrame {
    const end = p + n;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const u32 = (o: number): number => {
      if (o + 4 > end) throw new Error('frame contents run past the record');
      return dv.getUint32(o, true);
    };
    const step = u32(p);
    const nProbes = u32(p + 4);
    let o = p + 8;
    const probes: AttentionMapData[][] = [];
    for (let i = 0; i < nProbes; i++) {
      const nMaps = u32(o);
      o += 4;
      const maps: AttentionMapData[] = [];
      for (let j = 0; j < nMaps; j++) {
        const stage = STAGES[u32(o + 8)];
        if (stage === undefined) throw new Error(`unknown stage code ${u32(o + 8)}`);
        const rows = u32(o + 12);
        const cols = u32(o + 16);
        const layer = u32(o);
        const head = u32(o + 4);
        o += 20;
        const bytes = 4 * rows * cols;
        if (o + bytes > end) throw new Error('frame contents run past the record');
        let data: Float32Array;
        if (LITTLE_ENDIAN) data = new Float32Array(buf.buffer.slice(buf.byteOffset + o, buf.byteOffset + o + bytes));
        else {
          data = new Float32Array(rows * cols);
          for (let q = 0; q < data.length; q++) data[q] = dv.getFloat32(o + 4 * q, true);
        }
        o += bytes;
        maps.push({ layer, head, stage, rows, cols, data });
      }
      probes.push(maps);
    }
    if (o !== end) throw new Error(`frame contents end at ${o - p} of ${n} bytes`);
    return { step, probes };
  },
};

// ─── attention.idx (AIDX, width 0) ───────────────────────────────────────────────────

/**
 * 0 u32 step   4 u32 n (payload bytes of the frame's record)   8 u64 offset of that record (its
 * length field) in attention.bin: 16 bytes. One read of n + 8 bytes at `offset` gets the frame.
 */
export const indexRecord = {
  bytes: (): number => 16,
  encode(dv: DataView, p: number, e: { step: number; n: number; offset: number }): void {
    dv.setUint32(p, e.step, true);
    dv.setUint32(p + 4, e.n, true);
    dv.setBigUint64(p + 8, BigInt(e.offset), true);
  },
  decode(dv: DataView, p: number): { step: number; n: number; offset: number } {
    return { step: dv.getUint32(p, true), n: dv.getUint32(p + 4, true), offset: Number(dv.getBigUint64(p + 8, true)) };
  },
};

// ─── measures.bin (MEAS, width 0; format version 2) ──────────────────────────────────

/** One stored sample: the measurement's index in info.measures and its values. */
export interface IndexedSample {
  index: number;
  values: ArrayLike<number>;
}

/**
 * One record per step with samples: 0 u32 step   4 u32 C (samples), then per sample: u32 index
 * (the measurement's position in info.measures), u32 n (values), f64[n] values: 8 + Σ(8 + 8n) bytes.
 */
export const measuresRecord = {
  bytes(samples: readonly IndexedSample[]): number {
    let n = 8;
    for (const s of samples) n += 8 + 8 * s.values.length;
    return n;
  },
  encode(dv: DataView, p: number, step: number, samples: readonly IndexedSample[]): void {
    dv.setUint32(p, step, true);
    dv.setUint32(p + 4, samples.length, true);
    let o = p + 8;
    for (const s of samples) {
      dv.setUint32(o, s.index, true);
      dv.setUint32(o + 4, s.values.length, true);
      o += 8;
      for (let i = 0; i < s.values.length; i++, o += 8) dv.setFloat64(o, s.values[i]!, true);
    }
  },
  /** Decodes a checksummed payload of n bytes at `p`; throws a message on malformed contents. */
  decode(dv: DataView, p: number, n: number): { step: number; samples: { index: number; values: Float64Array }[] } {
    const end = p + n;
    if (n < 8) throw new Error(`a measures record of ${n} bytes`);
    const step = dv.getUint32(p, true);
    const count = dv.getUint32(p + 4, true);
    const samples: { index: number; values: Float64Array }[] = [];
    let o = p + 8;
    for (let c = 0; c < count; c++) {
      if (o + 8 > end) throw new Error(`sample ${c} of ${count} runs past the record`);
      const index = dv.getUint32(o, true);
      const len = dv.getUint32(o + 4, true);
      o += 8;
      if (len > (end - o) / 8) throw new Error(`sample ${c} of ${count} runs past the record`);
      const values = new Float64Array(len);
      for (let i = 0; i < len; i++, o += 8) values[i] = dv.getFloat64(o, true);
      samples.push({ index, values });
    }
    if (o !== end) throw new Error(`measures record contents end at ${o - p} of ${n} bytes`);
    return { step, samples };
  },
};

// ─── events.bin (EVNT, width 0; format version 2) ────────────────────────────────────

/** Most events one step may record (their number at the step is a u16 in the order key). */
export const MAX_EVENTS_PER_STEP = 0xffff;

/**
 * One record per event: 0 u32 step   4 u32 seq (the event's number among those of its step:
 * 0, 1, …; with the step it orders the stream strictly, so a repeated record shows)   8 u32 index
 * (the event's position in info.measures)   12 u32 L   16 L bytes of UTF-8 JSON
 * {"text": …, "payload": …} (payload absent when none), then zero bytes to a multiple of 4.
 */
export const eventRecord = {
  /** The JSON bytes of an event's text and payload. */
  body(text: string, payload: JsonValue | undefined): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(payload === undefined ? { text } : { text, payload }));
  },
  bytes: (body: Uint8Array): number => 16 + Math.ceil(body.length / 4) * 4,
  /** Strictly increasing along the stream: step, then seq. */
  key: (dv: DataView, p: number): number => dv.getUint32(p, true) * 0x10000 + Math.min(dv.getUint32(p + 4, true), 0xffff),
  encode(b: Uint8Array, dv: DataView, p: number, step: number, seq: number, index: number, body: Uint8Array): void {
    dv.setUint32(p, step, true);
    dv.setUint32(p + 4, seq, true);
    dv.setUint32(p + 8, index, true);
    dv.setUint32(p + 12, body.length, true);
    b.set(body, p + 16);
    b.fill(0, p + 16 + body.length, p + 16 + Math.ceil(body.length / 4) * 4);
  },
  /** Decodes a checksummed payload of n bytes at `p`; throws a message on malformed contents. */
  decode(buf: Uint8Array, dv: DataView, p: number, n: number): { step: number; seq: number; index: number; text: string; payload?: JsonValue } {
    if (n < 16) throw new Error(`an event record of ${n} bytes`);
    const step = dv.getUint32(p, true);
    const seq = dv.getUint32(p + 4, true);
    const index = dv.getUint32(p + 8, true);
    const len = dv.getUint32(p + 12, true);
    if (len > n - 16 || Math.ceil(len / 4) * 4 !== n - 16) throw new Error(`event text of ${len} bytes in a record of ${n}`);
    let v: unknown;
    try {
      v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(p + 16, p + 16 + len)));
    } catch (e) {
      throw new Error(`event of step ${step}: unreadable JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    const o = v as { text?: unknown; payload?: unknown } | null;
    if (typeof o !== 'object' || o === null || typeof o.text !== 'string') throw new Error(`event of step ${step}: no text`);
    if (o.payload !== undefined && !isJson(o.payload)) throw new Error(`event of step ${step}: payload is not JSON data`);
    const out: { step: number; seq: number; index: number; text: string; payload?: JsonValue } = { step, seq, index, text: o.text };
    if (o.payload !== undefined) out.payload = o.payload as JsonValue;
    return out;
  },
};
