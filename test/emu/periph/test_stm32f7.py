"""The STM32F746 set (bbemu/periph/stm32f7.py): RM0385 §2.2.2 Table 1 bases, one model per block."""
import unittest

from fake_machine import FakeMachine, board_machine
from bbemu.periph.stm32f7 import peripherals

BASES = {  # RM0385 §2.2.2 Table 1 (and ARMv7-M B3.2 for the SCS/DWT, §40 for DBGMCU)
    'rcc': 0x40023800, 'pwr': 0x40007000, 'flash': 0x40023C00, 'gpioa': 0x40020000,
    'gpioi': 0x40022000, 'gpiok': 0x40022800, 'iwdg': 0x40003000, 'dbgmcu': 0xE0042000,
    'scs': 0xE000E000, 'dwt': 0xE0001000, 'quadspi': 0xA0001000, 'tim2': 0x40000000, 'tim11': 0x40014800,
}


class Stm32f7SetTest(unittest.TestCase):
    def test_models_at_their_table_1_bases(self):
        models = {p.name: p for p in peripherals(FakeMachine(), {})}
        for name, base in BASES.items():
            self.assertEqual(models[name].base, base, name)

    def test_blocks_do_not_overlap_and_names_are_unique(self):
        models = peripherals(FakeMachine(), {})
        self.assertEqual(len({p.name for p in models}), len(models))
        spans = sorted((p.base, p.base + p.size, p.name) for p in models)
        for (a0, a1, an), (b0, _, bn) in zip(spans, spans[1:]):
            self.assertLessEqual(a1, b0, f'{an} overlaps {bn}')

    def test_running_watchdog_at_entry_keeps_the_lsi_on(self):
        m = board_machine({'iwdg_running_at_entry': True})
        self.assertTrue(m.models['rcc'].lsion)

    def test_64kb_part_builds(self):
        m = board_machine(flash_size=65536)
        self.assertEqual(m.models['flash'].sectors, [32768, 32768])


    def test_no_model_imports_unicorn(self):
        # base.py: a model sees the machine only through MachineApi, so it runs without a CPU.
        import ast
        import pathlib
        import bbemu.periph as pkg
        for path in pathlib.Path(pkg.__file__).parent.glob('*.py'):
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ''] if isinstance(node, ast.ImportFrom) else [])
                self.assertFalse([n for n in names if n.split('.')[0] == 'unicorn'], path.name)

if __name__ == '__main__':
    unittest.main()
