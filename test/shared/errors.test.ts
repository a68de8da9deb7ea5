// How an error reads for a person: the message with its own remedy, then the code's hint — each said once.
import { describe, expect, it } from 'vitest';
import { BootBridgeError, formatError, toErrorData } from '../../shared/errors.js';
import { CLI_REMEDIES } from '../../src-main/cli/remedies.js';

describe('error wording', () => {
  it('says an error’s own remedy once, and not the code’s default after it', () => {
    const e = toErrorData(new BootBridgeError('DEVICE_AMBIGUOUS', '2 DFU devices attached (A, B)', {}, { remedy: 'choose-board' }));
    const text = formatError(e, CLI_REMEDIES);
    expect(text).toBe('2 DFU devices attached (A, B): choose one with --serial');
    const raw = toErrorData(new BootBridgeError('FIRMWARE_INVALID', 'blob.bin is a raw binary with no load address', {}, { remedy: 'give-base-address' }));
    const said = formatError(raw, CLI_REMEDIES);
    expect(said.match(/--base/g)).toHaveLength(2); // "with --base (for example --base 0x08000000)", once
    expect(said).not.toContain(CLI_REMEDIES['check-input']);
  });

  it('adds the code’s default remedy when the error brings none', () => {
    const e = toErrorData(new BootBridgeError('DEVICE_AMBIGUOUS', '2 DFU devices attached (A, B)', {}));
    expect(formatError(e, CLI_REMEDIES)).toBe('2 DFU devices attached (A, B)\n  Choose one with --serial.');
  });

  it('says where (file, address, serial) but not the parameter a field names: the message words the field where one matters', () => {
    const e = toErrorData(new BootBridgeError('BAD_ARGUMENT', 'z.bin is a raw binary and holds no address', { file: 'z.bin', field: 'baseAddress' }, { remedy: 'give-base-address' }));
    const text = formatError(e, CLI_REMEDIES);
    expect(text).toBe('z.bin is a raw binary and holds no address: give the address it loads at with --base (for example --base 0x08000000) (file z.bin)');
    // The field stays in the data a script or the window reads.
    expect(e.context.field).toBe('baseAddress');
  });

  it('names a request once: not again in the context when the message says it', () => {
    const lost = toErrorData(new BootBridgeError('DEVICE_DISCONNECTED', 'The board left the bus during DNLOAD', { stage: 'rom', request: 'DNLOAD' }));
    expect(formatError(lost, CLI_REMEDIES).split('\n')[0]).toBe('The board left the bus during DNLOAD (stage rom)');
    const stalled = toErrorData(new BootBridgeError('USB_STALL', 'The bootloader refused the request', { request: 'UPLOAD' }));
    expect(formatError(stalled, CLI_REMEDIES).split('\n')[0]).toBe('The bootloader refused the request (request UPLOAD)');
  });
});
