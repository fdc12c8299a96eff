/**
 * A small PNG reader for the export tests: the signature, the IHDR size, and the pixels of
 * an 8-bit, non-interlaced RGB or RGBA image (what Chromium's canvas.toBlob writes), decoded
 * with node:zlib and the five PNG row filters.
 */
import * as zlib from 'node:zlib';

export const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function hasSignature(b: Uint8Array): boolean {
  return b.length >= 8 && SIGNATURE.every((x, i) => b[i] === x);
}

/** Width and height from the IHDR chunk (which must come first). */
export function pngSize(b: Uint8Array): { width: number; height: number } {
  if (!hasSignature(b)) throw new Error('not a PNG: bad signature');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = String.fromCharCode(...b.subarray(12, 16));
  if (type !== 'IHDR') throw new Error(`not a PNG: first chunk is ${type}`);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

export interface Png {
  width: number;
  height: number;
  /** RGBA bytes, (height, width, 4). */
  rgba: Uint8Array;
}

export function decodePng(b: Uint8Array): Png {
  const { width, height } = pngSize(b);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const bitDepth = b[24];
  const colorType = b[25];
  const interlace = b[28];
  if (bitDepth !== 8 || (colorType !== 6 && colorType !== 2) || interlace !== 0) throw new Error(`unsupported PNG: depth ${bitDepth}, colour type ${colorType}, interlace ${interlace}`);
  const idat: Uint8Array[] = [];
  let o = 8;
  while (o + 8 <= b.length) {
    const len = dv.getUint32(o);
    const type = String.fromCharCode(...b.subarray(o + 4, o + 8));
    if (type === 'IDAT') idat.push(b.subarray(o + 8, o + 8 + len));
    if (type === 'IEND') break;
    o += 12 + len;
  }
  const packed = new Uint8Array(idat.reduce((n, c) => n + c.length, 0));
  idat.reduce((at, c) => (packed.set(c, at), at + c.length), 0);
  const raw = zlib.inflateSync(packed);
  const bpp = colorType === 6 ? 4 : 3;
  const stride = width * bpp;
  if (raw.length < height * (stride + 1)) throw new Error(`PNG data too short: ${raw.length} bytes for ${width}×${height}`);
  const cur = new Uint8Array(stride);
  const prev = new Uint8Array(stride);
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const up = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      let v = row[i]!;
      if (f === 1) v += a;
      else if (f === 2) v += up;
      else if (f === 3) v += (a + up) >> 1;
      else if (f === 4) {
        const p = a + up - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - up);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
      } else if (f !== 0) throw new Error(`bad PNG filter ${f} on row ${y}`);
      cur[i] = v & 0xff;
    }
    for (let x = 0; x < width; x++) {
      const d = (y * width + x) * 4;
      rgba[d] = cur[x * bpp]!;
      rgba[d + 1] = cur[x * bpp + 1]!;
      rgba[d + 2] = cur[x * bpp + 2]!;
      rgba[d + 3] = bpp === 4 ? cur[x * bpp + 3]! : 255;
    }
    prev.set(cur);
  }
  return { width, height, rgba };
}

/** The pixel at (x, y) as [r, g, b, a]. */
export function pixel(p: Png, x: number, y: number): number[] {
  const o = (y * p.width + x) * 4;
  return Array.from(p.rgba.subarray(o, o + 4));
}

/**
 * Pixels of a hue, on the dark background: 'blue' (--vscode-charts-blue #3794ff) or 'orange'
 * (#d18616). By channel dominance, so a thin line's anti-aliased pixels count too.
 */
export function countHue(img: Png, hue: 'blue' | 'orange'): number {
  let n = 0;
  for (let i = 0; i < img.rgba.length; i += 4) {
    const r = img.rgba[i]!;
    const g = img.rgba[i + 1]!;
    const b = img.rgba[i + 2]!;
    if (hue === 'blue' ? b > r + 80 && b > g + 30 : r > b + 80 && g > b + 30) n++;
  }
  return n;
}
