// Errors worded for the GUI's user. An error's message names no command-line flag; what to do is a
// remedy code (shared/errors.ts REMEDIES) that each door words for its user: the CLI with its flags
// (src-main/cli/remedies.ts), the window here with its controls: a field, a menu, a button. The
// window has two views with different users: the engineering view's user has the device list, the
// toolbar and the file fields; the production station's operator has a locked recipe and one Flash
// button, and what only the recipe's author can change goes back to that author.

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

/** Which of the window's views words the error: its controls are the ones the remedy may name. */
export type GuiView = 'engineering' | 'production';

const BACK_TO_AUTHOR = 'give the recipe back to the engineer who made it';

/** The production station's words: no device list, no toolbar, no file fields; the recipe is locked. */
export const PRODUCTION_REMEDIES: RemedyWords = {
  ...GUI_REMEDIES,
  'choose-board': 'leave connected only the boards of this batch, one per USB port',
  'choose-chip': 'connect a board of the type the recipe is made for',
  'choose-loader': `the recipe's loader does not serve this memory: ${BACK_TO_AUTHOR}`,
  'give-base-address': `the recipe does not say where its BIN file loads: ${BACK_TO_AUTHOR}`,
  'allow-ram': `the recipe's image writes RAM, which production never does: ${BACK_TO_AUTHOR}`,
  'force': `the recipe's image is made for another device: ${BACK_TO_AUTHOR}`,
};

const REMEDY_WORDS: Record<GuiView, RemedyWords> = { engineering: GUI_REMEDIES, production: PRODUCTION_REMEDIES };

/** What to do with a board left running its loader, as a sentence for the window's panes. */
export const RESET_TO_ROM_SENTENCE = sentence(GUI_REMEDIES['reset-to-rom']);

/** Hints each view says in its own terms although they name no flag. */
const GUI_HINTS: Record<GuiView, Partial<Record<keyof typeof ERROR_TEXT, string>>> = {
  engineering: {
    LOADER_UNSUPPORTED: 'Choose a loader made for this chip in the Loader menu of the toolbar (only loaders for the selected chip are listed).',
  },
  production: {
    LOADER_UNSUPPORTED: `The recipe's loader is not made for this board: check the board is the type the recipe names, else ${BACK_TO_AUTHOR}.`,
    LOADER_INVALID: `The recipe's loader package is damaged or changed: ${BACK_TO_AUTHOR}.`,
    LOADER_MISMATCH: `The loader that started does not serve what its package promises: ${BACK_TO_AUTHOR}.`,
    PLAN_INVALID: 'Nothing was written.',
  },
};

/**
 * Flags still named by messages from outside the planner and engine (services, chip identification),
 * and what they mean in the window. Plan issues and engine errors name none: they carry a remedy code.
 */
const REWRITES: [RegExp, (view: GuiView) => string][] = [
  // Only the engineering view has a device list to add a simulated board in.
  [/(?:select a simulated board )?with --sim(?: \S+)?/g, (view) => (view === 'engineering' ? 'with a simulated board (device list)' : 'with a simulated board')],
  [/--sim(?: \S+)?/g, () => 'a simulated board'],
  [/--chip(?: \S+)?/g, () => 'an identified chip'],
];

export function guiMessage(message: string, view: GuiView = 'engineering'): string {
  let out = message;
  for (const [re, to] of REWRITES) out = out.replace(re, to(view));
  return out;
}

export function guiTitle(code: string): string {
  return errorTitle(code);
}

/** The hint line for an error in the window; an error's own remedy (said after its message) replaces the code's default. */
export function guiHint(code: string, remedy?: ErrorData['remedy'], view: GuiView = 'engineering'): string {
  const e: ErrorData = { code: code as keyof typeof ERROR_TEXT, message: '', context: {}, ...(remedy ? { remedy } : {}) };
  return GUI_HINTS[view][e.code] ?? hintFor(e, REMEDY_WORDS[view]);
}

/** formatError for the window: the message, its remedy and context, then the view's hint when there is one. */
export function guiFormatError(e: ErrorData, view: GuiView = 'engineering'): string {
  const text = formatError({ ...e, message: guiMessage(e.message, view) }, REMEDY_WORDS[view]);
  const nl = text.lastIndexOf('\n  ');
  const head = nl >= 0 ? text.slice(0, nl) : text;
  const hint = guiHint(e.code, e.remedy, view);
  return hint ? `${head}\n  ${hint}` : head;
}

/** An error's message with its own remedy in the view's words (one line, no hint). */
export function guiErrorLine(e: Pick<ErrorData, 'message' | 'remedy'>, view: GuiView = 'engineering'): string {
  return withRemedy(guiMessage(e.message, view), e.remedy, REMEDY_WORDS[view]);
}
