/**
 * A trainer that is the user's own PyTorch script (the helper package python/attention_lens):
 * the run config of kind `python`, how RunProcess starts it, and what its failures mean to a
 * person. No `vscode` import.
 *
 * The script runs under the helper's launcher (attention_lens/launch.py) with the protocol on
 * file descriptor 3, framed by src/protocol/frames.ts; stdout and stderr stay the script's and
 * go to the run's log. After the handshake RunProcess treats it exactly as the built-in trainer.
 */
import { spawnSync, type SpawnOptions } from 'node:child_process';
import * as path from 'node:path';

/** A run config that launches a Python script (the JSON a `*.attnlens.json` file or Run Again holds). */
export interface PythonRunConfig {
  kind: 'python';
  name?: string;
  /** The script, relative to the config's folder (baseDir); exactly one of program and module. */
  program?: string;
  /** A module to run as `python -m module`. */
  module?: string;
  args?: string[];
  /** Working directory, relative to baseDir (default baseDir). */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** The interpreter (default: the host's choice, see RunProcessOptions.pythonInterpreter, else python3). */
  python?: string;
  /** Options for the interpreter itself, before the script (e.g. ["-X", "dev"]). */
  pythonArgs?: string[];
  /** How long the script may take to call attention_lens.init() (default 120 s). */
  initTimeoutSeconds?: number;
  /** The script's own config, as recorded in config.json by the helper (ignored at launch). */
  config?: unknown;
}

/** Everything needed to start one Python trainer process. */
export interface PythonLaunch {
  python: string;
  pythonArgs: string[];
  /** Absolute path of the script, or undefined when `module` is set. */
  program?: string;
  module?: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** The folder holding the attention_lens package. */
  helperDir: string;
  initTimeoutMs: number;
}

/** The file descriptor the protocol runs on (stdio index 3 of the child). */
export const PYTHON_CHANNEL_FD = 3;
export const DEFAULT_INIT_TIMEOUT_MS = 120_000;
/** The interpreter when nothing else names one. */
export const DEFAULT_PYTHON = process.platform === 'win32' ? 'python' : 'python3';

/**
 * The launcher one-liner: puts the helper's folder (its first argument) on sys.path, after the
 * entry `python -c` adds, and runs attention_lens.launch, which runs the user's script.
 */
const BOOTSTRAP = 'import sys; sys.path.insert(1, sys.argv[1]); from attention_lens.launch import main; main()';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrArr = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Whether `config` asks for a Python run (its fields are checked by pythonLaunch). */
export function isPythonRunConfig(config: unknown): config is PythonRunConfig {
  return isObj(config) && config['kind'] === 'python';
}

/** Why a python run config cannot be launched (undefined when it can). */
const FIELDS = ['kind', 'name', 'program', 'module', 'args', 'cwd', 'env', 'python', 'pythonArgs', 'initTimeoutSeconds', 'config'];

export function pythonConfigProblem(c: Record<string, unknown>): string | undefined {
  const unknown = Object.keys(c).find((k) => !FIELDS.includes(k));
  if (unknown !== undefined) return `${JSON.stringify(unknown)} is not a field of a python run config (${FIELDS.slice(1).join(', ')})`;
  const has = (k: string) => c[k] !== undefined;
  if (has('program') === has('module')) return 'a python run config names exactly one of "program" (a script) and "module"';
  if (has('program') && (typeof c['program'] !== 'string' || c['program'] === '')) return 'program must be a path';
  if (has('module') && (typeof c['module'] !== 'string' || !/^[A-Za-z_][\w.]*$/.test(c['module']))) return 'module must be a dotted module name';
  if (has('args') && !isStrArr(c['args'])) return 'args must be a list of strings';
  if (has('pythonArgs') && !isStrArr(c['pythonArgs'])) return 'pythonArgs must be a list of strings';
  if (has('cwd') && typeof c['cwd'] !== 'string') return 'cwd must be a path';
  if (has('python') && (typeof c['python'] !== 'string' || c['python'] === '')) return 'python must be an interpreter path or command';
  if (has('name') && typeof c['name'] !== 'string') return 'name must be a string';
  if (has('env') && (!isObj(c['env']) || !Object.values(c['env']).every((v) => typeof v === 'string'))) return 'env must map names to strings';
  const t = c['initTimeoutSeconds'];
  if (t !== undefined && (typeof t !== 'number' || !(t > 0) || t > 86_400)) return 'initTimeoutSeconds must be a positive number of seconds';
  return undefined;
}

/** The launch of a python run config; throws an Error saying what is wrong with the config. */
export function pythonLaunch(config: PythonRunConfig, baseDir: string, defaults: { python?: string; helperDir: string }): PythonLaunch {
  const why = pythonConfigProblem(config as unknown as Record<string, unknown>);
  if (why !== undefined) throw new Error(`invalid python run config: ${why}`);
  const cwd = path.resolve(baseDir, config.cwd ?? '.');
  const launch: PythonLaunch = {
    python: config.python ?? defaults.python ?? DEFAULT_PYTHON,
    pythonArgs: config.pythonArgs ?? [],
    args: config.args ?? [],
    cwd,
    env: config.env ?? {},
    helperDir: defaults.helperDir,
    initTimeoutMs: (config.initTimeoutSeconds ?? DEFAULT_INIT_TIMEOUT_MS / 1000) * 1000,
  };
  if (config.program !== undefined) launch.program = path.resolve(baseDir, config.program);
  if (config.module !== undefined) launch.module = config.module;
  return launch;
}

/** The helper's folder in an installed extension: `python/` beside `dist/` (dist/trainer.js is the built-in trainer). */
export function helperDirFor(trainerPath: string): string {
  return path.resolve(path.dirname(trainerPath), '..', 'python');
}

/** The command, arguments and spawn options that start `l` (stdio 3 is the protocol's pipe). */
export function pythonCommand(l: PythonLaunch): { command: string; args: string[]; options: SpawnOptions } {
  const target = l.program !== undefined ? ['--program', l.program] : ['--module', l.module!];
  return {
    command: l.python,
    // -u: the script's prints reach the log as they happen, not when a buffer fills.
    args: [...l.pythonArgs, '-u', '-c', BOOTSTRAP, l.helperDir, ...target, '--', ...l.args],
    options: {
      cwd: l.cwd,
      env: { ...process.env, ...l.env, ATTENTION_LENS_FD: String(PYTHON_CHANNEL_FD), PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      windowsHide: true,
    },
  };
}

/** The reason a run fails when its interpreter cannot be started. */
export function noPythonReason(python: string, e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `no Python found: ${JSON.stringify(python)} is not an interpreter on this machine (${code}); install Python 3 with torch, or name an interpreter (the Python extension's, the setting attentionLens.python.interpreter, or "python" in the run config)`;
  if (code === 'EACCES') return `the Python interpreter ${JSON.stringify(python)} cannot be run (${code})`;
  return `could not start Python (${JSON.stringify(python)}): ${e.message}`;
}

/** The hint for a missing torch (the helper's launcher says the same, with the interpreter's path). */
export function torchHint(python: string): string {
  return `install it for this interpreter: \`sudo apt install python3-torch\` (Debian, Ubuntu), or \`${python} -m pip install torch\`; or choose an interpreter that has torch`;
}

/**
 * The most telling lines of a Python process's stderr after it died without saying why: the
 * last traceback's exception line and the innermost frame of the user's code, e.g.
 * `ValueError: boom (train.py, line 12, in main)`; else the last non-empty line.
 */
export function pythonStderrSummary(tail: string): string {
  const lines = tail.split(/\r?\n/).map((l) => l.replace(/\s+$/, ''));
  const start = lines.map((l) => l.trim()).lastIndexOf('Traceback (most recent call last):');
  let out = '';
  if (start >= 0) {
    let where = '';
    let exc = '';
    for (let i = start + 1; i < lines.length; i++) {
      const l = lines[i]!;
      const m = /^\s*File "([^"]+)", line (\d+), in (.+)$/.exec(l);
      if (m) {
        if (!/[\\/](runpy|attention_lens[\\/]launch)\.py$/.test(m[1]!) && m[1] !== '<frozen runpy>' && m[1] !== '<string>') where = `${path.basename(m[1]!)}, line ${m[2]}, in ${m[3]}`;
        continue;
      }
      if (/^\S/.test(l) && l.trim() !== '') exc = l.trim();
    }
    if (exc) out = where ? `${exc} (${where})` : exc;
  }
  if (!out) out = [...lines].reverse().find((l) => l.trim() !== '')?.trim() ?? '';
  return out.length > 400 ? `${out.slice(0, 397)}...` : out;
}

/** Whether stderr says torch is missing. */
export function torchMissing(tail: string): boolean {
  return /ModuleNotFoundError: No module named 'torch'/.test(tail);
}

/**
 * The first interpreter of `candidates` that can `import torch` (each is tried with a timeout;
 * torch takes a second or two to import), or undefined. For tests and for the host's own
 * check of an interpreter before it names it in an error.
 */
export function findTorchPython(candidates: readonly string[], timeoutMs = 30_000): string | undefined {
  for (const c of candidates) {
    if (!c) continue;
    const r = spawnSync(c, ['-c', 'import torch'], { stdio: 'ignore', timeout: timeoutMs, windowsHide: true });
    if (r.status === 0) return c;
  }
  return undefined;
}

/**
 * The JSON Schema of a python run config, for editors (schemas/run-config.schema.json): a run
 * config file whose `kind` is "python" is this; any other is the built-in trainer's. The host
 * checks the same rules with pythonConfigProblem.
 */
export const PYTHON_RUN_CONFIG_JSON_SCHEMA = {
  type: 'object',
  description: 'A run of your own PyTorch script (the attention_lens package records it).',
  properties: {
    kind: { const: 'python', description: 'A PyTorch script of your own.' },
    name: { type: 'string', description: 'A name for the run (the script may name it in attention_lens.init).' },
    program: { type: 'string', description: 'The script to run, relative to this file.' },
    module: { type: 'string', pattern: '^[A-Za-z_][\\w.]*$', description: 'A module to run as `python -m module` (instead of program).' },
    args: { type: 'array', items: { type: 'string' }, description: 'Command-line arguments for the script.' },
    cwd: { type: 'string', description: 'Working directory, relative to this file (default: its folder).' },
    env: { type: 'object', additionalProperties: { type: 'string' }, description: 'Extra environment variables.' },
    python: { type: 'string', description: "The interpreter (default: the Python extension's, else the setting attentionLens.python.interpreter, else python3)." },
    pythonArgs: { type: 'array', items: { type: 'string' }, description: 'Options for the interpreter, before the script.' },
    initTimeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 86400, default: 120, description: 'How long the script may take to call attention_lens.init().' },
    config: { type: 'object', description: "The script's own config as the helper recorded it (config.json); ignored at launch." },
  },
  required: ['kind'],
  oneOf: [{ required: ['program'] }, { required: ['module'] }],
  additionalProperties: false,
} as const;
