/** Messages to webviews are packed: every typed array copied into one buffer, values intact. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packForWebview } from '../../src/extension/post';
import { isHostToWebview } from '../../src/protocol/guards';
import { PROTOCOL_VERSION, type HostToWebview } from '../../src/protocol/messages';
import { presetConfig } from '../../src/trainer/presets';
import { buildTrainer } from '../../src/trainer/setup';
import { runInfo, stepData } from '../../src/io/convert';
import { RunHistory } from '../../src/runs/runHistory';

test('a snapshot with hundreds of typed arrays is packed into one buffer and still passes the guard', () => {
  const cfg = presetConfig('lu-fc-fast');
  cfg.training.epochs = 300;
  cfg.training.captureEvery = 1;
  const t = buildTrainer(cfg);
  const h = new RunHistory();
  h.setInfo(runInfo(t, cfg));
  while (!t.done) h.appendStep(stepData(t.trainStep()));
  const msg: HostToWebview = { type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: h.snapshot('r', 'completed') };
  const packed = packForWebview(msg);
  assert.ok(isHostToWebview(packed));
  if (packed === null || typeof packed !== 'object' || !('snapshot' in packed)) throw new Error('not a snapshot');
  const s = (packed as { snapshot: { scalars: { loss: Float64Array }; identity: { score: Float64Array }[]; latestAttention: { probes: { data: Float32Array }[][] } } }).snapshot;
  const buffers = new Set<ArrayBufferLike>([s.scalars.loss.buffer, ...s.identity.map((p) => p.score.buffer), ...s.latestAttention.probes.flat().map((m) => m.data.buffer)]);
  assert.equal(buffers.size, 1, 'one buffer for every array');
  assert.ok(s.identity.length >= 300);
  assert.deepEqual(Array.from(s.scalars.loss), Array.from(msg.snapshot.scalars.loss));
  assert.deepEqual(Array.from(s.latestAttention.probes[3]![0]!.data), Array.from(msg.snapshot.latestAttention!.probes[3]![0]!.data));
  // The host's own arrays are not shared with the post.
  assert.notEqual(s.scalars.loss.buffer, msg.snapshot.scalars.loss.buffer);
});
