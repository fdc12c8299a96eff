/**
 * The training loop. A Trainer owns a model, its optimiser and its data, and advances one
 * optimisation step at a time, measuring what the dashboard shows. It knows nothing about
 * logging, IPC or files: whoever drives it reads the StepRecord each step returns (or passes
 * hooks to a TrainingLoop, which adds pause / resume / single-step / stop between steps).
 */
import { sumSquares, type AttentionMap, type Batch, type Model } from './core';
import type { RunConfig } from './config';
import { gatherBatch, splitAsBatch, type Dataset, type Split } from './data/dataset';
import { LuModel } from './models/lu';
import { EncoderModel } from './models/encoder';
import { makeOptimizer, type Optimizer } from './optim';
import { Rng } from './rng';
import { after, now } from './clock';
import { Measures, type RecordedMeasures } from './measures';

/** Lu models on the synthetic task: the persisting identity for one topic word. */
export interface IdentityRow {
  /** Vocabulary id of the topic word. */
  word: number;
  /** s_τ = qᵀk_τ */
  score: number;
  /** ‖w_τ‖ */
  embNorm: number;
  /** ‖q‖ */
  queryNorm: number;
  /** ‖q‖·‖w_τ‖ as measured */
  measured: number;
  /** ‖q‖·‖w_τ‖ as the identity predicts from s_τ (PAPERS.md §1) */
  theory: number;
  /** |measured − theory| / theory (0 when both are 0) */
  relError: number;
}

export interface EvalRecord {
  trainLoss?: number;
  trainAccuracy?: number;
  validationLoss: number;
  validationAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  /** Lu models on the synthetic task: mean attention on the topic word over the test split. */
  topicAttention?: number;
}

/** Everything measured at one step. */
export interface StepRecord {
  /** 1-based step number. */
  step: number;
  /** 1-based epoch the step belongs to. */
  epoch: number;
  /** Mean training loss of the step's batch (before the update). */
  loss: number;
  /** Accuracy on the step's batch (before the update). */
  trainAccuracy: number;
  /** Gradient L2 norm per parameter group, in the order of Trainer.groups. */
  gradNorms: Float64Array;
  /** Weight L2 norm per parameter group after the update, in the order of Trainer.groups. */
  weightNorms: Float64Array;
  /** Present every evalEvery steps and at the last step. */
  eval?: EvalRecord;
  /** Present every captureEvery steps, at the first and the last step: maps per probe sentence (after the update). */
  attention?: AttentionMap[][];
  /** Lu models on the synthetic task: the identity per topic word (after the update). */
  identity?: IdentityRow[];
  /** Declared measurements recorded at this step (Trainer.measures). */
  measures?: RecordedMeasures;
  /** Wall time of the optimisation step itself (forward, backward, update), ms. */
  stepMs: number;
}

/** What a TrainingLoop drives: anything that trains one step at a time (the Trainer, a test model, an experiment of several phases). */
export interface Steppable {
  /** Steps done. */
  readonly step: number;
  readonly done: boolean;
  trainStep(): StepRecord;
  /** The next step captures attention whatever the schedule (a single step while paused must show itself). */
  requestCapture?(): void;
  /** Attention of the probes now (a pause shows the step it paused at). */
  captureAttention?(): AttentionMap[][];
}

export interface Probe {
  tokens: string[];
  label: number;
}

export interface RunSummary {
  steps: number;
  epochs: number;
  loss: number;
  trainAccuracy: number;
  validationAccuracy: number;
  testAccuracy: number;
  msPerStep: number;
  topicAttention?: number;
  /** Largest identity relative error over topic words at the last step. */
  identityMaxRelError?: number;
  /** Largest over topic words and over steps where the score had moved by ≥ 1 from its start. */
  identityMaxRelErrorMoved?: number;
}

export function buildModel(cfg: RunConfig, data: Dataset, rng: Rng): Model {
  const m = cfg.model;
  const C = data.classes.length;
  switch (m.kind) {
    case 'lu':
      return new LuModel(m, data.vocab.length, C, rng);
    case 'encoder': {
      const maxLen = Math.max(data.train.T, data.validation.T, data.test.T);
      return new EncoderModel(m, data.vocab.length, C, maxLen, rng);
    }
  }
}

export class Trainer implements Steppable {
  readonly model: Model;
  /**
   * Measurements beyond the built-in ones: an experiment declares them before training and
   * records values from `afterStep`; each step's record carries what was recorded for it.
   */
  readonly measures = new Measures();
  /** Called at the end of every step, before its record is returned (to record measurements). */
  readonly afterStep: ((rec: StepRecord) => void)[] = [];
  readonly optimizer: Optimizer;
  /** Parameter group names, in the order of StepRecord.gradNorms / weightNorms. */
  readonly groups: string[];
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly probes: Probe[];
  private readonly probeBatch: Batch;
  private readonly groupOf: number[];
  private readonly rng: Rng;
  private readonly fullBatch: Batch;
  private order: Int32Array;
  private stepNo = 0;
  private stepMsTotal = 0;
  private lastRecord: StepRecord | undefined;
  private lastEval: EvalRecord | undefined;
  private readonly topicSet: Set<number> | undefined;
  private readonly identityInit: { s0: number; w0: number }[] | undefined;
  private identityMovedMax = 0;
  private captureNext = false;

  constructor(
    readonly cfg: RunConfig,
    readonly data: Dataset,
  ) {
    const rng = new Rng(cfg.seed);
    this.model = buildModel(cfg, data, rng.fork());
    this.rng = rng.fork();
    this.optimizer = makeOptimizer(cfg.optimizer, this.model.params);
    this.groups = [];
    this.groupOf = [];
    for (const p of this.model.params) {
      let gi = this.groups.indexOf(p.group);
      if (gi < 0) gi = this.groups.push(p.group) - 1;
      this.groupOf.push(gi);
    }
    const n = data.train.n;
    const bs = cfg.training.batchSize > 0 ? Math.min(cfg.training.batchSize, n) : n;
    this.stepsPerEpoch = Math.max(1, Math.ceil(n / bs));
    this.totalSteps = this.stepsPerEpoch * cfg.training.epochs;
    this.fullBatch = splitAsBatch(data.train);
    this.order = new Int32Array(n).map((_, i) => i);
    const probeSrc: Split = data.test.n > 0 ? data.test : data.train;
    const np = Math.min(cfg.training.probes, probeSrc.n);
    this.probeBatch = gatherBatch(probeSrc, Array.from({ length: np }, (_, i) => i));
    this.probes = [];
    for (let b = 0; b < np; b++) {
      const len = this.probeBatch.lengths[b]!;
      const toks: string[] = [];
      for (let i = 0; i < len; i++) toks.push(data.vocab[this.probeBatch.tokens[b * this.probeBatch.T + i]!] ?? '?');
      this.probes.push({ tokens: toks, label: this.probeBatch.labels[b]! });
    }
    if (this.model instanceof LuModel && data.topicWords) {
      this.topicSet = new Set(data.topicWords.flat());
      const lu = this.model;
      this.identityInit = data.topicWords.flat().map((w) => ({ s0: lu.scoreOf(w), w0: rowNorm(lu.embeddings.w, w, lu.D) }));
    }
  }

  get step(): number {
    return this.stepNo;
  }

  get done(): boolean {
    return this.stepNo >= this.totalSteps;
  }

  /** The batch for the next step: the whole train split, or the next shuffled slice of it. */
  private nextBatch(): Batch {
    const bs = this.cfg.training.batchSize;
    const n = this.data.train.n;
    if (bs <= 0 || bs >= n) return this.fullBatch;
    const k = this.stepNo % this.stepsPerEpoch;
    if (k === 0) this.rng.shuffle(this.order);
    return gatherBatch(this.data.train, this.order.subarray(k * bs, Math.min(n, (k + 1) * bs)));
  }

  /** One optimisation step and its measurements. */
  trainStep(): StepRecord {
    if (this.done) throw new Error(`run is complete (${this.totalSteps} steps)`);
    const batch = this.nextBatch();
    const t0 = now();
    const r = this.model.trainBatch(batch);
    const gradNorms = this.groupNorms('g');
    this.optimizer.step();
    const stepMs = now() - t0;
    this.stepMsTotal += stepMs;
    this.stepNo++;
    const step = this.stepNo;
    const tr = this.cfg.training;
    const last = step === this.totalSteps;
    const rec: StepRecord = {
      step,
      epoch: Math.ceil(step / this.stepsPerEpoch),
      loss: r.lossSum / batch.B,
      trainAccuracy: r.correct / batch.B,
      gradNorms,
      weightNorms: this.groupNorms('w'),
      stepMs,
    };
    if (step % tr.evalEvery === 0 || last) rec.eval = this.lastEval = this.evaluateAll(false);
    if (step === 1 || step % tr.captureEvery === 0 || last || this.captureNext) rec.attention = this.captureAttention();
    this.captureNext = false;
    if (this.identityInit) rec.identity = this.identity();
    for (const f of this.afterStep) f(rec);
    const m = this.measures.take();
    if (m) rec.measures = m;
    this.lastRecord = rec;
    return rec;
  }

  private groupNorms(which: 'g' | 'w'): Float64Array {
    const out = new Float64Array(this.groups.length);
    const ps = this.model.params;
    for (let i = 0; i < ps.length; i++) out[this.groupOf[i]!] += sumSquares(ps[i]![which]);
    for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(out[i]!);
    return out;
  }

  /** Loss and accuracy on validation and test (and train when asked). */
  evaluateAll(includeTrain: boolean): EvalRecord {
    const ev = (s: Split) => {
      if (s.n === 0) return { loss: NaN, acc: NaN };
      const r = this.model.evaluate(splitAsBatch(s));
      return { loss: r.lossSum / s.n, acc: r.correct / s.n };
    };
    const v = ev(this.data.validation);
    const t = ev(this.data.test);
    const out: EvalRecord = { validationLoss: v.loss, validationAccuracy: v.acc, testLoss: t.loss, testAccuracy: t.acc };
    if (includeTrain) {
      const tr = ev(this.data.train);
      out.trainLoss = tr.loss;
      out.trainAccuracy = tr.acc;
    }
    if (this.model instanceof LuModel && this.topicSet) {
      const set = this.topicSet;
      out.topicAttention = this.model.topicAttention(splitAsBatch(this.data.test), (id) => set.has(id));
    }
    return out;
  }

  requestCapture(): void {
    this.captureNext = true;
  }

  /** Attention maps of every probe sentence, now. */
  captureAttention(): AttentionMap[][] {
    return this.probeBatch.B > 0 ? this.model.attention(this.probeBatch) : [];
  }

  /** The persisting identity for every topic word, now (Lu models on the synthetic task). */
  identity(): IdentityRow[] | undefined {
    const init = this.identityInit;
    const lu = this.model;
    if (!init || !(lu instanceof LuModel) || !this.data.topicWords) return undefined;
    const m = this.data.m ?? 1;
    let qn = 0;
    for (let j = 0; j < lu.K; j++) qn += lu.query.w[j]! * lu.query.w[j]!;
    qn = Math.sqrt(qn);
    const rows: IdentityRow[] = [];
    const words = this.data.topicWords.flat();
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      const { s0, w0 } = init[i]!;
      const score = lu.scoreOf(w);
      const embNorm = rowNorm(lu.embeddings.w, w, lu.D);
      const measured = qn * embNorm;
      // ‖q‖²(‖w‖² − ‖w0‖²) = 2(s − s0) + (2/m)(e^s − e^{s0})
      const rhs = qn * qn * w0 * w0 + 2 * (score - s0) + (2 / m) * (Math.exp(score) - Math.exp(s0));
      const theory = Math.sqrt(Math.max(0, rhs));
      const relError = theory === 0 ? (measured === 0 ? 0 : Infinity) : Math.abs(measured - theory) / theory;
      if (score - s0 >= 1 && relError > this.identityMovedMax) this.identityMovedMax = relError;
      rows.push({ word: w, score, embNorm, queryNorm: qn, measured, theory, relError });
    }
    return rows;
  }

  /** Final numbers of the run, evaluated on the current weights. */
  summary(): RunSummary {
    const ev = this.evaluateAll(true);
    const out: RunSummary = {
      steps: this.stepNo,
      epochs: Math.ceil(this.stepNo / this.stepsPerEpoch),
      loss: ev.trainLoss!,
      trainAccuracy: ev.trainAccuracy!,
      validationAccuracy: ev.validationAccuracy,
      testAccuracy: ev.testAccuracy,
      msPerStep: this.stepNo > 0 ? this.stepMsTotal / this.stepNo : 0,
    };
    if (ev.topicAttention !== undefined) out.topicAttention = ev.topicAttention;
    const id = this.identity();
    if (id) {
      out.identityMaxRelError = Math.max(...id.map((r) => r.relError));
      out.identityMaxRelErrorMoved = this.identityMovedMax;
    }
    void this.lastRecord;
    void this.lastEval;
    return out;
  }
}

function rowNorm(w: Float32Array, row: number, D: number): number {
  let s = 0;
  for (let d = 0; d < D; d++) {
    const x = w[row * D + d]!;
    s += x * x;
  }
  return Math.sqrt(s);
}

/**
 * Why a step's numbers mean the run cannot go on usefully (a non-finite loss or gradient
 * norm), or undefined. The one rule for every driver: a TrainingLoop pauses on it (VS Code),
 * the command line stops on it.
 */
export function nonFiniteReason(rec: StepRecord): string | undefined {
  if (!Number.isFinite(rec.loss)) return `step ${rec.step}: loss is ${rec.loss}`;
  const g = rec.gradNorms.findIndex((x) => !Number.isFinite(x));
  return g >= 0 ? `step ${rec.step}: gradient norm ${g} is ${rec.gradNorms[g]}` : undefined;
}

/** What a TrainingLoop calls; it never waits on them. */
export interface TrainHooks {
  onStep?(rec: StepRecord): void;
  /**
   * Called when the loop pauses itself or is paused (with the reason), with the attention at
   * that step when the step did not capture it (so a paused run shows the step it is at).
   */
  onPaused?(step: number, reason: string, attention?: AttentionMap[][]): void;
  onResumed?(step: number): void;
}

/** How fast a loop trains (the protocol's Pace): at most stepsPerSecond; a hold of holdMs after each step that captured attention. */
export interface LoopPace {
  stepsPerSecond?: number;
  holdMs?: number;
}

/**
 * Runs a Trainer to completion with pause / resume / single-step / stop between steps, at a
 * pace (setPace) or as fast as it can. `yieldNow` lets the caller's event loop run (e.g. to
 * receive a pause command); the loop calls it at most every `yieldMs` of training. It pauses
 * itself when the loss or a gradient norm is not finite. A pace only spaces the steps out: each
 * step is the same step, recorded the same way.
 */
export class TrainingLoop {
  private paused = false;
  private stopped = false;
  private pendingSteps = 0;
  private wake: (() => void) | undefined;
  private pace: LoopPace = {};
  /** The last step's record (a pause captures attention when it did not). */
  private last: StepRecord | undefined;
  /** Pacing: steps done since `anchorAt` (reset when the pace changes or the loop resumes). */
  private anchorAt = 0;
  private anchorSteps = 0;

  constructor(
    readonly trainer: Steppable,
    private readonly hooks: TrainHooks,
    private readonly yieldNow: () => Promise<void>,
    private readonly yieldMs = 10,
  ) {}

  get isPaused(): boolean {
    return this.paused;
  }

  /** The pace it trains at. */
  get currentPace(): LoopPace {
    return { ...this.pace };
  }

  pause(reason = 'paused'): void {
    if (this.paused || this.stopped) return;
    this.paused = true;
    const attention = this.last && !this.last.attention ? this.trainer.captureAttention?.() : undefined;
    this.hooks.onPaused?.(this.trainer.step, reason, attention);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.reanchor();
    this.hooks.onResumed?.(this.trainer.step);
    this.wake?.();
  }

  /** While paused: run exactly one step, then stay paused. */
  stepOnce(): void {
    if (!this.paused) return;
    this.pendingSteps++;
    this.wake?.();
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Trains at `pace` from now on (an empty pace: as fast as it can). */
  setPace(pace: LoopPace): void {
    this.pace = { ...pace };
    this.reanchor();
    this.wake?.(); // a wait for the old pace ends now
  }

  private reanchor(): void {
    this.anchorAt = now();
    this.anchorSteps = 0;
  }

  /** Waits `ms` or until woken (pause, resume, step, stop, a new pace). */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        cancel();
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const cancel = after(ms, done);
      this.wake = done;
    });
  }

  /**
   * How long to wait before the next step at the pace: the steps since the anchor may not run
   * ahead of stepsPerSecond (averaged, so timer granularity does not cap 1,000 steps/s), and a
   * step that captured attention is held for holdMs.
   */
  private delayAfter(rec: StepRecord): number {
    const { stepsPerSecond: rate, holdMs } = this.pace;
    let ms = 0;
    if (rate !== undefined) {
      this.anchorSteps++;
      ms = (this.anchorSteps * 1000) / rate - (now() - this.anchorAt);
    }
    if (holdMs !== undefined && holdMs > 0 && rec.attention) {
      ms = Math.max(ms, 0) + holdMs;
      this.anchorAt += holdMs; // the hold is not time the rate should make up for
    }
    return ms;
  }

  /** Resolves when the run completes ('done') or is stopped ('stopped'). */
  async run(): Promise<'done' | 'stopped'> {
    let lastYield = now();
    this.reanchor();
    while (!this.stopped && !this.trainer.done) {
      if (this.paused && this.pendingSteps === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const single = this.paused;
      if (single) {
        this.pendingSteps--;
        this.trainer.requestCapture?.();
      }
      const rec = (this.last = this.trainer.trainStep());
      this.hooks.onStep?.(rec);
      const bad = nonFiniteReason(rec);
      if (bad !== undefined) this.pause(bad);
      const wait = single || this.paused ? 0 : this.delayAfter(rec);
      if (wait >= 1) {
        await this.sleep(wait);
        lastYield = now();
        continue;
      }
      const t = now();
      if (t - lastYield >= this.yieldMs || this.paused) {
        await this.yieldNow();
        lastYield = now();
      }
    }
    return this.stopped ? 'stopped' : 'done';
  }
}
