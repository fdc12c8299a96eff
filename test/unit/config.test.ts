/**
 * Run configs: defaults, every preset valid, and each kind of mistake reported with its path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRunConfig, ConfigError, jsonSchemaDocument, parseRunConfig } from '../../src/trainer/configSchema';
import { PRESETS, presetConfig } from '../../src/trainer/presets';

test('a minimal config gets the paper defaults', () => {
  const c = parseRunConfig({ data: { kind: 'synthetic' }, model: { kind: 'lu' } });
  assert.deepEqual(c.data, { kind: 'synthetic', topics: 4, topicWordsPerTopic: 2, nonTopicWords: 5000, wordsPerSentence: 20, train: 3999, validation: 50, test: 950 });
  assert.deepEqual(c.model, { kind: 'lu', classifier: 'FC', dEmb: 10, dKey: 10, queryStd: 0.3, embStd: 1e-6, hidden: 10, trainable: { query: false, keys: true, embeddings: true } });
  assert.deepEqual(c.optimizer, { kind: 'sgd', lr: 0.1, momentum: 0, weightDecay: 0 });
  assert.equal(c.training.batchSize, 0);
  assert.equal(c.seed, 1);
});

test('every preset is a valid config, and names are unique', () => {
  assert.equal(new Set(PRESETS.map((p) => p.name)).size, PRESETS.length);
  for (const p of PRESETS) assert.doesNotThrow(() => presetConfig(p.name), p.name);
  assert.throws(() => presetConfig('nope'), /unknown preset "nope" \(known: lu-fc, /);
});

const bad: [string, unknown, RegExp][] = [
  ['non-positive lr', { data: { kind: 'synthetic' }, model: { kind: 'lu' }, optimizer: { kind: 'sgd', lr: 0 } }, /^optimizer\.lr must be a positive number$/],
  ['lr as a string', { data: { kind: 'synthetic' }, model: { kind: 'lu' }, optimizer: { kind: 'adam', lr: '0.1' } }, /^optimizer\.lr must be a positive number$/],
  ['unknown field', { data: { kind: 'synthetic' }, model: { kind: 'lu', dEmbb: 3 } }, /^model\.dEmbb is not a known field \(known: kind, classifier, /],
  ['unknown top-level field', { data: { kind: 'synthetic' }, model: { kind: 'lu' }, epochs: 3 }, /^epochs is not a known field/],
  ['bad enum', { data: { kind: 'synthetic' }, model: { kind: 'lu', classifier: 'XL' } }, /^model\.classifier must be one of "FC", "TC", "TL"$/],
  ['bad kind', { data: { kind: 'synthetic' }, model: { kind: 'rnn' } }, /^model\.kind must be one of "lu", "encoder"$/],
  ['missing kind', { data: {}, model: { kind: 'lu' } }, /^data\.kind is required \(one of "synthetic", "text"\)$/],
  ['missing data', { model: { kind: 'lu' } }, /^data is required$/],
  ['non-integer epochs', { data: { kind: 'synthetic' }, model: { kind: 'lu' }, training: { epochs: 2.5 } }, /^training\.epochs must be a positive integer$/],
  ['negative batch', { data: { kind: 'synthetic' }, model: { kind: 'lu' }, training: { batchSize: -1 } }, /^training\.batchSize must be a non-negative integer$/],
  ['boolean as string', { data: { kind: 'synthetic' }, model: { kind: 'lu', trainable: { keys: 'no' } } }, /^model\.trainable\.keys must be true or false$/],
  ['nested talking-heads', { data: { kind: 'synthetic' }, model: { kind: 'encoder', attention: { kind: 'talking-heads', heads: 0 } } }, /^model\.attention\.heads must be a positive integer$/],
  ['text data without a file', { data: { kind: 'text' }, model: { kind: 'lu' } }, /^data\.train is required$/],
  ['fraction above 1', { data: { kind: 'text', train: 'a.txt', testFraction: 1.5 }, model: { kind: 'lu' } }, /^data\.testFraction must be a number from 0 to 1$/],
  ['not an object', [1, 2], /^config must be an object$/],
];

for (const [name, cfg, re] of bad) {
  test(`config error: ${name}`, () => {
    const problems = checkRunConfig(cfg);
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.match(problems[0]!.message, re);
    assert.throws(() => parseRunConfig(cfg, 'x.json'), (e: unknown) => e instanceof ConfigError && e.message.startsWith('x.json: '));
  });
}

test('several problems are all reported', () => {
  const problems = checkRunConfig({ data: { kind: 'synthetic', topics: 0 }, model: { kind: 'lu', dEmb: -1 }, optimizer: { kind: 'sgd', lr: -1 } });
  assert.deepEqual(problems.map((p) => p.path), ['data.topics', 'model.dEmb', 'optimizer.lr']);
});

test('the JSON Schema document is plain JSON with the same fields', () => {
  const doc = JSON.parse(JSON.stringify(jsonSchemaDocument())) as { properties: Record<string, unknown>; required: string[] };
  assert.deepEqual(Object.keys(doc.properties), ['name', 'seed', 'data', 'model', 'optimizer', 'training']);
  assert.deepEqual(doc.required, ['data', 'model']);
});
