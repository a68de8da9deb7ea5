// Builds what the web host needs, with no Electron binary: the renderer (vite, into out/renderer) and
// the host program (esbuild, into out/web/bootbridge-web.cjs). The native `usb` package stays external.
//   node scripts/build-web.mjs [--renderer-only | --host-only]
import process from 'node:process';
import { build as esbuild } from 'esbuild';

const only = process.argv[2];

if (only !== '--host-only') {
  const { build } = await import('vite');
  await build({ configFile: 'src-renderer/vite.config.ts', logLevel: 'warn' });
}

if (only !== '--renderer-only') {
  await esbuild({
    entryPoints: ['src-main/web/main.ts'],
    outfile: 'out/web/bootbridge-web.cjs',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    external: ['usb'],
    logLevel: 'warning',
  });
}
