/**
 * A loss sparkline for the side panel: a plain canvas at device resolution, the series
 * decimated to min/max per pixel column (through an incremental MinMaxIndex) and stroked once.
 */
import { MinMaxIndex, type Decimated } from './model/decimate';
import { h } from './dom';

export class Sparkline {
  readonly canvas = h('canvas', 'al-spark', { role: 'img', 'aria-label': 'loss' });
  private buf: Decimated | undefined;
  private readonly index = new MinMaxIndex();
  /** Points drawn last (for tests). */
  drawn = 0;

  /** Draw the first n points of (xs, ys); `epoch` changes when the series is replaced rather than appended to. */
  draw(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, epoch: unknown, stroke: string, baseline: string): void {
    const cw = this.canvas.clientWidth;
    const ch = this.canvas.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    const W = Math.max(1, Math.round(cw * dpr));
    const H = Math.max(1, Math.round(ch * dpr));
    if (this.canvas.width !== W) this.canvas.width = W;
    if (this.canvas.height !== H) this.canvas.height = H;
    const ctx = this.canvas.getContext('2d');
    if (ctx === null) return;
    ctx.clearRect(0, 0, W, H);
    this.index.sync(ys, n, epoch);
    const d = this.index.decimate(xs, 0, n, Math.max(1, Math.round(cw)), this.buf);
    this.buf = d;
    this.drawn = d.length;
    if (d.length === 0) return;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (let i = 0; i < d.length; i++) {
      const y = d.ys[i] as number;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    const x0 = d.xs[0] as number;
    const x1 = d.xs[d.length - 1] as number;
    const pad = 2 * dpr;
    const sx = (x: number): number => pad + (x1 > x0 ? ((x - x0) / (x1 - x0)) * (W - 2 * pad) : (W - 2 * pad) / 2);
    const sy = (y: number): number => H - pad - (y1 > y0 ? ((y - y0) / (y1 - y0)) * (H - 2 * pad) : (H - 2 * pad) / 2);
    ctx.strokeStyle = baseline;
    ctx.lineWidth = dpr;
    ctx.beginPath();
    ctx.moveTo(0, H - dpr / 2);
    ctx.lineTo(W, H - dpr / 2);
    ctx.stroke();
    ctx.strokeStyle = stroke;
    ctx.lineWidth = 1.5 * dpr;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(sx(d.xs[0] as number), sy(d.ys[0] as number));
    for (let i = 1; i < d.length; i++) ctx.lineTo(sx(d.xs[i] as number), sy(d.ys[i] as number));
    ctx.stroke();
  }
}
