/**
 * The task-sequence test model run in this process, its steps recorded the way the host
 * records a trainer's (the trainer process's stepData conversion, then RunHistory): snapshots
 * and updates for the webview tests without a child process.
 */
import { stepData } from '../../src/io/convert';
import { RunHistory } from '../../src/runs/runHistory';
import { TaskSequence, taskSequenceConfig } from './taskSequence';

/** Trains `steps` steps (default: all) of a task-sequence run and returns its history. */
export function recordTaskSequence(config: unknown = {}, steps?: number): { model: TaskSequence; history: RunHistory } {
  const model = new TaskSequence(taskSequenceConfig(config));
  const history = new RunHistory();
  history.setInfo(model.info(config));
  const n = steps ?? model.totalSteps;
  while (!model.done && model.step < n) history.appendStep(stepData(model.trainStep()));
  if (model.done) history.setSummary(model.summary());
  return { model, history };
}
