// Renderer tests run the real store against the real API host over the fake services, joined by an
// in-process transport that does what the wire does (structured clone, errors as ContractError).

import { createPinia, setActivePinia } from 'pinia';
import { ApiHost } from '../../src-main/services/api-host.js';
import { ContractError, METHODS, type AppEvent, type BootBridgeApi } from '../../shared/contract.js';
import { useApi, useAppStore } from '../../src-renderer/src/stores/app.js';
import { FakeBackend } from '../app/fake-backend.js';

export function inProcessApi(host: ApiHost): BootBridgeApi {
  const api: Record<string, unknown> = {};
  for (const m of METHODS) {
    api[m] = async (payload?: unknown) => {
      const reply = structuredClone(await host.dispatch(m, structuredClone(payload)));
      if (!reply.ok) throw new ContractError(reply.error);
      return reply.value;
    };
  }
  api.onEvent = (l: (e: AppEvent) => void) => host.onEvent((e) => l(structuredClone(e)));
  return api as BootBridgeApi;
}

export async function setup() {
  const backend = new FakeBackend();
  const host = new ApiHost(backend, { shell: 'web', version: 'test' });
  const pinia = createPinia();
  setActivePinia(pinia);
  useApi(inProcessApi(host));
  const store = useAppStore();
  await store.start();
  return { backend, host, pinia, store };
}

/** Lets watchers and pending promises run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 0));
}
