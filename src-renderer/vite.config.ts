// The renderer's build, used by electron-vite (electron.vite.config.ts) and on its own for the web
// host and CI, where there is no Electron binary: `vite build -c src-renderer/vite.config.ts`.
import { resolve } from 'node:path';
import vue from '@vitejs/plugin-vue';
import { defineConfig, type UserConfig } from 'vite';

/**
 * `dir` is this folder. Bundled into electron.vite.config.ts, import.meta.dirname would name the
 * repository root instead, so that caller passes it explicitly.
 */
export function rendererConfig(dir: string = import.meta.dirname, outDir?: string): UserConfig {
  const here = resolve(dir);
  return {
    root: here,
    // Relative asset URLs: the Electron window loads index.html from a file:// URL.
    base: './',
    plugins: [vue()],
    // The file sender (src/lib/file-sender.worker.ts) is a module worker: script-src 'self' admits it.
    worker: { format: 'es' },
    build: {
      outDir: outDir ?? resolve(here, '../out/renderer'),
      emptyOutDir: true,
      target: 'es2022',
      // No inline scripts or data: scripts, so the CSP can say script-src 'self'.
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      chunkSizeWarningLimit: 2000,
      rollupOptions: { input: resolve(here, 'index.html') },
    },
  };
}

export default defineConfig(rendererConfig());
