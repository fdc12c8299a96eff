#!/usr/bin/env node
// The command line, built by `npm run build` into dist/cli.js.
const { main } = require('../dist/cli.js');
main(process.argv.slice(2)).then((code) => (process.exitCode = code));
