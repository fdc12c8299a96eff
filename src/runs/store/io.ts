/**
 * File access for the run store's readers: which filesystem calls they make (replaceable, so
 * tests can simulate an unreadable file while running as root), how large one read and one
 * read buffer may be, and `Window`, a bounded view of a file that the stream readers scan.
 *
 * Why bounded: a stream file can be larger than the 2 GiB one Buffer or one readSync can hold,
 * and a reader must never need memory in proportion to a file to read it. A Window holds at
 * most max(bufferBytes, the record being looked at) bytes and reads at most chunkBytes at a time.
 */
import * as nodeFs from 'node:fs';

/** The filesystem calls the readers make (node:fs by default). */
export interface StoreFs {
  openSync(file: string, flags: 'r'): number;
  closeSync(fd: number): void;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  fstatSync(fd: number): { size: number; isFile(): boolean };
  statSync(file: string): { size: number; ino: number; mtimeMs: number; isFile(): boolean };
  readFileSync(file: string, encoding: 'utf8'): string;
}

export interface ReadOptions {
  /** Largest single read, in bytes. Default 4 MiB. */
  chunkBytes: number;
  /** Largest read buffer kept beyond the record being read, in bytes. Default 8 MiB. */
  bufferBytes: number;
  fs: StoreFs;
}

const DEFAULTS: ReadOptions = { chunkBytes: 4 << 20, bufferBytes: 8 << 20, fs: nodeFs as unknown as StoreFs };
let current: ReadOptions = { ...DEFAULTS };

/** The options in force. */
export function readOptions(): ReadOptions {
  return current;
}

/**
 * Changes how the readers read (tests: small chunks, a failing fs). Omitted fields keep their
 * value; `reset: true` restores the defaults first. Returns the previous options, to restore.
 */
export function configureReads(opts: Partial<ReadOptions> & { reset?: boolean }): ReadOptions {
  const prev = current;
  const base = opts.reset ? DEFAULTS : current;
  const next: ReadOptions = { chunkBytes: opts.chunkBytes ?? base.chunkBytes, bufferBytes: opts.bufferBytes ?? base.bufferBytes, fs: opts.fs ?? base.fs };
  if (!(next.chunkBytes >= 1) || !(next.bufferBytes >= 1)) throw new Error('chunkBytes and bufferBytes must be at least 1');
  current = next;
  return prev;
}

/** An error's code (ENOENT, EACCES, EISDIR…), if it has one. */
export function errorCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

const PLAIN: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory, not a file',
  EIO: 'input/output error',
  ENOTDIR: 'a part of its path is not a directory',
  EMFILE: 'too many open files',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EFBIG: 'file too large',
  ENOENT: 'no such file or folder',
};

/** An error in plain words with its code: `no space left on device, ENOSPC`. */
export function errorText(e: unknown): string {
  const code = errorCode(e);
  const plain = code ? PLAIN[code] : undefined;
  if (plain) return `${plain}, ${code}`;
  return e instanceof Error ? e.message : String(e);
}

/** A plain sentence for a file that exists but cannot be read. */
export function unreadableMessage(name: string, e: unknown): string {
  return `${name} cannot be read (${errorText(e)}); the run's other files were read without it`;
}

/**
 * What is at `file`: absent (ENOENT), a readable regular file of `size` bytes, or something that
 * cannot be read (a directory, no permission), with the error.
 */
export type Probe = { state: 'absent' } | { state: 'file'; size: number } | { state: 'unreadable'; error: unknown };

export function probeFile(file: string): Probe {
  const fs = current.fs;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return { state: 'unreadable', error: Object.assign(new Error('not a regular file'), { code: 'EISDIR' }) };
    return { state: 'file', size: st.size };
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return { state: 'absent' };
    return { state: 'unreadable', error: e };
  }
}

/** Opens `file` for reading (through the configured fs). */
export function openRead(file: string): number {
  return current.fs.openSync(file, 'r');
}

export function closeQuietly(fd: number): void {
  try {
    current.fs.closeSync(fd);
  } catch {
    // nothing to do: the descriptor was only read
  }
}

/** Bytes [pos, pos + n) of an open file (fewer if it is shorter), read in chunks. n must fit one buffer. */
export function readAt(fd: number, pos: number, n: number): Uint8Array {
  const { fs, chunkBytes } = current;
  const b = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = fs.readSync(fd, b, got, Math.min(chunkBytes, n - got), pos + got);
    if (r === 0) break;
    got += r;
  }
  return got === n ? b : b.subarray(0, got);
}

/**
 * CRC-32 of bytes [pos, pos + n) of an open file, read in chunks of at most bufferBytes (so a
 * large record is checked without being held), continuing from `prev`. Undefined if the file ends first.
 */
export function crcOfRange(fd: number, pos: number, n: number, crc: (b: Uint8Array, s: number, e: number, prev: number) => number, prev = 0): number | undefined {
  const { bufferBytes } = current;
  const b = new Uint8Array(Math.max(1, Math.min(n, bufferBytes)));
  let c = prev;
  for (let done = 0; done < n; ) {
    const part = readAt(fd, pos + done, Math.min(b.length, n - done));
    if (part.length === 0) return undefined;
    c = crc(part, 0, part.length, c);
    done += part.length;
  }
  return c;
}

/**
 * A sliding, bounded view of an open file between `start` and `size`: `ensure(off, n)` makes
 * bytes [off, off + n) available at `buf[off - base]`, discarding what lies before `off`.
 * Offsets only move forward. The buffer holds at most max(n, bufferBytes) bytes.
 */
export class Window {
  buf = new Uint8Array(0);
  dv = new DataView(this.buf.buffer);
  /** File offset of buf[0]. */
  base: number;
  /** Valid bytes in buf. */
  len = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    start: number,
  ) {
    this.base = start;
  }

  /** Whether bytes [off, off + n) are in the file (they are then in buf). False past the end of the file (or if it shrank). */
  ensure(off: number, n: number): boolean {
    if (off + n > this.size) return false;
    if (off >= this.base && off + n <= this.base + this.len) return true;
    const { chunkBytes, bufferBytes, fs } = current;
    if (off > this.base + this.len || off < this.base) {
      this.base = off;
      this.len = 0;
    } else if (off > this.base) {
      this.buf.copyWithin(0, off - this.base, this.len);
      this.len -= off - this.base;
      this.base = off;
    }
    const want = Math.min(this.size - this.base, Math.max(n, bufferBytes));
    if (this.buf.length < want) {
      const b = new Uint8Array(want);
      b.set(this.buf.subarray(0, this.len));
      this.buf = b;
      this.dv = new DataView(b.buffer);
    }
    const fill = Math.min(this.buf.length, this.size - this.base);
    while (this.len < n) {
      const r = fs.readSync(this.fd, this.buf, this.len, Math.min(chunkBytes, fill - this.len), this.base + this.len);
      if (r === 0) return false; // the file shrank
      this.len += r;
    }
    return true;
  }
}
