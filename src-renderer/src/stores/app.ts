// The renderer's state: devices (live), the selected board's description, the open file, loaders,
// the plan (recomputed whenever its inputs change) and the running flash with its event stream.
// It talks to main only through the BootBridgeApi it is given.

import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import {
  ContractError,
  DEFAULT_SETTINGS,
  MAX_FILE_BYTES,
  type AppEvent,
  type BootBridgeApi,
  type DeviceDescription,
  type DeviceSummaryView,
  type ErasedSectorView,
  type ErrorData,
  type FlashResult,
  type HostInfo,
  type LoaderSummary,
  type FirmwareView,
  type PlanView,
  type RecentFile,
  type Settings,
} from '../../../shared/contract';
import type { ProgressEvent, StageName } from '../../../shared/progress';
import { buildMemoryMap, formatSize, type MapInput, type MemoryMap } from '../../../shared/memmap';
import { ProgressModel } from '../lib/progress-model';
import { guiErrorLine, guiTitle } from '../lib/words';
import { PAGE_RECENT_PREFIX, pageRecentFile, pageRecentFiles, rememberPageFile } from '../lib/page-recent';
import type { FileDoor } from '../transport';

export interface LogLine {
  at: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

export function errorData(e: unknown): ErrorData {
  if (e instanceof ContractError) return e.data;
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e), context: {} };
}

let api: (BootBridgeApi & Partial<FileDoor>) | undefined;

/** Set once at start-up (main.ts) or by a test. */
export function useApi(a: BootBridgeApi & Partial<FileDoor>): void {
  api = a;
}

/** The API set at start-up, for the other stores. */
export function bb(): BootBridgeApi & Partial<FileDoor> {
  if (!api) throw new Error('BootBridge API not set');
  return api;
}

export const useAppStore = defineStore('app', () => {
  const host = ref<HostInfo>();
  const devices = ref<DeviceSummaryView[]>([]);
  const selectedId = ref<string>();
  const description = shallowRef<DeviceDescription>();
  const describing = ref(false);
  const firmware = shallowRef<FirmwareView>();
  const loaders = ref<LoaderSummary[]>([]);
  const plan = shallowRef<PlanView>();
  const planning = ref(false);
  const settings = ref<Settings>({ ...DEFAULT_SETTINGS });
  const recent = ref<RecentFile[]>([]);
  const lastError = ref<ErrorData>();

  const opId = ref<string>();
  /** True between asking main to flash and its answer. */
  let starting = false;
  const running = computed(() => opId.value !== undefined);
  const progress = ref<ProgressEvent>();
  const stage = ref<StageName>();
  const stagesDone = ref<Partial<Record<StageName, number>>>({});
  const result = ref<FlashResult>();
  const log = ref<LogLine[]>([]);
  /** The whole job's progress (all stages and phases, weighted by the plan's estimates). */
  const model = shallowRef<ProgressModel>();
  /** Bumped on every change of the model (it is mutated in place) and by the clock while a flash runs. */
  const tick = ref(0);
  let ticker: ReturnType<typeof setInterval> | undefined;
  /** The board the running (or last) flash was for: the verdict names it after it left the bus. */
  const flashTarget = ref<{ serial: string; chip?: string }>();
  const overall = computed(() => (tick.value, model.value?.overall ?? 0));
  const elapsedMs = computed(() => (tick.value, model.value ? model.value.elapsedMs(Date.now()) : 0));
  const etaMs = computed(() => (tick.value, model.value?.etaMs(Date.now())));
  let lastPhaseKey = '';

  const selected = computed(() => devices.value.find((d) => d.id === selectedId.value));

  const compatibleLoaders = computed(() => {
    const chip = selected.value?.chip?.deviceId;
    return loaders.value.filter((l) => chip === undefined || l.chips.includes(chip));
  });

  /** The loader the plan uses (or the user picked), for drawing its memories. */
  const activeLoader = computed<LoaderSummary | undefined>(() => {
    if (plan.value?.loader) return loaders.value.find((l) => l.id === plan.value!.loader!.id);
    const pick = settings.value.loader;
    if (pick === 'none') return undefined;
    if (pick === 'auto') return compatibleLoaders.value[0];
    return loaders.value.find((l) => l.id === pick);
  });

  /** What the last flash found in each compared sector, while the board it ran on is the one shown. */
  const outcomes = computed(() => {
    const r = result.value;
    return r?.sectors?.length && flashTarget.value && selected.value?.serial === flashTarget.value.serial ? r.sectors : undefined;
  });

  const memoryMap = computed<MemoryMap | undefined>(() => {
    const p = plan.value;
    const done = outcomes.value ? { outcomes: outcomes.value } : {};
    if (p && p.regions.length > 0) return buildMemoryMap({ regions: p.regions, segments: p.segments.length ? p.segments : (firmware.value?.segments ?? []), ...done });
    const d = description.value;
    if (!d) return undefined;
    const regions: MapInput['regions'] = d.memories.map((m) => ({ via: 'rom', alt: m.alt, name: m.name, layout: m.layout }));
    for (const m of activeLoader.value?.memories ?? []) {
      if (!regions.some((r) => r.name === m.name)) regions.push({ via: 'loader', alt: m.alt, name: m.name, layout: m.layout });
    }
    return buildMemoryMap({ regions, segments: firmware.value?.segments ?? [], inferErase: !outcomes.value, ...done });
  });

  const canFlash = computed(() => !!plan.value && plan.value.ok && plan.value.errors.length === 0 && !running.value && !!selected.value && !planning.value);
  /** Why Flash is disabled, in words (undefined when it is enabled). */
  const flashBlocked = computed<string | undefined>(() => {
    if (running.value) return 'A flash is running';
    if (!selected.value) return devices.value.length ? 'Select a board in the device list' : 'No board connected: connect one in DFU mode (BOOT0 high)';
    if (!firmware.value) return 'Open a firmware file first';
    if (planning.value || !plan.value) return 'Planning…';
    if (!plan.value.ok || plan.value.errors.length) return 'The plan has problems: see the Plan tab';
    return undefined;
  });

  function stageTitle(name: StageName): string {
    return plan.value?.stages.find((st) => st.name === name)?.title ?? name;
  }

  function stopTicker(): void {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
    tick.value++;
  }

  function addLog(level: LogLine['level'], message: string): void {
    log.value.push({ at: Date.now(), level, message });
    if (log.value.length > 2000) log.value.splice(0, log.value.length - 2000);
  }

  function fail(e: unknown): ErrorData {
    const d = errorData(e);
    lastError.value = d;
    addLog('error', `${guiTitle(d.code)}: ${guiErrorLine(d)}`);
    return d;
  }

  function onEvent(e: AppEvent): void {
    if (e.type === 'devices') {
      devices.value = e.devices;
      if (selectedId.value && !e.devices.some((d) => d.id === selectedId.value) && !running.value) {
        selectedId.value = e.devices[0]?.id;
      } else if (!selectedId.value && e.devices[0]) {
        selectedId.value = e.devices[0].id;
      }
    } else if (e.type === 'log') {
      addLog(e.level, e.message);
    } else if (e.type === 'flash' && (e.opId === opId.value || (starting && opId.value === undefined))) {
      // Events can arrive before flash() has answered with the op id: adopt the first one.
      opId.value = e.opId;
      const ev = e.event;
      if (ev.kind === 'progress') {
        progress.value = ev;
        model.value?.progress(ev);
        tick.value++;
        // One log line per phase: the log never stays silent through a long stage.
        const key = `${ev.stage}|${ev.phase}|${ev.region ?? ''}`;
        if (key !== lastPhaseKey) {
          lastPhaseKey = key;
          addLog('info', `${stageTitle(ev.stage)}: ${ev.phase}${ev.region ? ` ${ev.region}` : ''}${ev.bytesTotal ? ` (${formatSize(ev.bytesTotal)})` : ''}`);
        }
      } else if (ev.kind === 'stage') {
        if (ev.status === 'start') {
          stage.value = ev.stage;
          addLog('info', `${stageTitle(ev.stage)}: started`);
        } else {
          stagesDone.value = { ...stagesDone.value, [ev.stage]: ev.ms ?? 0 };
          model.value?.stageEnd(ev.stage);
          tick.value++;
          addLog('info', `${stageTitle(ev.stage)}: done${ev.ms !== undefined ? ` in ${(ev.ms / 1000).toFixed(1)} s` : ''}`);
        }
      } else if (ev.kind === 'log') addLog(ev.level, ev.message);
      else if (ev.kind === 'result' && !ev.result.ok && ev.result.error?.code === 'BUSY') {
        // Refused before anything was tried (another window or a production lane holds the board): a notice, not a FAIL.
        opId.value = undefined;
        model.value = undefined;
        stopTicker();
        lastError.value = ev.result.error;
        addLog('warn', `Not started: ${guiErrorLine(ev.result.error)}`);
      } else if (ev.kind === 'result') {
        result.value = ev.result;
        opId.value = undefined;
        if (ev.result.ok) model.value?.finish();
        stopTicker();
        addLog(ev.result.ok ? 'info' : 'error', ev.result.ok ? 'PASS' : `FAIL${ev.result.error ? `: ${guiErrorLine(ev.result.error)}` : ''}`);
      }
    }
  }

  async function start(): Promise<void> {
    bb().onEvent(onEvent);
    try {
      const [h, list, s, r, l] = await Promise.all([bb().hostInfo(), bb().listDevices(), bb().getSettings(), bb().recentFiles(), bb().listLoaders()]);
      host.value = h;
      settings.value = s;
      recent.value = mergeRecent(r, await pageRecentFiles());
      loaders.value = l;
      onEvent({ type: 'devices', devices: list });
    } catch (e) {
      fail(e);
    }
  }

  // Described again on every re-enumeration of the selected board (same serial, ROM ↔ loader, another
  // product string): one description, never a mix of both.
  const selectedSignature = computed(() => {
    const d = selected.value;
    return d ? `${d.id}|${d.mode}|${d.vendorId}:${d.productId}|${d.bcdDevice}|${d.product ?? ''}|${d.chip?.deviceId ?? ''}` : '';
  });
  watch(selectedSignature, async () => {
    const id = selectedId.value;
    description.value = undefined;
    if (!id || !selected.value) return;
    describing.value = true;
    try {
      const d = await bb().describe({ deviceId: id });
      if (selectedId.value === id) description.value = d;
    } catch (e) {
      fail(e);
    } finally {
      describing.value = false;
    }
  });

  let planSeq = 0;
  async function replan(): Promise<void> {
    const seq = ++planSeq;
    const dev = selected.value;
    const fw = firmware.value;
    if (!dev || !fw) {
      plan.value = undefined;
      return;
    }
    planning.value = true;
    try {
      const p = await bb().plan({
        deviceId: dev.id,
        firmwareId: fw.id,
        loader: settings.value.loader,
        options: { verify: settings.value.verify, leave: settings.value.leave, eraseTouchedOnly: true },
      });
      if (seq === planSeq) plan.value = p;
    } catch (e) {
      if (seq === planSeq) {
        const d = fail(e);
        plan.value = { ok: false, errors: [d], warnings: [], stages: [], regions: [], segments: [], totalBytes: 0, estimatedMs: 0 };
      }
    } finally {
      if (seq === planSeq) planning.value = false;
    }
  }

  watch(
    () => [selected.value?.id, selected.value?.mode, firmware.value?.id, settings.value.loader, settings.value.verify, settings.value.leave] as const,
    () => {
      if (!running.value) void replan();
    },
  );

  // Inputs that changed while a flash ran are planned again once it ends.
  watch(running, (now, before) => {
    if (before && !now) void replan();
  });

  async function afterOpen(fw: FirmwareView | null): Promise<void> {
    if (!fw) return;
    firmware.value = fw;
    result.value = undefined;
    lastError.value = undefined;
    addLog('info', `Opened ${fw.name} (${fw.format}, ${fw.size} bytes, ${fw.segments.length} segment(s))`);
    await refreshRecent();
  }

  /** The host's recent files (opened by path) and the page's own (picked in the page), newest first. */
  function mergeRecent(host: RecentFile[], page: RecentFile[]): RecentFile[] {
    return [...host, ...page].sort((a, b) => b.openedAt - a.openedAt);
  }

  async function refreshRecent(): Promise<void> {
    const host = await bb().recentFiles().catch(() => recent.value.filter((r) => !r.path.startsWith(PAGE_RECENT_PREFIX)));
    recent.value = mergeRecent(host, await pageRecentFiles());
  }

  /** A file that cannot be opened replaces the one before: no plan, no Flash for a file that is not the one named. */
  function openFailed(e: unknown): void {
    firmware.value = undefined;
    plan.value = undefined;
    result.value = undefined;
    fail(e);
  }

  /**
   * The file's bytes, read 4 MiB per task: one arrayBuffer() of a 256 MiB file hands the main thread a
   * copy that blocks it for most of a second (measured in Chromium); slices keep every task short.
   */
  async function readInSlices(file: File): Promise<Uint8Array<ArrayBuffer>> {
    const SLICE = 4 * 1024 * 1024;
    const bytes = new Uint8Array(file.size);
    for (let o = 0; o < file.size; o += SLICE) bytes.set(new Uint8Array(await file.slice(o, o + SLICE).arrayBuffer()), o);
    return bytes;
  }

  /** A picked file on its way to main: name and bytes sent so far (the toolbar shows it). */
  const opening = ref<{ name: string; sent: number; total: number }>();

  async function openFile(file: File, baseAddress?: number): Promise<void> {
    try {
      // Refused by its size before a byte is read: reading a file past the limit would only fill memory.
      if (file.size > MAX_FILE_BYTES) {
        const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
        throw new ContractError({
          code: 'BAD_ARGUMENT',
          message: `${file.name} is ${mib(file.size)}; BootBridge opens files up to ${mib(MAX_FILE_BYTES)}. Nothing was read.`,
          context: { file: file.name, field: 'bytes', size: file.size, limit: MAX_FILE_BYTES },
        });
      }
      opening.value = { name: file.name, sent: 0, total: file.size };
      const door = bb().openFirmwareFile;
      let fw: FirmwareView;
      if (door) {
        // Web host: a worker reads and sends the file; this thread never holds its bytes.
        const req = baseAddress === undefined ? { name: file.name, file } : { name: file.name, file, baseAddress };
        fw = await door(req, (sent, total) => (opening.value = { name: file.name, sent, total }));
      } else {
        const bytes = await readInSlices(file);
        fw = await bb().openFirmwareBytes(baseAddress === undefined ? { name: file.name, bytes } : { name: file.name, bytes, baseAddress });
      }
      opening.value = undefined;
      await rememberPageFile(file, baseAddress);
      await afterOpen(fw);
    } catch (e) {
      opening.value = undefined;
      openFailed(e);
    }
  }

  async function openDialog(): Promise<void> {
    try {
      await afterOpen(await bb().chooseFirmware());
    } catch (e) {
      openFailed(e);
    }
  }

  async function openRecent(path: string): Promise<void> {
    if (path.startsWith(PAGE_RECENT_PREFIX)) {
      const kept = await pageRecentFile(path).catch(() => undefined);
      if (kept) return openFile(kept.file, kept.baseAddress);
      openFailed(new ContractError({ code: 'FILE_ERROR', message: 'This recent file is no longer kept by the browser; open it again', context: { field: 'path' } }));
      return refreshRecent();
    }
    try {
      await afterOpen(await bb().openFirmwarePath({ path }));
    } catch (e) {
      openFailed(e);
    }
  }

  async function updateSettings(patch: Partial<Settings>): Promise<void> {
    settings.value = { ...settings.value, ...patch };
    try {
      settings.value = await bb().setSettings(patch);
    } catch (e) {
      fail(e);
    }
  }

  async function flash(): Promise<void> {
    const dev = selected.value;
    const fw = firmware.value;
    if (!dev || !fw || !canFlash.value) return;
    result.value = undefined;
    lastError.value = undefined;
    progress.value = undefined;
    stage.value = undefined;
    stagesDone.value = {};
    addLog('info', `Flashing ${fw.name} to ${dev.chip?.name ?? 'device'} ${dev.serial}`);
    flashTarget.value = { serial: dev.serial, ...(dev.chip ? { chip: dev.chip.name } : {}) };
    model.value = new ProgressModel(plan.value, Date.now());
    lastPhaseKey = '';
    stopTicker();
    ticker = setInterval(() => tick.value++, 250);
    starting = true;
    try {
      const r = await bb().flash({
        deviceId: dev.id,
        firmwareId: fw.id,
        loader: settings.value.loader,
        options: { verify: settings.value.verify, leave: settings.value.leave, eraseTouchedOnly: true },
      });
      // The result event may have arrived before the reply; only track the op while it runs.
      if (!result.value && (lastError.value as ErrorData | undefined)?.code !== 'BUSY') opId.value = r.opId;
    } catch (e) {
      const d = errorData(e);
      if (d.code === 'BUSY') {
        // Another window or the production station holds the board: nothing was tried, so no FAIL.
        lastError.value = d;
        addLog('warn', `Not started: ${guiErrorLine(d)}`);
      } else {
        fail(e);
        result.value = { ok: false, error: d, stageMs: {}, bytesWritten: 0, bytesVerified: 0, verified: [], left: false, cancelled: false };
      }
      stopTicker();
    } finally {
      starting = false;
    }
  }

  async function cancel(): Promise<void> {
    if (!opId.value) return;
    addLog('warn', 'Cancel requested');
    try {
      await bb().cancel({ opId: opId.value });
    } catch (e) {
      fail(e);
    }
  }

  /** The last read: its bytes (for the hex view and Save) and where they came from. */
  const readBack = shallowRef<{ deviceId: string; serial: string; address: number; bytes: Uint8Array; ms: number }>();
  /** A read or an erase is running (the engineering views' own operations, not a flash). */
  const memBusy = ref<'read' | 'erase'>();

  async function readMemory(address: number, length: number): Promise<boolean> {
    const dev = selected.value;
    if (!dev || memBusy.value || running.value) return false;
    memBusy.value = 'read';
    const t0 = performance.now();
    addLog('info', `Reading ${length} bytes at 0x${address.toString(16).padStart(8, '0')} from ${dev.serial}`);
    try {
      const bytes = await bb().read({ deviceId: dev.id, address, length, loader: settings.value.loader });
      const ms = performance.now() - t0;
      readBack.value = { deviceId: dev.id, serial: dev.serial, address, bytes, ms };
      addLog('info', `Read ${bytes.length} bytes in ${(ms / 1000).toFixed(1)} s`);
      return true;
    } catch (e) {
      fail(e);
      return false;
    } finally {
      memBusy.value = undefined;
    }
  }

  async function eraseMemory(what: { addresses: number[] } | { mass: true }): Promise<ErasedSectorView[] | undefined> {
    const dev = selected.value;
    if (!dev || memBusy.value || running.value) return undefined;
    memBusy.value = 'erase';
    addLog('warn', 'mass' in what ? `Mass erase of ${dev.serial}` : `Erasing ${what.addresses.length} sector(s) of ${dev.serial}`);
    try {
      const r = await bb().erase({ deviceId: dev.id, ...('mass' in what ? { addresses: [], mass: true } : { addresses: what.addresses }), loader: settings.value.loader });
      for (const s of r.sectors) addLog('info', `Erased ${s.region} 0x${s.address.toString(16).padStart(8, '0')} (${s.size} bytes, ${s.via === 'loader' ? 'through the loader' : 'ROM bootloader'})`);
      lastError.value = undefined;
      return r.sectors;
    } catch (e) {
      fail(e);
      return undefined;
    } finally {
      memBusy.value = undefined;
    }
  }

  async function simAttach(model: string): Promise<void> {
    try {
      const d = await bb().simAttach({ model });
      selectedId.value = d.id;
    } catch (e) {
      fail(e);
    }
  }

  async function exportDfu(): Promise<{ name: string; bytes?: Uint8Array; path?: string } | null> {
    if (!firmware.value) return null;
    try {
      const r = await bb().exportDfu({ firmwareId: firmware.value.id });
      if (r?.path) addLog('info', `Exported ${r.path}`);
      return r;
    } catch (e) {
      fail(e);
      return null;
    }
  }

  return {
    host,
    devices,
    selectedId,
    selected,
    description,
    describing,
    firmware,
    loaders,
    compatibleLoaders,
    activeLoader,
    plan,
    planning,
    memoryMap,
    settings,
    recent,
    lastError,
    opId,
    running,
    progress,
    stage,
    stagesDone,
    result,
    log,
    canFlash,
    flashBlocked,
    start,
    onEvent,
    replan,
    openFile,
    opening,
    openDialog,
    openRecent,
    updateSettings,
    flash,
    cancel,
    simAttach,
    exportDfu,
    model,
    overall,
    elapsedMs,
    etaMs,
    flashTarget,
    clearLog: () => (log.value = []),
    readBack,
    memBusy,
    readMemory,
    eraseMemory,
    addLog,
  };
});
