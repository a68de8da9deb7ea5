// `npm start`: the desktop app when the Electron binary is installed, else the web host — which says
// so and prints the URL (with this run's token) to open in a browser. Without --usb or --sim it uses
// the attached DFU hardware, or a simulated STM32F746 board when there is none, so it works anywhere.
//   npm start [-- --sim stm32f407 --sim-boards 2 --sim-state .sim-state --port 8080 | --usb]
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import process from 'node:process';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`npm start [-- OPTIONS]: BootBridge as the desktop app, or as a web host on 127.0.0.1 when Electron is not installed
(or BOOTBRIDGE_WEB=1 is set). Without --usb or --sim: the attached DFU hardware, else a simulated STM32F746G-DISCO.

  --usb                 real USB devices only (no simulated board)
  --sim MODEL           simulated boards: stm32f746, stm32f407, stm32h743, stm32g474, stm32l476
  --sim-boards N        how many simulated boards (1-64)
  --sim-state DIR       keep the simulated boards' memories in DIR between runs
  --port N              web host: listen on this port (default: a free one)
  --recipe FILE         web host: offer this production recipe (repeatable); the page opens no other path
  --help                this text
`);
  process.exit(0);
}
const usb = args.includes('--usb');
const hostArgs = args.filter((a) => a !== '--usb');
// Real hardware when a DFU device is attached at start, else a simulated STM32F746G-DISCO.
if (!usb && !hostArgs.some((a) => a === '--sim' || a.startsWith('--sim='))) hostArgs.push('--sim-if-no-hardware', 'stm32f746');

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
const stale = (out, ...srcs) => !existsSync(out) || statSync(out).mtimeMs < Math.max(...srcs.map((s) => newest(join(root, s))));

/** The Electron binary, read the way the electron package does, without loading it. */
function electronBinary() {
  const pkg = join(root, 'node_modules/electron');
  try {
    const rel = readFileSync(join(pkg, 'path.txt'), 'utf8').trim();
    const bin = join(pkg, 'dist', rel);
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const electron = electronBinary();
if (electron && !process.env.BOOTBRIDGE_WEB) {
  if (stale(join(root, 'out/main/index.js'), 'src-main', 'src-renderer', 'shared')) run('npx', ['electron-vite', 'build']);
  const child = spawn(electron, ['.', ...hostArgs], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  process.stdout.write(
    electron
      ? 'BOOTBRIDGE_WEB is set: starting the web host instead of the desktop app.\n'
      : 'The Electron binary is not installed here (ELECTRON_SKIP_BINARY_DOWNLOAD or no network), so BootBridge starts as a web host instead.\n',
  );
  if (stale(join(root, 'out/renderer/index.html'), 'src-renderer', 'shared')) run(process.execPath, ['scripts/build-web.mjs', '--renderer-only']);
  if (stale(join(root, 'out/web/bootbridge-web.cjs'), 'src-main', 'shared')) run(process.execPath, ['scripts/build-web.mjs', '--host-only']);
  const child = spawn(process.execPath, ['out/web/bootbridge-web.cjs', ...hostArgs], { cwd: root, stdio: 'inherit' });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code) => process.exit(code ?? 0));
}
