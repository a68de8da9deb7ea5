// `bootbridge-web`: the web host as a program. Serves the built renderer and the app's contract on
// 127.0.0.1, prints the URL with this run's token, and runs until Ctrl-C.
//   node out/web/bootbridge-web.cjs --sim stm32f746 [--sim-boards N] [--sim-state DIR] [--port N] [--static DIR] [--recipe FILE]…

import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { formatError, toErrorData } from '../../shared/errors.js';
import { CLI_REMEDIES } from '../cli/remedies.js';
import { ApiHost, memoryStore } from '../services/api-host.js';
import type { RecentFile } from '../../shared/contract.js';
import { createAppBackend, parseHostArgs } from '../services/app-backend.js';
import { startWebHost } from './server.js';

/** The example firmware shipped in assets/examples, offered as recent files (the page cannot name paths). */
function examples(assetsDir: string): RecentFile[] {
  const root = join(assetsDir, 'examples');
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(root, d.name))
        .filter((f) => /\.(elf|hex|srec|s19|dfu)$/i.test(f))
        .map((f) => ({ name: `Example: ${f}`, path: join(root, d.name, f), openedAt: 0 })),
    );
}

async function main(argv: string[]): Promise<void> {
  // The host outlives what fails behind it: the usb package's own hotplug polling rejects with no one
  // to catch it on a machine without USB (no /sys/bus/usb). That is USB_UNAVAILABLE, said in the page
  // and on stderr once; anything else unexpected is logged, and the host keeps serving.
  let usbReported = false;
  const ref: { host?: ApiHost } = {};
  const contained = (e: unknown) => {
    const text = e instanceof Error ? e.message : String(e);
    if (/\/sys\/bus\/usb|LIBUSB_ERROR|getDevices error/i.test(text)) {
      if (usbReported) return;
      usbReported = true;
      const message = `USB_UNAVAILABLE: this machine gives BootBridge no USB access (${text.slice(0, 160)}). Start with --sim stm32f746 to use a simulated board.`;
      process.stderr.write(`bootbridge-web: ${message}\n`);
      ref.host?.log('error', message);
      return;
    }
    process.stderr.write(`bootbridge-web: contained an unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : text}\n`);
  };
  process.on('unhandledRejection', contained);
  process.on('uncaughtException', contained);
  const args = parseHostArgs(argv);
  const at = argv.indexOf('--static');
  const staticDir = resolve(at >= 0 && argv[at + 1] ? argv[at + 1]! : 'out/renderer');
  const backend = await createAppBackend({ ...args, assetsDir: resolve(args.assetsDir ?? 'assets') });
  const tmp = await mkdtemp(join(tmpdir(), 'bootbridge-web-'));
  const assetsDir = resolve(args.assetsDir ?? 'assets');
  // Recipes the user named when starting the host: the only ones (besides the shipped) the page can open.
  const chosenRecipes = argv.flatMap((a, i) => (a === '--recipe' && argv[i + 1] ? [resolve(argv[i + 1]!)] : a.startsWith('--recipe=') ? [resolve(a.slice(9))] : []));
  const host = new ApiHost(backend, {
    shell: 'web',
    chosenRecipes: chosenRecipes.map((path) => ({ name: basename(path), path })),
    version: process.env.npm_package_version ?? 'dev',
    tempPath: (name) => join(tmp, name.replace(/[^\w.-]/g, '_')),
    readExported: async (path) => new Uint8Array(await readFile(path)),
  }, memoryStore(examples(assetsDir)));
  ref.host = host;
  const web = await startWebHost({ host, staticDir, log: (line) => process.stderr.write(`${line}\n`), ...(args.port !== undefined ? { port: args.port } : {}) });
  process.stdout.write(
    `BootBridge web host on ${
      backend.conn.bus ? `simulated ${backend.conn.bus.boards[0]?.model ?? ''} board(s)${args.sim ? '' : ' (no DFU hardware attached)'}` : 'USB'
    }\n` +
      `Open this URL (it carries this run's access token):\n\n  ${web.url}\n\nCtrl-C to stop.\n`,
  );
  const stop = async () => {
    await web.close();
    host.dispose();
    await backend.close();
    await rm(tmp, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`bootbridge-web: ${formatError(toErrorData(e), CLI_REMEDIES)}\n`);
  process.exit(1);
});
