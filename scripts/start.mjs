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
