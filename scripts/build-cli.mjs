// Bundles the command-line tool into out/cli/bootbridge.cjs (run by `npm install` through `prepare`).
// The native `usb` package stays external: it is loaded from node_modules at run time.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

await build({
  entryPoints: ['src-main/cli/main.ts'],
  outfile: 'out/cli/bootbridge.cjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['usb'],
  logLevel: 'warning',
  define: { BOOTBRIDGE_VERSION: JSON.stringify(JSON.parse(readFileSync('package.json', 'utf8')).version) },
});
