// Bundles each process's entry: the command line, repro and bench scripts (Node).
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const node = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, logLevel: 'warning' };

const builds = [
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' },
  { ...node, entryPoints: ['scripts/repro.ts'], outfile: 'dist/repro.js' },
  { ...node, entryPoints: ['scripts/bench.ts'], outfile: 'dist/bench.js' },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
