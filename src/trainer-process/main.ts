/**
 * The built-in trainer process (bundled to dist/trainer.js): serves runs of the trainer in
 * src/trainer, built from a validated run config (presets, config files).
 */
import { parseRunConfig } from '../trainer/configSchema';
import { trainerFor } from '../io/loadConfig';
import { runInfo, summaryData } from '../io/convert';
import { serveTrainer } from './serve';

serveTrainer((raw, baseDir) => {
  const config = parseRunConfig(raw);
  const trainer = trainerFor({ config, baseDir });
  return { trainer, info: runInfo(trainer, config), summary: () => summaryData(trainer.summary()) };
});
