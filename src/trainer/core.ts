/**
 * The trainer's shared vocabulary: parameters, batches, models and what a model reports.
 * Everything here is plain data over typed arrays; no I/O, no DOM, no vscode.
 */

/** A trainable (or frozen) tensor with its gradient buffer, stored row-major. */
export interface Param {
  /** Unique within a model, e.g. `layer0.Wq`. */
  readonly name: string;
  /** The parameter group the dashboard plots, e.g. `embeddings`, `keys`, `layer0.talking`. */
  readonly group: string;
  readonly shape: readonly number[];
  /** Values, length = product of shape. */
  readonly w: Float32Array;
  /** Gradient, same length as w. Left at zero when the param is frozen. */
  readonly g: Float32Array;
  /** Frozen params receive no gradient and are not updated. */
  trainable: boolean;
}

export function makeParam(name: string, group: string, shape: readonly number[], trainable = true): Param {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, group, shape: [...shape], w: new Float32Array(n), g: new Float32Array(n), trainable };
}

/**
 * A batch of token sequences, padded to a common length T.
 * tokens: (B, T) word ids, pad = 0 past each sentence's length
 * lengths: (B) number of real tokens of each sentence (≥ 1)
 * labels: (B) class ids
 */
export interface Batch {
  readonly B: number;
  readonly T: number;
  readonly tokens: Int32Array;
  readonly lengths: Int32Array;
  readonly labels: Int32Array;
}

/** What one forward pass over a batch gives. */
export interface BatchResult {
  /** Sum over the batch of per-example cross-entropy (divide by B for the mean). */
  lossSum: number;
  /** Number of examples whose argmax equals the label. */
  correct: number;
}

/**
 * One attention map captured for the dashboard.
 * layer: 0 for Lu models; head: index within the stage.
 * stage: `weights` (softmax output; for talking-heads the W after the pre-softmax mix),
 *        `logits` (talking-heads J, before the pre-softmax mix), `mixed` (talking-heads U, after the
 *        post-softmax mix); `premix` is reserved and not emitted
 * data: (rows, cols) — rows = 1 query for Lu models, rows = cols = sentence length for the encoder
 */
export interface AttentionMap {
  layer: number;
  head: number;
  stage: 'weights' | 'logits' | 'premix' | 'mixed';
  rows: number;
  cols: number;
  data: Float32Array;
}

/** A model the training loop can drive. */
export interface Model {
  readonly kind: 'lu' | 'encoder';
  readonly params: readonly Param[];
  readonly numClasses: number;
  /**
   * Forward and backward over the batch: gradients of the MEAN loss over the batch are
   * written (not accumulated) into every trainable param's g.
   */
  trainBatch(batch: Batch): BatchResult;
  /** Forward only (no dropout), for evaluation. */
  evaluate(batch: Batch): BatchResult;
  /** Attention maps of each sentence of the batch (forward only). */
  attention(batch: Batch): AttentionMap[][];
}

/** Sum of squares of a typed array, accumulated in double precision. */
export function sumSquares(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    s += v * v;
  }
  return s;
}
