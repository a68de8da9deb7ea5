/* STM32F7 chip layer: entry hygiene, clocks, time base, hand-over to the application. */
#ifndef STM32F7_SYSTEM_H
#define STM32F7_SYSTEM_H
#include <stdint.h>

/* What the loader found at entry, read before it changed anything. */
struct entry_state {
  uint32_t ipsr, control, vtor, rcc_cr, rcc_pllcfgr, rcc_cfgr, rcc_csr, ccr, flash_optcr;
  uint32_t iwdg;       /* 1 when the IWDG is running (hardware-watchdog option, or LSI forced on) */
  uint32_t hse_hz;     /* HSE measured against HSI (0: none) */
};
extern struct entry_state entry;

void system_entry(void);            /* interrupts, NVIC, SysTick, VTOR, caches: called first */
uint32_t system_clocks(void);       /* rebuilds the clocks; returns the measured HSE (0: none) */
uint32_t system_sysclk_hz(void);
static inline uint32_t system_hclk_mhz(void) { return system_sysclk_hz() / 1000000u; } /* AHB prescaler 1 */
void system_leave(uint32_t vectors, int keep_qspi) __attribute__((noreturn));
void system_uid(uint32_t w[3]);
void system_reset(void) __attribute__((noreturn));

#endif
