/**
 * What the webview's RunStore keeps of a message, for the memory of a page showing long
 * runs: copies (not views) of the small arrays it keeps, so a packed message's one buffer is
 * freed; no weight norms (never drawn); with `gradNorms: 'total'` (the compare view) the total
 * gradient norm instead of each group's. Chunks taken whole and row by row agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION, type HostToWebview, type RunInfo, type RunSnapshot, type ScalarChunk } from '../../src/protocol/messages';
import { packForWebview } from '../../src/extension/post';
import { RunStore } from '../../webview/model/store';
import { attentionFrame, scalarChunk, snapshot as snapshotOf, stepsAppended } from '../fixtures/messages';

const G = 3;
const info: RunInfo = { name: 'mem', modelKind: 'lu', groups: ['a', 'b', 'c'], totalSteps: 100, stepsPerEpoch: 1, classes: ['x'], probes: [{ tokens: ['t0', 't1'], label: 0 }], topicWords: ['t1'], m: 1, config: {} };

/** (n, G): group g of step s is s + g, and group 2 of step 5 is NaN (left out of the total). */
function chunk(from: number, to: number): ScalarChunk {
  return scalarChunk(from, to, { groups: G, gradNorm: (s, g) => (s === 5 && g === 2 ? NaN : s + g) });
}

function snapshot(upTo: number): RunSnapshot {
  return snapshotOf({
    info,
    scalars: chunk(1, upTo),
    attentionSteps: [upTo],
    latestAttention: attentionFrame(upTo),
    identity: [{ step: upTo, score: Float64Array.of(1), measured: Float64Array.of(2), theory: Float64Array.of(2), relError: Float64Array.of(0) }],
  });
}

test('nothing the store keeps is a view into the message it came from (as the host packs it)', () => {
  const msg = packForWebview({ type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: snapshot(10) }) as Extract<HostToWebview, { type: 'snapshot' }>;
  const buffer = msg.snapshot.scalars.step.buffer;
  assert.equal(msg.snapshot.latestAttention?.probes[0]?.[0]?.data.buffer, buffer, 'the packed message has one buffer');
  const st = new RunStore();
  st.apply(msg);
  const kept = [st.latestAttention!.probes[0]![0]!.data, ...Object.values(st.identity[0]!).filter((v) => ArrayBuffer.isView(v))] as ArrayBufferView[];
  assert.equal(kept.length, 5);
  for (const a of kept) assert.notEqual(a.buffer, buffer);
  assert.deepEqual(Array.from(st.latestAttention!.probes[0]![0]!.data), [0.25, 0.75]);
  assert.deepEqual(Array.from(st.identity[0]!.measured), [2]);
  // An update's latest frame and a scrubbed frame: copies too.
  const upd = packForWebview(stepsAppended({ scalars: chunk(11, 12), attentionSteps: [12], latestAttention: attentionFrame(12, [0.5, 0.5]) })) as Extract<HostToWebview, { type: 'stepsAppended' }>;
  st.apply(upd);
  assert.notEqual(st.latestAttention!.probes[0]![0]!.data.buffer, upd.scalars.step.buffer);
  const loaded = packForWebview({ type: 'attentionLoaded', runId: 'r', frame: { step: 10, probes: [[{ layer: 0, head: 0, stage: 'weights', rows: 1, cols: 2, data: Float32Array.of(0.1, 0.9) }]] } }) as Extract<HostToWebview, { type: 'attentionLoaded' }>;
  st.apply(loaded);
  assert.notEqual(st.frameAt(10)!.probes[0]![0]!.data.buffer, loaded.frame.probes[0]![0]!.data.buffer);
  assert.deepEqual(Array.from(st.frameAt(10)!.probes[0]![0]!.data), [Math.fround(0.1), Math.fround(0.9)]);
  assert.ok(!('weightNorms' in st), 'weight norms are not kept');
});

test("gradNorms: 'total' keeps √Σ_g gradNorm² per step (non-finite groups left out) and no group series", () => {
  const total = new RunStore({ gradNorms: 'total' });
  const groups = new RunStore();
  for (const st of [total, groups]) {
    st.apply({ type: 'snapshot', protocolVersion: PROTOCOL_VERSION, snapshot: snapshot(6) });
    // Overlapping (row by row: steps 5, 6 skipped) and then a fresh chunk (whole).
    st.apply(stepsAppended({ scalars: chunk(5, 9) }));
    st.apply(stepsAppended({ scalars: chunk(10, 12) }));
  }
  assert.deepEqual(Array.from(total.step.values), Array.from({ length: 12 }, (_, i) => i + 1));
  assert.deepEqual(Array.from(groups.step.values), Array.from(total.step.values));
  assert.equal(total.gradNorms.length, 0);
  assert.deepEqual(total.groups, ['a', 'b', 'c']);
  assert.deepEqual(groups.groups, ['a', 'b', 'c']);
  const expect = Array.from(total.step.values, (s) => Math.sqrt(s * s + (s + 1) ** 2 + (s === 5 ? 0 : (s + 2) ** 2)));
  assert.deepEqual(Array.from(total.gradTotal.values), expect);
  // The per-group store has the same numbers, group by group, and no total.
  assert.deepEqual(Array.from(groups.gradNorms[1]!.values), Array.from(total.step.values, (s) => s + 1));
  assert.equal(groups.gradTotal.length, 0);
  // A chunk with another group count is dropped with a warning.
  const bad = { ...chunk(13, 13), gradNorms: Float64Array.of(1, 2), weightNorms: Float64Array.of(1, 2) };
  const r = total.apply(stepsAppended({ scalars: bad }));
  assert.match(r.warning ?? '', /2 norm groups, the run 3/);
  assert.equal(total.step.length, 12);
});
