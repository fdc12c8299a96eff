/**
 * The contract between the three processes of Attention Lens: the extension host, the
 * trainer (a Node child process) and the dashboard webview. Four message unions, named by
 * direction, each discriminated on `type`; commands are imperative, events past tense.
 * Every channel opens with a handshake carrying PROTOCOL_VERSION. This module imports
 * nothing platform-specific; everything received is `unknown` until a guard in `guards.ts`
 * accepts it.
 *
 * Tensors travel as typed arrays plus a shape: toward the trainer the channel uses Node's
 * `serialization: 'advanced'` (structured clone), toward the webview VS Code's postMessage,
 * which carries typed arrays and ArrayBuffers as binary.
 */

/** Bumped on any incompatible change of a message below. */
export const PROTOCOL_VERSION = 1;

// ─── Shared payloads ─────────────────────────────────────────────────────────────────

/** A run's life: starting → running ⇄ paused → completed | stopped | failed. */
export type RunStatus = 'starting' | 'running' | 'paused' | 'completed' | 'stopped' | 'failed';

/** One attention map. rows × cols, row-major. */
export interface AttentionMapData {
  /** Layer index (0 for the Lu model). */
  layer: number;
  /** Head index within the stage. */
  head: number;
  /** weights = softmax output; logits = talking-heads J; mixed = talking-heads U (post-softmax mix). */
  stage: 'weights' | 'logits' | 'premix' | 'mixed';
  rows: number;
  cols: number;
  /** (rows, cols) */
  data: Float32Array;
}

/** Attention of every probe sentence at one step: frames[p] is probe p's maps. */
export interface AttentionFrame {
  step: number;
  probes: AttentionMapData[][];
}

/** The persisting identity of the Lu model per topic word at one step (PAPERS.md §1). */
export interface IdentityData {
  /** (topic words) s_τ */
  score: Float64Array;
  /** (topic words) measured ‖q‖·‖w_τ‖ */
  measured: Float64Array;
  /** (topic words) the identity's ‖q‖·‖w_τ‖ */
  theory: Float64Array;
  /** (topic words) |measured − theory| / theory */
  relError: Float64Array;
}

/** Evaluation at a step (every evalEvery steps). NaN when the split is empty. */
export interface EvalData {
  validationLoss: number;
  validationAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  /** Lu model on the synthetic task: mean attention on the topic word over the test split. */
  topicAttention?: number;
}

// ─── measurements: declared once, sent as data ────────────────────────────────────────
//
// A run declares its measurements in RunInfo.measures; values then travel inside the step and
// snapshot messages (StepData.measures / .events, MeasureChunk), never as new message kinds.
// A new experiment adds declarations and data, not a message type, a store record or a view.

/**
 * What a measurement is:
 *   series  one number per step it is recorded at (a scalar curve);
 *   groups  one number per named group (parameter group, layer, member) per step;
 *   matrix  a named rows × cols matrix at a step (e.g. an accuracy matrix a[t][i]);
 *   event   something that happened at a step: a short text and a small JSON payload.
 */
export type MeasureKind = 'series' | 'groups' | 'matrix' | 'event';

/** A measurement's declaration, in RunInfo.measures (its index there is its store index). */
export interface MeasureDecl {
  /** Unique within the run, 1–100 characters of [A-Za-z0-9_./:-], e.g. `acc/task`, `bits`, `pbt/exploit`. */
  id: string;
  kind: MeasureKind;
  /** What a person reads in titles and legends. */
  label: string;
  /** Unit of the values (`bits`, `nats`, `%`), when there is one. */
  unit?: string;
  /** groups: the groups' names, in the order of every sample's values (1–1024). */
  groups?: string[];
  /** matrix: row labels and column labels (each 1–1024). */
  rows?: string[];
  cols?: string[];
  /** Axis hints for series / groups (the y axis) and matrix (the colour scale). */
  scale?: 'linear' | 'log';
  min?: number;
  max?: number;
  /**
   * Which convention the values follow where conventions differ, as one sentence, e.g.
   * "a[t][i]: test accuracy on task i after training on task t (rows t, columns i)".
   */
  convention?: string;
  /** event: a labelled vertical line at its step ('line', the default), or a band from its step to the next event of the same id ('band'). */
  display?: 'line' | 'band';
  /** Series and groups with the same card share one chart (default: a chart of its own). */
  card?: string;
}

/** JSON a payload may hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * One value of a series, groups or matrix measurement at a step: `values` has 1 (series),
 * groups.length (groups) or rows·cols (matrix, row-major) numbers.
 */
export interface MeasureSample {
  id: string;
  values: Float64Array;
}

/** An event at a step. `text` labels its marker (≤ 200 characters); `payload` is small JSON (≤ 16 KiB as JSON text). */
export interface MeasureEvent {
  id: string;
  step: number;
  text: string;
  payload?: JsonValue;
}

/** Recorded measurement values, for many steps at once (snapshots, updates, a run read back). */
export interface MeasureChunk {
  /** Series and groups measurements: for each that has values here, its steps and values, (n × width) row-major. */
  series: { id: string; step: Float64Array; values: Float64Array }[];
  /** Matrix values at their steps, in step order (matrices are sparse: every one is kept). */
  matrices: { id: string; step: number; values: Float32Array }[];
  /** Events in step order. */
  events: MeasureEvent[];
}

/** Most measurements one run may declare. */
export const MAX_MEASURES = 256;
/** Most groups, rows or columns one measurement may declare. */
export const MAX_MEASURE_LABELS = 1024;
/** Longest event text, and largest event payload as JSON text. */
export const MAX_EVENT_TEXT = 200;
export const MAX_EVENT_PAYLOAD_CHARS = 16 * 1024;

/** What a run is, sent once when it starts. */
export interface RunInfo {
  name: string;
  /** 'lu' and 'encoder' have views of their own; 'other' (a test model, a user's own model) gets the generic ones. */
  modelKind: 'lu' | 'encoder' | 'other';
  /** Parameter groups, in the order of gradNorms / weightNorms. */
  groups: string[];
  totalSteps: number;
  stepsPerEpoch: number;
  classes: string[];
  /** The probe sentences whose attention is captured. */
  probes: { tokens: string[]; label: number }[];
  /** Lu model on the synthetic task: the topic words, in the order of IdentityData, and m. */
  topicWords?: string[];
  m?: number;
  /** The run's declared measurements (absent: none). Their values come in StepData.measures / .events. */
  measures?: MeasureDecl[];
  /** The full validated run config (JSON). */
  config: unknown;
}

/** One step's numbers from the trainer. */
export interface StepData {
  step: number;
  epoch: number;
  loss: number;
  trainAccuracy: number;
  /** (groups) */
  gradNorms: Float64Array;
  /** (groups) */
  weightNorms: Float64Array;
  eval?: EvalData;
  /** Captured every captureEvery steps. */
  attention?: AttentionMapData[][];
  identity?: IdentityData;
  /** Values of declared series / groups / matrix measurements recorded at this step. */
  measures?: MeasureSample[];
  /** Declared events that happened at this step (their step is this step). */
  events?: MeasureEvent[];
  stepMs: number;
  /** Trainer's wall clock (ms since the epoch) when the step completed. */
  wallTime?: number;
}

export interface RunSummaryData {
  steps: number;
  loss: number;
  trainAccuracy: number;
  validationAccuracy: number;
  testAccuracy: number;
  msPerStep: number;
  topicAttention?: number;
  identityMaxRelError?: number;
}

/**
 * How fast a run trains, for watching it: at most `stepsPerSecond` steps a second (absent: as
 * fast as it can), and in slow motion a hold of `holdMs` after every step that captured
 * attention (so each captured frame stays on screen). A pace changes when steps happen, never
 * what is recorded.
 */
export interface Pace {
  stepsPerSecond?: number;
  holdMs?: number;
}

/** Bounds of a pace (a guard refuses anything outside). */
export const MAX_STEPS_PER_SECOND = 1e6;
export const MAX_HOLD_MS = 60_000;

// ─── host → trainer ──────────────────────────────────────────────────────────────────

export type HostToTrainer =
  /** Start training `config` (a run config, validated again by the trainer). */
  | { type: 'startRun'; protocolVersion: number; config: unknown; baseDir: string; startPaused: boolean; pace?: Pace }
  /** From now on train at this pace. */
  | { type: 'setPace'; pace: Pace }
  | { type: 'pause' }
  | { type: 'resume' }
  /** While paused: exactly one step. */
  | { type: 'step' }
  | { type: 'stop' };

// ─── trainer → host ──────────────────────────────────────────────────────────────────

export type TrainerToHost =
  /** First message after the process starts: the handshake. */
  | { type: 'trainerReady'; protocolVersion: number; pid: number }
  | { type: 'runStarted'; info: RunInfo }
  | { type: 'stepCompleted'; data: StepData }
  /**
   * Several consecutive steps at once (a fast trainer batches what it finished in the last few
   * ms, at most MAX_STEPS_PER_MESSAGE): the host treats each as a stepCompleted.
   */
  | { type: 'stepsCompleted'; data: StepData[] }
  /** The run paused after `step`; `attention`: the probes' attention at that step, when the step did not capture it. */
  | { type: 'paused'; step: number; reason: string; attention?: AttentionMapData[][] }
  | { type: 'resumed'; step: number }
  | { type: 'runCompleted'; summary: RunSummaryData }
  /** The run ended on a stop: the host's `stop`, or (with `reason`) a signal the trainer received. */
  | { type: 'runStopped'; step: number; reason?: string }
  /** The trainer could not go on (bad config, bad data, an exception); it exits after this. */
  | { type: 'runFailed'; message: string };

/** Steps one stepsCompleted may carry. */
export const MAX_STEPS_PER_MESSAGE = 4096;

// ─── host → webview ──────────────────────────────────────────────────────────────────

/** Per-step scalars for many steps at once, columnar. All arrays have length n. */
export interface ScalarChunk {
  n: number;
  step: Float64Array;
  loss: Float64Array;
  trainAccuracy: Float64Array;
  /** (n × groups), row-major */
  gradNorms: Float64Array;
  /** (n × groups), row-major */
  weightNorms: Float64Array;
}

/** Evaluation points (sparse steps). */
export interface EvalPoint extends EvalData {
  step: number;
}

/** Lu identity points: per step, the topic words' scores and measured/theory norms. */
export interface IdentityPoint extends IdentityData {
  step: number;
}

/** Everything the dashboard shows of a run, for a (re)opened webview. */
export interface RunSnapshot {
  runId: string;
  /** The run's display name (the Runs view's; Rename changes it), when it differs from info.name or may. */
  name?: string;
  status: RunStatus;
  statusReason?: string;
  /** The pace a live run trains at (absent: as fast as it can, or not a live run). */
  pace?: Pace;
  /** The user's note on the run (Edit Run Note), when it has one. */
  note?: string;
  info: RunInfo | undefined;
  scalars: ScalarChunk;
  evals: EvalPoint[];
  /** Steps at which attention was captured (the scrubber's stops). */
  attentionSteps: number[];
  /** The latest captured attention. */
  latestAttention: AttentionFrame | undefined;
  /** Identity at a bounded number of recorded steps (for the scatter). */
  identity: IdentityPoint[];
  /** Every declared measurement's recorded values, whole. */
  measures: MeasureChunk;
  summary?: RunSummaryData;
}

export type HostToWebview =
  /** Reply to `ready`: the run's whole state. */
  | { type: 'snapshot'; protocolVersion: number; snapshot: RunSnapshot }
  /** New steps since the last update (coalesced to a bounded rate). */
  | {
      type: 'stepsAppended';
      runId: string;
      /** The run's info, in the first update after it arrived (a snapshot taken earlier lacks it). */
      info?: RunInfo;
      scalars: ScalarChunk;
      evals: EvalPoint[];
      attentionSteps: number[];
      latestAttention?: AttentionFrame;
      identity: IdentityPoint[];
      /** Measurement values recorded since the last update. */
      measures: MeasureChunk;
      /**
       * Flow control: a page that is sent updates numbered `seq` answers each with `applied`;
       * the host has at most a couple unanswered and merges what arrives meanwhile, so a page
       * that cannot keep up never builds a backlog (which would also delay VS Code itself).
       */
      seq?: number;
      /** Date.now() in the trainer when it finished the update's last step (to measure step → screen). */
      lastWallTime?: number;
      /** Date.now() in the host when it posted this update (to measure the hop to the page). */
      postedAt?: number;
    }
  | { type: 'statusChanged'; runId: string; status: RunStatus; step: number; reason?: string; summary?: RunSummaryData; name?: string; pace?: Pace; note?: string }
  /** Reply to `requestAttention`. */
  | { type: 'attentionLoaded'; runId: string; frame: AttentionFrame }
  /** The webview spoke another protocol version. */
  | { type: 'protocolMismatch'; expected: number; received: unknown }
  /**
   * Reply to `ready` in a compare view: every compared run's whole state, in the order the
   * user chose, and the config fields whose values differ between them. Afterwards each run's
   * `stepsAppended` / `statusChanged` / `attentionLoaded` arrive with its runId as usual.
   */
  | { type: 'compareSnapshot'; protocolVersion: number; runs: RunSnapshot[]; configDiff: ConfigDifference[] };

/** One config field that differs between compared runs. */
export interface ConfigDifference {
  /** Dotted path, e.g. `model.trainable.keys`. */
  path: string;
  /** The field's value in each run (same order as the runs), as compact JSON; `—` when absent. */
  values: string[];
}

// ─── webview → host ──────────────────────────────────────────────────────────────────

export type WebviewToHost =
  /** The page has loaded and listens: the handshake. */
  | { type: 'ready'; protocolVersion: number }
  | { type: 'pauseRun'; runId: string }
  | { type: 'resumeRun'; runId: string }
  | { type: 'stepRun'; runId: string }
  | { type: 'stopRun'; runId: string }
  /** The pace control: train the run at this pace. */
  | { type: 'setPace'; runId: string; pace: Pace }
  /** The page has taken in the stepsAppended numbered `seq` (flow control). */
  | { type: 'applied'; seq: number }
  /** The scrubber moved: the attention captured at (or just before) `step`. */
  | { type: 'requestAttention'; runId: string; step: number }
  /**
   * Save a chart or heatmap the page rendered as a PNG (the host asks where, through the save
   * dialog: downloads from a webview do not work in VS Code). `runId`: the run it shows, absent
   * for a compare chart of several runs; `name`: what it is, for the file name (`loss`,
   * `attention-step-300`); `png`: the whole file, at most MAX_EXPORT_PNG_BYTES.
   */
  | { type: 'exportImage'; runId?: string; name: string; png: Uint8Array };

/** Largest PNG a page may send for export (a full-screen chart at 2× is a few MB). */
export const MAX_EXPORT_PNG_BYTES = 32 * 1024 * 1024;

/** The 8 bytes every PNG file starts with. */
export const PNG_SIGNATURE: readonly number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Exhaustiveness check for switches over the unions. */
export function assertNever(x: never): never {
  throw new Error(`unhandled message ${JSON.stringify(x)}`);
}
