// A small fake of the parts of `electron` the shell uses, wired together: what the preload invokes
// reaches the handlers main registered, with a sender frame the test chooses.

type Handler = (event: unknown, ...args: unknown[]) => unknown;

export class FakeElectron {
  exposed = new Map<string, unknown>();
  handlers = new Map<string, Handler>();
  rendererListeners = new Map<string, Set<Handler>>();
  /** URL and parent of the frame the next invoke comes from. */
  sender: { url: string; parent: unknown } = { url: 'file:///app/out/renderer/index.html', parent: null };
  invoked: { channel: string; args: unknown[] }[] = [];
  windows: FakeBrowserWindow[] = [];
  appListeners = new Map<string, Handler[]>();
  headersHook?: ((details: { responseHeaders: Record<string, string[]> }, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void) | undefined;
  permissionHook?: ((wc: unknown, permission: string, cb: (ok: boolean) => void) => void) | undefined;

  contextBridge = {
    exposeInMainWorld: (name: string, api: unknown) => {
      this.exposed.set(name, api);
    },
  };

  ipcRenderer = {
    invoke: async (channel: string, ...args: unknown[]) => {
      this.invoked.push({ channel, args });
      const h = this.handlers.get(channel);
      if (!h) throw new Error(`No handler registered for '${channel}'`);
      // Electron structured-clones across the process boundary.
      return structuredClone(await h({ senderFrame: { ...this.sender } }, ...structuredClone(args)));
    },
    on: (channel: string, l: Handler) => {
      const set = this.rendererListeners.get(channel) ?? new Set();
      set.add(l);
      this.rendererListeners.set(channel, set);
    },
    removeListener: (channel: string, l: Handler) => {
      this.rendererListeners.get(channel)?.delete(l);
    },
  };

  ipcMain = {
    handle: (channel: string, h: Handler) => {
      if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      this.handlers.set(channel, h);
    },
    removeHandler: (channel: string) => {
      this.handlers.delete(channel);
    },
  };

  /** What main's webContents.send delivers to the page. */
  deliver(channel: string, ...args: unknown[]): void {
    for (const l of this.rendererListeners.get(channel) ?? []) l({}, ...structuredClone(args));
  }
}

export class FakeWebContents {
  sent: { channel: string; args: unknown[] }[] = [];
  listeners = new Map<string, Handler[]>();
  windowOpenHandler?: (d: { url: string }) => { action: string };
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }
  isDestroyed(): boolean {
    return false;
  }
  on(event: string, h: Handler): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), h]);
    return this;
  }
  setWindowOpenHandler(h: (d: { url: string }) => { action: string }): void {
    this.windowOpenHandler = h;
  }
}

export class FakeBrowserWindow {
  webContents = new FakeWebContents();
  loaded?: { file?: string; url?: string };
  constructor(readonly options: Record<string, unknown>) {}
  once(): this {
    return this;
  }
  on(): this {
    return this;
  }
  show(): void {}
  async loadFile(file: string): Promise<void> {
    this.loaded = { file };
  }
  async loadURL(url: string): Promise<void> {
    this.loaded = { url };
  }
}
