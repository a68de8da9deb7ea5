// Bundles the command-line tool into out/cli/bootbridge.cjs (run by `npm install` through `prepare`),
// and `bootbridge convert` alone into out/cli/convert.cjs, which bin/bootbridge.cjs runs for that
// command so a conversion starts without parsing the rest of the tool.
// The native `usb` package stays external: it is loaded from node_modules at run time.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['usb'],
  logLevel: 'warning',
  define: { BOOTBRIDGE_VERSION: JSON.stringify(JSON.parse(readFileSync('package.json', 'utf8')).version) },
};

/**
 * commander loads node:child_process (and with it net, streams, dgram) only to run git-style
 * executable subcommands, which `convert` has none of: its bundle gets an empty module instead,
 * tens of ms of every conversion's start-up. Were it ever called, the missing spawn would throw.
 */
const noChildProcess = {
  name: 'no-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, () => ({ path: 'child_process', namespace: 'no-child-process' }));
    b.onLoad({ filter: /.*/, namespace: 'no-child-process' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
  },
};

await Promise.all([
  build({ ...common, entryPoints: ['src-main/cli/main.ts'], outfile: 'out/cli/bootbridge.cjs' }),
  build({ ...common, entryPoints: ['src-main/cli/commands/convert-main.ts'], outfile: 'out/cli/convert.cjs', plugins: [noChildProcess] }),
]);
