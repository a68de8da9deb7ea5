// The `bootbridge` command line: the same engine as the desktop app, for engineers and scripts.
// Every command takes --json and exits 0 on success, 1 when the device operation failed, 2 for bad
// input found before touching a board, 3 when no (or no single) device matched, 130 when cancelled.
// (`bootbridge convert` runs from its own small bundle, commands/convert-main.ts; it is listed here for --help.)
import { createProgram } from './program.js';
import { registerChipCommands } from './commands/chips.js';
import { registerConvertCommand } from './commands/convert.js';
import { registerDeviceCommands } from './commands/devices.js';
import { registerFlashCommands } from './commands/flash.js';
import { registerLoaderCommands } from './commands/loader.js';
import { registerMemoryCommands } from './commands/memory.js';
import { registerProductionCommands } from './commands/production.js';

const program = createProgram();

registerDeviceCommands(program);
registerFlashCommands(program);
registerLoaderCommands(program);
registerMemoryCommands(program);
registerConvertCommand(program);
registerProductionCommands(program);
registerChipCommands(program);

void program.parseAsync();
