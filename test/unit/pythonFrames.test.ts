/**
 * The frame codec of the Python channel (src/protocol/frames.ts): round trips, a stream cut at
 * every byte, every way bytes can fail to be a frame, and both directions against the Python
 * helper's own codec (python/attention_lens/frames.py): what Python encodes decodes here to
 * the typed arrays the guards expect and passes the same guard as a built-in trainer's
 * message; what the host encodes, Python decodes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { encodeFrame, FrameDecoder, FrameError, utf8Decode, utf8Encode } from '../../src/protocol/frames';
import { isTrainerToHost } from '../../src/protocol/guards';
import { findTorchPython } from '../../src/runs/pythonTrainer';

const ROOT = path.resolve(__dirname, '../../..');
const PYTHON = findTorchPython([process.env['ATTENTION_LENS_TEST_PYTHON'] ?? '', 'python3', '/usr/bin/python3']);

const sample = {
  type: 'stepsCompleted',
  data: [
    {
      step: 7,
      epoch: 0,
      loss: NaN,
      trainAccuracy: -Infinity,
      gradNorms: new Float64Array([0.1, Infinity, NaN, -0, 1e-310]),
      weightNorms: new Float64Array([1, 2, 3, 4, 5]),
      stepMs: 1.5,
      attention: [[{ layer: 0, head: 1, stage: 'weights', rows: 1, cols: 3, data: new Float32Array([0.25, 0.5, 0.25]) }]],
      events: [{ id: 'e', step: 7, text: 'é 😀 "quoted" \\', payload: { $ref: 1, $$x: [null, true, 'a'], plain: { $num: 'not a placeholder' } } }],
    },
  ],
};

function decodeAll(bytes: Uint8Array, chunk = bytes.length): unknown[] {
  const d = new FrameDecoder();
  const out: unknown[] = [];
  for (let i = 0; i < bytes.length; i += chunk) out.push(...d.push(bytes.subarray(i, i + chunk)));
  assert.equal(d.pendingBytes, 0);
  return out;
}

test('a message round-trips: typed arrays as typed arrays, NaN and infinities, keys that start with $', () => {
  const [m] = decodeAll(encodeFrame(sample));
  assert.deepEqual(m, sample);
  const d = (m as typeof sample).data[0]!;
  assert.equal(Object.prototype.toString.call(d.gradNorms), '[object Float64Array]');
  assert.equal(Object.prototype.toString.call(d.attention[0]![0]!.data), '[object Float32Array]');
  assert.ok(Object.is(d.gradNorms[3], -0));
  assert.ok(isTrainerToHost(m, 5));
});

test('a stream read in chunks of any size gives the same messages; several frames in one chunk', () => {
  const msgs = [sample, { type: 'resumed', step: 3 }, { type: 'paused', step: 4, reason: 'ü'.repeat(3000) }];
  const bytes = Uint8Array.from([...msgs.map(encodeFrame)].flatMap((b) => Array.from(b)));
  for (const chunk of [1, 2, 3, 7, 8, 13, 64, 1000, bytes.length]) assert.deepEqual(decodeAll(bytes, chunk), msgs, `chunks of ${chunk}`);
});

test('frames are 8-byte aligned and laid out as documented', () => {
  const f = encodeFrame({ a: new Float64Array([1]) });
  const dv = new DataView(f.buffer);
  assert.equal(String.fromCharCode(...f.subarray(0, 4)), 'ALF1');
  const j = dv.getUint32(4, true);
  assert.equal(dv.getUint32(8, true), 8);
  const p = (12 + j + 7) & ~7;
  assert.equal(f.length, p + 8);
  assert.equal(dv.getFloat64(p, true), 1);
  assert.equal(new TextDecoder().decode(f.subarray(12, 12 + j)), '{"a":{"$f64":[0,1]}}');
});

test('bytes that are not a frame are refused with the reason', () => {
  const bad = (mutate: (b: Uint8Array) => Uint8Array, why: RegExp) => {
    const b = mutate(encodeFrame({ x: new Float32Array([1, 2]), s: 'text' }));
    assert.throws(() => new FrameDecoder().push(b), (e: unknown) => e instanceof FrameError && why.test(e.message));
  };
  bad((b) => (b[0] = 0x42, b), /bad magic/);
  bad((b) => (new DataView(b.buffer).setUint32(8, 12, true), b), /multiple of 8/);
  bad((b) => (new DataView(b.buffer).setUint32(8, 0, true), b.subarray(0, b.length - 8)), /outside the binary section/);
  bad((b) => (b[13] = 0xff, b), /not UTF-8/);
  bad((b) => (b[12] = 0x5b, b), /JSON is not valid/);
  const unknown = utf8Encode('{"$weird":1}');
  const head = new Uint8Array(16 + 8);
  head.set(utf8Encode('ALF1'));
  new DataView(head.buffer).setUint32(4, unknown.length, true);
  head.set(unknown, 12);
  assert.throws(() => new FrameDecoder().push(head), /unknown placeholder key/);
  assert.throws(() => new FrameDecoder(1024).push(encodeFrame({ big: new Float64Array(200) })), /larger than 1024/);
});

test('UTF-8 both ways matches TextEncoder / TextDecoder', () => {
  const s = 'a é € 😀 \u0000 \uffff';
  assert.deepEqual(utf8Encode(s), new TextEncoder().encode(s));
  assert.equal(utf8Decode(new TextEncoder().encode(s)), s);
  assert.deepEqual(utf8Encode('\ud800x'), new TextEncoder().encode('\ud800x'), 'a lone surrogate becomes U+FFFD');
  for (const b of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) assert.throws(() => utf8Decode(Uint8Array.from(b)), FrameError);
});

function python(code: string, input?: Uint8Array): Buffer {
  assert.ok(PYTHON, 'no Python that can `import torch` (apt install python3-torch, or set ATTENTION_LENS_TEST_PYTHON)');
  const r = spawnSync(PYTHON, ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'python'))})\n${code}`], { input, maxBuffer: 1 << 24 });
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout;
}

test('what the Python helper encodes decodes here and passes the same guard as a built-in trainer message', () => {
  const out = python(`
import math, sys, torch
from attention_lens import frames
t = torch.tensor([[0.25, 0.5], [1.0, -2.0]])
msg = {"type": "stepsCompleted", "data": [{"step": s, "epoch": 0, "loss": math.nan if s == 2 else 1 / s, "trainAccuracy": math.inf,
       "gradNorms": frames.f64([0.5, -math.inf]), "weightNorms": frames.f64([1.0, 2.0]), "stepMs": 0.25,
       "attention": [[{"layer": 0, "head": 0, "stage": "weights", "rows": 2, "cols": 2, "data": frames.f32_tensor(t)}]],
       "events": [{"id": "e", "step": s, "text": "ünï", "payload": {"$k": [1, 2.5, None]}}]} for s in (1, 2)]}
sys.stdout.buffer.write(frames.encode({"type": "trainerReady", "protocolVersion": 1, "pid": 1}) + frames.encode(msg))
`);
  const [ready, steps] = decodeAll(new Uint8Array(out), 5);
  assert.ok(isTrainerToHost(ready));
  assert.ok(isTrainerToHost(steps, 2));
  const d = (steps as { data: { loss: number; gradNorms: Float64Array; attention: { data: Float32Array }[][]; events: unknown[] }[] }).data;
  assert.equal(d[0]!.loss, 1);
  assert.ok(Number.isNaN(d[1]!.loss));
  assert.deepEqual(Array.from(d[0]!.gradNorms), [0.5, -Infinity]);
  assert.deepEqual(Array.from(d[0]!.attention[0]![0]!.data), [0.25, 0.5, 1, -2]);
  assert.deepEqual(d[0]!.events, [{ id: 'e', step: 1, text: 'ünï', payload: { $k: [1, 2.5, null] } }]);
});

test('what the host encodes, the Python helper decodes (commands and every value kind)', () => {
  const msgs = [{ type: 'startRun', protocolVersion: 1, config: { kind: 'python', $x: 'é', n: [1, -0.5, 1e-7] }, baseDir: '/tmp', startPaused: true, pace: { stepsPerSecond: 10 } }, { type: 'pause' }, { v: new Float64Array([NaN, 2]), w: new Float32Array([0.5]), inf: -Infinity }];
  const bytes = Uint8Array.from(msgs.map(encodeFrame).flatMap((b) => Array.from(b)));
  const out = python(
    `
import json, math, sys
from attention_lens import frames
r = frames.FrameReader()
got = []
data = sys.stdin.buffer.read()
for i in range(0, len(data), 3):
    got.extend(r.feed(data[i:i + 3]))
def plain(v):
    if isinstance(v, frames.TypedArray): return {"kind": v.kind, "values": [repr(x) for x in v.tolist()]}
    if isinstance(v, float) and not math.isfinite(v): return repr(v)
    if isinstance(v, dict): return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list): return [plain(x) for x in v]
    return v
print(json.dumps([plain(m) for m in got]))
`,
    bytes,
  );
  assert.deepEqual(JSON.parse(out.toString()), [
    { type: 'startRun', protocolVersion: 1, config: { kind: 'python', $x: 'é', n: [1, -0.5, 1e-7] }, baseDir: '/tmp', startPaused: true, pace: { stepsPerSecond: 10 } },
    { type: 'pause' },
    { v: { kind: 'f64', values: ['nan', '2.0'] }, w: { kind: 'f32', values: ['0.5'] }, inf: '-inf' },
  ]);
});
