#ifndef USBD_H
#define USBD_H
#include <stdint.h>

#define MAX_MEMORIES 4u
/* String descriptor indices. The nonce and entry-report indices are named in loader.json. */
enum {
  STR_MANUFACTURER = 1,
  STR_PRODUCT = 2,
  STR_SERIAL = 3,
  STR_ALT0 = 4, /* alt n: STR_ALT0 + n */
  STR_NONCE = 0x20,
  STR_ENTRY_REPORT = 0x21,
};

void usbd_init(void);
const char *usbd_string(uint8_t index); /* main.c */
uint8_t usbd_alt(void);                 /* dfu.c */
#endif
