// Runs every test layer and ends with one line totalling them: `N passed, N failed`.
// Layers: unit (plain Node), webview (real Chromium), e2e (real VS Code via code-server).
// Each layer's own report goes to the terminal as it runs. `node scripts/test.mjs unit` runs one layer.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const only = process.argv.slice(2);
const layers = [
  { name: 'unit', dir: 'out/test/unit', tools: true }, // python3-torch for the Python runs
  { name: 'webview', dir: 'out/test/webview', tools: true },
  { name: 'e2e', dir: 'out/test/e2e', tools: true },
];

let toolsReady;
function ensureTools() {
  if (toolsReady === undefined) {
    const r = spawnSync('bash', [path.join(root, 'scripts/setup-tools.sh')], { stdio: 'inherit', cwd: root });
    toolsReady = r.status === 0;
  }
  return toolsReady;
}

let passed = 0;
let failed = 0;
for (const layer of layers) {
  if (only.length > 0 && !only.includes(layer.name)) continue;
  if (layer.tools && !ensureTools()) {
    console.error(`${layer.name}: the browser / VS Code tools could not be installed (scripts/setup-tools.sh failed)`);
    failed++;
    continue;
  }
  const dir = path.join(root, layer.dir);
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).map((f) => path.join(dir, f)) : [];
  if (files.length === 0) {
    console.error(`${layer.name}: no test files in ${layer.dir}`);
    failed++;
    continue;
  }
  const tap = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'al-test-')), 'report.tap');
  console.log(`\n=== ${layer.name} tests (${files.length} files) ===`);
  const r = spawnSync(
    process.execPath,
    ['--test', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
    { stdio: 'inherit', cwd: root, env: { ...process.env, ...(layer.env ?? {}) } },
  );
  const text = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
  const p = Number(/^# pass (\d+)/m.exec(text)?.[1] ?? 0);
  const f = Number(/^# fail (\d+)/m.exec(text)?.[1] ?? 0) + Number(/^# cancelled (\d+)/m.exec(text)?.[1] ?? 0);
  passed += p;
  failed += f;
  if (r.status !== 0 && f === 0) failed++; // the runner itself failed
  console.log(`${layer.name}: ${p} passed, ${f} failed`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
