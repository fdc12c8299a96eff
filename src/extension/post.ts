/**
 * Posting to a webview. VS Code carries typed arrays as binary, one transferred buffer per
 * distinct ArrayBuffer in the message. Seen in VS Code 1.139 (code-server): a message with
 * a few hundred typed arrays (identity points, attention maps) arrived with the later ones
 * empty. So every post copies all of the message's typed arrays into ONE new buffer (views
 * at 8-byte-aligned offsets): the page gets one buffer and the same arrays, and nothing in
 * the host's records is shared with a post.
 */
import type * as vscode from 'vscode';
import type { HostToWebview } from '../protocol/messages';

type View = { length: number; byteLength: number; BYTES_PER_ELEMENT: number; constructor: new (b: ArrayBuffer, o: number, n: number) => { set(a: ArrayLike<number>): void } };

function isView(v: unknown): v is View {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function size(v: unknown): number {
  if (isView(v)) return Math.ceil(v.byteLength / 8) * 8;
  if (Array.isArray(v)) return v.reduce((a: number, x) => a + size(x), 0);
  if (typeof v === 'object' && v !== null) return Object.values(v).reduce((a: number, x) => a + size(x), 0);
  return 0;
}

function copyInto(v: unknown, arena: { buf: ArrayBuffer; at: number }): unknown {
  if (isView(v)) {
    const out = new v.constructor(arena.buf, arena.at, v.length);
    out.set(v as unknown as ArrayLike<number>);
    arena.at += Math.ceil(v.byteLength / 8) * 8;
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => copyInto(x, arena));
  if (typeof v === 'object' && v !== null) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = copyInto(x, arena);
    return o;
  }
  return v;
}

/** The message with every typed array copied into one fresh buffer. */
export function packForWebview(msg: HostToWebview): unknown {
  return copyInto(msg, { buf: new ArrayBuffer(Math.max(8, size(msg))), at: 0 });
}

export function post(webview: vscode.Webview, msg: HostToWebview): Thenable<boolean> {
  return webview.postMessage(packForWebview(msg));
}
