// The `bootbridge` command line: the same engine as the desktop app, for engineers and scripts.
// Every command takes --json and exits 0 on success, 1 when the device operation failed, 2 for bad
// input found before touching a board, 3 when no (or no single) device matched, 130 when cancelled.
import { Command } from 'commander';
import { registerDeviceCommands } from './commands/devices.js';
import { registerFlashCommands } from './commands/flash.js';
import { registerLoaderCommands } from './commands/loader.js';
import { registerMemoryCommands } from './commands/memory.js';
import { registerProductionCommands } from './commands/production.js';

declare const BOOTBRIDGE_VERSION: string | undefined;

const program = new Command('bootbridge')
  .description('Program STM32 microcontrollers over USB DFU — internal flash through the ROM bootloader, external memory through a staged RAM loader')
  .version(typeof BOOTBRIDGE_VERSION === 'string' ? BOOTBRIDGE_VERSION : 'dev')
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (str, write) => write(str) });

// A closed pipe (`bootbridge dump | head`) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});

// Set before the commands are added: a subcommand copies it when it is created (commander's inherited settings).
program.exitOverride((err) => {
  // Usage errors (unknown option, missing argument, bad value) are bad input: exit code 2.
  process.exit(err.exitCode === 0 ? 0 : 2);
});

registerDeviceCommands(program);
registerFlashCommands(program);
registerLoaderCommands(program);
registerMemoryCommands(program);
registerProductionCommands(program);

void program.parseAsync();
