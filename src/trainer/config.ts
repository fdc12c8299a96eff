/**
 * The run configuration: everything that determines a run. A config plus its seed gives a
 * bit-identical run. Validation and defaults live in `configSchema.ts`.
 */

export interface SyntheticDataConfig {
  kind: 'synthetic';
  /** Number of topics = classes (paper: 4). */
  topics: number;
  /** Topic words per topic (paper: 2). */
  topicWordsPerTopic: number;
  /** Size of the non-topic vocabulary (paper: 5000). */
  nonTopicWords: number;
  /** Non-topic words per sentence, m (paper: 20). */
  wordsPerSentence: number;
  /** Sentence counts of the three splits (paper: 3999 / 50 / 950). */
  train: number;
  validation: number;
  test: number;
}

export interface TextDataConfig {
  kind: 'text';
  /** Training file (JSON Lines, CSV, TSV or `label sentence` lines). */
  train: string;
  /** Optional separate validation and test files; otherwise split off train by fraction. */
  validation?: string;
  test?: string;
  /** Fractions of train held out when no separate file is given. */
  validationFraction: number;
  testFraction: number;
  /** File format; `auto` picks it from the extension (.jsonl, .csv, .tsv, else lines). */
  format: 'auto' | 'jsonl' | 'csv' | 'tsv' | 'lines';
  /** Column / field names for JSONL, CSV and TSV. */
  textField: string;
  labelField: string;
  /** Vocabulary cap (most frequent words first) and minimum count. */
  maxVocab: number;
  minCount: number;
  /** Sentences longer than this are truncated. */
  maxLength: number;
  lowercase: boolean;
}

export type DataConfig = SyntheticDataConfig | TextDataConfig;

export interface LuModelConfig {
  kind: 'lu';
  /** FC: frozen random W with unit diagonal; TC: trainable linear; TL: Linear→ReLU→Linear. */
  classifier: 'FC' | 'TC' | 'TL';
  dEmb: number;
  dKey: number;
  queryStd: number;
  /**
   * When set, the drawn query is rescaled to this norm. Keys start at zero and only ever move
   * along q, so the dynamics depend on q only through ‖q‖; the paper presets fix it at the
   * official code's value (1.197, what its torch seed 3 draws) to reproduce that run.
   */
  queryNorm?: number;
  embStd: number;
  /** Hidden width of the TL classifier (paper: 10). */
  hidden: number;
  trainable: { query: boolean; keys: boolean; embeddings: boolean };
}

export interface MultiHeadAttentionConfig {
  kind: 'multihead';
  heads: number;
  /** Per-head query/key and value size. */
  dHead: number;
}

export interface TalkingHeadsAttentionConfig {
  kind: 'talking-heads';
  /** h_k: heads of the logits J. */
  keyHeads: number;
  /** h: heads of the softmax. */
  heads: number;
  /** h_v: heads of the values. */
  valueHeads: number;
  dKey: number;
  dValue: number;
}

export interface EncoderModelConfig {
  kind: 'encoder';
  dModel: number;
  layers: number;
  attention: MultiHeadAttentionConfig | TalkingHeadsAttentionConfig;
  /** Learned absolute positions added to the token embeddings. */
  positions: boolean;
  /** Hidden width of the per-layer MLP block; 0 for none. */
  mlpHidden: number;
  /** Dropout on attention output and MLP output during training. */
  dropout: number;
  /** Std of the normal initialisation of embeddings. */
  embStd: number;
}

export type ModelConfig = LuModelConfig | EncoderModelConfig;

export interface SgdConfig {
  kind: 'sgd';
  lr: number;
  momentum: number;
  weightDecay: number;
}

export interface AdamConfig {
  kind: 'adam';
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export type OptimizerConfig = SgdConfig | AdamConfig;

export interface TrainingConfig {
  epochs: number;
  /** 0 = full batch (one step per epoch). */
  batchSize: number;
  /** Validation / test accuracy every N steps (and at the last step). */
  evalEvery: number;
  /** Probe attention every N steps (and at the first and last step). */
  captureEvery: number;
  /** Number of probe sentences, taken from the start of the test split. */
  probes: number;
}

export interface RunConfig {
  name: string;
  seed: number;
  data: DataConfig;
  model: ModelConfig;
  optimizer: OptimizerConfig;
  training: TrainingConfig;
}
