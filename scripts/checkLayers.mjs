// Checks that imports between the top-level parts go only the ways layers.json allows.
// A part is a folder of src/ (src/trainer, src/runs, …) or the top-level webview/. The per-part
// tsconfigs already fix each part's platform (DOM, Node, vscode); this fixes the direction.
// `node scripts/checkLayers.mjs [root]` prints every wrong-way import and exits 1 if there is one.
import * as fs from 'node:fs';
import * as path from 'node:path';

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\brequire\(\s*['"]([^'"]+)['"]\s*\)|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The part a path (relative to root, '/'-separated) belongs to, or undefined outside the parts. */
export function partOf(rel) {
  const [top, sub] = rel.split('/');
  if (top === 'webview') return 'webview';
  if (top === 'src' && sub !== undefined && !sub.includes('.')) return sub;
  return undefined;
}

function tsFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}

/** Every wrong-way import under root, as `file:line: part → part (specifier)` lines. */
export function checkLayers(root) {
  const rules = JSON.parse(fs.readFileSync(path.join(root, 'layers.json'), 'utf8'));
  const problems = [];
  const parts = Object.keys(rules).filter((k) => k !== '//');
  for (const file of [...tsFiles(path.join(root, 'src')), ...tsFiles(path.join(root, 'webview'))]) {
    const rel = path.relative(root, file).split(path.sep).join('/');
    const from = partOf(rel);
    if (from === undefined) continue;
    if (!parts.includes(from)) {
      problems.push(`${rel}: part '${from}' is not listed in layers.json`);
      continue;
    }
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
      if (spec === undefined || !spec.startsWith('.')) continue;
      const target = path.relative(root, path.resolve(path.dirname(file), spec)).split(path.sep).join('/');
      const to = partOf(target);
      if (to === undefined || to === from || rules[from].includes(to)) continue;
      const line = text.slice(0, m.index + m[0].lastIndexOf(spec)).split('\n').length;
      problems.push(`${rel}:${line}: '${from}' may not import '${to}' ('${spec}'); allowed: ${rules[from].join(', ') || 'nothing'}`);
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(new URL(import.meta.url).pathname), '..'));
  const problems = checkLayers(root);
  for (const p of problems) console.error(`import direction: ${p}`);
  if (problems.length > 0) {
    console.error(`${problems.length} import(s) go a way layers.json does not allow`);
    process.exitCode = 1;
  } else console.log('import directions: ok');
}
