// Renderer entry: picks the transport (Electron preload or the web host's WebSocket), then mounts
// the app with its Pinia store.
import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
import { pickTransport } from './transport';
import { useApi } from './stores/app';
import './style.css';

useApi(pickTransport(window));
createApp(App).use(createPinia()).mount('#app');
