/**
 * The trainer side of the host ↔ trainer channel, for any Steppable: `serveTrainer(start)`
 * makes this process a trainer process (started by the host with `child_process.fork(...,
 * { serialization: 'advanced' })`). It greets the host with `trainerReady`, builds the one run
 * `startRun` asks for through `start`, and reports every step without ever waiting for the
 * host: messages are sent and training goes on. Between steps the event loop runs so pause /
 * step / resume / stop arrive promptly. It exits 0 after `runCompleted` or `runStopped`, 1 after
 * `runFailed`. main.ts serves the built-in trainer; a test model serves itself the same way.
 */
import { assertNever, PROTOCOL_VERSION, type HostToTrainer, type RunInfo, type RunSummaryData, type StepData, type TrainerToHost } from '../protocol/messages';
import { isHostToTrainer } from '../protocol/guards';
import { TrainingLoop, type Steppable } from '../trainer/train';
import { attentionMaps, stepData } from '../io/convert';

/** A run built for a startRun: what trains, what it is, and its final numbers. */
export interface ServedRun {
  trainer: Steppable;
  info: RunInfo;
  summary(): RunSummaryData;
}

/** Builds the run `startRun` asks for (throws on a bad config: the run then fails with its message). */
export type StartRun = (config: unknown, baseDir: string) => ServedRun;

let serve: StartRun | undefined;
/** SIGTERM arrived: the run ends as stopped, the process with code 143. */
let terminated = false;

let loop: TrainingLoop | undefined;
let started = false;
let exiting = false;

function log(line: string): void {
  process.stderr.write(`[trainer ${process.pid}] ${line}\n`);
}

/** Fire and forget; `then` runs once the message is written to the channel (or cannot be). */
function send(msg: TrainerToHost, then?: () => void): void {
  if (!process.send || !process.connected) {
    then?.();
    return;
  }
  process.send(msg, undefined, undefined, () => then?.());
}

/**
 * Steps are sent in batches: what the loop finished within BATCH_MS (at most MAX_BATCH steps,
 * well under the protocol's MAX_STEPS_PER_MESSAGE) goes as one message, so a fast run costs
 * the host one message every few ms instead of thousands a second. A batch never waits longer
 * than BATCH_MS (the loop yields to the event loop after every step, so the timer fires), and
 * everything queued goes out before a paused, resumed or final message.
 */
const BATCH_MS = 4;
const MAX_BATCH = 256;
let batch: StepData[] = [];
let batchTimer: NodeJS.Timeout | undefined;

function queueStep(d: StepData): void {
  batch.push(d);
  if (batch.length >= MAX_BATCH) flushSteps();
  else batchTimer ??= setTimeout(flushSteps, BATCH_MS);
}

function flushSteps(): void {
  if (batchTimer !== undefined) clearTimeout(batchTimer);
  batchTimer = undefined;
  if (batch.length === 0) return;
  const data = batch;
  batch = [];
  send(data.length === 1 ? { type: 'stepCompleted', data: data[0]! } : { type: 'stepsCompleted', data });
}

/** Sends the run's last message and exits once it is flushed. */
function finish(msg: TrainerToHost, code: number): void {
  if (exiting) return;
  flushSteps();
  exiting = true;
  loop?.stop();
  send(msg, () => process.exit(code));
  // Should the write never complete (a wedged channel), exit anyway.
  setTimeout(() => process.exit(code), 2000).unref();
}

function fail(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`${e instanceof Error && e.stack ? e.stack : message}\n`);
  finish({ type: 'runFailed', message }, 1);
}

/** A short description of something that is not a valid message, for the log. */
function describe(v: unknown): string {
  if (typeof v !== 'object' || v === null) return String(v);
  const type = (v as Record<string, unknown>)['type'];
  return typeof type === 'string' ? `"${type}" with missing or wrong fields` : 'an object without a string type';
}

function startRun(msg: Extract<HostToTrainer, { type: 'startRun' }>): void {
  if (started) {
    log('ignored a second startRun: this process trains one run');
    return;
  }
  started = true;
  if (msg.protocolVersion !== PROTOCOL_VERSION) {
    fail(new Error(`protocol version mismatch: host speaks ${msg.protocolVersion}, trainer speaks ${PROTOCOL_VERSION}`));
    return;
  }
  let run: ServedRun;
  try {
    run = serve!(msg.config, msg.baseDir);
    send({ type: 'runStarted', info: run.info });
  } catch (e) {
    fail(e);
    return;
  }
  const t = run.trainer;
  const l = (loop = new TrainingLoop(
    t,
    {
      onStep: (rec) => queueStep(stepData(rec)),
      onPaused: (step, reason, attention) => {
        flushSteps();
        send(attention ? { type: 'paused', step, reason, attention: attentionMaps(attention) } : { type: 'paused', step, reason });
      },
      onResumed: (step) => {
        flushSteps();
        send({ type: 'resumed', step });
      },
    },
    () => new Promise<void>((resolve) => setImmediate(resolve)),
    // Yield to the event loop after every step, so a pause or stop that has arrived takes
    // effect before the next step (costs a few microseconds per step).
    0,
  ));
  if (msg.pace) l.setPace(msg.pace);
  if (msg.startPaused) l.pause('started paused');
  l.run().then(
    (outcome) => {
      if (exiting) return;
      if (outcome === 'done') finish({ type: 'runCompleted', summary: run.summary() }, 0);
      else if (terminated) finish({ type: 'runStopped', step: t.step, reason: 'the trainer was sent SIGTERM' }, 143);
      else finish({ type: 'runStopped', step: t.step }, 0);
    },
    fail,
  );
}

function onMessage(raw: unknown): void {
  if (!isHostToTrainer(raw)) {
    log(`ignored an invalid message: ${describe(raw)}`);
    return;
  }
  if (exiting) return;
  switch (raw.type) {
    case 'startRun':
      startRun(raw);
      return;
    case 'pause':
      if (loop) loop.pause('paused on request');
      else log('ignored pause: no run yet');
      return;
    case 'resume':
      if (loop) loop.resume();
      else log('ignored resume: no run yet');
      return;
    case 'step':
      if (loop) loop.stepOnce();
      else log('ignored step: no run yet');
      return;
    case 'setPace':
      if (loop) loop.setPace(raw.pace);
      else log('ignored setPace: no run yet');
      return;
    case 'stop':
      // A running loop ends its current step and resolves run() with 'stopped'.
      if (loop) loop.stop();
      else finish({ type: 'runStopped', step: 0 }, 0);
      return;
    default:
      assertNever(raw);
  }
}

/** Makes this process a trainer process that builds its run with `start`. */
export function serveTrainer(start: StartRun): void {
  if (!process.send) {
    process.stderr.write(`${process.argv[1] ?? 'this'} is an Attention Lens trainer process; the extension starts it over IPC (try the attention-lens command line instead).\n`);
    process.exit(2);
  }
  serve = start;
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  // SIGTERM (the host, or anyone): end as a stop does — the current step finishes, every step
  // so far goes out, then runStopped with the reason; exit 143 as a process ended by SIGTERM.
  process.on('SIGTERM', () => {
    if (exiting) return;
    terminated = true;
    if (loop) loop.stop();
    else finish({ type: 'runStopped', step: 0, reason: 'the trainer was sent SIGTERM' }, 143);
  });
  // The host went away: nobody is listening, so stop at once.
  process.on('disconnect', () => {
    if (!exiting) process.exit(0);
  });
  process.on('message', (m: unknown) => {
    try {
      onMessage(m);
    } catch (e) {
      fail(e);
    }
  });
  send({ type: 'trainerReady', protocolVersion: PROTOCOL_VERSION, pid: process.pid });
}
