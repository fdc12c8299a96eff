/**
 * The command line as a user runs it: a real `node dist/cli.js` process.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn as spawnChild, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listRuns, openRun } from '../../src/runs/store';

const root = path.resolve(__dirname, '../../..');
const cli = path.join(root, 'bin/attention-lens.js');
const spawn = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root });
/** `train` saves its run: into a scratch folder here, not the repository's .attention-lens/. */
const scratchRuns = fs.mkdtempSync(path.join(os.tmpdir(), 'al-cli-runs-'));
after(() => fs.rmSync(scratchRuns, { recursive: true, force: true }));
const run = (...args: string[]) => spawn(...args, ...(args[0] === 'train' ? ['--runs-dir', scratchRuns] : []));

test('presets: one line per preset', () => {
  const r = run('presets');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.length >= 13);
  assert.match(r.stdout, /^lu-fc\s+Lu et al\. Attn-FC/m);
  assert.match(r.stdout, /^encoder-talking-heads-small-heads\s+/m);
});

test('train --preset --json prints the final numbers as one JSON object', () => {
  const r = run('train', '--preset', 'lu-fc-fast', '--epochs', '300', '--seed', '4', '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, number>;
  for (const k of ['loss', 'trainAccuracy', 'testAccuracy', 'msPerStep', 'topicAttention', 'identityMaxRelError']) assert.equal(typeof out[k], 'number', k);
  assert.equal(out['steps'], 300);
  assert.match(r.stderr, /step 300\/300 {2}loss \d\.\d{4} {2}acc \d\.\d{3} {2}test \d\.\d{3} {2}\d+ steps\/s/);
});

test('train --config with text data from files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-cli-'));
  fs.writeFileSync(
    path.join(dir, 'run.attnlens.json'),
    JSON.stringify({
      name: 'reviews',
      data: { kind: 'text', train: path.join(root, 'examples/data/reviews.jsonl'), validationFraction: 0.1, testFraction: 0.2 },
      model: { kind: 'encoder', dModel: 8, attention: { kind: 'multihead', heads: 2, dHead: 4 } },
      optimizer: { kind: 'adam', lr: 0.01 },
      training: { epochs: 20, batchSize: 8 },
    }),
  );
  const r = run('train', '--config', path.join(dir, 'run.attnlens.json'), '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, number>;
  assert.equal(out['epochs'], 20);
  assert.ok(out['loss']! < Math.log(2));
});

test('an invalid config is rejected with the field path and exit code 2', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-cli-'));
  const f = path.join(dir, 'bad.json');
  fs.writeFileSync(f, JSON.stringify({ data: { kind: 'synthetic' }, model: { kind: 'lu' }, optimizer: { kind: 'sgd', lr: -1 } }));
  const r = run('train', '--config', f);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.json: optimizer\.lr must be a positive number/);
  fs.writeFileSync(f, '{"data": ');
  const r2 = run('train', '--config', f);
  assert.notEqual(r2.status, 0);
  assert.match(r2.stderr, /bad\.json: not valid JSON/);
});

test('a malformed data file is reported with its name and line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-cli-'));
  fs.writeFileSync(path.join(dir, 'train.jsonl'), '{"text": "good film", "label": 1}\n{"text": "bad film"\n');
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ data: { kind: 'text', train: 'train.jsonl' }, model: { kind: 'lu' } }));
  const r = run('train', '--config', path.join(dir, 'run.json'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /train\.jsonl:2: /);
});

test('usage errors', () => {
  assert.equal(run('train').status, 2);
  assert.match(run('train', '--preset', 'a', '--config', 'b').stderr, /exactly one of --preset NAME or --config FILE/);
  assert.match(run('train', '--preset', 'lu-fc-fast', '--epochs', 'x').stderr, /--epochs must be a whole number/);
  assert.match(run('frobnicate').stderr, /unknown command "frobnicate"/);
  assert.match(run('train', '--preset', 'nope').stderr, /unknown preset "nope"/);
});

test('train saves its run folder as it goes (--runs-dir), readable with openRun; --no-save saves nothing', () => {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-cli-save-'));
  const r = spawn('train', '--preset', 'lu-fc-fast', '--epochs', '50', '--seed', '3', '--json', '--runs-dir', runsDir);
  assert.equal(r.status, 0, r.stderr);
  const { runs, problems } = listRuns(runsDir);
  assert.deepEqual(problems, []);
  assert.equal(runs.length, 1);
  const dir = runs[0]!.dir;
  assert.match(r.stderr, new RegExp(`saving to .*${runs[0]!.id}`));
  const stored = openRun(dir);
  assert.deepEqual(stored.problems, []);
  const meta = stored.meta!;
  assert.equal(meta.status, 'completed');
  assert.equal(meta.source, 'cli');
  assert.equal(meta.preset, 'lu-fc-fast');
  assert.equal(meta.seed, 3);
  assert.ok(meta.endedAt);
  const out = JSON.parse(r.stdout) as Record<string, number>;
  assert.equal(stored.scalars.n, out['steps']);
  assert.equal(meta.summary?.steps, out['steps']);
  assert.equal(meta.summary?.loss, out['loss']);
  assert.ok(stored.attentionSteps.length > 0);
  assert.ok(stored.readAttention(stored.attentionSteps[0]!));
  assert.ok(stored.identity.n > 0);
  assert.deepEqual(meta.info?.groups.length, 4);

  const none = fs.mkdtempSync(path.join(os.tmpdir(), 'al-cli-nosave-'));
  const r2 = spawn('train', '--preset', 'lu-fc-fast', '--epochs', '5', '--runs-dir', none, '--no-save');
  assert.equal(r2.status, 0, r2.stderr);
  assert.deepEqual(fs.readdirSync(none), []);
  assert.doesNotMatch(r2.stderr, /saving to/);
  fs.rmSync(runsDir, { recursive: true, force: true });
  fs.rmSync(none, { recursive: true, force: true });
});

/** Starts a long CLI run, sends `signal` once it has trained for about `afterMs`, and resolves with how it ended. */
function trainUntilSignal(runsDir: string, signal: NodeJS.Signals, afterMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawnChild(process.execPath, [cli, 'train', '--preset', 'lu-fc-fast', '--epochs', '1000000', '--runs-dir', runsDir], { cwd: root });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // Count from the first progress line: training has begun.
      if (!sent && /saving to/.test(stderr)) {
        sent = true;
        setTimeout(() => child.kill(signal), afterMs);
      }
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('SIGINT and SIGTERM at random moments: the run is closed as stopped with every step it trained, exit 130 / 143, and it is listed', async () => {
  // Moments drawn from a fixed seed (printed on failure), from the first steps to a second in.
  let seed = 20261204;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const cases: [NodeJS.Signals, number][] = [['SIGINT', 0], ['SIGTERM', 0], ...Array.from({ length: 4 }, (_, i): [NodeJS.Signals, number] => [i % 2 ? 'SIGTERM' : 'SIGINT', Math.round(20 + rand() * 1000)])];
  for (const [signal, afterMs] of cases) {
    const where = `${signal} after ${afterMs} ms (seed 20261204)`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-cli-signal-'));
    try {
      const r = await trainUntilSignal(dir, signal, afterMs);
      assert.equal(r.code, signal === 'SIGINT' ? 130 : 143, `${where}: exit code\n${r.stderr}`);
      const m = /stopped at step (\d+): interrupted by (SIG\w+)/.exec(r.stderr);
      assert.ok(m, `${where}: says where it stopped\n${r.stderr}`);
      assert.equal(m[2], signal);
      const listed = listRuns(dir);
      assert.equal(listed.runs.length, 1, `${where}: the run is listed`);
      const stored = openRun(path.join(dir, listed.runs[0]!.id));
      assert.deepEqual(stored.problems, [], where);
      assert.equal(stored.meta?.status, 'stopped', where);
      assert.equal(stored.meta?.statusReason, `interrupted by ${signal}`);
      assert.ok(stored.meta?.endedAt, `${where}: has an end time`);
      const n = Number(m[1]);
      assert.equal(stored.scalars.n, n, `${where}: every trained step is in the folder`);
      for (let i = 0; i < n; i++) assert.equal(stored.scalars.step[i], i + 1);
      assert.equal(stored.identity.n, n);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('numbers on the command line: decimal only, within what a run can store; --preset / --config once', () => {
  for (const [flag, v] of [['--epochs', '0x10'], ['--epochs', '1e3'], ['--epochs', '99999999999999999999'], ['--epochs', '4294967296'], ['--seed', '4294967297'], ['--seed', '-1'], ['--epochs', ' 7']]) {
    const r = run('train', '--preset', 'lu-fc-fast', flag!, v!, '--no-save');
    assert.equal(r.status, 2, `${flag} ${v}`);
    assert.match(r.stderr, new RegExp(`${flag} must be a whole number from \\d+ to 4294967295, got "${v!.replace(/[+.]/g, '\\$&')}"`));
  }
  const twice = run('train', '--preset', 'lu-fc-fast', '--preset', 'lu-tc-fast', '--no-save');
  assert.equal(twice.status, 2);
  assert.match(twice.stderr, /--preset is given twice/);
});
