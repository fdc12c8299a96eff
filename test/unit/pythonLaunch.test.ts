/**
 * The Python launcher's pure parts (src/runs/pythonTrainer.ts): which configs launch, how paths
 * resolve, the command line, and what a dead script's stderr is summed up as.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { helperDirFor, isPythonRunConfig, pythonCommand, pythonConfigProblem, pythonLaunch, pythonStderrSummary, torchMissing } from '../../src/runs/pythonTrainer';

test('python run configs: exactly one of program and module, typed fields, no unknown fields', () => {
  assert.ok(isPythonRunConfig({ kind: 'python' }));
  assert.ok(!isPythonRunConfig({ name: 'lu', data: {}, model: {} }));
  assert.equal(pythonConfigProblem({ kind: 'python', program: 'train.py' }), undefined);
  assert.equal(pythonConfigProblem({ kind: 'python', module: 'pkg.train', args: ['--x', '1'], env: { A: 'b' }, initTimeoutSeconds: 5 }), undefined);
  assert.match(pythonConfigProblem({ kind: 'python' })!, /exactly one of "program"/);
  assert.match(pythonConfigProblem({ kind: 'python', program: 'a.py', module: 'a' })!, /exactly one/);
  assert.match(pythonConfigProblem({ kind: 'python', module: 'not a module' })!, /dotted module name/);
  assert.match(pythonConfigProblem({ kind: 'python', program: 'a.py', args: [1] })!, /args must be a list of strings/);
  assert.match(pythonConfigProblem({ kind: 'python', program: 'a.py', env: { A: 1 } })!, /env must map names to strings/);
  assert.match(pythonConfigProblem({ kind: 'python', program: 'a.py', initTimeoutSeconds: 0 })!, /initTimeoutSeconds/);
  assert.match(pythonConfigProblem({ kind: 'python', program: 'a.py', progam: 'x' })!, /"progam" is not a field/);
});

test('a launch resolves program and cwd against the config file\'s folder and takes the host\'s interpreter when the config names none', () => {
  const base = path.resolve('/work/project/configs');
  const l = pythonLaunch({ kind: 'python', program: '../train.py', cwd: '..', args: ['--steps', '5'] }, base, { helperDir: '/ext/python', python: '/venv/bin/python' });
  assert.equal(l.program, path.resolve('/work/project/train.py'));
  assert.equal(l.cwd, path.resolve('/work/project'));
  assert.equal(l.python, '/venv/bin/python');
  assert.equal(l.initTimeoutMs, 120_000);
  assert.equal(pythonLaunch({ kind: 'python', module: 'm', python: 'py3' }, base, { helperDir: '/h', python: '/venv/bin/python' }).python, 'py3', "the config's own interpreter wins");
  assert.throws(() => pythonLaunch({ kind: 'python' }, base, { helperDir: '/h' }), /invalid python run config/);
  const c = pythonCommand(l);
  assert.equal(c.command, '/venv/bin/python');
  assert.deepEqual(c.args.slice(0, 2), ['-u', '-c']);
  assert.deepEqual(c.args.slice(3), ['/ext/python', '--program', l.program, '--', '--steps', '5']);
  assert.deepEqual(c.options.stdio, ['ignore', 'pipe', 'pipe', 'pipe']);
  assert.equal((c.options.env as Record<string, string>)['ATTENTION_LENS_FD'], '3');
  assert.equal(helperDirFor('/ext/dist/trainer.js'), path.resolve('/ext/python'));
});

test("a dead script's stderr: the exception and the innermost frame of the user's code", () => {
  const tb = [
    'some output',
    'Traceback (most recent call last):',
    '  File "<string>", line 1, in <module>',
    '  File "/ext/python/attention_lens/launch.py", line 90, in main',
    '    runpy.run_path(target, run_name="__main__")',
    '  File "<frozen runpy>", line 291, in run_path',
    '  File "/home/me/train.py", line 12, in <module>',
    '    main()',
    '  File "/home/me/model.py", line 40, in forward',
    '    x = self.proj(x)',
    'RuntimeError: mat1 and mat2 shapes cannot be multiplied (4x3 and 5x6)',
    '',
  ].join('\n');
  assert.equal(pythonStderrSummary(tb), 'RuntimeError: mat1 and mat2 shapes cannot be multiplied (4x3 and 5x6) (model.py, line 40, in forward)');
  assert.equal(pythonStderrSummary('Segmentation fault\n'), 'Segmentation fault');
  assert.ok(torchMissing("ModuleNotFoundError: No module named 'torch'"));
  assert.ok(!torchMissing("ModuleNotFoundError: No module named 'torchvision'"));
});
