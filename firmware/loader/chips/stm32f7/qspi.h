/* STM32F7 QUADSPI, single-line commands (RM0385 §13). */
#ifndef STM32F7_QSPI_H
#define STM32F7_QSPI_H
#include <stdint.h>
#include "gpio.h"

struct qspi_config {
  const struct pin *pins;
  uint8_t pin_count;
  uint8_t prescaler; /* QUADSPI clock = HCLK / (prescaler + 1) */
  uint8_t fsize;     /* flash size = 2^(fsize + 1) bytes */
};

int qspi_init(const struct qspi_config *c);
/* One indirect command, single line: instruction, optional 24-bit address, `dummy` cycles, then
 * `len` data bytes read into or written from `buf`. 1 on success. */
int qspi_command(uint8_t instruction, int with_address, uint32_t address, uint32_t dummy, uint8_t *buf,
                 uint32_t len, int write);
int qspi_memory_mapped(uint8_t read_instruction, uint32_t dummy);
void qspi_deinit(void);
#endif
