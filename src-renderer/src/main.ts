// Renderer entry: picks the transport (Electron preload or the web host's WebSocket), then mounts
// the app with its Pinia store.
import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
import { pickTransport, type WorkerLike } from './transport';
import { useApi } from './stores/app';
import './style.css';

// The worker is made here (bundled by Vite from this literal form) so transport.ts needs no DOM types.
useApi(pickTransport(window, () => new Worker(new URL('./lib/file-sender.worker.ts', import.meta.url), { type: 'module' }) as unknown as WorkerLike));
createApp(App).use(createPinia()).mount('#app');
