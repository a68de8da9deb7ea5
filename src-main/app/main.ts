// The Electron shell: one sandboxed window showing the renderer, the services in this process (native
// `usb` stays here), and the contract served over IPC (./ipc.ts). Kept thin — all behaviour lives in
// the services and the API host, which are tested without Electron. Flags: --sim MODEL, --sim-boards N.

import { app, BrowserWindow, dialog, ipcMain, session, shell } from 'electron';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ApiHost, type SettingsStore } from '../services/api-host.js';
import { appUrlCheck, forwardEvents, registerIpc, type IpcMainLike } from './ipc.js';
import { createAppBackend, parseHostArgs } from '../services/app-backend.js';
import { DEFAULT_SETTINGS } from '../../shared/contract.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The same policy as the <meta> in index.html; also sent as a header for the dev server's pages. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function fileStore(dir: string): SettingsStore {
  const file = join(dir, 'settings.json');
  return {
    async load() {
      const data = JSON.parse(await readFile(file, 'utf8')) as { settings?: object; recent?: [] };
      return { settings: { ...DEFAULT_SETTINGS, ...data.settings }, recent: Array.isArray(data.recent) ? data.recent : [] };
    },
    async save(data) {
      await mkdir(dir, { recursive: true });
      await writeFile(file, JSON.stringify(data, null, 2));
    },
  };
}

async function start(): Promise<void> {
  app.enableSandbox();
  await app.whenReady();

  const devServerUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
  const indexFile = join(here, '../renderer/index.html');
  const isAppUrl = appUrlCheck({ indexFileUrl: pathToFileURL(indexFile).href, ...(devServerUrl ? { devServerUrl } : {}) });

  // No remote content, no permissions, no navigation away, no new windows.
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, callback) => callback(false));
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      // Links to the datasheets etc. open in the user's browser, never in the app.
      if (url.startsWith('https://')) void shell.openExternal(url);
      return { action: 'deny' };
    });
  });

  const assetsDir = app.isPackaged ? join(process.resourcesPath, 'assets') : join(app.getAppPath(), 'assets');
  const backend = await createAppBackend({ unitLogDir: join(app.getPath('userData'), 'unit-logs'), ...parseHostArgs(process.argv.slice(1)), assetsDir });
  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    title: 'BootBridge',
    show: false,
    webPreferences: {
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
      // A middle click on a link would open it in a new window; the window-open handler denies those
      // anyway, this keeps the click from getting that far (Electron security checklist, "auxclick").
      disableBlinkFeatures: 'Auxclick',
    },
  });

  const host = new ApiHost(
    backend,
    {
      shell: 'electron',
      version: app.getVersion(),
      chooseOpenPath: async () => {
        const r = await dialog.showOpenDialog(win, {
          title: 'Open firmware',
          properties: ['openFile'],
          filters: [
            { name: 'Firmware', extensions: ['elf', 'axf', 'out', 'hex', 'ihex', 'srec', 's19', 's28', 's37', 'mot', 'bin', 'dfu'] },
            { name: 'All files', extensions: ['*'] },
          ],
        });
        return r.canceled ? null : (r.filePaths[0] ?? null);
      },
      chooseSavePath: async (name) => {
        const r = await dialog.showSaveDialog(win, { title: 'Export DfuSe file', defaultPath: name, filters: [{ name: 'DfuSe', extensions: ['dfu'] }] });
        return r.canceled ? null : (r.filePath ?? null);
      },
      chooseRecipePath: async () => {
        const r = await dialog.showOpenDialog(win, { title: 'Open production recipe', properties: ['openFile'], filters: [{ name: 'Recipe', extensions: ['yaml', 'yml'] }] });
        return r.canceled ? null : (r.filePaths[0] ?? null);
      },
      chooseCsvSavePath: async (name) => {
        const r = await dialog.showSaveDialog(win, { title: 'Export unit log', defaultPath: name, filters: [{ name: 'CSV', extensions: ['csv'] }] });
        return r.canceled ? null : (r.filePath ?? null);
      },
    },
    fileStore(app.getPath('userData')),
  );
  const unregister = registerIpc(ipcMain as unknown as IpcMainLike, host, isAppUrl);
  const unforward = forwardEvents(host, win.webContents);
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    unforward();
    unregister();
    host.dispose();
    void backend.close();
  });

  if (devServerUrl) await win.loadURL(devServerUrl);
  else await win.loadFile(indexFile);
}

app.on('window-all-closed', () => app.quit());
start().catch((e: unknown) => {
  dialog.showErrorBox('BootBridge could not start', e instanceof Error ? (e.stack ?? e.message) : String(e));
  app.exit(1);
});
