/**
 * PNG export, the parts without a screen: the guard on `exportImage` (a real PNG file as a
 * Uint8Array, checked by tag, signature, IHDR and size cap), the default file name, and the
 * heatmap export layout (its size a function of the map's shape; every cell inside).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as vm from 'node:vm';
import * as zlib from 'node:zlib';
import { MAX_EXPORT_PNG_BYTES, type WebviewToHost } from '../../src/protocol/messages';
import { isPng, isWebviewToHost } from '../../src/protocol/guards';
import { exportFileName } from '../../src/extension/exportFileName';
import { heatExportLayout, HEAT_EXPORT_SCALE } from '../../webview/model/exportLayout';
import { decodePng, pngSize } from '../webview/png';

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A real RGBA PNG of width × height, every pixel `rgba`. */
function makePng(width: number, height: number, rgba: number[]): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(12 + data.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, data.length);
    out.set([...type].map((ch) => ch.charCodeAt(0)), 4);
    out.set(data, 8);
    dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, deflate, no filter, no interlace
  const raw = new Uint8Array(height * (1 + 4 * width));
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(rgba, y * (1 + 4 * width) + 1 + 4 * x);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', new Uint8Array(zlib.deflateSync(raw))), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

test('the PNG maker (and the tests\' PNG reader) round-trip', () => {
  const png = makePng(3, 2, [10, 20, 30, 255]);
  assert.deepEqual(pngSize(png), { width: 3, height: 2 });
  const img = decodePng(png);
  assert.deepEqual(Array.from(img.rgba.subarray(20, 24)), [10, 20, 30, 255]);
});

test('exportImage: a PNG as a Uint8Array is accepted, with or without a runId', () => {
  const png = makePng(4, 3, [1, 2, 3, 255]);
  const ok: WebviewToHost[] = [
    { type: 'exportImage', runId: 'run-1', name: 'loss', png },
    { type: 'exportImage', name: 'loss', png },
  ];
  for (const m of ok) assert.ok(isWebviewToHost(m), JSON.stringify({ ...m, png: m.type === 'exportImage' ? m.png.length : 0 }));
  // A view into a larger buffer (as a structured clone or VS Code may hand it over).
  const big = new Uint8Array(png.length + 64);
  big.set(png, 32);
  assert.ok(isWebviewToHost({ type: 'exportImage', name: 'loss', png: big.subarray(32, 32 + png.length) }));
  // Made in another realm (VS Code rebuilds typed arrays in its own frame): by tag, not instanceof.
  const foreign = vm.runInNewContext('new Uint8Array(n)', { n: png.length }) as Uint8Array;
  foreign.set(png);
  assert.ok(!(foreign instanceof Uint8Array));
  assert.ok(isWebviewToHost({ type: 'exportImage', name: 'loss', png: foreign }));
});

test('exportImage: anything else is rejected', () => {
  const png = makePng(2, 2, [0, 0, 0, 255]);
  const bad = (over: Record<string, unknown>) => ({ type: 'exportImage', runId: 'r', name: 'loss', png, ...over });
  const notPng = png.slice();
  notPng[1] = 0x51; // "\x89QNG"
  const noIhdr = png.slice();
  noIhdr[12] = 0x58; // first chunk "XHDR"
  const cases: [string, unknown][] = [
    ['bytes as number[]', bad({ png: Array.from(png) })],
    ['Uint8ClampedArray', bad({ png: new Uint8ClampedArray(png) })],
    ['ArrayBuffer', bad({ png: png.slice().buffer })],
    ['a base64 string', bad({ png: Buffer.from(png).toString('base64') })],
    ['no png', bad({ png: undefined })],
    ['wrong signature', bad({ png: notPng })],
    ['first chunk not IHDR', bad({ png: noIhdr })],
    ['only the signature', bad({ png: png.slice(0, 8) })],
    ['empty', bad({ png: new Uint8Array(0) })],
    ['over the size cap', bad({ png: (() => { const b = new Uint8Array(MAX_EXPORT_PNG_BYTES + 1); b.set(png); return b; })() })],
    ['no name', bad({ name: undefined })],
    ['empty name', bad({ name: '' })],
    ['name too long', bad({ name: 'x'.repeat(201) })],
    ['runId not a string', bad({ runId: 7 })],
  ];
  for (const [what, m] of cases) assert.equal(isWebviewToHost(m), false, what);
  assert.equal(isPng(png), true);
  assert.equal(isPng(null), false);
});

test('default file names: <run name>-<what>.png, safe on any file system', () => {
  assert.equal(exportFileName('lu-fc-fast', 'loss', 'png'), 'lu-fc-fast-loss.png');
  assert.equal(exportFileName('Lu · Attn-FC · synthetic (fast)', 'attention-step-300', 'png'), 'Lu_Attn-FC_synthetic_fast-attention-step-300.png');
  assert.equal(exportFileName('../../etc/passwd', 'loss', 'png'), 'etc_passwd-loss.png');
  assert.equal(exportFileName('a/b\\c:d', '..', 'png'), 'a_b_c_d.png');
  assert.equal(exportFileName('', '', 'png'), 'attention-lens.png');
  assert.equal(exportFileName('x'.repeat(300), 'loss', 'png').length, 120 + '.png'.length);
  for (const n of [exportFileName('..', '..', 'png'), exportFileName('.hidden', 'x', 'png')]) assert.doesNotMatch(n, /^\.|[/\\]/);
});

test('heatmap export layout: size from the shape only; cells, labels and scale inside and apart', () => {
  for (const kind of ['lu', 'matrix'] as const)
    for (const [rows, cols] of [
      [8, 11],
      [1, 21],
      [7, 7],
      [0, 0],
      [64, 64],
    ] as const) {
      const L = heatExportLayout(kind, rows, cols);
      assert.equal(L.scale, HEAT_EXPORT_SCALE);
      assert.equal(L.grid.w, cols * L.cellW);
      assert.equal(L.grid.h, rows * L.cellH);
      const inside = (r: { x: number; y: number; w: number; h: number }, name: string) =>
        assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.w <= L.width && r.y + r.h <= L.height, `${kind} ${rows}×${cols}: ${name} inside`);
      for (const [name, r] of Object.entries({ title: L.title, rowLabels: L.rowLabels, colLabels: L.colLabels, grid: L.grid, legend: L.legend, corner: L.corner })) inside(r, name);
      assert.ok(L.title.y + L.title.h <= L.colLabels.y && L.colLabels.y + L.colLabels.h <= L.grid.y, 'title, column labels, cells: top to bottom');
      assert.ok(L.grid.y + L.grid.h < L.legend.y, 'scale below the map');
      assert.equal(L.rowLabels.x + L.rowLabels.w, L.grid.x, 'row labels just left of the cells');
      assert.equal(L.colLabels.h > 0, kind === 'matrix');
      // The same shape at scale 1 is half the size (rounding aside).
      const one = heatExportLayout(kind, rows, cols, 1);
      assert.ok(Math.abs(one.width * HEAT_EXPORT_SCALE - L.width) <= 1 && Math.abs(one.height * HEAT_EXPORT_SCALE - L.height) <= 1);
    }
  assert.deepEqual(heatExportLayout('lu', 8, 11), heatExportLayout('lu', 8, 11), 'deterministic');
});
