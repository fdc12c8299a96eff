/**
 * A tokenised classification dataset: a vocabulary and three splits of padded sentences.
 * Both the synthetic topic task and text files end up in this shape.
 */
import type { Batch } from '../core';

/** Word id 0 is always padding; id 1 is the unknown word for text data. */
export const PAD_ID = 0;
export const UNK_ID = 1;

export interface Split {
  /** Number of sentences. */
  readonly n: number;
  /** Common padded length. */
  readonly T: number;
  /** (n, T) word ids, PAD_ID past each length. */
  readonly tokens: Int32Array;
  /** (n) real length of each sentence. */
  readonly lengths: Int32Array;
  /** (n) class id of each sentence. */
  readonly labels: Int32Array;
}

export interface Dataset {
  /** id → word; vocab[0] is the padding token. */
  readonly vocab: readonly string[];
  /** class id → name. */
  readonly classes: readonly string[];
  readonly train: Split;
  readonly validation: Split;
  readonly test: Split;
  /** Synthetic topic task only: the topic-word ids (topic t owns topicWords[t]). */
  readonly topicWords?: readonly (readonly number[])[];
  /** Synthetic topic task only: number of non-topic words per sentence (m). */
  readonly m?: number;
}

/** The whole split as one batch (views, no copy). */
export function splitAsBatch(s: Split): Batch {
  return { B: s.n, T: s.T, tokens: s.tokens, lengths: s.lengths, labels: s.labels };
}

/** The sentences at the given indices, copied into a new batch. */
export function gatherBatch(s: Split, idx: ArrayLike<number>): Batch {
  const B = idx.length;
  const T = s.T;
  const tokens = new Int32Array(B * T);
  const lengths = new Int32Array(B);
  const labels = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const i = idx[b]!;
    tokens.set(s.tokens.subarray(i * T, i * T + T), b * T);
    lengths[b] = s.lengths[i]!;
    labels[b] = s.labels[i]!;
  }
  return { B, T, tokens, lengths, labels };
}

/** Build a split from variable-length sentences, padding to the longest. */
export function makeSplit(sentences: readonly (readonly number[])[], labels: readonly number[]): Split {
  const n = sentences.length;
  let T = 1;
  for (const s of sentences) T = Math.max(T, s.length);
  const tokens = new Int32Array(n * T);
  const lengths = new Int32Array(n);
  const lab = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const s = sentences[i]!;
    for (let j = 0; j < s.length; j++) tokens[i * T + j] = s[j]!;
    lengths[i] = s.length;
    lab[i] = labels[i]!;
  }
  return { n, T, tokens, lengths, labels: lab };
}
