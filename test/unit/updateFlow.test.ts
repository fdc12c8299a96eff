/**
 * Flow control between the host and a page (UpdateFlow): at most `window` updates unanswered,
 * the rest merged into one that carries every step; the guard of the page's answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHostToWebview, isWebviewToHost } from '../../src/protocol/guards';
import { LIVE_IDENTITY_POINTS, type StepsAppended } from '../../src/runs/runHistory';
import { mergeStepsAppended, UpdateFlow } from '../../src/runs/updateFlow';
import { attentionFrame, identityPoint, scalarChunk, stepsAppended } from '../fixtures/messages';

const G = 2;

const frame = (step: number) => attentionFrame(step);
const idPoint = (step: number) => identityPoint(step);

/** An update of steps [from, to], with an eval every 10 steps, a frame at `to`, an identity point per step. */
function update(from: number, to: number): StepsAppended {
  const steps = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  return stepsAppended({
    scalars: scalarChunk(from, to, { groups: G, trainAccuracy: () => 1, weightNorm: (s) => -s }),
    evals: steps.filter((s) => s % 10 === 0).map((step) => ({ step, validationLoss: 1, validationAccuracy: 1, testLoss: 1, testAccuracy: 1 })),
    attentionSteps: [to],
    latestAttention: frame(to),
    identity: steps.map(idPoint),
  });
}

test('merging updates keeps every step, eval and capture in order; the latest frame; identity subsampled with the latest', () => {
  const m = mergeStepsAppended(update(1, 1500), update(1501, 3000));
  assert.equal(m.scalars.n, 3000);
  assert.deepEqual(Array.from(m.scalars.step), Array.from({ length: 3000 }, (_, i) => i + 1));
  assert.equal(m.scalars.gradNorms.length, 3000 * G);
  assert.equal(m.scalars.gradNorms[2 * 1600 + 1], 1601.1);
  assert.equal(m.evals.length, 300);
  assert.deepEqual(m.attentionSteps, [1500, 3000]);
  assert.equal(m.latestAttention?.step, 3000);
  assert.equal(m.identity.length, LIVE_IDENTITY_POINTS);
  assert.equal(m.identity[0]!.step, 1);
  assert.equal(m.identity[m.identity.length - 1]!.step, 3000);
  assert.ok(isHostToWebview(m));
  assert.throws(() => mergeStepsAppended(update(1, 2), { ...update(3, 4), runId: 'other' }), /cannot merge/);
  assert.equal(mergeStepsAppended({ ...update(1, 2), lastWallTime: 5 }, { ...update(3, 4), lastWallTime: 9 }).lastWallTime, 9, 'the trainer clock of the last step');
  assert.equal(mergeStepsAppended({ ...update(1, 2), lastWallTime: 5 }, update(3, 4)).lastWallTime, 5);
});

test('UpdateFlow: two unanswered at most; what comes meanwhile is merged and sent on the next answer', () => {
  const sent: StepsAppended[] = [];
  const flow = new UpdateFlow((m) => sent.push(m), 2);
  const u1 = update(1, 10);
  flow.push(u1);
  flow.push(update(11, 20));
  assert.equal(sent.length, 2, 'the window lets two go');
  assert.deepEqual(sent.map((m) => m.seq), [1, 2]);
  assert.equal(u1.seq, undefined, 'the shared update object is not changed');
  for (let i = 2; i < 50; i++) flow.push(update(i * 10 + 1, i * 10 + 10));
  assert.equal(sent.length, 2, 'nothing more while both are unanswered');
  assert.ok(flow.hasPending);
  flow.ack(1);
  assert.equal(sent.length, 3);
  const merged = sent[2]!;
  assert.equal(merged.seq, 3);
  assert.equal(merged.scalars.n, 480, 'one update with all 48 that waited');
  assert.equal(merged.scalars.step[0], 21);
  assert.equal(merged.scalars.step[479], 500);
  assert.equal(merged.latestAttention?.step, 500);
  // Every step reached the page exactly once, in order.
  const all = sent.flatMap((m) => Array.from(m.scalars.step));
  assert.deepEqual(all, Array.from({ length: 500 }, (_, i) => i + 1));
  // Answers out of range or repeated change nothing.
  flow.ack(99);
  flow.ack(1);
  assert.equal(flow.unanswered, 2);
  flow.ack(3);
  assert.equal(flow.unanswered, 0);
  flow.push(update(501, 510));
  assert.equal(sent.length, 4, 'an open window sends at once');
});

test('UpdateFlow: a snapshot clears what is outstanding', () => {
  const sent: StepsAppended[] = [];
  const flow = new UpdateFlow((m) => sent.push(m), 1);
  flow.push(update(1, 10));
  flow.push(update(11, 20));
  assert.ok(flow.hasPending);
  flow.reset();
  assert.equal(flow.hasPending, false);
  assert.equal(flow.unanswered, 0);
  flow.push(update(21, 30));
  assert.equal(sent.length, 2);
  assert.equal(sent[1]!.seq, 2);
  flow.ack(1); // a late answer to an update from before the snapshot
  assert.equal(flow.unanswered, 1);
});

test('the page’s answer and the update number pass the guards; bad ones do not', () => {
  assert.ok(isWebviewToHost({ type: 'applied', seq: 3 }));
  assert.equal(isWebviewToHost({ type: 'applied', seq: -1 }), false);
  assert.equal(isWebviewToHost({ type: 'applied', seq: 1.5 }), false);
  assert.equal(isWebviewToHost({ type: 'applied' }), false);
  assert.ok(isHostToWebview({ ...update(1, 2), seq: 7 }));
  assert.equal(isHostToWebview({ ...update(1, 2), seq: 'x' }), false);
});

test('UpdateFlow with several runs (a compare view): each run’s waiting updates merge apart, sent in arrival order', () => {
  const sent: StepsAppended[] = [];
  const flow = new UpdateFlow((m) => sent.push(m), 1);
  const of = (runId: string, from: number, to: number) => ({ ...update(from, to), runId });
  flow.push(of('a', 1, 10));
  flow.push(of('b', 1, 5));
  flow.push(of('a', 11, 20));
  flow.push(of('b', 6, 10));
  assert.equal(sent.length, 1);
  flow.ack(1);
  flow.ack(2);
  assert.deepEqual(
    sent.map((m) => [m.runId, m.seq, m.scalars.step[0], m.scalars.n]),
    [
      ['a', 1, 1, 10],
      ['b', 2, 1, 10],
      ['a', 3, 11, 10],
    ],
  );
});

test('UpdateFlow with a minimum interval: what comes sooner waits, merged, and goes out when due', async () => {
  const sent: StepsAppended[] = [];
  const flow = new UpdateFlow((m) => sent.push(m), 2, 100);
  flow.push(update(1, 10));
  assert.equal(sent.length, 1, 'the first goes at once');
  flow.ack(1);
  flow.push(update(11, 20));
  flow.push(update(21, 30));
  assert.equal(sent.length, 1, 'the next waits for the interval, although the window is open');
  const t0 = Date.now();
  while (sent.length < 2 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
  assert.equal(sent.length, 2);
  assert.ok(Date.now() - t0 >= 80, 'not before the interval');
  assert.deepEqual(Array.from(sent[1]!.scalars.step), Array.from({ length: 20 }, (_, i) => i + 11), 'both waiting updates, merged');
  flow.push(update(31, 40));
  flow.dispose();
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(sent.length, 2, 'nothing after dispose');
});

test('UpdateFlow.snapshot: updates flushed while the snapshot is taken are not sent, and nothing stays outstanding', () => {
  const sent: StepsAppended[] = [];
  const flow = new UpdateFlow((m) => sent.push(m), 1);
  flow.push(update(1, 10));
  flow.push(update(11, 20)); // waits: the window is full
  const snap = flow.snapshot(() => {
    flow.push(update(21, 30)); // what a run's snapshot flushes to its listeners
    return 'snapshot up to step 30';
  });
  assert.equal(snap, 'snapshot up to step 30');
  assert.equal(sent.length, 1);
  assert.equal(flow.hasPending, false);
  assert.equal(flow.unanswered, 0);
  flow.push(update(31, 40));
  assert.deepEqual(sent.map((m) => m.scalars.step[0]), [1, 31], 'the next update goes at once');
});
