/**
 * The synthetic topic task of Lu, Mao & Nayak (ICLR 2021): each sentence is one topic word
 * and m non-topic words drawn uniformly with replacement; its label is the topic.
 */
import type { SyntheticDataConfig } from '../config';
import type { Rng } from '../rng';
import { PAD_ID, type Dataset, type Split } from './dataset';

/**
 * Vocabulary layout: id 0 = padding (never used by this task), ids 1..K·P = topic words
 * (topic t owns ids 1 + t·P … t·P + P), then the non-topic words.
 */
export function makeSyntheticDataset(cfg: SyntheticDataConfig, rng: Rng): Dataset {
  const K = cfg.topics;
  const P = cfg.topicWordsPerTopic;
  const m = cfg.wordsPerSentence;
  const vocab: string[] = ['<pad>'];
  const topicWords: number[][] = [];
  for (let t = 0; t < K; t++) {
    const ids: number[] = [];
    for (let p = 0; p < P; p++) {
      ids.push(vocab.length);
      vocab.push(`topic${t}_${String.fromCharCode(97 + (p % 26))}${p >= 26 ? p : ''}`);
    }
    topicWords.push(ids);
  }
  const firstNonTopic = vocab.length;
  // Non-topic words are random 10-letter strings as in the paper's generator (distinct).
  const seen = new Set<string>(vocab);
  while (vocab.length < firstNonTopic + cfg.nonTopicWords) {
    let w = '';
    for (let i = 0; i < 10; i++) w += String.fromCharCode(97 + rng.int(26));
    if (!seen.has(w)) {
      seen.add(w);
      vocab.push(w);
    }
  }
  const T = m + 1;
  const gen = (n: number): Split => {
    const tokens = new Int32Array(n * T);
    const lengths = new Int32Array(n).fill(T);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const topic = rng.int(K);
      labels[i] = topic;
      const pos = rng.int(T);
      for (let j = 0; j < T; j++) {
        tokens[i * T + j] = j === pos ? topicWords[topic]![rng.int(P)]! : firstNonTopic + rng.int(cfg.nonTopicWords);
      }
    }
    return { n, T, tokens, lengths, labels };
  };
  const train = gen(cfg.train);
  const validation = gen(cfg.validation);
  const test = gen(cfg.test);
  void PAD_ID;
  return {
    vocab,
    classes: Array.from({ length: K }, (_, t) => `topic ${t}`),
    train,
    validation,
    test,
    topicWords,
    m,
  };
}
