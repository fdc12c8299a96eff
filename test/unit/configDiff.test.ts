/** The compare view's table of config fields that differ. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffConfigs } from '../../src/runs/configDiff';
import { presetConfig } from '../../src/trainer/presets';

test('keys-trainable vs keys-frozen presets differ exactly in name, epochs, keys and init', () => {
  const a = presetConfig('lu-fc-ablation');
  const b = presetConfig('lu-fc-keys-frozen');
  const d = diffConfigs([a, b]);
  assert.deepEqual(d, [
    { path: 'name', values: ['"lu-fc-ablation"', '"lu-fc-keys-frozen"'] },
    { path: 'model.trainable.keys', values: ['true', 'false'] },
  ]);
});

test('fields present in one run only, nested objects, arrays, three runs', () => {
  const d = diffConfigs([
    { a: 1, o: { x: [1, 2], y: 'same' } },
    { a: 1, o: { x: [1, 3], y: 'same' }, extra: true },
    { a: 2, o: { x: [1, 2], y: 'same' } },
  ]);
  assert.deepEqual(d, [
    { path: 'a', values: ['1', '1', '2'] },
    { path: 'o.x', values: ['[1,2]', '[1,3]', '[1,2]'] },
    { path: 'extra', values: ['—', 'true', '—'] },
  ]);
  assert.deepEqual(diffConfigs([{ a: 1 }, { a: 1 }]), []);
});
