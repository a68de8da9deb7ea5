// `bootbridge-web`: the web host as a program. Serves the built renderer and the app's contract on
// 127.0.0.1, prints the URL with this run's token, and runs until Ctrl-C.
//   node out/web/bootbridge-web.cjs --sim stm32f746 [--sim-boards N] [--sim-state DIR] [--port N] [--static DIR]

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatError, toErrorData } from '../../shared/errors.js';
import { ApiHost } from '../app/api-host.js';
import { createAppBackend, parseHostArgs } from '../app/backend.js';
import { startWebHost } from './server.js';

async function main(argv: string[]): Promise<void> {
  const args = parseHostArgs(argv);
  const at = argv.indexOf('--static');
  const staticDir = resolve(at >= 0 && argv[at + 1] ? argv[at + 1]! : 'out/renderer');
  const backend = await createAppBackend(args);
  const tmp = await mkdtemp(join(tmpdir(), 'bootbridge-web-'));
  const host = new ApiHost(backend, {
    shell: 'web',
    version: process.env.npm_package_version ?? 'dev',
    tempPath: (name) => join(tmp, name.replace(/[^\w.-]/g, '_')),
    readExported: async (path) => new Uint8Array(await readFile(path)),
  });
  const web = await startWebHost({ host, staticDir, ...(args.port !== undefined ? { port: args.port } : {}) });
  process.stdout.write(
    `BootBridge web host on ${args.sim ? `simulated ${args.sim} board(s)` : 'USB'}\n` +
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
  process.stderr.write(`bootbridge-web: ${formatError(toErrorData(e))}\n`);
  process.exit(1);
});
