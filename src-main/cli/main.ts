// The `bootbridge` command line. Commands are registered in ./commands/*.
import { Command } from 'commander';

const program = new Command('bootbridge').description('Program STM32 microcontrollers over USB DFU, internal and external memory');
program.parse();
