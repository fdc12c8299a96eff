/**
 * Guards for every message received on every channel. A message is `unknown` until one of
 * these accepts it; a rejected message is logged and counted by the receiver, never trusted.
 * Guards check shapes deeply enough that the receiver can use the message without casts.
 */
import { isMeasureChunk, isMeasureDecls, isMeasureEvent, isMeasureSample, measuresProblem } from './measures';
import { MAX_EXPORT_PNG_BYTES, MAX_HOLD_MS, MAX_STEPS_PER_MESSAGE, MAX_STEPS_PER_SECOND, PNG_SIGNATURE } from './messages';
import type {
  AttentionFrame,
  AttentionMapData,
  EvalData,
  HostToTrainer,
  HostToWebview,
  IdentityData,
  MeasureDecl,
  Pace,
  RunInfo,
  RunSummaryData,
  ScalarChunk,
  StepData,
  TrainerToHost,
  WebviewToHost,
} from './messages';

type Rec = Record<string, unknown>;
const isObj = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number';
const isFinNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): v is number => Number.isInteger(v);
const isNat = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
// By tag, not instanceof: a webview's messages can carry typed arrays made in another frame
// (VS Code rebuilds them in its outer webview frame), and instanceof fails across realms.
const tag = (v: unknown): string => Object.prototype.toString.call(v);
const isF32 = (v: unknown): v is Float32Array => tag(v) === '[object Float32Array]';
const isF64 = (v: unknown): v is Float64Array => tag(v) === '[object Float64Array]';
const isU8 = (v: unknown): v is Uint8Array => tag(v) === '[object Uint8Array]';
const isArr = <T>(v: unknown, el: (x: unknown) => x is T): v is T[] => Array.isArray(v) && v.every(el);
const opt = <T>(v: unknown, g: (x: unknown) => x is T): boolean => v === undefined || g(v);
const STAGES = ['weights', 'logits', 'premix', 'mixed'];
const STATUSES = ['starting', 'running', 'paused', 'completed', 'stopped', 'failed'];

/** A pace: optional steps per second in (0, MAX_STEPS_PER_SECOND], optional hold in [0, MAX_HOLD_MS]. */
export function isPace(v: unknown): v is Pace {
  if (!isObj(v)) return false;
  const r = v['stepsPerSecond'];
  const h = v['holdMs'];
  return (r === undefined || (isFinNum(r) && r > 0 && r <= MAX_STEPS_PER_SECOND)) && (h === undefined || (isFinNum(h) && h >= 0 && h <= MAX_HOLD_MS));
}

export function isAttentionMap(v: unknown): v is AttentionMapData {
  return (
    isObj(v) &&
    isNat(v['layer']) &&
    isNat(v['head']) &&
    isStr(v['stage']) &&
    STAGES.includes(v['stage']) &&
    isNat(v['rows']) &&
    isNat(v['cols']) &&
    isF32(v['data']) &&
    v['data'].length === (v['rows'] as number) * (v['cols'] as number)
  );
}

const isProbeMaps = (v: unknown): v is AttentionMapData[][] => isArr(v, (p): p is AttentionMapData[] => isArr(p, isAttentionMap));

export function isAttentionFrame(v: unknown): v is AttentionFrame {
  return isObj(v) && isNat(v['step']) && isProbeMaps(v['probes']);
}

function isEval(v: unknown): v is EvalData {
  return (
    isObj(v) &&
    isNum(v['validationLoss']) &&
    isNum(v['validationAccuracy']) &&
    isNum(v['testLoss']) &&
    isNum(v['testAccuracy']) &&
    opt(v['topicAttention'], isNum)
  );
}

function isIdentity(v: unknown): v is IdentityData {
  if (!isObj(v)) return false;
  const { score, measured, theory, relError } = v;
  return isF64(score) && isF64(measured) && isF64(theory) && isF64(relError) && measured.length === score.length && theory.length === score.length && relError.length === score.length;
}

export function isRunInfo(v: unknown): v is RunInfo {
  return (
    isObj(v) &&
    isStr(v['name']) &&
    (v['modelKind'] === 'lu' || v['modelKind'] === 'encoder' || v['modelKind'] === 'other') &&
    isArr(v['groups'], isStr) &&
    isNat(v['totalSteps']) &&
    isNat(v['stepsPerEpoch']) &&
    isArr(v['classes'], isStr) &&
    isArr(v['probes'], (p): p is { tokens: string[]; label: number } => isObj(p) && isArr(p['tokens'], isStr) && isInt(p['label'])) &&
    opt(v['topicWords'], (x): x is string[] => isArr(x, isStr)) &&
    opt(v['m'], isNat) &&
    opt(v['measures'], isMeasureDecls) &&
    'config' in v
  );
}

/**
 * One step's data. `groups` (once known) checks the norm vectors' length; `measures` (the run's
 * declarations by id, once known) checks every sample and event against its declaration.
 */
export function isStepData(v: unknown, groups?: number, measures?: ReadonlyMap<string, MeasureDecl>): v is StepData {
  if (!isObj(v)) return false;
  const ms = v['measures'];
  const evs = v['events'];
  if (!opt(ms, (x): x is unknown[] => isArr(x, isMeasureSample)) || !opt(evs, (x): x is unknown[] => isArr(x, isMeasureEvent))) return false;
  if (measures && isNat(v['step']) && measuresProblem(v['step'], ms as never, evs as never, measures) !== undefined) return false;
  const g = v['gradNorms'];
  const w = v['weightNorms'];
  return (
    isNat(v['step']) &&
    isNat(v['epoch']) &&
    isNum(v['loss']) &&
    isNum(v['trainAccuracy']) &&
    isF64(g) &&
    isF64(w) &&
    g.length === w.length &&
    (groups === undefined || g.length === groups) &&
    opt(v['eval'], isEval) &&
    opt(v['attention'], isProbeMaps) &&
    opt(v['identity'], isIdentity) &&
    isNum(v['stepMs']) &&
    opt(v['wallTime'], isNum)
  );
}

function isSummary(v: unknown): v is RunSummaryData {
  return (
    isObj(v) &&
    isNat(v['steps']) &&
    isNum(v['loss']) &&
    isNum(v['trainAccuracy']) &&
    isNum(v['validationAccuracy']) &&
    isNum(v['testAccuracy']) &&
    isNum(v['msPerStep']) &&
    opt(v['topicAttention'], isNum) &&
    opt(v['identityMaxRelError'], isNum)
  );
}

/** trainer → host. `groups` and `measures` (once known) also check each step against the run (see isStepData). */
export function isTrainerToHost(v: unknown, groups?: number, measures?: ReadonlyMap<string, MeasureDecl>): v is TrainerToHost {
  if (!isObj(v) || !isStr(v['type'])) return false;
  switch (v['type']) {
    case 'trainerReady':
      return isInt(v['protocolVersion']) && isNat(v['pid']);
    case 'runStarted':
      return isRunInfo(v['info']);
    case 'stepCompleted':
      return isStepData(v['data'], groups, measures);
    case 'stepsCompleted':
      return Array.isArray(v['data']) && v['data'].length >= 1 && v['data'].length <= MAX_STEPS_PER_MESSAGE && v['data'].every((d) => isStepData(d, groups, measures));
    case 'paused':
      return isNat(v['step']) && isStr(v['reason']) && opt(v['attention'], isProbeMaps);
    case 'resumed':
      return isNat(v['step']);
    case 'runStopped':
      return isNat(v['step']) && opt(v['reason'], isStr);
    case 'runCompleted':
      return isSummary(v['summary']);
    case 'runFailed':
      return isStr(v['message']);
    default:
      return false;
  }
}

/** host → trainer. */
export function isHostToTrainer(v: unknown): v is HostToTrainer {
  if (!isObj(v) || !isStr(v['type'])) return false;
  switch (v['type']) {
    case 'startRun':
      return isInt(v['protocolVersion']) && 'config' in v && isStr(v['baseDir']) && isBool(v['startPaused']) && opt(v['pace'], isPace);
    case 'setPace':
      return isPace(v['pace']);
    case 'pause':
    case 'resume':
    case 'step':
    case 'stop':
      return true;
    default:
      return false;
  }
}

/** webview → host. */
export function isWebviewToHost(v: unknown): v is WebviewToHost {
  if (!isObj(v) || !isStr(v['type'])) return false;
  switch (v['type']) {
    case 'ready':
      return isInt(v['protocolVersion']);
    case 'pauseRun':
    case 'resumeRun':
    case 'stepRun':
    case 'stopRun':
      return isStr(v['runId']);
    case 'setPace':
      return isStr(v['runId']) && isPace(v['pace']);
    case 'applied':
      return isNat(v['seq']);
    case 'requestAttention':
      return isStr(v['runId']) && isFinNum(v['step']);
    case 'exportImage':
      return opt(v['runId'], isStr) && isStr(v['name']) && v['name'].length > 0 && v['name'].length <= 200 && isPng(v['png']);
    default:
      return false;
  }
}

/**
 * A whole PNG file: a Uint8Array (by tag) no larger than MAX_EXPORT_PNG_BYTES that starts
 * with the PNG signature and an IHDR chunk (so its width and height can be read).
 */
export function isPng(v: unknown): v is Uint8Array {
  if (!isU8(v) || v.length < 33 || v.length > MAX_EXPORT_PNG_BYTES) return false;
  for (let i = 0; i < PNG_SIGNATURE.length; i++) if (v[i] !== PNG_SIGNATURE[i]) return false;
  // Bytes 8–15: the first chunk's length (13) and type "IHDR".
  return v[8] === 0 && v[9] === 0 && v[10] === 0 && v[11] === 13 && v[12] === 0x49 && v[13] === 0x48 && v[14] === 0x44 && v[15] === 0x52;
}

export function isScalarChunk(v: unknown): v is ScalarChunk {
  if (!isObj(v) || !isNat(v['n'])) return false;
  const n = v['n'];
  const cols = ['step', 'loss', 'trainAccuracy'].map((k) => v[k]);
  if (!cols.every((c) => isF64(c) && c.length === n)) return false;
  const g = v['gradNorms'];
  const w = v['weightNorms'];
  return isF64(g) && isF64(w) && g.length === w.length && (n === 0 || g.length % n === 0);
}

const isEvalPoint = (v: unknown): boolean => isObj(v) && isNat(v['step']) && isEval(v);
const isIdentityPoint = (v: unknown): boolean => isObj(v) && isNat(v['step']) && isIdentity(v);

/** host → webview (the webview's guard). */
export function isHostToWebview(v: unknown): v is HostToWebview {
  if (!isObj(v) || !isStr(v['type'])) return false;
  switch (v['type']) {
    case 'snapshot': {
      const s = v['snapshot'];
      return (
        isInt(v['protocolVersion']) &&
        isObj(s) &&
        isStr(s['runId']) &&
        opt(s['name'], isStr) &&
        opt(s['pace'], isPace) &&
        opt(s['note'], isStr) &&
        isStr(s['status']) &&
        STATUSES.includes(s['status']) &&
        opt(s['info'], isRunInfo) &&
        isScalarChunk(s['scalars']) &&
        Array.isArray(s['evals']) &&
        s['evals'].every(isEvalPoint) &&
        isArr(s['attentionSteps'], isNat) &&
        opt(s['latestAttention'], isAttentionFrame) &&
        Array.isArray(s['identity']) &&
        s['identity'].every(isIdentityPoint) &&
        isMeasureChunk(s['measures']) &&
        opt(s['summary'], isSummary)
      );
    }
    case 'stepsAppended':
      return (
        isStr(v['runId']) &&
        opt(v['info'], isRunInfo) &&
        isScalarChunk(v['scalars']) &&
        Array.isArray(v['evals']) &&
        v['evals'].every(isEvalPoint) &&
        isArr(v['attentionSteps'], isNat) &&
        opt(v['latestAttention'], isAttentionFrame) &&
        Array.isArray(v['identity']) &&
        v['identity'].every(isIdentityPoint) &&
        isMeasureChunk(v['measures']) &&
        opt(v['seq'], isNat) &&
        opt(v['lastWallTime'], isFinNum) &&
        opt(v['postedAt'], isFinNum)
      );
    case 'statusChanged':
      return isStr(v['runId']) && isStr(v['status']) && STATUSES.includes(v['status']) && isNat(v['step']) && opt(v['reason'], isStr) && opt(v['summary'], isSummary) && opt(v['name'], isStr) && opt(v['pace'], isPace) && opt(v['note'], isStr);
    case 'attentionLoaded':
      return isStr(v['runId']) && isAttentionFrame(v['frame']);
    case 'protocolMismatch':
      return isInt(v['expected']);
    case 'compareSnapshot':
      return (
        isInt(v['protocolVersion']) &&
        Array.isArray(v['runs']) &&
        v['runs'].every((r) => isHostToWebview({ type: 'snapshot', protocolVersion: 0, snapshot: r })) &&
        isArr(v['configDiff'], (d): d is { path: string; values: string[] } => isObj(d) && isStr(d['path']) && isArr(d['values'], isStr))
      );
    default:
      return false;
  }
}
