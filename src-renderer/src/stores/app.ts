// The renderer's state: devices (live), the selected board's description, the open file, loaders,
// the plan (recomputed whenever its inputs change) and the running flash with its event stream.
// It talks to main only through the BootBridgeApi it is given.

import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import {
  ContractError,
  DEFAULT_SETTINGS,
  type AppEvent,
  type BootBridgeApi,
  type DeviceDescription,
  type DeviceInfo,
  type ErrorData,
  type FlashResult,
  type HostInfo,
  type LoaderSummary,
  type OpenedFirmware,
  type PlanView,
  type RecentFile,
  type Settings,
} from '../../../shared/contract';
import type { ProgressEvent, StageName } from '../../../shared/progress';
import { buildMemoryMap, type MapInput, type MemoryMap } from '../../../shared/memmap';

export interface LogLine {
  at: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

export function errorData(e: unknown): ErrorData {
  if (e instanceof ContractError) return e.data;
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e), context: {} };
}

let api: BootBridgeApi | undefined;

/** Set once at start-up (main.ts) or by a test. */
export function useApi(a: BootBridgeApi): void {
  api = a;
}

/** The API set at start-up, for the other stores. */
export function bb(): BootBridgeApi {
  if (!api) throw new Error('BootBridge API not set');
  return api;
}

export const useAppStore = defineStore('app', () => {
  const host = ref<HostInfo>();
  const devices = ref<DeviceInfo[]>([]);
  const selectedId = ref<string>();
  const description = shallowRef<DeviceDescription>();
  const describing = ref(false);
  const firmware = shallowRef<OpenedFirmware>();
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

  const memoryMap = computed<MemoryMap | undefined>(() => {
    const p = plan.value;
    if (p && p.regions.length > 0) return buildMemoryMap({ regions: p.regions, segments: p.segments.length ? p.segments : (firmware.value?.segments ?? []) });
    const d = description.value;
    if (!d) return undefined;
    const regions: MapInput['regions'] = d.memories.map((m) => ({ via: 'rom', alt: m.alt, name: m.name, layout: m.layout }));
    for (const m of activeLoader.value?.memories ?? []) {
      if (!regions.some((r) => r.name === m.name)) regions.push({ via: 'loader', alt: m.alt, name: m.name, layout: m.layout });
    }
    return buildMemoryMap({ regions, segments: firmware.value?.segments ?? [], inferErase: true });
  });

  const canFlash = computed(() => !!plan.value && plan.value.ok && plan.value.errors.length === 0 && !running.value && !!selected.value && !planning.value);

  function addLog(level: LogLine['level'], message: string): void {
    log.value.push({ at: Date.now(), level, message });
    if (log.value.length > 2000) log.value.splice(0, log.value.length - 2000);
  }

  function fail(e: unknown): ErrorData {
    const d = errorData(e);
    lastError.value = d;
    addLog('error', `${d.code}: ${d.message}`);
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
      if (ev.kind === 'progress') progress.value = ev;
      else if (ev.kind === 'stage') {
        if (ev.status === 'start') {
          stage.value = ev.stage;
          addLog('info', `Stage ${ev.stage} started`);
        } else {
          stagesDone.value = { ...stagesDone.value, [ev.stage]: ev.ms ?? 0 };
          addLog('info', `Stage ${ev.stage} done${ev.ms !== undefined ? ` in ${Math.round(ev.ms)} ms` : ''}`);
        }
      } else if (ev.kind === 'log') addLog(ev.level, ev.message);
      else if (ev.kind === 'result') {
        result.value = ev.result;
        opId.value = undefined;
        addLog(ev.result.ok ? 'info' : 'error', ev.result.ok ? 'PASS' : `FAIL${ev.result.error ? `: ${ev.result.error.message}` : ''}`);
      }
    }
  }

  async function start(): Promise<void> {
    bb().onEvent(onEvent);
    try {
      const [h, list, s, r, l] = await Promise.all([bb().hostInfo(), bb().listDevices(), bb().getSettings(), bb().recentFiles(), bb().listLoaders()]);
      host.value = h;
      settings.value = s;
      recent.value = r;
      loaders.value = l;
      onEvent({ type: 'devices', devices: list });
    } catch (e) {
      fail(e);
    }
  }

  watch(selectedId, async (id) => {
    description.value = undefined;
    if (!id) return;
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

  async function afterOpen(fw: OpenedFirmware | null): Promise<void> {
    if (!fw) return;
    firmware.value = fw;
    result.value = undefined;
    lastError.value = undefined;
    addLog('info', `Opened ${fw.name} (${fw.format}, ${fw.size} bytes, ${fw.segments.length} segment(s))`);
    recent.value = await bb().recentFiles().catch(() => recent.value);
  }

  async function openFile(file: File, baseAddress?: number): Promise<void> {
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      await afterOpen(await bb().openFirmwareBytes(baseAddress === undefined ? { name: file.name, bytes } : { name: file.name, bytes, baseAddress }));
    } catch (e) {
      fail(e);
    }
  }

  async function openDialog(): Promise<void> {
    try {
      await afterOpen(await bb().chooseFirmware());
    } catch (e) {
      fail(e);
    }
  }

  async function openRecent(path: string): Promise<void> {
    try {
      await afterOpen(await bb().openFirmwarePath({ path }));
    } catch (e) {
      fail(e);
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
    progress.value = undefined;
    stage.value = undefined;
    stagesDone.value = {};
    addLog('info', `Flashing ${fw.name} to ${dev.chip?.name ?? 'device'} ${dev.serial}`);
    starting = true;
    try {
      const r = await bb().flash({
        deviceId: dev.id,
        firmwareId: fw.id,
        loader: settings.value.loader,
        options: { verify: settings.value.verify, leave: settings.value.leave, eraseTouchedOnly: true },
      });
      // The result event may have arrived before the reply; only track the op while it runs.
      if (!result.value) opId.value = r.opId;
    } catch (e) {
      const d = fail(e);
      result.value = { ok: false, error: d, stageMs: {}, bytesWritten: 0, bytesVerified: 0, verified: [], left: false, cancelled: false };
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
    start,
    onEvent,
    replan,
    openFile,
    openDialog,
    openRecent,
    updateSettings,
    flash,
    cancel,
    simAttach,
    exportDfu,
    addLog,
  };
});
