// Builds the desktop app: main (ESM, out/main/index.js), the sandboxed preload (one CommonJS file:
// a sandboxed preload cannot load ES modules or other files) and the renderer (out/renderer). The
// renderer alone, for the web host and CI without Electron, builds with `npm run build:renderer`.
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { rendererConfig } from './src-renderer/vite.config';

// BOOTBRIDGE_OUT builds somewhere else than out/ (the build test, so it never races a running app).
const out = resolve(process.env.BOOTBRIDGE_OUT ?? 'out');

export default defineConfig({
  main: {
    build: {
      outDir: resolve(out, 'main'),
      rollupOptions: { input: { index: resolve('src-main/app/main.ts') }, external: ['usb'] },
    },
  },
  preload: {
    build: {
      outDir: resolve(out, 'preload'),
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve('src-main/app/preload.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs', inlineDynamicImports: true },
      },
    },
  },
  renderer: rendererConfig(resolve('src-renderer'), resolve(out, 'renderer')),
});
