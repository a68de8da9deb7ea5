// `npm run bench`: bundles bench/run.ts (TypeScript, importing the project's sources and the virtual
// USB harness) for Node and runs it. Each source keeps its own import.meta.url, so files that find
// their neighbours by it (the harness finds vusb.py that way) work from the bundle too.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import process from 'node:process';
import { build } from 'esbuild';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outfile = path.join(repo, 'out', 'bench', 'run.mjs');

const keepImportMeta = {
  name: 'keep-import-meta',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const contents = source
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(args.path)));
      return { contents, loader: 'ts' };
    });
  },
};

await build({
  entryPoints: [path.join(repo, 'bench', 'run.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // esbuild is called at run time by the harness to bundle the programs it runs; usb is native.
  external: ['usb', 'esbuild'],
  plugins: [keepImportMeta],
  logLevel: 'warning',
});
const { main } = await import(pathToFileURL(outfile).href);
process.exitCode = await main(process.argv.slice(2));
