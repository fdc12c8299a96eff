/**
 * A test model that declares one measurement of each generic kind, with trainer-side code
 * only (src/trainer/measures.ts): a logistic-regression classifier learns T two-class tasks
 * one after another (each task's boundary a different direction in the plane), with a
 * learning rate decayed per task as Stable SGD does. It records
 *   series  `lr`            the learning rate of each step;
 *   groups  `displacement`  ‖θ_g − θ_g at the end of the previous task‖ per parameter group;
 *   matrix  `acc/matrix`    a[t][i], accuracy on task i after training on task t (row t at task t's end);
 *   event   `task`          a band per task, starting at its first step.
 * Nothing else of the project knows this model: it proves a new measurement needs no new
 * message kind, store record or view.
 */
import { Measures } from '../../src/trainer/measures';
import { Rng } from '../../src/trainer/rng';
import type { RunInfo, RunSummaryData } from '../../src/protocol/messages';
import type { Steppable, StepRecord } from '../../src/trainer/train';

export interface TaskSequenceConfig {
  name: string;
  tasks: number;
  stepsPerTask: number;
  /** Points per task. */
  n: number;
  lr: number;
  /** Per-task decay γ: η_t = max(lr γ^t, 5e-5). */
  decay: number;
  seed: number;
}

export const DEFAULT_TASK_SEQUENCE: TaskSequenceConfig = { name: 'task-sequence', tasks: 3, stepsPerTask: 40, n: 64, lr: 0.5, decay: 0.5, seed: 1 };

/** The config with defaults for what `raw` leaves out; throws on a field that is not a number (or name). */
export function taskSequenceConfig(raw: unknown): TaskSequenceConfig {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const out = { ...DEFAULT_TASK_SEQUENCE };
  for (const k of Object.keys(r)) {
    if (k === 'name') {
      if (typeof r[k] !== 'string') throw new Error('name must be a string');
      out.name = r[k] as string;
    } else if (k in out) {
      if (typeof r[k] !== 'number' || !Number.isFinite(r[k])) throw new Error(`${k} must be a number`);
      (out as unknown as Record<string, number>)[k] = r[k] as number;
    } else throw new Error(`unknown field ${k}`);
  }
  return out;
}

const GROUPS = ['weights', 'bias'];

export class TaskSequence implements Steppable {
  readonly measures = new Measures();
  private readonly w = new Float64Array(2);
  private b = 0;
  /** Per task: points (n × 2) and labels (n). */
  private readonly data: { x: Float64Array; y: Uint8Array }[] = [];
  private readonly anchor = { w: new Float64Array(2), b: 0 };
  private readonly acc: number[][];
  private stepNo = 0;

  constructor(readonly cfg: TaskSequenceConfig) {
    const rng = new Rng(cfg.seed);
    for (let t = 0; t < cfg.tasks; t++) {
      const angle = (Math.PI * t) / cfg.tasks; // task t's boundary normal
      const [nx, ny] = [Math.cos(angle), Math.sin(angle)];
      const x = new Float64Array(cfg.n * 2);
      const y = new Uint8Array(cfg.n);
      for (let i = 0; i < cfg.n; i++) {
        const px = rng.uniform() * 2 - 1;
        const py = rng.uniform() * 2 - 1;
        x[2 * i] = px;
        x[2 * i + 1] = py;
        y[i] = px * nx + py * ny > 0 ? 1 : 0;
      }
      this.data.push({ x, y });
    }
    const names = Array.from({ length: cfg.tasks }, (_, t) => `task ${t + 1}`);
    this.acc = names.map(() => names.map(() => NaN));
    const m = this.measures;
    m.declare({ id: 'lr', kind: 'series', label: 'learning rate', scale: 'log', convention: 'η_t = max(η₀ γ^t, 5e-5), t the task index from 0 (Stable SGD)' });
    m.declare({ id: 'displacement', kind: 'groups', label: 'displacement from the previous task', groups: [...GROUPS], min: 0, convention: '‖θ_g − θ_g at the end of the previous task‖₂ per parameter group (from the initial weights during task 1)' });
    m.declare({ id: 'acc/matrix', kind: 'matrix', label: 'accuracy matrix', rows: names.map((n) => `after ${n}`), cols: names, min: 0, max: 1, unit: 'accuracy', convention: 'a[t][i]: accuracy on task i after training on task t (rows t, columns i); rows not reached yet are NaN' });
    m.declare({ id: 'task', kind: 'event', label: 'task', display: 'band', convention: 'a band per task, from its first step to the next task' });
  }

  get step(): number {
    return this.stepNo;
  }
  get totalSteps(): number {
    return this.cfg.tasks * this.cfg.stepsPerTask;
  }
  get done(): boolean {
    return this.stepNo >= this.totalSteps;
  }

  private task(step: number): number {
    return Math.min(this.cfg.tasks - 1, Math.floor((step - 1) / this.cfg.stepsPerTask));
  }

  private lr(task: number): number {
    return Math.max(this.cfg.lr * this.cfg.decay ** task, 5e-5);
  }

  /** Accuracy on task t's points with the current weights. */
  accuracy(t: number): number {
    const { x, y } = this.data[t]!;
    let ok = 0;
    for (let i = 0; i < y.length; i++) if ((this.w[0]! * x[2 * i]! + this.w[1]! * x[2 * i + 1]! + this.b > 0 ? 1 : 0) === y[i]) ok++;
    return ok / y.length;
  }

  trainStep(): StepRecord {
    if (this.done) throw new Error('run is complete');
    const step = ++this.stepNo;
    const t = this.task(step);
    const first = (step - 1) % this.cfg.stepsPerTask === 0;
    if (first) this.measures.event('task', `task ${t + 1}`, { task: t + 1, lr: this.lr(t) });
    const t0 = performance.now();
    // Full-batch logistic regression: loss = mean softplus(−(2y−1)·(w·x + b)).
    const { x, y } = this.data[t]!;
    const n = y.length;
    const gw = new Float64Array(2);
    let gb = 0;
    let loss = 0;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const z = this.w[0]! * x[2 * i]! + this.w[1]! * x[2 * i + 1]! + this.b;
      const sgn = y[i] ? 1 : -1;
      const m = sgn * z;
      loss += m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m));
      if ((z > 0 ? 1 : 0) === y[i]) correct++;
      const d = (-sgn / (1 + Math.exp(m))) / n; // ∂loss/∂z
      gw[0] += d * x[2 * i]!;
      gw[1] += d * x[2 * i + 1]!;
      gb += d;
    }
    const lr = this.lr(t);
    this.w[0] -= lr * gw[0]!;
    this.w[1] -= lr * gw[1]!;
    this.b -= lr * gb;
    const stepMs = performance.now() - t0;
    const m = this.measures;
    m.series('lr', lr);
    m.groups('displacement', [Math.hypot(this.w[0]! - this.anchor.w[0]!, this.w[1]! - this.anchor.w[1]!), Math.abs(this.b - this.anchor.b)]);
    if (step % this.cfg.stepsPerTask === 0) {
      // Task t ends: row t of the accuracy matrix, and the displacement's new anchor.
      for (let i = 0; i < this.cfg.tasks; i++) this.acc[t]![i] = this.accuracy(i);
      m.matrix('acc/matrix', this.acc.flat());
      this.anchor.w.set(this.w);
      this.anchor.b = this.b;
    }
    const rec: StepRecord = {
      step,
      epoch: step,
      loss: loss / n,
      trainAccuracy: correct / n,
      gradNorms: Float64Array.of(Math.hypot(gw[0]!, gw[1]!), Math.abs(gb)),
      weightNorms: Float64Array.of(Math.hypot(this.w[0]!, this.w[1]!), Math.abs(this.b)),
      stepMs,
    };
    const rm = m.take();
    if (rm) rec.measures = rm;
    return rec;
  }

  /** The accuracy matrix so far: a[t][i] (NaN for rows not reached). */
  get accuracyMatrix(): number[][] {
    return this.acc.map((r) => [...r]);
  }

  info(config: unknown): RunInfo {
    return {
      name: this.cfg.name,
      modelKind: 'other',
      groups: [...GROUPS],
      totalSteps: this.totalSteps,
      stepsPerEpoch: 1,
      classes: ['0', '1'],
      probes: [],
      measures: this.measures.declared,
      config,
    };
  }

  summary(): RunSummaryData {
    const final = Array.from({ length: this.cfg.tasks }, (_, i) => this.accuracy(i));
    const mean = final.reduce((a, b) => a + b, 0) / final.length;
    return { steps: this.stepNo, loss: NaN, trainAccuracy: this.accuracy(this.task(this.stepNo)), validationAccuracy: NaN, testAccuracy: mean, msPerStep: 0 };
  }
}
