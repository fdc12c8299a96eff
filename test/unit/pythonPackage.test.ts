/**
 * The Python helper's own tests (python/tests, unittest: capture against softmax(QKᵀ/√d),
 * gradient-norm groups, the run folder writer, the control file), run with a Python that can
 * import torch, so that `npm test` runs the Python layer too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { findTorchPython } from '../../src/runs/pythonTrainer';

const ROOT = path.resolve(__dirname, '../../..');

test('python/tests pass (unittest, with torch)', () => {
  const python = findTorchPython([process.env['ATTENTION_LENS_TEST_PYTHON'] ?? '', 'python3', '/usr/bin/python3']);
  assert.ok(python, 'no Python that can `import torch` (tried $ATTENTION_LENS_TEST_PYTHON, python3, /usr/bin/python3): install python3-torch (Debian: apt install python3-torch)');
  const r = spawnSync(python, ['-m', 'unittest', 'discover', '-s', 'tests', '-v'], { cwd: path.join(ROOT, 'python'), encoding: 'utf8', timeout: 600_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  const report = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, report);
  const ran = /Ran (\d+) tests?/.exec(report);
  assert.ok(ran && Number(ran[1]) >= 20, report);
});
