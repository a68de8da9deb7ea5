// The `bootbridge` program with its shared settings (name, version, usage errors → exit 2, a closed
// pipe is not an error), before any command is added: main.ts adds them all, convert-main.ts one.
import { fstatSync } from 'node:fs';
import { Command } from 'commander';

declare const BOOTBRIDGE_VERSION: string | undefined;

export function createProgram(): Command {
  const program = new Command('bootbridge')
    .description('Program STM32 microcontrollers over USB DFU — internal flash through the ROM bootloader, external memory through a staged RAM loader')
    .version(typeof BOOTBRIDGE_VERSION === 'string' ? BOOTBRIDGE_VERSION : 'dev')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) });

  // A closed pipe (`bootbridge dump | head`) is not an error. Only a pipe or a socket closes: on a file
  // or a terminal process.stdout is left unmade until used (making it loads streams: start-up time).
  if (stdoutIsPipe()) {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    });
  }

  // Set before the commands are added: a subcommand copies it when it is created (commander's inherited settings).
  program.exitOverride((err) => {
    // Usage errors (unknown option, missing argument, bad value) are bad input: exit code 2.
    process.exit(err.exitCode === 0 ? 0 : 2);
  });
  return program;
}

function stdoutIsPipe(): boolean {
  try {
    const st = fstatSync(1);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false; // no stdout at all: nothing to close
  }
}
