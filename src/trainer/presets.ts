/**
 * Named experiments a user can launch without writing a config. Names say what they are:
 * `lu-<classifier>[-<ablation>][-fast]` for the Lu et al. attention classifier on the
 * synthetic topic task (paper size unless `-fast`), `encoder-…` for the self-attention encoder.
 */
import type { RunConfig } from './config';
import { parseRunConfig } from './configSchema';

export interface Preset {
  name: string;
  description: string;
  /** What the paper reports for this run, for reproduction tables. */
  paper?: string;
  /** A partial config; defaults fill the rest. */
  config: Record<string, unknown>;
}

/**
 * ‖q‖ of the official code's run (its torch seed 3 draws q ~ N(0, 0.3²·I₁₀) with this norm).
 * Keys start at zero and move only along q, so ‖q‖ is all of q that matters; fixing it makes
 * our runs reproduce that run whatever our seed. Set `model.queryNorm` to null-equivalent
 * (omit it) in a config to draw ‖q‖ at random instead (it then ranges about 0.6–1.3).
 */
export const OFFICIAL_QUERY_NORM = 1.197;

const paperData = { kind: 'synthetic' }; // defaults are the paper's sizes
const fastData = { kind: 'synthetic', nonTopicWords: 500, wordsPerSentence: 10, train: 400, validation: 50, test: 50 };

function lu(
  name: string,
  cls: 'FC' | 'TC' | 'TL',
  opts: { fast: boolean; keys?: boolean; emb?: boolean; embStd?: number; epochs?: number },
  description: string,
): Preset {
  const epochs = opts.epochs ?? (opts.fast ? 1500 : 5000);
  return {
    name,
    description,
    config: {
      name,
      data: opts.fast ? fastData : paperData,
      model: {
        kind: 'lu',
        classifier: cls,
        embStd: opts.embStd ?? 1e-6,
        queryNorm: OFFICIAL_QUERY_NORM,
        trainable: { query: false, keys: opts.keys ?? true, embeddings: opts.emb ?? true },
      },
      optimizer: { kind: 'sgd', lr: 0.1 },
      training: { epochs, batchSize: 0, evalEvery: opts.fast ? 50 : 100, captureEvery: opts.fast ? 10 : 25, probes: 8 },
    },
  };
}

function encoder(name: string, attention: Record<string, unknown>, description: string): Preset {
  return {
    name,
    description,
    config: {
      name,
      data: fastData,
      model: { kind: 'encoder', dModel: 16, layers: 1, attention, positions: false, mlpHidden: 0, embStd: 0.1 },
      optimizer: { kind: 'adam', lr: 0.01 },
      training: { epochs: 40, batchSize: 50, evalEvery: 8, captureEvery: 4, probes: 8 },
    },
  };
}

export const PRESETS: readonly Preset[] = [
  lu('lu-fc', 'FC', { fast: false }, 'Lu et al. Attn-FC, paper size (5,008 words, m=20, 3,999 train), 5,000 full-batch epochs'),
  lu('lu-tc', 'TC', { fast: false }, 'Lu et al. Attn-TC (trainable linear classifier), paper size, 5,000 epochs'),
  lu('lu-tl', 'TL', { fast: false }, 'Lu et al. Attn-TL (two-layer classifier), paper size, 5,000 epochs'),
  lu('lu-fc-fast', 'FC', { fast: true }, 'Attn-FC on the fast topic task (500 words, m=10, 400 train), 1,500 epochs, about a second'),
  lu('lu-tc-fast', 'TC', { fast: true, epochs: 2000 }, 'Attn-TC on the fast topic task, 2,000 epochs'),
  lu('lu-tl-fast', 'TL', { fast: true, epochs: 2500 }, 'Attn-TL on the fast topic task, 2,500 epochs (the two-layer classifier starts slower)'),
  lu('lu-fc-ablation', 'FC', { fast: false, embStd: 0.1, epochs: 6000 }, 'Ablation baseline: Attn-FC, embeddings init std 0.1, keys and embeddings trained, 6,000 epochs'),
  lu('lu-fc-keys-frozen', 'FC', { fast: false, embStd: 0.1, epochs: 6000, keys: false }, 'Ablation: Attn-FC with keys frozen at zero (attention stays uniform), 6,000 epochs'),
  lu('lu-fc-emb-frozen', 'FC', { fast: false, embStd: 0.1, epochs: 6000, emb: false }, 'Ablation: Attn-FC with embeddings frozen, 6,000 epochs'),
  lu('lu-tc-keys-frozen', 'TC', { fast: false, embStd: 0.1, epochs: 6000, keys: false }, 'Ablation: Attn-TC with keys frozen, 6,000 epochs'),
  lu('lu-tc-emb-frozen', 'TC', { fast: false, embStd: 0.1, epochs: 6000, emb: false }, 'Ablation: Attn-TC with embeddings frozen, 6,000 epochs'),
  lu('lu-fc-keys-frozen-fast', 'FC', { fast: true, keys: false }, 'Keys-frozen ablation of lu-fc-fast: attention stays exactly uniform'),
  lu('lu-fc-emb-frozen-fast', 'FC', { fast: true, embStd: 0.1, emb: false }, 'Embeddings-frozen ablation on the fast topic task (embedding init std 0.1)'),
  encoder('encoder-mha-small-heads', { kind: 'multihead', heads: 8, dHead: 2 }, 'Self-attention encoder, 8 small heads (d_k = 2), plain multi-head, fast topic task'),
  encoder(
    'encoder-talking-heads-small-heads',
    { kind: 'talking-heads', keyHeads: 8, heads: 8, valueHeads: 8, dKey: 2, dValue: 2 },
    'The same encoder with talking-heads attention (mixing across the 8 heads before and after the softmax)',
  ),
];

export function findPreset(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name);
}

/** The full, validated config of a preset. Throws for an unknown name. */
export function presetConfig(name: string): RunConfig {
  const p = findPreset(name);
  if (!p) throw new Error(`unknown preset "${name}" (known: ${PRESETS.map((q) => q.name).join(', ')})`);
  return parseRunConfig(p.config, `preset ${name}`);
}
