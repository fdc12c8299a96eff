/**
 * Pause, single step, stop and pace for a run the host did not launch (transport 2: a PyTorch
 * script started in a terminal, a cluster job, a notebook), which writes its own run folder:
 * the host replaces `control.json` in that folder atomically and the script polls it at its
 * step boundaries (python/attention_lens/control.py has the reading side). No `vscode` import.
 *
 *   {"format": "attention-lens-control", "version": 1, "seq": 7,
 *    "command": "pause" | "resume" | "step" | "stop" | "pace",
 *    "steps": 3, "pace": {"stepsPerSecond": 10, "holdMs": 400}}
 *
 * `seq` increases with every write and `command` is that write's command; the trainer acts
 * once per new seq, and on the last write when it missed some. `steps` counts every single
 * step asked for since the file was made (so two steps written between two reads are two
 * steps); `pace` is the pace to train at (absent: as fast as it can). The trainer answers in
 * meta.json: status `paused` with its statusReason while paused, `running` again after, and the
 * final status when the run ends; a follower (RunFollower) sees it there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Pace } from '../protocol/messages';
import { isPace } from '../protocol/guards';

export const CONTROL_FILE = 'control.json';
export const CONTROL_FORMAT = 'attention-lens-control';

export type ControlCommand = 'pause' | 'resume' | 'step' | 'stop';

export interface ControlDoc {
  format: typeof CONTROL_FORMAT;
  version: 1;
  seq: number;
  command: ControlCommand | 'pace';
  steps: number;
  pace?: Pace;
}

const isNat = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** The control file of the run in `dir`, when there is a valid one. */
export function readControl(dir: string): ControlDoc | undefined {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(path.join(dir, CONTROL_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const d = v as Record<string, unknown>;
  if (d['format'] !== CONTROL_FORMAT || !isNat(d['seq']) || !isNat(d['steps'])) return undefined;
  if (!['pause', 'resume', 'step', 'stop', 'pace'].includes(d['command'] as string)) return undefined;
  if (d['pace'] !== undefined && !isPace(d['pace'])) return undefined;
  return v as ControlDoc;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Asks the trainer writing `dir` to pause, resume, take one step or stop, or (`{ pace }`) to
 * train at a pace: reads control.json, writes the next version to a temporary file and renames
 * it over the old one, so the trainer reads the old file or the new one, never half of one.
 * Returns what was written. Throws when the folder cannot be written.
 */
export function sendControl(dir: string, command: ControlCommand | { pace: Pace }): ControlDoc {
  const old = readControl(dir);
  const doc: ControlDoc = { format: CONTROL_FORMAT, version: 1, seq: (old?.seq ?? 0) + 1, command: typeof command === 'string' ? command : 'pace', steps: old?.steps ?? 0 };
  const pace = typeof command === 'string' ? old?.pace : command.pace;
  if (pace !== undefined && (pace.stepsPerSecond !== undefined || pace.holdMs !== undefined)) doc.pace = { ...pace };
  if (command === 'step') doc.steps++;
  const file = path.join(dir, CONTROL_FILE);
  const tmp = path.join(dir, `.${CONTROL_FILE}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(doc) + '\n');
  // On Windows a rename over a file another process has open fails for a moment: try again.
  for (let attempt = 0; ; attempt++) {
    try {
      fs.renameSync(tmp, file);
      return doc;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (attempt >= 20 || (code !== 'EPERM' && code !== 'EBUSY' && code !== 'EACCES')) {
        fs.rmSync(tmp, { force: true });
        throw e;
      }
      sleepSync(10);
    }
  }
}
