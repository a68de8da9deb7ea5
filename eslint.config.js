// Lint rules that keep the process boundaries checkable (see STYLE.md §2):
// - only src-main/app/ imports `electron`;
// - the repo's shared/ imports no electron, no node: module and no DOM globals;
// - the renderer never imports from src-main/;
// - the browser-portable core (usb/ dfu/ firmware/ devices/ plan/ loader/ engine/ sim/) uses no node: module.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const electronBan = { name: 'electron', message: 'Only src-main/app/ may import electron.' };
const nodeBan = { group: ['node:*'], message: 'This layer must run without Node (bytes are Uint8Array, files arrive as bytes).' };
const nodeBuiltins = ['fs', 'path', 'os', 'child_process', 'crypto', 'net', 'http', 'events', 'stream', 'util', 'buffer', 'url', 'worker_threads'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'dist/**', 'test-artifacts/**', 'bench-results/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': ['error', { paths: [electronBan] }],
    },
  },
  {
    files: ['src-main/app/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['shared/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [electronBan, ...nodeBuiltins], patterns: [nodeBan] }],
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'localStorage', 'Buffer', 'process'],
    },
  },
  {
    files: ['src-main/{usb,dfu,firmware,devices,plan,loader,engine,sim}/**'],
    ignores: ['src-main/usb/node-usb.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [electronBan, ...nodeBuiltins], patterns: [nodeBan] }],
      'no-restricted-globals': ['error', 'Buffer', 'process', 'require'],
    },
  },
  {
    files: ['src-renderer/**'],
    ignores: ['src-renderer/*.config.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [electronBan, ...nodeBuiltins], patterns: [nodeBan, { group: ['**/src-main/**'], message: 'The renderer talks to main only through shared/contract.ts.' }] },
      ],
    },
  },
);
