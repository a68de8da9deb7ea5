// `bootbridge convert` on its own (out/cli/convert.cjs, chosen by bin/bootbridge.cjs): a conversion is
// timed against objcopy with Node's start-up included, so it loads only the parsers and the file
// edge, not the USB stack, the simulator or the other commands.
import { createProgram } from '../program.js';
import { registerConvertCommand } from './convert.js';

const program = createProgram();
registerConvertCommand(program);
void program.parseAsync();
