// Bundles each process's entry: the extension (Node, vscode external), the trainer child
// process (Node), the dashboard webview (browser), the command line, and the repro/bench scripts.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const node = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', mainFields: ['module', 'main'], sourcemap: !production, minify: production, logLevel: 'warning' };

const builds = [
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  { ...node, entryPoints: ['src/trainer-process/main.ts'], outfile: 'dist/trainer.js' },
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' },
  { ...node, entryPoints: ['scripts/repro.ts'], outfile: 'dist/repro.js' },
  { ...node, entryPoints: ['scripts/bench.ts'], outfile: 'dist/bench.js' },
  { ...node, entryPoints: ['scripts/genSchema.ts'], outfile: 'dist/genSchema.js' },
  {
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: !production,
    minify: production,
    logLevel: 'warning',
    entryPoints: ['webview/main.ts'],
    outfile: 'dist/webview.js',
  },
];

const existing = await import('node:fs').then((fs) => builds.filter((b) => fs.existsSync(b.entryPoints[0])));
if (watch) {
  for (const b of existing) await (await esbuild.context(b)).watch();
} else {
  const results = await Promise.allSettled(existing.map((b) => esbuild.build(b)));
  const failed = results.filter((r) => r.status === 'rejected');
  if (failed.length > 0) {
    console.error(`esbuild: ${failed.length} of ${existing.length} bundles failed`);
    process.exitCode = 1;
  }
}
// The JSON Schema contributed for *.attnlens.json comes from the trainer's validator.
const { execFileSync } = await import('node:child_process');
execFileSync(process.execPath, ['dist/genSchema.js', process.cwd()], { stdio: 'inherit' });
