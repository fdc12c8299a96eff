/**
 * Optimisers over a model's params: SGD with momentum (PyTorch's form) and Adam.
 * Weight decay is L2 added to the gradient, as torch.optim does. Frozen params are skipped.
 */
import type { Param } from './core';
import type { OptimizerConfig } from './config';

export interface Optimizer {
  /** Apply one update from the gradients currently in each param's g. */
  step(): void;
  /** Current learning rate (for the dashboard). */
  readonly lr: number;
}

export function makeOptimizer(cfg: OptimizerConfig, params: readonly Param[]): Optimizer {
  switch (cfg.kind) {
    case 'sgd':
      return new Sgd(params.filter((p) => p.trainable), cfg.lr, cfg.momentum, cfg.weightDecay);
    case 'adam':
      return new Adam(params.filter((p) => p.trainable), cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weightDecay);
  }
}

export class Sgd implements Optimizer {
  private readonly bufs: (Float32Array | undefined)[];
  constructor(
    private readonly params: readonly Param[],
    readonly lr: number,
    private readonly momentum: number,
    private readonly weightDecay: number,
  ) {
    this.bufs = params.map(() => undefined);
  }

  step(): void {
    const { lr, momentum: mu, weightDecay: wd } = this;
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k]!;
      const w = p.w;
      const g = p.g;
      const n = w.length;
      if (mu === 0) {
        if (wd === 0) for (let i = 0; i < n; i++) w[i] -= lr * g[i]!;
        else for (let i = 0; i < n; i++) w[i] -= lr * (g[i]! + wd * w[i]!);
        continue;
      }
      let buf = this.bufs[k];
      if (buf === undefined) {
        // PyTorch initialises the momentum buffer with the first gradient.
        buf = this.bufs[k] = new Float32Array(n);
        for (let i = 0; i < n; i++) buf[i] = g[i]! + wd * w[i]!;
      } else {
        for (let i = 0; i < n; i++) buf[i] = mu * buf[i]! + g[i]! + wd * w[i]!;
      }
      for (let i = 0; i < n; i++) w[i] -= lr * buf[i]!;
    }
  }
}

export class Adam implements Optimizer {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;
  constructor(
    private readonly params: readonly Param[],
    readonly lr: number,
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly eps: number,
    private readonly weightDecay: number,
  ) {
    this.m = params.map((p) => new Float32Array(p.w.length));
    this.v = params.map((p) => new Float32Array(p.w.length));
  }

  step(): void {
    this.t++;
    const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd } = this;
    const c1 = 1 - Math.pow(b1, this.t);
    const c2 = 1 - Math.pow(b2, this.t);
    const stepSize = lr / c1;
    const sqrtC2 = Math.sqrt(c2);
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k]!;
      const w = p.w, g = p.g, m = this.m[k]!, v = this.v[k]!;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]! + wd * w[i]!;
        const mi = (m[i] = b1 * m[i]! + (1 - b1) * gi);
        const vi = (v[i] = b2 * v[i]! + (1 - b2) * gi * gi);
        w[i] -= (stepSize * mi) / (Math.sqrt(vi) / sqrtC2 + eps);
      }
    }
  }
}
