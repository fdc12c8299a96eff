/**
 * The `attention-lens` command line: list presets, and train a preset or a config file in
 * the terminal with a progress line, ending (with --json) in one JSON object on stdout.
 * Each run is saved as it trains into a run folder (the run store, docs/run-format.md),
 * which the VS Code Runs tree lists and follows.
 */
import * as path from 'node:path';
import { createRunDir, DEFAULT_RUNS_DIR, gitCommit, RunWriter } from '../runs/store';
import { runInfo, stepData, summaryData } from '../io/convert';
import { ConfigError } from '../trainer/configSchema';
import { PRESETS } from '../trainer/presets';
import { TrainingLoop, type StepRecord } from '../trainer/train';
import { loadPreset, readConfigFile, trainerFor, type LoadedConfig } from '../io/loadConfig';

const USAGE = `usage:
  attention-lens presets
  attention-lens train (--preset NAME | --config FILE) [--epochs N] [--seed S] [--json]
                     [--runs-dir DIR | --no-save]

  presets     list the built-in experiments
  train       train in the terminal; progress goes to stderr
    --preset NAME   a built-in experiment (see 'presets')
    --config FILE   a run config (JSON; fields in the README)
    --epochs N      override training.epochs
    --seed S        override seed
    --json          finish by printing one JSON object with the final numbers on stdout
    --runs-dir DIR  save the run in a new folder under DIR (default ${DEFAULT_RUNS_DIR})
    --no-save       do not save the run`;

class UsageError extends Error {}

interface TrainArgs {
  preset?: string;
  config?: string;
  epochs?: number;
  seed?: number;
  json: boolean;
  runsDir: string;
  save: boolean;
}

function parseTrainArgs(argv: string[]): TrainArgs {
  const out: TrainArgs = { json: false, runsDir: DEFAULT_RUNS_DIR, save: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    // Decimal digits only (Number() would also take 0x10, 1e3, ' 7 '), within what the run format and the RNG hold.
    const int = (min: number, max: number): number => {
      const v = value();
      const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${a} must be a whole number from ${min} to ${max}, got "${v}"`);
      return n;
    };
    const once = <K extends 'preset' | 'config'>(k: K): string => {
      if (out[k] !== undefined) throw new UsageError(`--${k} is given twice`);
      return value();
    };
    switch (a) {
      case '--preset': out.preset = once('preset'); break;
      case '--config': out.config = once('config'); break;
      case '--epochs': out.epochs = int(1, 0xffffffff); break;
      case '--seed': out.seed = int(0, 0xffffffff); break;
      case '--json': out.json = true; break;
      case '--runs-dir': out.runsDir = value(); break;
      case '--no-save': out.save = false; break;
      default: throw new UsageError(`unknown option ${a}`);
    }
  }
  if ((out.preset === undefined) === (out.config === undefined)) throw new UsageError('give exactly one of --preset NAME or --config FILE');
  return out;
}

function fmt(x: number | undefined, digits = 4): string {
  return x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits);
}

/** Exit codes of a run ended by a signal: 128 + the signal's number, as shells report it. */
const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * How a run is ended early: by a signal (Ctrl-C, SIGTERM, SIGHUP) or by the training loop
 * itself (a non-finite loss or gradient norm). Signals are caught from the start of `train`,
 * so one that arrives while the data is built still ends the run cleanly.
 */
class Ending {
  reason: string | undefined;
  code = 0;
  /** Called on the first ending (the loop's stop, once there is a loop). */
  onEnd: (() => void) | undefined;
  /** Called on a second signal: the run must end at once. */
  onForce: ((sig: NodeJS.Signals) => void) | undefined;
  private readonly handler = (sig: NodeJS.Signals) => {
    if (this.reason !== undefined) {
      this.onForce?.(sig);
      process.exit(SIGNAL_EXIT[sig] ?? 1);
    }
    this.end(`interrupted by ${sig}`, SIGNAL_EXIT[sig] ?? 1);
  };

  constructor() {
    for (const sig of SIGNALS) process.on(sig, this.handler);
  }

  end(reason: string, code: number): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.code = code;
    this.onEnd?.();
  }

  dispose(): void {
    for (const sig of SIGNALS) process.off(sig, this.handler);
  }
}

async function train(args: TrainArgs): Promise<number> {
  const ending = new Ending();
  try {
    const loaded: LoadedConfig = args.preset !== undefined ? loadPreset(args.preset) : readConfigFile(args.config!);
    if (args.epochs !== undefined) loaded.config.training.epochs = args.epochs;
    if (args.seed !== undefined) loaded.config.seed = args.seed;
    const trainer = trainerFor(loaded);
    const writer = args.save ? openWriter(args, loaded, trainer) : undefined;
    try {
      return await trainLoop(args, loaded, trainer, writer, ending);
    } catch (e) {
      writer?.close('failed', e instanceof Error ? e.message : String(e));
      throw e;
    }
  } finally {
    ending.dispose();
  }
}

/** A new run folder under --runs-dir, with the run's config and info; its path goes to stderr. */
function openWriter(args: TrainArgs, loaded: LoadedConfig, trainer: ReturnType<typeof trainerFor>): RunWriter {
  const { dir } = createRunDir(args.runsDir, loaded.config.name);
  const git = gitCommit(process.cwd());
  const writer = RunWriter.open(
    dir,
    {
      name: loaded.config.name,
      source: 'cli',
      seed: loaded.config.seed,
      ...(args.preset !== undefined ? { preset: args.preset } : {}),
      ...(args.config !== undefined ? { configFile: args.config } : {}),
      ...(git ? { git } : {}),
    },
    loaded.config,
  );
  writer.setInfo(runInfo(trainer, loaded.config));
  process.stderr.write(`saving to ${path.relative(process.cwd(), dir) || dir}\n`);
  return writer;
}

async function trainLoop(args: TrainArgs, loaded: LoadedConfig, trainer: ReturnType<typeof trainerFor>, writer: RunWriter | undefined, ending: Ending): Promise<number> {
  const tty = process.stderr.isTTY === true;
  const total = trainer.totalSteps;
  const t0 = performance.now();
  let lastPrint = 0;
  let lastTest: number | undefined;
  let last: StepRecord | undefined;
  const line = (r: StepRecord): string => {
    const elapsed = (performance.now() - t0) / 1000;
    const rate = r.step / Math.max(elapsed, 1e-9);
    return `step ${String(r.step).padStart(String(total).length)}/${total}  loss ${fmt(r.loss)}  acc ${fmt(r.trainAccuracy, 3)}  test ${fmt(lastTest, 3)}  ${rate.toFixed(0)} steps/s`;
  };
  process.stderr.write(`${loaded.config.name}: ${trainer.model.kind} model, ${trainer.data.train.n} train sentences, vocabulary ${trainer.data.vocab.length}, ${total} steps\n`);
  // The loop yields to the event loop every few ms, so a signal is handled between two steps:
  // the current step finishes, every step so far is written, the run is closed as stopped.
  const loop = new TrainingLoop(
    trainer,
    {
      onStep: (rec) => {
        last = rec;
        writer?.appendStep(stepData(rec));
        if (rec.eval) lastTest = rec.eval.testAccuracy;
        const now = performance.now();
        if (now - lastPrint > (tty ? 100 : 2000) || trainer.done) {
          lastPrint = now;
          process.stderr.write(tty ? `\r${line(rec)}` : `${line(rec)}\n`);
        }
      },
      // The loop pauses itself on a non-finite loss or gradient norm; here that ends the run.
      onPaused: (_step, reason) => ending.end(reason, 1),
    },
    () => new Promise<void>((resolve) => setImmediate(resolve)),
  );
  ending.onEnd = () => loop.stop();
  // A second signal does not wait for the step: what is written is kept and the run closed.
  ending.onForce = (sig) => {
    try {
      writer?.close('stopped', `${ending.reason}; ended at once by a second ${sig}`);
    } catch (e) {
      process.stderr.write(`\nattention-lens: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  };
  if (ending.reason === undefined) await loop.run();
  if (tty) process.stderr.write('\n');
  if (ending.reason !== undefined) {
    process.stderr.write(`stopped at step ${last?.step ?? 0}: ${ending.reason}\n`);
    writer?.close('stopped', ending.reason);
    return ending.code;
  }
  const s = trainer.summary();
  writer?.close('completed', undefined, summaryData(s));
  process.stderr.write(
    `done: loss ${fmt(s.loss)}  train acc ${fmt(s.trainAccuracy, 3)}  test acc ${fmt(s.testAccuracy, 3)}  ${fmt(s.msPerStep, 3)} ms/step` +
      (s.topicAttention !== undefined ? `  topic attention ${fmt(s.topicAttention, 3)}  identity max rel error ${fmt(s.identityMaxRelError, 4)}` : '') +
      '\n',
  );
  if (args.json) {
    const out = {
      name: loaded.config.name,
      ...s,
      validationAccuracy: nullIfNaN(s.validationAccuracy),
      testAccuracy: nullIfNaN(s.testAccuracy),
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  }
  return 0;
}

function nullIfNaN(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'presets': {
        const w = Math.max(...PRESETS.map((p) => p.name.length));
        for (const p of PRESETS) process.stdout.write(`${p.name.padEnd(w)}  ${p.description}\n`);
        return 0;
      }
      case 'train':
        return await train(parseTrainArgs(rest));
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE + '\n');
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`attention-lens: ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`attention-lens: invalid config: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`attention-lens: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
