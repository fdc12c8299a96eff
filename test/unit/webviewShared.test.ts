/**
 * The pieces the dashboard and the compare view share, without a screen: the scrubber's
 * frame requests (one in flight per run, a timeout, the host's answer for a step between
 * captures), the scrubber's keys, the probe selector's labels and the hooks' chart points.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttentionFrame, RunInfo } from '../../src/protocol/messages';
import { chartPoints } from '../../webview/hooks';
import { FrameRequests, REQUEST_TIMEOUT_MS } from '../../webview/model/frameRequests';
import { probeOptions } from '../../webview/model/layout';
import { Scrubber, scrubberKey } from '../../webview/model/scrubber';

function harness(runIds: string[]) {
  let now = 0;
  const held = new Map<string, Set<number>>(runIds.map((id) => [id, new Set<number>()]));
  const posted: [string, number][] = [];
  const frame = (step: number): AttentionFrame => ({ step, probes: [] });
  const q = new FrameRequests({
    post: (runId, step) => posted.push([runId, step]),
    frameAt: (runId, step) => (held.get(runId)?.has(step) === true ? frame(step) : undefined),
    now: () => now,
  });
  q.reset(runIds);
  return {
    q,
    posted,
    hold: (runId: string, step: number) => held.get(runId)?.add(step),
    tick: (ms: number) => (now += ms),
  };
}

test('FrameRequests: one request in flight per run, sent again after the timeout; a held frame is not asked for', () => {
  const h = harness(['a', 'b']);
  h.q.want('a', 150);
  h.q.want('b', 150);
  h.q.pump(false);
  assert.deepEqual(h.posted, [
    ['a', 150],
    ['b', 150],
  ]);
  // Scrubbed on while the replies are out: nothing new goes out until they arrive or time out.
  h.q.want('a', 160);
  h.q.pump(false);
  assert.equal(h.posted.length, 2);
  h.tick(REQUEST_TIMEOUT_MS);
  h.q.pump(false);
  assert.deepEqual(h.posted.slice(2), [
    ['a', 160],
    ['b', 150],
  ], 'a timed-out request may go again (b still wants its frame)');
  // Run a's reply: the capture at or before 160 is 150, which now answers 160 too.
  h.hold('a', 150);
  h.q.loaded('a', 150);
  assert.equal(h.q.frame('a', 160)?.step, 150);
  assert.equal(h.q.frame('a', 150)?.step, 150);
  assert.equal(h.q.frame('b', 160), undefined);
  h.hold('b', 150);
  h.q.loaded('b', 150);
  h.q.want('a', 160);
  h.q.pump(false);
  assert.equal(h.posted.length, 4, 'held (through the answer): not asked again');
  // Live: nothing is wanted.
  h.q.want('b', 10);
  h.tick(REQUEST_TIMEOUT_MS);
  h.q.pump(true);
  h.q.pump(false);
  assert.equal(h.posted.length, 4);
  // A new set of runs forgets every request.
  h.q.reset(['a']);
  assert.equal(h.q.frame('a', 160), undefined);
  h.q.want('b', 5);
  h.q.pump(false);
  assert.equal(h.posted.length, 4, 'b is no longer tracked');
});

test('scrubberKey: arrows one stop, Page keys ten, Home the first, End live; other keys are not the scrubber’s', () => {
  const stops = Array.from({ length: 30 }, (_, i) => (i + 1) * 10);
  const s = new Scrubber(stops);
  assert.equal(scrubberKey(s, 'ArrowLeft'), true);
  assert.equal(s.step, 290);
  assert.equal(scrubberKey(s, 'PageDown'), true);
  assert.equal(s.step, 190);
  assert.equal(scrubberKey(s, 'ArrowDown'), true);
  assert.equal(scrubberKey(s, 'ArrowUp'), true);
  assert.equal(scrubberKey(s, 'ArrowRight'), true);
  assert.equal(s.step, 200);
  assert.equal(scrubberKey(s, 'Home'), true);
  assert.equal(s.step, 10);
  assert.equal(scrubberKey(s, 'Home'), false, 'already there');
  assert.equal(scrubberKey(s, 'PageUp'), true);
  assert.equal(s.step, 110);
  assert.equal(scrubberKey(s, 'End'), true);
  assert.equal(s.live, true);
  assert.equal(scrubberKey(s, 'End'), false);
  assert.equal(scrubberKey(s, 'a'), undefined);
  assert.equal(scrubberKey(new Scrubber([]), 'Home'), false);
});

test('probeOptions: "#i" and the first 8 tokens; a probe without tokens is its number', () => {
  const info = { probes: [{ tokens: ['a', 'b'], label: 0 }, { tokens: 'one two three four five six seven eight nine'.split(' '), label: 1 }] } as unknown as RunInfo;
  assert.deepEqual(probeOptions(info, 3), [
    { value: '0', label: '#0 a b' },
    { value: '1', label: '#1 one two three four five six seven eight …' },
    { value: '2', label: '#2' },
  ]);
  assert.deepEqual(probeOptions(undefined, 1), [{ value: '0', label: '#0' }]);
});

test('chartPoints: a dataset’s {x, y} points as two arrays, anything else skipped', () => {
  assert.deepEqual(chartPoints([{ x: 1, y: 2 }, null, 3, { x: 4 }, { x: 5, y: 6 }]), { xs: [1, 5], ys: [2, 6] });
});
