/**
 * The run config's JSON Schema (one source of truth: the extension contributes the same
 * schema for `*.attnlens.json` files) and a validator that fills defaults and reports every
 * problem with its path, e.g. `optimizer.lr must be a positive number`.
 *
 * The validator understands the subset of JSON Schema used here: type, enum, const,
 * minimum, maximum, exclusiveMinimum, properties, required, additionalProperties: false,
 * default, and oneOf over objects told apart by their `kind` const.
 */
import type { RunConfig } from './config';

export interface Schema {
  type?: 'object' | 'number' | 'integer' | 'string' | 'boolean';
  description?: string;
  enum?: readonly (string | number)[];
  const?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  properties?: Record<string, Schema>;
  required?: readonly string[];
  additionalProperties?: boolean;
  default?: unknown;
  oneOf?: readonly Schema[];
}

const posNum = (description: string, def?: number): Schema => ({ type: 'number', exclusiveMinimum: 0, description, ...(def !== undefined ? { default: def } : {}) });
const posInt = (description: string, def?: number): Schema => ({ type: 'integer', minimum: 1, description, ...(def !== undefined ? { default: def } : {}) });
const natInt = (description: string, def?: number): Schema => ({ type: 'integer', minimum: 0, description, ...(def !== undefined ? { default: def } : {}) });
const frac = (description: string, def: number): Schema => ({ type: 'number', minimum: 0, maximum: 1, description, default: def });
const nonNeg = (description: string, def: number): Schema => ({ type: 'number', minimum: 0, description, default: def });
const bool = (description: string, def: boolean): Schema => ({ type: 'boolean', description, default: def });
const str = (description: string, def?: string): Schema => ({ type: 'string', description, ...(def !== undefined ? { default: def } : {}) });
const obj = (properties: Record<string, Schema>, required: string[], description?: string, def?: unknown): Schema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
  ...(description ? { description } : {}),
  ...(def !== undefined ? { default: def } : {}),
});

export const runConfigSchema: Schema = obj(
  {
    name: str('A name for the run, shown in the dashboard.', 'run'),
    seed: natInt('Random seed: the same config and seed give bit-identical runs.', 1),
    data: {
      description: 'The dataset: the synthetic topic task or text files.',
      oneOf: [
        obj(
          {
            kind: { const: 'synthetic', description: 'The synthetic topic task of Lu et al. (ICLR 2021).' },
            topics: posInt('Number of topics (= classes).', 4),
            topicWordsPerTopic: posInt('Topic words per topic.', 2),
            nonTopicWords: posInt('Size of the non-topic vocabulary.', 5000),
            wordsPerSentence: posInt('Non-topic words per sentence (m); a sentence has m + 1 words.', 20),
            train: posInt('Training sentences.', 3999),
            validation: natInt('Validation sentences.', 50),
            test: natInt('Test sentences.', 950),
          },
          ['kind'],
        ),
        obj(
          {
            kind: { const: 'text', description: 'Sentences with labels from files.' },
            train: str('Training file, relative to the config file: .jsonl, .csv, .tsv, or lines of `label sentence`.'),
            validation: str('Validation file (optional; otherwise validationFraction of train is held out).'),
            test: str('Test file (optional; otherwise testFraction of train is held out).'),
            validationFraction: frac('Fraction of train held out for validation when no validation file is given.', 0.1),
            testFraction: frac('Fraction of train held out for test when no test file is given.', 0.1),
            format: { type: 'string', enum: ['auto', 'jsonl', 'csv', 'tsv', 'lines'], default: 'auto', description: 'File format; auto decides from the file extension.' },
            textField: str('Field (JSONL) or column (CSV/TSV) holding the sentence.', 'text'),
            labelField: str('Field (JSONL) or column (CSV/TSV) holding the label.', 'label'),
            maxVocab: posInt('Vocabulary cap, most frequent words first (plus <pad> and <unk>).', 20000),
            minCount: posInt('Words seen fewer times in train become <unk>.', 1),
            maxLength: posInt('Longer sentences are truncated to this many tokens.', 64),
            lowercase: bool('Lower-case the text before tokenising.', true),
          },
          ['kind', 'train'],
        ),
      ],
    },
    model: {
      description: 'The model: the Lu et al. attention classifier or a self-attention encoder.',
      oneOf: [
        obj(
          {
            kind: { const: 'lu', description: 'One query attending over word keys; classifier on the context (Lu et al.).' },
            classifier: { type: 'string', enum: ['FC', 'TC', 'TL'], default: 'FC', description: 'FC: frozen random W with unit diagonal; TC: trainable linear; TL: Linear→ReLU→Linear.' },
            dEmb: posInt('Embedding size.', 10),
            dKey: posInt('Key and query size.', 10),
            queryStd: nonNeg('Std of the (fixed) query initialisation.', 0.3),
            queryNorm: posNum('Optional: rescale the drawn query to this norm (the dynamics depend on q only through ‖q‖; the official code’s seed gives 1.197).'),
            embStd: nonNeg('Std of the embedding initialisation (paper: 1e-6; ablations 0.1).', 1e-6),
            hidden: posInt('Hidden width of the TL classifier.', 10),
            trainable: obj(
              {
                query: bool('Train the query.', false),
                keys: bool('Train the keys.', true),
                embeddings: bool('Train the embeddings.', true),
              },
              [],
              'Which parts are trained.',
              {},
            ),
          },
          ['kind'],
        ),
        obj(
          {
            kind: { const: 'encoder', description: 'Self-attention encoder classifier (token×token attention).' },
            dModel: posInt('Model width.', 16),
            layers: posInt('Number of self-attention layers.', 1),
            attention: {
              description: 'Plain multi-head attention or talking-heads attention (Shazeer et al., 2020).',
              default: { kind: 'multihead' },
              oneOf: [
                obj({ kind: { const: 'multihead' }, heads: posInt('Heads.', 4), dHead: posInt('Query/key/value size per head.', 4) }, ['kind']),
                obj(
                  {
                    kind: { const: 'talking-heads' },
                    keyHeads: posInt('h_k: heads of the logits.', 4),
                    heads: posInt('h: heads of the softmax.', 4),
                    valueHeads: posInt('h_v: heads of the values.', 4),
                    dKey: posInt('Query/key size per head.', 4),
                    dValue: posInt('Value size per head.', 4),
                  },
                  ['kind'],
                ),
              ],
            },
            positions: bool('Add learned absolute position embeddings.', true),
            mlpHidden: natInt('Hidden width of each layer’s MLP block; 0 for none.', 0),
            dropout: { type: 'number', minimum: 0, maximum: 0.99, default: 0, description: 'Dropout rate during training.' },
            embStd: nonNeg('Std of the embedding initialisation.', 0.1),
          },
          ['kind'],
        ),
      ],
    },
    optimizer: {
      description: 'The optimiser.',
      default: { kind: 'sgd' },
      oneOf: [
        obj(
          {
            kind: { const: 'sgd' },
            lr: posNum('Learning rate.', 0.1),
            momentum: { type: 'number', minimum: 0, maximum: 0.999, default: 0, description: 'Momentum (PyTorch form).' },
            weightDecay: nonNeg('L2 weight decay.', 0),
          },
          ['kind'],
        ),
        obj(
          {
            kind: { const: 'adam' },
            lr: posNum('Learning rate.', 0.001),
            beta1: { type: 'number', minimum: 0, maximum: 0.999999, default: 0.9, description: 'β₁.' },
            beta2: { type: 'number', minimum: 0, maximum: 0.999999, default: 0.999, description: 'β₂.' },
            eps: posNum('ε.', 1e-8),
            weightDecay: nonNeg('L2 weight decay.', 0),
          },
          ['kind'],
        ),
      ],
    },
    training: obj(
      {
        epochs: posInt('Passes over the training set.', 100),
        batchSize: natInt('Sentences per step; 0 = full batch (one step per epoch).', 0),
        evalEvery: posInt('Validation and test accuracy every N steps.', 50),
        captureEvery: posInt('Probe attention every N steps.', 10),
        probes: natInt('Probe sentences (from the start of the test split) whose attention is recorded.', 8),
      },
      [],
      'How long and how to train, and what to record.',
      {},
    ),
  },
  ['data', 'model'],
  'An Attention Lens run configuration.',
);

export class ConfigError extends Error {
  constructor(readonly problems: { path: string; message: string }[], source?: string) {
    super((source ? `${source}: ` : '') + problems.map((p) => p.message).join('; '));
    this.name = 'ConfigError';
  }
}

type Problem = { path: string; message: string };

function describe(s: Schema): string {
  if (s.enum) return `one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  switch (s.type) {
    case 'integer':
      if (s.minimum === 1) return 'a positive integer';
      if (s.minimum === 0) return 'a non-negative integer';
      return 'an integer';
    case 'number':
      if (s.exclusiveMinimum === 0) return 'a positive number';
      if (s.minimum !== undefined && s.maximum !== undefined) return `a number from ${s.minimum} to ${s.maximum}`;
      if (s.minimum === 0) return 'a non-negative number';
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'an object';
    default:
      return 'valid';
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** Validates `value` against `schema`, returning the value with defaults filled in. */
export function validate(schema: Schema, value: unknown, path: string, problems: Problem[]): unknown {
  const name = path || 'config';
  if (schema.oneOf) {
    if (!isPlainObject(value)) {
      problems.push({ path, message: `${name} must be an object` });
      return value;
    }
    const kinds = schema.oneOf.map((b) => b.properties?.['kind']?.const).filter((k): k is string => typeof k === 'string');
    const branch = schema.oneOf.find((b) => b.properties?.['kind']?.const === value['kind']);
    if (!branch) {
      const kp = path ? `${path}.kind` : 'kind';
      problems.push({
        path: kp,
        message: value['kind'] === undefined ? `${kp} is required (one of ${kinds.map((k) => `"${k}"`).join(', ')})` : `${kp} must be one of ${kinds.map((k) => `"${k}"`).join(', ')}`,
      });
      return value;
    }
    return validate(branch, value, path, problems);
  }
  if (schema.const !== undefined) {
    if (value !== schema.const) problems.push({ path, message: `${name} must be "${schema.const}"` });
    return value;
  }
  switch (schema.type) {
    case 'object': {
      if (!isPlainObject(value)) {
        problems.push({ path, message: `${name} must be an object` });
        return value;
      }
      const props = schema.properties ?? {};
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        if (!(key in props)) {
          const p = path ? `${path}.${key}` : key;
          problems.push({ path: p, message: `${p} is not a known field (known: ${Object.keys(props).join(', ')})` });
        }
      }
      for (const [key, sub] of Object.entries(props)) {
        const p = path ? `${path}.${key}` : key;
        let v = value[key];
        if (v === undefined) {
          if (schema.required?.includes(key)) {
            problems.push({ path: p, message: `${p} is required` });
            continue;
          }
          if (sub.default === undefined) continue;
          v = clone(sub.default);
        }
        out[key] = validate(sub, v, p, problems);
      }
      return out;
    }
    case 'number':
    case 'integer': {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (schema.type === 'number' || Number.isInteger(value)) &&
        (schema.minimum === undefined || value >= schema.minimum) &&
        (schema.maximum === undefined || value <= schema.maximum) &&
        (schema.exclusiveMinimum === undefined || value > schema.exclusiveMinimum);
      if (!ok) problems.push({ path, message: `${name} must be ${describe(schema)}` });
      return value;
    }
    case 'string': {
      if (typeof value !== 'string' || (schema.enum && !schema.enum.includes(value))) {
        problems.push({ path, message: `${name} must be ${describe(schema)}` });
      }
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') problems.push({ path, message: `${name} must be true or false` });
      return value;
    default:
      return value;
  }
}

/** Parses and validates a run config; throws ConfigError listing every problem. */
export function parseRunConfig(value: unknown, source?: string): RunConfig {
  const problems: Problem[] = [];
  const out = validate(runConfigSchema, value, '', problems);
  if (problems.length > 0) throw new ConfigError(problems, source);
  return out as RunConfig;
}

/** Every problem of a config (empty when valid), without throwing. */
export function checkRunConfig(value: unknown): Problem[] {
  const problems: Problem[] = [];
  validate(runConfigSchema, value, '', problems);
  return problems;
}

/** The schema as a standard JSON Schema document (for editors). */
export function jsonSchemaDocument(): Record<string, unknown> {
  return { $schema: 'http://json-schema.org/draft-07/schema#', title: 'Attention Lens run configuration', ...runConfigSchema };
}
