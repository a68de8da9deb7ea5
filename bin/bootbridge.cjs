#!/usr/bin/env node
// Entry point of the `bootbridge` command. The CLI is bundled into out/cli/ by `npm install`
// (the `prepare` script); this shim only loads it so the bin path stays stable.
require('../out/cli/bootbridge.cjs');
