// The steps per second the extension records from a PyTorch script: the example classifier
// launched through RunManager / RunProcess as VS Code launches it (the protocol framed on fd 3),
// timed on the host from its first recorded step to its last, with the script's own step time
// for comparison and the host's CPU time per step. Needs `npx tsc -b` (out/) first.
//
//   node python/bench/extension_rate.js [STEPS] [CAPTURE_EVERY] [PYTHON]
'use strict';
const path = require('node:path');
const ROOT = path.resolve(__dirname, '../..');
const { RunManager } = require(path.join(ROOT, 'out/src/runs/runManager.js'));
const { findTorchPython } = require(path.join(ROOT, 'out/src/runs/pythonTrainer.js'));

const steps = Number(process.argv[2] ?? 1000);
const every = Number(process.argv[3] ?? 10);
const python = process.argv[4] ?? findTorchPython([process.env.ATTENTION_LENS_TEST_PYTHON ?? '', 'python3', '/usr/bin/python3']);
if (!python) throw new Error('no Python that can import torch');

const m = new RunManager({ trainerPath: path.join(ROOT, 'dist/trainer.js') });
const run = m.launch({ config: { kind: 'python', name: 'rate', program: path.join(ROOT, 'python/examples/encoder_classifier.py'), args: ['--steps', String(steps), '--capture-every', String(every)], python }, baseDir: ROOT });
let first, last;
const cpu0 = process.cpuUsage();
run.process.on('message', (msg) => {
  if (msg.type !== 'stepCompleted') return;
  last = performance.now();
  first ??= last;
});
run.finished.then((status) => {
  const cpu = process.cpuUsage(cpu0);
  const n = run.history.length;
  const ms = run.history.scalars();
  const stepMs = run.snapshot().summary?.msPerStep;
  const rate = ((n - 1) / (last - first)) * 1000;
  console.log(JSON.stringify({ status, steps: n, captureEvery: every, hostStepsPerSecond: Math.round(rate * 10) / 10, scriptMsPerStep: stepMs, scriptStepsPerSecond: stepMs ? Math.round((1000 / stepMs) * 10) / 10 : undefined, messages: run.process.acceptedMessages, rejected: run.process.rejectedMessages, hostCpuUsPerStep: Math.round((cpu.user + cpu.system) / n), lastLoss: ms.loss[n - 1] }));
  m.disposeAll();
});
