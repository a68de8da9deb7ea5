/* Vector table, reset handler and fault handler (ARMv7-M: ARM DDI 0403 §B1.5).
 * The loader runs with interrupts masked and polls everything; the table exists so that a fault,
 * should one happen, ends in a visible LED pattern with USB disconnected, never in a silent hang. */
#include <stdint.h>
#include "loader.h"

extern uint32_t _stack_top[], _bss_start[], _bss_end[];
void loader_main(void) __attribute__((noreturn));
void reset_handler(void) __attribute__((naked, noreturn));
void fault_handler(void) __attribute__((noreturn));

__attribute__((section(".vectors"), used)) const uint32_t vector_table[16 + 98] = {
  [0] = (uint32_t)(uintptr_t)_stack_top,
  [1] = (uint32_t)(uintptr_t)reset_handler,
  [2 ... 16 + 97] = (uint32_t)(uintptr_t)fault_handler, /* NMI, faults, SVC, PendSV, SysTick, IRQs */
};

/* The staging nonce (BootBridge loader protocol): the host writes 8 random bytes over the zeros
 * before staging; the loader serves them as a string descriptor. volatile: read from RAM, never folded. */
__attribute__((section(".nonce"), used, aligned(4))) volatile const uint8_t nonce_record[16] = {
  'B', 'B', 'N', 'O', 'N', 'C', 'E', '1', 0, 0, 0, 0, 0, 0, 0, 0};

/* The ROM jumps here with SP = word 0 (AN3156 §5.5); mode, stack selection and interrupt state are
 * unknown. Mask interrupts, record IPSR and CONTROL, use MSP, clear .bss, run. */
void reset_handler(void) {
  __asm volatile(
      "cpsid i\n"
      "ldr r2, =entry\n"
      "mrs r0, ipsr\n"
      "str r0, [r2, #0]\n"
      "mrs r1, control\n"
      "str r1, [r2, #4]\n"
      "movs r0, #0\n"
      "msr control, r0\n" /* MSP, privileged (has no effect if unprivileged thread mode) */
      "isb\n"
      "ldr r0, =_stack_top\n"
      "msr msp, r0\n"
      "ldr r0, =_bss_start\n"
      "ldr r1, =_bss_end\n"
      "movs r2, #0\n"
      "1: cmp r0, r1\n"
      "bhs 2f\n"
      "str r2, [r0], #4\n"
      "b 1b\n"
      "2: b loader_main\n"
      ".ltorg\n");
}

void fault_handler(void) {
  __asm volatile("cpsid i");
  fail_forever(FAIL_FAULT);
}
