/**
 * The trainer process's side of the protocol: a Trainer's own records (StepRecord, RunSummary)
 * turned into the messages it sends (StepData, RunInfo, RunSummaryData). Pure functions, no
 * I/O, so tests can build real protocol messages from a real Trainer.
 */
import type { AttentionMapData, EvalData, IdentityData, RunInfo, RunSummaryData, StepData } from '../protocol/messages';
import type { AttentionMap } from '../trainer/core';
import type { EvalRecord, IdentityRow, RunSummary, StepRecord, Trainer } from '../trainer/train';

/**
 * A typed array that owns exactly its buffer. Structured clone copies a view's whole
 * underlying ArrayBuffer, so a subarray of a large scratch buffer would travel in full.
 */
function compact<T extends Float32Array | Float64Array>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}

/** A trainer's attention maps as the protocol's (each map owning its buffer). */
export function attentionMaps(maps: AttentionMap[][]): AttentionMapData[][] {
  return maps.map((probe) => probe.map((m) => ({ layer: m.layer, head: m.head, stage: m.stage, rows: m.rows, cols: m.cols, data: compact(m.data) })));
}

function identityData(rows: readonly IdentityRow[]): IdentityData {
  const k = rows.length;
  const out: IdentityData = { score: new Float64Array(k), measured: new Float64Array(k), theory: new Float64Array(k), relError: new Float64Array(k) };
  for (let i = 0; i < k; i++) {
    const r = rows[i]!;
    out.score[i] = r.score;
    out.measured[i] = r.measured;
    out.theory[i] = r.theory;
    out.relError[i] = r.relError;
  }
  return out;
}

function evalData(e: EvalRecord): EvalData {
  const out: EvalData = { validationLoss: e.validationLoss, validationAccuracy: e.validationAccuracy, testLoss: e.testLoss, testAccuracy: e.testAccuracy };
  if (e.topicAttention !== undefined) out.topicAttention = e.topicAttention;
  return out;
}

/** One step's record as the `stepCompleted` payload. */
export function stepData(rec: StepRecord): StepData {
  const out: StepData = {
    step: rec.step,
    epoch: rec.epoch,
    loss: rec.loss,
    trainAccuracy: rec.trainAccuracy,
    gradNorms: compact(rec.gradNorms),
    weightNorms: compact(rec.weightNorms),
    stepMs: rec.stepMs,
    wallTime: Date.now(),
  };
  if (rec.eval) out.eval = evalData(rec.eval);
  if (rec.attention) out.attention = attentionMaps(rec.attention);
  if (rec.identity) out.identity = identityData(rec.identity);
  if (rec.measures) {
    if (rec.measures.samples.length > 0) out.measures = rec.measures.samples.map((m) => ({ id: m.id, values: compact(m.values) }));
    if (rec.measures.events.length > 0) out.events = rec.measures.events.map((e) => (e.payload === undefined ? { id: e.id, step: rec.step, text: e.text } : { id: e.id, step: rec.step, text: e.text, payload: e.payload }));
  }
  return out;
}

/** What the run is, for `runStarted`. `config` is the validated config the trainer was built from. */
export function runInfo(trainer: Trainer, config: unknown): RunInfo {
  const info: RunInfo = {
    name: trainer.cfg.name,
    modelKind: trainer.model.kind,
    groups: [...trainer.groups],
    totalSteps: trainer.totalSteps,
    stepsPerEpoch: trainer.stepsPerEpoch,
    classes: [...trainer.data.classes],
    probes: trainer.probes.map((p) => ({ tokens: [...p.tokens], label: p.label })),
    config,
  };
  const measures = trainer.measures.declared;
  if (measures.length > 0) info.measures = measures;
  // The trainer reports identity rows exactly when the model is Lu and the data synthetic;
  // their order is topicWords.flat().
  const topic = trainer.data.topicWords;
  if (trainer.model.kind === 'lu' && topic) {
    const vocab = trainer.data.vocab;
    info.topicWords = topic.flat().map((id) => vocab[id] ?? `#${id}`);
    if (trainer.data.m !== undefined) info.m = trainer.data.m;
  }
  return info;
}

/** The trainer's final numbers as `runCompleted`'s payload. */
export function summaryData(s: RunSummary): RunSummaryData {
  const out: RunSummaryData = {
    steps: s.steps,
    loss: s.loss,
    trainAccuracy: s.trainAccuracy,
    validationAccuracy: s.validationAccuracy,
    testAccuracy: s.testAccuracy,
    msPerStep: s.msPerStep,
  };
  if (s.topicAttention !== undefined) out.topicAttention = s.topicAttention;
  if (s.identityMaxRelError !== undefined) out.identityMaxRelError = s.identityMaxRelError;
  return out;
}
