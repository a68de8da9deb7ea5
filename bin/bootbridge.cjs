#!/usr/bin/env node
// Entry point of the `bootbridge` command. The CLI is bundled into out/cli/ by `npm install`
// (the `prepare` script); this shim only loads it so the bin path stays stable. `convert` has a
// bundle of its own: it loads a fraction of the tool, and its start-up counts in every conversion.
require(process.argv[2] === 'convert' ? '../out/cli/convert.cjs' : '../out/cli/bootbridge.cjs');
