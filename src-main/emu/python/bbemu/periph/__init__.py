"""Peripheral models, one module per block of the reference manual (RM0385 for the STM32F7).

- `stm32f7.peripherals(machine, board)` builds the STM32F746 set; the machine maps each model's
  [base, base + size) and adds its own OTG FS model (otg_fs.py).
- rcc, pwr, flash (+ the 0x08000000 window), gpio, iwdg, dbgmcu, scs (+ dwt), quadspi with the
  N25Q128A (n25q128a.py; + the 0x90000000 window), timers (TIM2, TIM11): each behaviour cites its
  section; an unimplemented register calls `machine.unmodelled`, undefined behaviour `machine.fault`.
- Shared conventions beyond base.py: `regs.RegisterBlock` does the byte lanes and the access widths;
  a model with a timed event exposes `next_event_ns()` so the machine can end an instruction slice
  there; clock consumers register with `Rcc.clock_listeners` (called before a clock changes) or
  cache against `Rcc.clock_gen`.
- Tests: test/emu/periph/ (unittest, a fake MachineApi), run by test/emu/peripherals.test.ts."""
