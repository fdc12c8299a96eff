/**
 * The frame codec of the channel to a trainer that is not a Node process (the PyTorch helper,
 * python/attention_lens/frames.py, which has the same layout): the protocol's messages as
 * frames on a byte stream, JSON plus the raw bytes of their typed arrays, so a Float64Array or
 * Float32Array arrives as one and every decoded message then goes through the same guards as
 * a message from the built-in trainer. Platform-neutral: bytes in, `unknown` values out.
 *
 * A frame (all integers little-endian):
 *
 *   offset  size  field
 *   0       4     magic 'ALF1'
 *   4       4     u32 J, the JSON text's length in bytes
 *   8       4     u32 B, the binary section's length in bytes (a multiple of 8)
 *   12      J     the message as UTF-8 JSON
 *   12 + J  pad   zero bytes up to a multiple of 8 (P = 12 + J rounded up)
 *   P       B     the binary section: each array's bytes, each at a multiple of 8 within it
 *
 * In the JSON a typed array is `{"$f64": [offset, count]}` or `{"$f32": [offset, count]}`
 * (offset in bytes within the binary section, count in elements), a number JSON cannot write
 * is `{"$num": "NaN" | "Infinity" | "-Infinity"}`, and any other key that starts with `$` is
 * written with one more `$` in front (`$id` → `$$id`), so no user data reads as a placeholder.
 */

export const FRAME_MAGIC = 'ALF1';
export const FRAME_HEAD_BYTES = 12;
/** A frame larger than this is damage (a wrong length field), not data. */
export const MAX_FRAME_BYTES = 512 * 1024 * 1024;

/** Bytes on the channel that are not a valid frame; the stream cannot be resynchronised after one. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const tag = (v: unknown): string => Object.prototype.toString.call(v);
const pad8 = (n: number): number => (n + 7) & ~7;

// ─── UTF-8 (the protocol module has no TextEncoder: it imports nothing platform-specific) ─

/** UTF-8 bytes of `s` (a lone surrogate becomes U+FFFD, as TextEncoder does). */
export function utf8Encode(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 3);
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out[o++] = c;
    else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 63);
      out[o++] = 0x80 | (c & 63);
    } else {
      out[o++] = 0xf0 | (c >> 18);
      out[o++] = 0x80 | ((c >> 12) & 63);
      out[o++] = 0x80 | ((c >> 6) & 63);
      out[o++] = 0x80 | (c & 63);
    }
  }
  return out.slice(0, o);
}

/** The text of UTF-8 bytes; throws FrameError on a byte sequence that is not well-formed UTF-8. */
export function utf8Decode(b: Uint8Array): string {
  const parts: string[] = [];
  let units: number[] = [];
  for (let i = 0; i < b.length; ) {
    const x = b[i]!;
    let c: number;
    let n: number;
    if (x < 0x80) {
      c = x;
      n = 0;
    } else if (x >= 0xc2 && x < 0xe0) {
      c = x & 31;
      n = 1;
    } else if (x >= 0xe0 && x < 0xf0) {
      c = x & 15;
      n = 2;
    } else if (x >= 0xf0 && x < 0xf5) {
      c = x & 7;
      n = 3;
    } else throw new FrameError(`frame JSON is not UTF-8 (byte ${i})`);
    for (let k = 1; k <= n; k++) {
      const y = b[i + k];
      if (y === undefined || (y & 0xc0) !== 0x80) throw new FrameError(`frame JSON is not UTF-8 (byte ${i + k})`);
      c = (c << 6) | (y & 63);
    }
    if ((n === 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (n === 3 && (c < 0x10000 || c > 0x10ffff))) throw new FrameError(`frame JSON is not UTF-8 (byte ${i})`);
    if (c >= 0x10000) units.push(0xd800 + ((c - 0x10000) >> 10), 0xdc00 + ((c - 0x10000) & 1023));
    else units.push(c);
    i += n + 1;
    if (units.length >= 8192) {
      parts.push(String.fromCharCode(...units));
      units = [];
    }
  }
  parts.push(String.fromCharCode(...units));
  return parts.join('');
}

// ─── encoding ────────────────────────────────────────────────────────────────────────

/**
 * One frame holding `msg` (JSON data, Float64Array, Float32Array; members that are undefined
 * are left out, as JSON.stringify does). The host sends its commands this way.
 */
export function encodeFrame(msg: unknown): Uint8Array {
  const arrays: { bytes: Uint8Array; offset: number }[] = [];
  let size = 0;
  const prep = (v: unknown): unknown => {
    if (typeof v === 'number') return Number.isFinite(v) ? v : { $num: Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity' };
    if (v === null || typeof v !== 'object') return v;
    const t = tag(v);
    if (t === '[object Float64Array]' || t === '[object Float32Array]') {
      const a = v as Float64Array | Float32Array;
      const bytes = new Uint8Array(a.byteLength);
      if (LITTLE_ENDIAN) bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      else {
        const dv = new DataView(bytes.buffer);
        for (let i = 0; i < a.length; i++) {
          if (a instanceof Float64Array) dv.setFloat64(8 * i, a[i]!, true);
          else dv.setFloat32(4 * i, a[i]!, true);
        }
      }
      const offset = size;
      arrays.push({ bytes, offset });
      size = pad8(size + bytes.length);
      return { [t === '[object Float64Array]' ? '$f64' : '$f32']: [offset, a.length] };
    }
    if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : prep(x)));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x === undefined || typeof x === 'function') continue;
      Object.defineProperty(out, k.startsWith('$') ? `$${k}` : k, { value: prep(x), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  const text = utf8Encode(JSON.stringify(prep(msg)));
  const p = pad8(FRAME_HEAD_BYTES + text.length);
  const frame = new Uint8Array(p + size);
  const dv = new DataView(frame.buffer);
  for (let i = 0; i < 4; i++) frame[i] = FRAME_MAGIC.charCodeAt(i);
  dv.setUint32(4, text.length, true);
  dv.setUint32(8, size, true);
  frame.set(text, FRAME_HEAD_BYTES);
  for (const a of arrays) frame.set(a.bytes, p + a.offset);
  return frame;
}

// ─── decoding ────────────────────────────────────────────────────────────────────────

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value of one frame's JSON with its placeholders replaced from `bin`. */
function revive(text: string, bin: Uint8Array): unknown {
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const array = (kind: '$f64' | '$f32', ref: unknown): Float64Array | Float32Array => {
    if (!Array.isArray(ref) || ref.length !== 2 || !ref.every((x) => Number.isInteger(x) && x >= 0)) throw new FrameError(`bad ${kind} placeholder`);
    const [offset, count] = ref as [number, number];
    const width = kind === '$f64' ? 8 : 4;
    if (offset % 8 !== 0 || offset + count * width > bin.length) throw new FrameError(`${kind} placeholder [${offset}, ${count}] lies outside the binary section of ${bin.length} bytes`);
    // Always a copy: the arrays own their memory, whatever the frame's alignment in the stream.
    const a = kind === '$f64' ? new Float64Array(count) : new Float32Array(count);
    if (LITTLE_ENDIAN) new Uint8Array(a.buffer).set(bin.subarray(offset, offset + count * width));
    else for (let i = 0; i < count; i++) a[i] = kind === '$f64' ? dv.getFloat64(offset + 8 * i, true) : dv.getFloat32(offset + 4 * i, true);
    return a;
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new FrameError(`frame JSON is not valid: ${e instanceof Error ? e.message : String(e)}`);
  }
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = walk(v[i]);
      return v;
    }
    if (!isPlain(v)) return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const k = keys[0]!;
      if (k === '$f64' || k === '$f32') return array(k, v[k]);
      if (k === '$num') {
        const x = v[k];
        if (x === 'NaN') return NaN;
        if (x === 'Infinity') return Infinity;
        if (x === '-Infinity') return -Infinity;
        throw new FrameError('bad $num placeholder');
      }
    }
    if (!keys.some((k) => k.startsWith('$'))) {
      for (const k of keys) v[k] = walk(v[k]);
      return v;
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      if (k.startsWith('$') && !k.startsWith('$$')) throw new FrameError(`unknown placeholder key ${JSON.stringify(k.slice(0, 40))}`);
      Object.defineProperty(out, k.startsWith('$') ? k.slice(1) : k, { value: walk(v[k]), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  return walk(parsed);
}

/**
 * Splits a byte stream into messages: `push` each chunk as it arrives and get back the
 * messages it completed, in order (each `unknown` until a guard accepts it). Throws
 * FrameError on bytes that are not a frame; after that the stream cannot be trusted.
 */
export class FrameDecoder {
  private buf = new Uint8Array(64 * 1024);
  private start = 0;
  private end = 0;
  /** Frames decoded so far. */
  frames = 0;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /** Bytes received that do not yet make a whole frame. */
  get pendingBytes(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): unknown[] {
    this.append(chunk);
    const out: unknown[] = [];
    for (;;) {
      const have = this.end - this.start;
      if (have < FRAME_HEAD_BYTES) break;
      const b = this.buf;
      const s = this.start;
      for (let i = 0; i < 4; i++) if (b[s + i] !== FRAME_MAGIC.charCodeAt(i)) throw new FrameError('not a frame (bad magic)');
      const dv = new DataView(b.buffer, b.byteOffset + s, FRAME_HEAD_BYTES);
      const j = dv.getUint32(4, true);
      const bin = dv.getUint32(8, true);
      if (bin % 8 !== 0) throw new FrameError(`binary section of ${bin} bytes is not a multiple of 8`);
      const p = pad8(FRAME_HEAD_BYTES + j);
      if (p + bin > this.maxFrameBytes) throw new FrameError(`a frame of ${p + bin} bytes is larger than ${this.maxFrameBytes}`);
      if (have < p + bin) {
        this.reserve(p + bin);
        break;
      }
      const text = utf8Decode(b.subarray(s + FRAME_HEAD_BYTES, s + FRAME_HEAD_BYTES + j));
      out.push(revive(text, b.subarray(s + p, s + p + bin)));
      this.frames++;
      this.start += p + bin;
    }
    if (this.start === this.end) {
      this.start = this.end = 0;
      if (this.buf.length > 1 << 20) this.buf = new Uint8Array(64 * 1024); // a large frame grew it
    }
    return out;
  }

  private append(chunk: Uint8Array): void {
    this.reserve(this.end - this.start + chunk.length);
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Room for `n` bytes from `start` (moving the pending bytes to the front, or growing). */
  private reserve(n: number): void {
    if (this.start + n <= this.buf.length) return;
    const have = this.end - this.start;
    if (n <= this.buf.length) this.buf.copyWithin(0, this.start, this.end);
    else {
      let cap = this.buf.length;
      while (cap < n) cap *= 2;
      const b = new Uint8Array(cap);
      b.set(this.buf.subarray(this.start, this.end));
      this.buf = b;
    }
    this.start = 0;
    this.end = have;
  }
}
