/**
 * The task-sequence test model as a trainer process: the same serveTrainer the built-in
 * trainer uses (src/trainer-process/serve.ts), so its runs go through the real protocol,
 * host, run store and views. Tests launch it with RunManager's `trainerPath`.
 */
import { serveTrainer } from '../../src/trainer-process/serve';
import { TaskSequence, taskSequenceConfig } from './taskSequence';

serveTrainer((raw) => {
  const model = new TaskSequence(taskSequenceConfig(raw));
  return { trainer: model, info: model.info(raw), summary: () => model.summary() };
});
