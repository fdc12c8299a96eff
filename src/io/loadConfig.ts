/**
 * Node side of run configs: read a JSON file or a preset, apply command-line overrides,
 * validate, and build the trainer with text data read relative to the config's folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from '../trainer/config';
import { parseRunConfig } from '../trainer/configSchema';
import { presetConfig } from '../trainer/presets';
import { buildTrainer } from '../trainer/setup';
import type { Trainer } from '../trainer/train';
import { loadTextDataset } from './readData';

export interface LoadedConfig {
  config: RunConfig;
  /** Folder that relative data paths resolve against. */
  baseDir: string;
}

/** Reads and validates a run config file; errors name the file. */
export function readConfigFile(file: string): LoadedConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read config ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return { config: parseRunConfig(json, file), baseDir: path.dirname(path.resolve(file)) };
}

export function loadPreset(name: string): LoadedConfig {
  return { config: presetConfig(name), baseDir: process.cwd() };
}

export function trainerFor(loaded: LoadedConfig): Trainer {
  return buildTrainer(loaded.config, (cfg, rng) => loadTextDataset(cfg, loaded.baseDir, rng));
}
