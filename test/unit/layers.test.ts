/**
 * The import-direction check (scripts/checkLayers.mjs, rules in layers.json): it passes on the
 * tree and fails, naming the file and the parts, on a planted wrong-way import.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const check = (dir: string) => spawnSync(process.execPath, [path.join(root, 'scripts/checkLayers.mjs'), dir], { encoding: 'utf8' });

/** A copy of the tree's parts (src/, webview/, layers.json) to plant imports in. */
function copyTree(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-layers-'));
  for (const p of ['src', 'webview', 'layers.json']) fs.cpSync(path.join(root, p), path.join(dir, p), { recursive: true });
  return dir;
}

test('the tree imports only the ways layers.json allows', () => {
  const r = check(root);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /import directions: ok/);
});

test('a planted wrong-way import fails the check, naming file, line and parts', () => {
  const planted: [string, string, RegExp][] = [
    ['src/trainer/planted.ts', "export {};\nimport { RunManager } from '../runs/runManager';\n", /src\/trainer\/planted\.ts:2: 'trainer' may not import 'runs'/],
    ['src/trainer-process/planted.ts', "import type { x } from '../cli/main';\n", /'trainer-process' may not import 'cli'/],
    ['webview/model/planted.ts', "const m = require('../../src/runs/store');\n", /'webview' may not import 'runs'/],
    ['src/protocol/planted.ts', "export * from '../extension/post';\n", /'protocol' may not import 'extension'/],
    ['src/runs/planted.ts', "const l = import('../io/loadConfig');\n", /'runs' may not import 'io'/],
  ];
  for (const [file, text, message] of planted) {
    const dir = copyTree();
    try {
      assert.equal(check(dir).status, 0, 'the copy passes before planting');
      fs.writeFileSync(path.join(dir, file), text);
      const r = check(dir);
      assert.equal(r.status, 1, `${file} should fail the check`);
      assert.match(r.stderr, message);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('a part missing from layers.json fails the check', () => {
  const dir = copyTree();
  try {
    fs.mkdirSync(path.join(dir, 'src/newpart'));
    fs.writeFileSync(path.join(dir, 'src/newpart/a.ts'), 'export const a = 1;\n');
    const r = check(dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /part 'newpart' is not listed in layers\.json/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
