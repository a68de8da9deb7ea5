// Errors worded for the GUI's user. An error's message names no command-line flag; what to do is a
// remedy code (shared/errors.ts REMEDIES) that each door words for its user: the CLI with its flags
// (src-main/cli/remedies.ts), the window here with its controls: a field, a menu, a button.

import { ERROR_TEXT, RESET_TO_ROM, errorTitle, formatError, hintFor, sentence, withRemedy, type ErrorData, type RemedyWords } from '../../../shared/errors';

/** The window's words for every remedy. */
export const GUI_REMEDIES: RemedyWords = {
  'check-input': 'check the value entered',
  'reset-with-boot0': 'connect the board with BOOT0 held high and press its reset button (it then appears in the window)',
  'choose-board': 'select the board in the device list',
  'use-sim': 'this computer\'s USB access needs fixing before boards can be flashed: tell whoever installed BootBridge',
  'choose-chip': 'select a board whose chip is identified, or a loader made for it',
  'choose-loader': 'choose a loader that serves this memory in the Loader menu of the toolbar',
  'give-base-address': 'enter the address it loads at in the BIN address field (for example 0x08000000)',
  'install-emulator': 'the machine that runs BootBridge needs Debian\'s python3-unicorn package installed',
  'reset-to-rom': RESET_TO_ROM,
  'allow-ram': 'link that part of the image for flash (the window does not write RAM on purpose)',
  'force': 'use a file made for this board and memory (the window does not flash a file made for another device)',
};

/** What to do with a board left running its loader, as a sentence for the window's panes. */
export const RESET_TO_ROM_SENTENCE = sentence(GUI_REMEDIES['reset-to-rom']);

/** Hints the window says in its own terms although they name no flag. */
const GUI_HINTS: Partial<Record<keyof typeof ERROR_TEXT, string>> = {
  LOADER_UNSUPPORTED: 'Choose a loader made for this chip in the Loader menu of the toolbar (only loaders for the selected chip are listed).',
};

/**
 * Flags still named by messages from outside the planner and engine (services, chip identification),
 * and what they mean in the window. Plan issues and engine errors name none: they carry a remedy code.
 */
const REWRITES: [RegExp, string][] = [
  [/(?:select a simulated board )?with --sim(?: \S+)?/g, 'with a simulated board (device list)'],
  [/--sim(?: \S+)?/g, 'a simulated board'],
  [/--chip(?: \S+)?/g, 'an identified chip'],
];

export function guiMessage(message: string): string {
  let out = message;
  for (const [re, to] of REWRITES) out = out.replace(re, to);
  return out;
}

export function guiTitle(code: string): string {
  return errorTitle(code);
}

/** The hint line for an error in the window; an error's own remedy (said after its message) replaces the code's default. */
export function guiHint(code: string, remedy?: ErrorData['remedy']): string {
  const e: ErrorData = { code: code as keyof typeof ERROR_TEXT, message: '', context: {}, ...(remedy ? { remedy } : {}) };
  return GUI_HINTS[e.code] ?? hintFor(e, GUI_REMEDIES);
}

/** formatError for the window: the message, its remedy and context, then the GUI's hint when there is one. */
export function guiFormatError(e: ErrorData): string {
  const text = formatError({ ...e, message: guiMessage(e.message) }, GUI_REMEDIES);
  const nl = text.lastIndexOf('\n  ');
  const head = nl >= 0 ? text.slice(0, nl) : text;
  const hint = guiHint(e.code, e.remedy);
  return hint ? `${head}\n  ${hint}` : head;
}

/** An error's message with its own remedy in the window's words (one line, no hint). */
export function guiErrorLine(e: Pick<ErrorData, 'message' | 'remedy'>): string {
  return withRemedy(guiMessage(e.message), e.remedy, GUI_REMEDIES);
}
