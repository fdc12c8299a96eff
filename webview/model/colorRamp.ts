/**
 * Colour for heatmaps: parse the theme's colours, build 256-entry lookup tables (ramps)
 * between them, and map attention values to RGBA bytes for one ImageData write. No DOM:
 * the renderer reads the --vscode-* colours and hands them over as strings.
 */

/** r, g, b in 0‥255, a in 0‥1. */
export interface RGBA {
  r: number;
  g: number;
  b: number;
  a: number;
}

/** Parse `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb(…)` and `rgba(…)`; undefined otherwise. */
export function parseColor(css: string): RGBA | undefined {
  const s = css.trim().toLowerCase();
  let m = /^#([0-9a-f]{3,8})$/.exec(s);
  if (m !== null) {
    const h = m[1] as string;
    if (h.length === 3 || h.length === 4) {
      const c = (i: number): number => parseInt((h[i] as string) + (h[i] as string), 16);
      return { r: c(0), g: c(1), b: c(2), a: h.length === 4 ? c(3) / 255 : 1 };
    }
    if (h.length === 6 || h.length === 8) {
      const c = (i: number): number => parseInt(h.slice(i, i + 2), 16);
      return { r: c(0), g: c(2), b: c(4), a: h.length === 8 ? c(6) / 255 : 1 };
    }
    return undefined;
  }
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/.exec(s);
  if (m !== null) {
    const alpha = m[4] === undefined ? 1 : m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]);
    return { r: clamp255(parseFloat(m[1] as string)), g: clamp255(parseFloat(m[2] as string)), b: clamp255(parseFloat(m[3] as string)), a: Math.min(1, Math.max(0, alpha)) };
  }
  return undefined;
}

const clamp255 = (v: number): number => Math.min(255, Math.max(0, Math.round(v)));

/** fg composited over an opaque bg: an opaque colour. */
export function over(fg: RGBA, bg: RGBA): RGBA {
  const a = fg.a;
  return { r: clamp255(fg.r * a + bg.r * (1 - a)), g: clamp255(fg.g * a + bg.g * (1 - a)), b: clamp255(fg.b * a + bg.b * (1 - a)), a: 1 };
}

export const toCss = (c: RGBA): string => `rgba(${c.r}, ${c.g}, ${c.b}, ${c.a})`;

/** Relative luminance (WCAG), 0‥1. */
export function luminance(c: RGBA): number {
  const f = (v: number): number => {
    const x = v / 255;
    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
}

/** WCAG contrast ratio of two opaque colours, 1‥21. */
export function contrast(a: RGBA, b: RGBA): number {
  const la = luminance(a);
  const lb = luminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

export const RAMP_SIZE = 256;

/** A lookup table: entry i (RGBA bytes at 4i) is the colour of t = i / (RAMP_SIZE − 1). */
export type Ramp = Uint8ClampedArray;

/** Linear interpolation through stops (t ascending from 0 to 1) into a RAMP_SIZE table. */
export function buildRamp(stops: { t: number; color: RGBA }[]): Ramp {
  const lut = new Uint8ClampedArray(RAMP_SIZE * 4);
  if (stops.length === 0) return lut;
  for (let i = 0; i < RAMP_SIZE; i++) {
    const t = i / (RAMP_SIZE - 1);
    let j = 0;
    while (j < stops.length - 2 && t > (stops[j + 1] as { t: number }).t) j++;
    const a = stops[j] as { t: number; color: RGBA };
    const b = stops[Math.min(j + 1, stops.length - 1)] as { t: number; color: RGBA };
    const u = b.t > a.t ? Math.min(1, Math.max(0, (t - a.t) / (b.t - a.t))) : 0;
    lut[i * 4] = a.color.r + (b.color.r - a.color.r) * u;
    lut[i * 4 + 1] = a.color.g + (b.color.g - a.color.g) * u;
    lut[i * 4 + 2] = a.color.b + (b.color.b - a.color.b) * u;
    lut[i * 4 + 3] = 255 * (a.color.a + (b.color.a - a.color.a) * u);
  }
  return lut;
}

/** The colours of a heatmap: positive values, negative values (diverging scales), no value. */
export interface HeatPalette {
  positive: Ramp;
  negative: Ramp;
  /** Cells without a value (a shorter sentence's padding): usually transparent. */
  empty: RGBA;
}

/**
 * The theme's heat palette: background → orange → red for positive values, background →
 * blue for negative ones. Colours with alpha are composited over the background first.
 */
export function heatPalette(theme: { background: string; low?: string; high: string; negative: string }): HeatPalette {
  const bg = over(parseColor(theme.background) ?? { r: 30, g: 30, b: 30, a: 1 }, { r: 0, g: 0, b: 0, a: 1 });
  const col = (s: string | undefined, fallback: RGBA): RGBA => over(parseColor(s ?? '') ?? fallback, bg);
  const high = col(theme.high, { r: 241, g: 76, b: 76, a: 1 });
  const stops = [{ t: 0, color: bg }];
  if (theme.low !== undefined) stops.push({ t: 0.5, color: col(theme.low, high) });
  stops.push({ t: 1, color: high });
  return {
    positive: buildRamp(stops),
    negative: buildRamp([
      { t: 0, color: bg },
      { t: 1, color: col(theme.negative, { r: 55, g: 148, b: 255, a: 1 }) },
    ]),
    empty: { r: 0, g: 0, b: 0, a: 0 },
  };
}

/** How values map to colour. Sequential: [min, max] → positive ramp. Diverging: ±max → both. */
export interface HeatScale {
  kind: 'sequential' | 'diverging';
  min: number;
  max: number;
}

/** Index into a ramp and which ramp (negative = true for the negative side), or -1 for no value. */
export function rampIndex(v: number, scale: HeatScale): { index: number; negative: boolean } {
  if (!Number.isFinite(v)) return { index: -1, negative: false };
  if (scale.kind === 'diverging') {
    const m = scale.max > 0 ? scale.max : 1;
    const t = Math.min(1, Math.abs(v) / m);
    return { index: Math.round(t * (RAMP_SIZE - 1)), negative: v < 0 };
  }
  const span = scale.max - scale.min;
  const t = span > 0 ? Math.min(1, Math.max(0, (v - scale.min) / span)) : v > scale.min ? 1 : 0;
  return { index: Math.round(t * (RAMP_SIZE - 1)), negative: false };
}

/** The colour of one value. */
export function colorOf(v: number, scale: HeatScale, palette: HeatPalette): RGBA {
  const { index, negative } = rampIndex(v, scale);
  if (index < 0) return { ...palette.empty };
  const lut = negative ? palette.negative : palette.positive;
  const o = index * 4;
  return { r: lut[o] as number, g: lut[o + 1] as number, b: lut[o + 2] as number, a: (lut[o + 3] as number) / 255 };
}

/**
 * Write values (row-major) as RGBA bytes into out (length ≥ 4 × values.length): the body of
 * the heatmap's single ImageData write per frame.
 */
export function fillRGBA(out: Uint8ClampedArray, values: ArrayLike<number>, scale: HeatScale, palette: HeatPalette): void {
  const n = values.length;
  const pos = palette.positive;
  const neg = palette.negative;
  const e = palette.empty;
  const ea = Math.round(e.a * 255);
  const top = RAMP_SIZE - 1;
  const diverging = scale.kind === 'diverging';
  const dm = scale.max > 0 ? scale.max : 1;
  const span = scale.max - scale.min;
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      out[o] = e.r;
      out[o + 1] = e.g;
      out[o + 2] = e.b;
      out[o + 3] = ea;
      continue;
    }
    let lut = pos;
    let t: number;
    if (diverging) {
      if (v < 0) lut = neg;
      t = Math.abs(v) / dm;
    } else {
      t = span > 0 ? (v - scale.min) / span : v > scale.min ? 1 : 0;
    }
    const j = (t <= 0 ? 0 : t >= 1 ? top : Math.round(t * top)) * 4;
    out[o] = lut[j] as number;
    out[o + 1] = lut[j + 1] as number;
    out[o + 2] = lut[j + 2] as number;
    out[o + 3] = lut[j + 3] as number;
  }
}

/** Largest finite value, or -Infinity. */
export function maxFinite(values: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v > m) m = v;
  }
  return m;
}

/** Largest finite |value|, or 0. */
export function maxAbsFinite(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Math.abs(values[i] as number);
    if (v > m) m = v;
  }
  return m;
}

/** Which scale a stage's map uses. `fixed`: weights on [0, 1]; `auto`: up to the largest value shown. */
export type ScaleMode = 'fixed' | 'auto';

/**
 * Scale for a map stage. Softmax weights (W) are sequential from 0; logits (J, L) and the
 * post-softmax mix (U) can be negative, so they are diverging, symmetric around 0.
 * `peak` is the largest value (sequential) or |value| (diverging) over what is shown together.
 */
export function scaleForStage(stage: 'weights' | 'logits' | 'premix' | 'mixed', mode: ScaleMode, peak: number): HeatScale {
  const p = Number.isFinite(peak) && peak > 0 ? peak : 1;
  switch (stage) {
    case 'weights':
      return { kind: 'sequential', min: 0, max: mode === 'fixed' ? 1 : p };
    case 'mixed':
      return { kind: 'diverging', min: -(mode === 'fixed' ? Math.max(1, p) : p), max: mode === 'fixed' ? Math.max(1, p) : p };
    case 'logits':
    case 'premix':
      return { kind: 'diverging', min: -p, max: p };
  }
}
