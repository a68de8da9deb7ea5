/* STM32F7 QUADSPI driver (RM0385 §13.3 functional description, §13.5 registers): indirect mode for
 * commands and programming, memory-mapped mode for reads and CRC. Single-line (1-1-1) only: in
 * single mode IO2/IO3 are driven high/low by the peripheral so W#/HOLD# stay inactive (§13.3.3). */
#include "qspi.h"
#include "stm32f7.h"
#include "../../core/loader.h"

#define TIMEOUT_US 100000u

static int wait_sr(uint32_t mask, uint32_t want) {
  uint32_t t0 = time_us();
  while ((QSPI_SR & mask) != want) {
    iwdg_refresh();
    if (time_us() - t0 > TIMEOUT_US) return 0;
  }
  return 1;
}

/* Leaves memory-mapped mode (or any command in progress): ABORT, then wait until not BUSY. */
static int leave_mmap(void) {
  if ((QSPI_CCR & (3u << 26)) == QSPI_CCR_FMODE_MMAP || (QSPI_SR & QSPI_SR_BUSY)) {
    QSPI_CR |= QSPI_CR_ABORT;
    uint32_t t0 = time_us();
    while (QSPI_CR & QSPI_CR_ABORT) {
      iwdg_refresh();
      if (time_us() - t0 > TIMEOUT_US) return 0;
    }
  }
  return wait_sr(QSPI_SR_BUSY, 0);
}

int qspi_init(const struct qspi_config *c) {
  for (unsigned i = 0; i < c->pin_count; i++) gpio_setup(&c->pins[i]);
  RCC_AHB3ENR |= RCC_AHB3_QSPI;
  (void)RCC_AHB3ENR;
  RCC_AHB3RSTR |= RCC_AHB3_QSPI;
  (void)RCC_AHB3RSTR;
  RCC_AHB3RSTR &= ~RCC_AHB3_QSPI;
  /* Prescaler, FIFO threshold 1 byte, sample shift by half a cycle (§13.5.1 SSHIFT) */
  QSPI_CR = ((uint32_t)c->prescaler << QSPI_CR_PRESCALER_SHIFT) | (1u << 4);
  /* FSIZE; CS high ≥ 2 cycles between commands; clock mode 0 (§13.5.2) */
  QSPI_DCR = ((uint32_t)c->fsize << 16) | (1u << 8);
  QSPI_CR |= QSPI_CR_EN;
  return 1;
}

int qspi_command(uint8_t instruction, int with_address, uint32_t address, uint32_t dummy, uint8_t *buf,
                 uint32_t len, int write) {
  if (!leave_mmap()) return 0;
  QSPI_FCR = 0x1Bu; /* clear TEF, TCF, SMF, TOF */
  if (len) QSPI_DLR = len - 1u;
  uint32_t ccr = ((write || len == 0) ? QSPI_CCR_FMODE_WRITE : QSPI_CCR_FMODE_READ) | QSPI_CCR_IMODE_1 |
                 (dummy << QSPI_CCR_DCYC_SHIFT) | instruction;
  if (with_address) ccr |= QSPI_CCR_ADMODE_1 | QSPI_CCR_ADSIZE_24;
  if (len) ccr |= QSPI_CCR_DMODE_1;
  QSPI_CCR = ccr; /* starts a command without address (§13.3.4) */
  if (with_address) QSPI_AR = address; /* starts a command with address */
  for (uint32_t i = 0; i < len; i++) {
    uint32_t t0 = time_us();
    if (write) {
      while (!(QSPI_SR & QSPI_SR_FTF)) {
        if (time_us() - t0 > TIMEOUT_US) return 0;
      }
      QSPI_DR8 = buf[i];
    } else {
      while (QSPI_SR_FLEVEL(QSPI_SR) == 0) {
        if (time_us() - t0 > TIMEOUT_US) return 0;
      }
      buf[i] = QSPI_DR8;
    }
  }
  if (!wait_sr(QSPI_SR_TCF, QSPI_SR_TCF)) return 0;
  int ok = !(QSPI_SR & QSPI_SR_TEF);
  QSPI_FCR = QSPI_FCR_CTCF | QSPI_FCR_CTEF;
  return ok;
}

int qspi_memory_mapped(uint8_t read_instruction, uint32_t dummy) {
  if ((QSPI_CCR & (3u << 26)) == QSPI_CCR_FMODE_MMAP) return 1;
  if (!leave_mmap()) return 0;
  /* A driver citing the F7 errata sets AR = 0 and aborts before memory-mapped mode; the abort is done. */
  QSPI_AR = 0;
  QSPI_CCR = QSPI_CCR_FMODE_MMAP | QSPI_CCR_DMODE_1 | (dummy << QSPI_CCR_DCYC_SHIFT) | QSPI_CCR_ADSIZE_24 |
             QSPI_CCR_ADMODE_1 | QSPI_CCR_IMODE_1 | read_instruction;
  return 1;
}

void qspi_deinit(void) {
  leave_mmap();
  QSPI_CR = 0;
}
