// Lint rules that keep the process boundaries checkable (see STYLE.md §2):
// - only src-main/app/ imports `electron`;
// - the repo's shared/ imports no electron, no node: module and no DOM globals;
// - the renderer never imports from src-main/;
// - the browser-portable core (usb/ dfu/ firmware/ devices/ plan/ loader/ engine/ sim/) uses no node: module;
// - the src-main/ layers point down (docs/architecture.md): a folder imports only folders of a lower rank.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The src-main/ layers, lowest first. A folder may import the folders of lower ranks (and shared/, which
// is below all of them), never one of its own rank or above. Folders of one rank stand side by side:
// devices/ and firmware/ do not know each other; the simulator (sim/) is hardware, beside the engine
// that drives hardware, so neither imports the other; the three doors (app/, web/, cli/) are leaves.
export const LAYERS = [
  ['util'], //                      clock, CRC32
  ['usb'], //                       WebUSB transfers, USB descriptors, device discovery
  ['dfu'], //                       DFU 1.1, DfuSe, layout strings, quirks, the descriptor dump
  ['devices', 'firmware'], //       chip facts; firmware files → FirmwareImage
  ['loader'], //                    loader packages, .stldr geometry
  ['plan'], //                      FlashPlan, with no I/O
  ['engine', 'sim'], //             runs a plan on a board; a simulated board
  ['emu'], //                       the emulated Cortex-M behind a simulated board
  ['operations'], //                connect, list, open files, plan/flash/read/erase a board: shared by the doors below
  ['production'], //                the production station
  ['services'], //                  the app's operations behind shared/contract.ts
  ['app', 'web', 'cli'], //         the doors
];
// The one sideways arrow: the web host is started from a command line and words its start-up errors
// with the CLI's flags (cli/remedies.ts).
const SIDEWAYS = new Set(['web -> cli/remedies.ts']);

const RANK = new Map(LAYERS.flatMap((folders, rank) => folders.map((f) => [f, rank])));
const SRC_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'src-main');

/** The src-main/ folder holding an absolute path, or undefined outside src-main/. */
function layerOf(file) {
  const rel = path.relative(SRC_MAIN, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const folder = rel.split(path.sep)[0];
  return RANK.has(folder) ? folder : undefined;
}

const layersPlugin = {
  rules: {
    'import-down': {
      meta: { type: 'problem', docs: { description: 'src-main/ layers import only lower layers (docs/architecture.md)' }, schema: [] },
      create(context) {
        const from = layerOf(context.filename);
        if (from === undefined) return {};
        const check = (node) => {
          const spec = node?.value;
          if (typeof spec !== 'string' || !spec.startsWith('.')) return;
          const target = path.resolve(path.dirname(context.filename), spec);
          const to = layerOf(target);
          if (to === undefined || to === from) return;
          if (RANK.get(to) < RANK.get(from)) return;
          if (SIDEWAYS.has(`${from} -> ${path.relative(SRC_MAIN, target).split(path.sep).join('/').replace(/\.js$/, '.ts')}`)) return;
          const how = RANK.get(to) === RANK.get(from) ? 'a layer beside it' : 'a higher layer';
          context.report({ node, message: `src-main/${from}/ may not import src-main/${to}/ (${how}): layers point down (docs/architecture.md).` });
        };
        return {
          ImportDeclaration: (n) => check(n.source),
          ExportNamedDeclaration: (n) => check(n.source),
          ExportAllDeclaration: (n) => check(n.source),
          ImportExpression: (n) => check(n.source),
        };
      },
    },
  },
};

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
    files: ['src-main/**/*.ts'],
    plugins: { layers: layersPlugin },
    rules: { 'layers/import-down': 'error' },
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
