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

await Promise.all([
  build({ ...common, entryPoints: ['src-main/cli/main.ts'], outfile: 'out/cli/bootbridge.cjs' }),
  build({ ...common, entryPoints: ['src-main/cli/commands/convert-main.ts'], outfile: 'out/cli/convert.cjs' }),
]);
