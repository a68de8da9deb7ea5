#ifndef DFU_H
#define DFU_H
#include <stdint.h>
#include "dwc2.h"

void dfu_init(void);
int dfu_request(const struct setup *s, const uint8_t *out, const uint8_t **in, uint32_t *in_len);
void dfu_complete(const struct setup *s);
void dfu_poll(void);
void dfu_set_alt(uint8_t alt);
int dfu_busy(void);
#endif
