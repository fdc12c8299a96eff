/**
 * A user's own PyTorch script as a run (transport 1: launched by the host, the protocol framed
 * on its fd 3), against real Python and torch: the example nn.TransformerEncoder classifier
 * (python/examples/encoder_classifier.py) streams through RunManager / RunProcess like a
 * built-in run; its attention equals softmax(QKᵀ/√d) recomputed from the weights; capture does
 * not change training; pause, single step and stop take effect inside step(); and every way a
 * script can go wrong fails the run with its reason, keeping every step it recorded.
 *
 * Needs a Python that can `import torch` (ATTENTION_LENS_TEST_PYTHON, else python3, else
 * /usr/bin/python3): without one these tests fail, saying so (CI installs python3-torch).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROTOCOL_VERSION, type AttentionMapData } from '../../src/protocol/messages';
import { RunManager, type Run } from '../../src/runs/runManager';
import { RunProcess } from '../../src/runs/runProcess';
import { findTorchPython } from '../../src/runs/pythonTrainer';
import { openRun } from '../../src/runs/store';

// Tests run from out/test/unit/.
const ROOT = path.resolve(__dirname, '../../..');
const TRAINER = path.join(ROOT, 'dist/trainer.js');
const EXAMPLE = path.join(ROOT, 'python/examples/encoder_classifier.py');
const FIXTURES = path.join(ROOT, 'test/fixtures');
const BEHAVIOURS = path.join(FIXTURES, 'python_behaviours.py');

const PYTHON = findTorchPython([process.env['ATTENTION_LENS_TEST_PYTHON'] ?? '', 'python3', '/usr/bin/python3']);
const NEED = 'no Python that can `import torch` (tried $ATTENTION_LENS_TEST_PYTHON, python3, /usr/bin/python3): install python3-torch (Debian: apt install python3-torch) or set ATTENTION_LENS_TEST_PYTHON';

const manager = new RunManager({ trainerPath: TRAINER });
after(() => manager.disposeAll());
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'al-python-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const logged = new Map<Run, string>();
manager.on('log', (r, t) => logged.set(r, (logged.get(r) ?? '') + t));
function logs(run: Run): string {
  return logged.get(run) ?? '';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, timeoutMs = 30000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function python(): string {
  assert.ok(PYTHON, NEED);
  return PYTHON;
}

function launch(program: string, args: string[], extra: Record<string, unknown> = {}, opts: { startPaused?: boolean; pace?: { stepsPerSecond?: number } } = {}): Run {
  return manager.launch({ config: { kind: 'python', name: path.basename(program, '.py'), program, args, python: python(), cwd: tmp, ...extra }, baseDir: tmp, ...opts });
}

function steps(run: Run): number[] {
  return Array.from(run.history.scalars().step);
}

function assertContiguous(run: Run): void {
  const s = steps(run);
  s.forEach((x, i) => assert.equal(x, i + 1, `step ${i + 1} is ${x}`));
}

/** The last value of a series measurement the script declared. */
function lastSeries(run: Run, id: string): number | undefined {
  const s = run.snapshot().measures.series.find((x) => x.id === id);
  return s === undefined || s.values.length === 0 ? undefined : s.values[s.values.length - 1];
}

test('a Python that can import torch is there (CI installs python3-torch)', () => {
  assert.ok(PYTHON, NEED);
});

test('the example encoder classifier streams like a built-in run: every step, its groups, attention, measurements, a run folder', async () => {
  const runsDir = path.join(tmp, 'runs');
  const m = new RunManager({ trainerPath: TRAINER, runsDir });
  try {
    const run = m.launch({ config: { kind: 'python', name: 'example', program: EXAMPLE, args: ['--steps', '120', '--capture-every', '20'], python: python(), cwd: tmp }, baseDir: tmp });
    assert.equal(await run.finished, 'completed', run.statusReason);
    assert.equal(run.process.rejectedMessages, 0);
    assert.equal(run.history.length, 120);
    assertContiguous(run);
    const info = run.info!;
    assert.equal(info.modelKind, 'encoder');
    assert.deepEqual(info.groups, ['embed', 'pos', 'encoder.layers.0', 'encoder.layers.1', 'head']);
    assert.deepEqual(info.classes, ['red', 'green', 'blue']);
    assert.equal(info.probes.length, 4);
    assert.equal(info.probes[0]!.tokens.length, 12);
    assert.deepEqual(info.measures?.map((d) => d.id), ['lr', 'updates']);
    const snap = run.snapshot();
    assert.deepEqual(snap.attentionSteps, [1, 20, 40, 60, 80, 100, 120]);
    const frame = snap.latestAttention!;
    assert.equal(frame.step, 120);
    assert.equal(frame.probes.length, 4);
    // 2 layers × 4 heads per probe, each a 12 × 12 softmax: rows sum to 1.
    assert.equal(frame.probes[0]!.length, 8);
    for (const map of frame.probes[0]!) {
      assert.equal(map.data.constructor, Float32Array);
      assert.equal(map.rows, 12);
      for (let r = 0; r < 12; r++) {
        let sum = 0;
        for (let c = 0; c < 12; c++) sum += map.data[r * 12 + c]!;
        assert.ok(Math.abs(sum - 1) < 1e-5, `row ${r} of layer ${map.layer} head ${map.head} sums to ${sum}`);
      }
    }
    const sc = run.history.scalars();
    assert.ok(sc.loss[119]! < sc.loss[0]!, `the loss falls: ${sc.loss[0]} → ${sc.loss[119]}`);
    assert.ok(Array.from(sc.gradNorms).every((g) => Number.isFinite(g) && g >= 0));
    assert.equal(lastSeries(run, 'updates'), 120);
    assert.equal(run.summary?.steps, 120);
    // The host recorded it into its folder like any run; the folder reads back whole.
    const stored = openRun(run.dir!);
    assert.deepEqual(stored.problems, []);
    assert.equal(stored.scalars.n, 120);
    assert.deepEqual(stored.attentionSteps, [1, 20, 40, 60, 80, 100, 120]);
    assert.equal(stored.meta?.status, 'completed');
    const config = stored.config as Record<string, unknown>;
    assert.equal(config['kind'], 'python');
    assert.equal((config['config'] as Record<string, unknown>)['steps'], 120, "config.json holds the script's own config");
    assert.deepEqual(config['attentionLayers'], ['encoder.layers.0.self_attn', 'encoder.layers.1.self_attn']);
  } finally {
    m.disposeAll();
  }
});

test('the captured attention equals softmax(QKᵀ/√d) recomputed from the weights, per head, at every capture', async () => {
  const out = path.join(tmp, 'reference.json');
  const run = launch(path.join(FIXTURES, 'python_reference.py'), [out, '30', '10']);
  assert.equal(await run.finished, 'completed', run.statusReason);
  const refs = JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, [number, number, number[][]][][]>;
  assert.deepEqual(Object.keys(refs).map(Number), [1, 10, 20, 30]);
  let compared = 0;
  let worst = 0;
  for (const [s, probes] of Object.entries(refs)) {
    const frame = run.attentionAt(Number(s));
    assert.equal(frame?.step, Number(s));
    probes.forEach((maps, p) => {
      assert.equal(frame!.probes[p]!.length, maps.length);
      for (const [layer, head, rows] of maps) {
        const got: AttentionMapData = frame!.probes[p]!.find((m) => m.layer === layer && m.head === head)!;
        assert.equal(got.rows, rows.length);
        rows.forEach((row, r) =>
          row.forEach((want, c) => {
            const d = Math.abs(got.data[r * got.cols + c]! - want);
            worst = Math.max(worst, d);
            compared++;
          }),
        );
      }
    });
  }
  assert.ok(compared === 4 * 3 * 8 * 144, `${compared} values compared`);
  assert.ok(worst < 2e-6, `largest difference ${worst}`);
});

test('capture does not change training: losses bit-identical with capture every step and without captures', async () => {
  const args = (every: number) => ['--steps', '40', '--capture-every', String(every), '--seed', '5'];
  const on = launch(EXAMPLE, args(1));
  const off = launch(EXAMPLE, args(0));
  assert.deepEqual(await Promise.all([on.finished, off.finished]), ['completed', 'completed']);
  assert.equal(on.snapshot().attentionSteps.length, 40);
  assert.equal(off.snapshot().attentionSteps.length, 0);
  const a = on.history.scalars();
  const b = off.history.scalars();
  assert.equal(a.n, 40);
  assert.deepEqual(Array.from(a.loss), Array.from(b.loss), 'the same losses, to the last bit');
  assert.deepEqual(Array.from(a.gradNorms), Array.from(b.gradNorms));
});

test('pause takes effect within one step, a single step trains exactly one step, resume goes on, stop ends cleanly', async () => {
  const run = launch(EXAMPLE, ['--steps', '100000', '--capture-every', '1000'], {}, { pace: { stepsPerSecond: 40 } });
  await until(() => run.history.length >= 10, '10 steps');
  const asked = run.step;
  run.pause();
  await until(() => run.status === 'paused', 'paused');
  assert.equal(run.statusReason, 'paused on request');
  const at = run.step;
  assert.ok(at <= asked + 1, `asked at step ${asked}, paused after step ${at}`);
  await until(() => run.history.latestAttention()?.step === at, 'the pause captures the step it is at');
  await sleep(400);
  assert.equal(run.history.length, at, 'no step while paused');
  assert.equal(lastSeries(run, 'updates'), at, 'the optimizer has made exactly as many updates as steps recorded');

  run.stepOnce();
  await until(() => run.history.length === at + 1, 'one single step');
  await sleep(300);
  assert.equal(run.history.length, at + 1, 'exactly one step');
  assert.equal(run.status, 'paused');
  assert.equal(lastSeries(run, 'updates'), at + 1, 'one optimizer update');
  assert.equal(run.history.latestAttention()?.step, at + 1, 'a single step captures');

  run.resume();
  await until(() => run.history.length >= at + 10, 'steps after resume');
  assert.equal(run.status, 'running');
  run.stop();
  assert.equal(await run.finished, 'stopped');
  assert.equal(run.statusReason, undefined);
  assert.equal(run.process.exitCode, 0, 'Stopped ends the script quietly');
  assertContiguous(run);
  assert.equal(run.process.rejectedMessages, 0);
});

test('started paused: no step before a single step; then stop; on_stop="flag" lets the loop end by itself', async () => {
  const run = launch(BEHAVIOURS, ['stopflag'], {}, { startPaused: true });
  await until(() => run.status === 'paused', 'paused at start');
  assert.equal(run.statusReason, 'started paused');
  await sleep(300);
  assert.equal(run.history.length, 0);
  run.stepOnce();
  await until(() => run.history.length === 1, 'one step');
  run.stop();
  assert.equal(await run.finished, 'stopped');
  assert.equal(run.history.length, 1);
  await until(() => /the loop saw the stop/.test(run.process.stderrTail + logs(run)), 'the loop ended itself');
});

test('a script that raises: failed with the exception and where it was raised; every step it recorded stays', async () => {
  const run = launch(BEHAVIOURS, ['crash']);
  assert.equal(await run.finished, 'failed');
  assert.match(run.statusReason!, /the script raised ValueError: fixture exploded on purpose \(python_behaviours\.py:\d+ in <module>\)/);
  assert.match(run.process.stderrTail, /Traceback \(most recent call last\)/, 'the traceback is in the log');
  assert.doesNotMatch(run.process.stderrTail, /runpy|launch\.py/, 'without the launcher\'s frames');
  assert.equal(run.history.length, 5);
  assertContiguous(run);
  assert.deepEqual(run.snapshot().attentionSteps, [1, 5]);
});

test('torch not installed: failed with the install hint', async () => {
  // -S: no site-packages, so no torch (the helper itself is on the path the launcher adds).
  const run = launch(BEHAVIOURS, ['train', '3'], { pythonArgs: ['-S'] });
  assert.equal(await run.finished, 'failed');
  assert.match(run.statusReason!, /torch is not installed for /);
  assert.match(run.statusReason!, /apt install python3-torch/);
  assert.match(run.statusReason!, /-m pip install torch/);
  assert.equal(run.history.length, 0);
});

test('a script that exits without finishing (os._exit after step 3): failed saying so; its steps stay', async () => {
  const run = launch(BEHAVIOURS, ['exit0']);
  assert.equal(await run.finished, 'failed');
  assert.equal(run.statusReason, 'the script exited (code 0) before the run ended, after step 3');
  assert.equal(run.history.length, 3);
});

test('a script that calls sys.exit(3): failed with the code; its steps stay', async () => {
  const run = launch(BEHAVIOURS, ['exit3']);
  assert.equal(await run.finished, 'failed');
  assert.match(run.statusReason!, /the script exited with code 3/);
  assert.equal(run.history.length, 4);
});

test('a script that never calls init: failed after the init timeout; one that ends without it: failed saying so', async () => {
  const hang = launch(BEHAVIOURS, ['hang'], { initTimeoutSeconds: 2 });
  const noinit = launch(BEHAVIOURS, ['noinit']);
  assert.equal(await hang.finished, 'failed');
  assert.equal(hang.statusReason, 'the script did not call attention_lens.init() within 2 s');
  assert.equal(await noinit.finished, 'failed');
  assert.match(noinit.statusReason!, /python_behaviours\.py ended without calling attention_lens\.init\(\)/);
  assert.match(logs(noinit), /this script never calls init/, "the script's stdout goes to the log");
});

test('a NaN loss pauses the run with the reason, as built-in runs do; stop then ends it with every step', async () => {
  const run = launch(BEHAVIOURS, ['nan']);
  await until(() => run.status === 'paused', 'self-pause');
  assert.equal(run.statusReason, 'step 5: loss is NaN');
  await sleep(300);
  assert.equal(run.history.length, 5);
  assert.ok(Number.isNaN(run.history.scalars(4, 5).loss[0]!));
  run.stop();
  assert.equal(await run.finished, 'stopped');
  assert.equal(run.history.length, 5);
});

test('SIGTERM to the script: the step finishes, the run ends stopped with the reason, exit code 143', async () => {
  const run = launch(BEHAVIOURS, ['train']);
  await until(() => run.history.length >= 3, '3 steps');
  process.kill(run.process.pid!, 'SIGTERM');
  assert.equal(await run.finished, 'stopped');
  assert.equal(run.statusReason, 'the trainer was sent SIGTERM');
  assert.equal(run.process.exitCode, 143);
  assertContiguous(run);
});

test('a helper of another protocol version: the run fails with the mismatch, as a built-in trainer of another version does', async () => {
  const p = RunProcess.start({ trainerPath: TRAINER, config: { kind: 'python', program: BEHAVIOURS, args: ['train'], python: python() }, baseDir: tmp, helperDir: path.join(FIXTURES, 'python-old-helper') });
  const status = await new Promise((r) => p.once('exit', r));
  assert.equal(status, 'failed');
  assert.equal(p.statusReason, `protocol version mismatch: host speaks ${PROTOCOL_VERSION}, trainer speaks 99`);
});

test('no Python found, and an invalid python run config: each fails the run saying why', async () => {
  const none = manager.launch({ config: { kind: 'python', program: BEHAVIOURS, python: path.join(tmp, 'no-such-python3') }, baseDir: tmp });
  assert.equal(await none.finished, 'failed');
  assert.match(none.statusReason!, /^no Python found: ".*no-such-python3" is not an interpreter on this machine \(ENOENT\)/);
  const both = manager.launch({ config: { kind: 'python', program: BEHAVIOURS, module: 'x' }, baseDir: tmp });
  assert.equal(await both.finished, 'failed');
  assert.equal(both.statusReason, 'invalid python run config: a python run config names exactly one of "program" (a script) and "module"');
  const missing = launch(path.join(tmp, 'no-such-script.py'), []);
  assert.equal(await missing.finished, 'failed');
  assert.match(missing.statusReason!, /the program .*no-such-script\.py does not exist/);
});
