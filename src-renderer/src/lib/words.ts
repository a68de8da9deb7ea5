// Errors worded for the GUI's user. The shared ERROR_TEXT hints and some engine messages speak to the
// command line ("--chip", "--loader <package>", "--sim", "Check the command line"); here the same
// remedy is said in the window's own terms: a field, a menu, a button.

import { ERROR_TEXT, formatError, type ErrorData } from '../../../shared/errors';

/** Hints that name command-line flags, said for the window instead. */
const GUI_HINTS: Partial<Record<keyof typeof ERROR_TEXT, string>> = {
  BAD_ARGUMENT: 'Check the value entered.',
  DEVICE_NOT_FOUND: 'Connect the board with BOOT0 held high (it then appears in the device list), or add a simulated board below the list.',
  DEVICE_AMBIGUOUS: 'Select the board in the device list.',
  USB_UNAVAILABLE: 'BootBridge cannot list this machine\'s USB devices. Check USB access (Linux: the udev rule in the README; Windows: the WinUSB driver), or start BootBridge with a simulated board.',
  CHIP_UNKNOWN: 'The board did not say which chip it is: select a board whose chip is identified, or a loader made for it.',
  LOADER_UNSUPPORTED: 'Choose a loader made for this chip in the Loader menu of the toolbar (only loaders for the selected chip are listed).',
};

/** Command-line fragments in engine messages, and what they mean in the window. */
const REWRITES: [RegExp, string][] = [
  [/\s*Give the chip with --chip\.?/g, ' The chip is not identified.'],
  [/(?:add|with|give) --loader <package>/g, 'choose a loader in the toolbar'],
  [/--loader <package>/g, 'a loader (toolbar)'],
  [/(?:add|with|give) --loader \S+/g, 'choose a loader in the toolbar'],
  [/--loader/g, 'the Loader menu'],
  [/--address(?: \S+)?/g, 'the BIN address field'],
  [/(?:select a simulated board )?with --sim(?: \S+)?/g, 'with a simulated board (device list)'],
  [/--sim(?: \S+)?/g, 'a simulated board'],
  [/--serial(?: \S+)?/g, 'the device list'],
  [/--chip(?: \S+)?/g, 'an identified chip'],
  [/--mass/g, 'Mass erase'],
  [/Check the command line( or the value entered)?\.?/g, 'Check the value entered.'],
];

export function guiMessage(message: string): string {
  let out = message;
  for (const [re, to] of REWRITES) out = out.replace(re, to);
  return out;
}

export function guiTitle(code: string): string {
  return (ERROR_TEXT as Record<string, { title: string }>)[code]?.title ?? code;
}

export function guiHint(code: string): string {
  return GUI_HINTS[code as keyof typeof ERROR_TEXT] ?? guiMessage((ERROR_TEXT as Record<string, { hint: string }>)[code]?.hint ?? '');
}

/** formatError for the window: the message and context, then the GUI's hint. */
export function guiFormatError(e: ErrorData): string {
  const text = formatError(e);
  const nl = text.lastIndexOf('\n  ');
  const head = nl >= 0 ? text.slice(0, nl) : text;
  return `${guiMessage(head)}\n  ${guiHint(e.code)}`;
}
