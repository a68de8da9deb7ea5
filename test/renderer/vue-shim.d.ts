// The root tsconfig checks tests without the Vue compiler: .vue imports are components, nothing more.
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}
