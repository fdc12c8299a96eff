/**
 * From a config to a ready Trainer: builds the dataset (the synthetic task here, text files
 * through a loader the caller supplies, since reading files is not the trainer's business).
 */
import type { RunConfig, TextDataConfig } from './config';
import type { Dataset } from './data/dataset';
import { makeSyntheticDataset } from './data/synthetic';
import { Rng } from './rng';
import { Trainer } from './train';

export type TextLoader = (cfg: TextDataConfig, rng: Rng) => Dataset;

/** The dataset's own random stream: independent of the model's, fixed by the seed. */
export function dataRng(seed: number): Rng {
  return new Rng((Math.imul(seed, 0x9e3779b1) ^ 0x5eed) >>> 0);
}

export function buildDataset(cfg: RunConfig, loadText?: TextLoader): Dataset {
  const rng = dataRng(cfg.seed);
  switch (cfg.data.kind) {
    case 'synthetic':
      return makeSyntheticDataset(cfg.data, rng);
    case 'text':
      if (!loadText) throw new Error('text data needs a file loader');
      return loadText(cfg.data, rng);
  }
}

export function buildTrainer(cfg: RunConfig, loadText?: TextLoader): Trainer {
  return new Trainer(cfg, buildDataset(cfg, loadText));
}
