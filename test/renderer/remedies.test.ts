// Errors worded per door: an error carries a remedy code; the CLI words it with its flags, the window
// with its controls. Every remedy has both wordings, and what the window shows names no flag.

import { describe, expect, it } from 'vitest';
import { BootBridgeError, ERROR_TEXT, REMEDIES, formatError, toErrorData, type ErrorCode } from '../../shared/errors.js';
import { CLI_REMEDIES } from '../../src-main/cli/remedies.js';
import { parseFirmware } from '../../src-main/firmware/index.js';
import { GUI_REMEDIES, PRODUCTION_REMEDIES, guiErrorLine, guiFormatError, guiHint } from '../../src-renderer/src/lib/words.js';

const FLAG = /--[a-z]/;

describe('remedy codes', () => {
  it('every remedy has a wording in the CLI table and in the GUI table, and no other key exists', () => {
    for (const r of REMEDIES) {
      expect(CLI_REMEDIES[r], `CLI wording of ${r}`).toMatch(/\S/);
      expect(GUI_REMEDIES[r], `GUI wording of ${r}`).toMatch(/\S/);
      expect(GUI_REMEDIES[r], `GUI wording of ${r}`).not.toMatch(FLAG);
    }
    expect(Object.keys(CLI_REMEDIES).sort()).toEqual([...REMEDIES].sort());
    expect(Object.keys(GUI_REMEDIES).sort()).toEqual([...REMEDIES].sort());
  });

  it('no shared hint names a command-line flag: the remedy says what to type', () => {
    for (const [code, t] of Object.entries(ERROR_TEXT)) expect(t.hint, code).not.toMatch(FLAG);
  });

  it('every error code, worded for the window with every remedy, shows no --flag', () => {
    for (const code of Object.keys(ERROR_TEXT) as ErrorCode[]) {
      expect(guiHint(code), code).not.toMatch(FLAG);
      for (const remedy of REMEDIES) {
        const e = new BootBridgeError(code, 'Something failed', { address: 0x90000000 }, { remedy }).toJSON();
        expect(guiFormatError(e), `${code} ${remedy}`).not.toMatch(FLAG);
        expect(guiErrorLine(e)).not.toMatch(FLAG);
      }
    }
  });

  it('a real error from the parser: the CLI names --base, the window the BIN address field', () => {
    let caught: unknown;
    try { parseFirmware('app.bin', new Uint8Array(16)); } catch (e) { caught = e; }
    const data = toErrorData(caught);
    expect(data.remedy).toBe('give-base-address');
    expect(JSON.parse(JSON.stringify(data)).remedy).toBe('give-base-address'); // crosses IPC / WebSocket as data
    expect(data.message).not.toMatch(FLAG);
    expect(formatError(data, CLI_REMEDIES)).toContain('holds no address: give the address it loads at with --base (for example --base 0x08000000)');
    const gui = guiFormatError(data);
    expect(gui).not.toMatch(FLAG);
    expect(gui).toContain('BIN address field');
  });

  it('a code\'s default remedy is the hint line: CLI "Give the chip with --chip.", window without the flag', () => {
    const data = { code: 'CHIP_UNKNOWN' as const, message: 'The board did not say which chip it is', context: {} };
    expect(formatError(data, CLI_REMEDIES)).toBe('The board did not say which chip it is\n  Give the chip with --chip.');
    expect(guiFormatError(data)).not.toMatch(FLAG);
    expect(guiFormatError(data)).toContain('Select a board whose chip is identified');
  });

  it('the production station names none of the engineering view\'s controls: what only the recipe can change goes back to its author', () => {
    // The operator has a locked recipe and one Flash button: no device list, toolbar, Loader menu or file field.
    const ENGINEERING_CONTROLS = /device list|toolbar|Loader menu|BIN address field|select the board|select a board/i;
    for (const r of REMEDIES) expect(PRODUCTION_REMEDIES[r], r).not.toMatch(ENGINEERING_CONTROLS);
    for (const code of Object.keys(ERROR_TEXT) as ErrorCode[]) {
      expect(guiHint(code, undefined, 'production'), code).not.toMatch(ENGINEERING_CONTROLS);
      for (const remedy of REMEDIES) {
        // A message from outside the planner may still name a start-up flag (--sim): rewritten without the device list.
        const e = new BootBridgeError(code, 'Something failed: select a simulated board with --sim stm32f746', {}, { remedy }).toJSON();
        expect(guiFormatError(e, 'production'), `${code} ${remedy}`).not.toMatch(ENGINEERING_CONTROLS);
        expect(guiErrorLine(e, 'production'), `${code} ${remedy}`).not.toMatch(ENGINEERING_CONTROLS);
        expect(guiErrorLine(e, 'production'), `${code} ${remedy}`).not.toMatch(FLAG);
      }
    }
    const noLoader = new BootBridgeError('PLAN_INVALID', 'No memory on this board covers 0x90000000', {}, { remedy: 'choose-loader' }).toJSON();
    expect(guiErrorLine(noLoader)).toContain('Loader menu of the toolbar');
    expect(guiErrorLine(noLoader, 'production')).toContain('give the recipe back to the engineer who made it');
    expect(guiHint('LOADER_UNSUPPORTED', undefined, 'production')).toContain('the type the recipe names');
  });
});
