// The command line's words for each remedy (shared/errors.ts REMEDIES): what to type. The GUI words the
// same remedies with its controls (src-renderer/src/lib/words.ts).

import { RESET_TO_ROM, type RemedyWords } from '../../shared/errors.js';

export const CLI_REMEDIES: RemedyWords = {
  'check-input': 'check the command line or the value entered',
  'reset-with-boot0': 'connect an STM32 with BOOT0 held high (ROM bootloader 0483:df11), or use a simulated board with --sim stm32f746',
  'choose-board': 'choose one with --serial',
  'use-sim': 'use a simulated board with --sim stm32f746',
  'choose-chip': 'give the chip with --chip',
  'choose-loader': 'a loader that serves this memory can reach it: add --loader <package>',
  'give-base-address': 'give the address it loads at with --base (for example --base 0x08000000)',
  'install-emulator': 'install it with: sudo apt-get install python3-unicorn',
  'reset-to-rom': RESET_TO_ROM,
  'allow-ram': 'to write RAM on purpose, pass --allow-ram',
  'force': 'to go on anyway, pass --force',
};
