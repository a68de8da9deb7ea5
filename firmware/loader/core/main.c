/* The loader: entry, strings, the polling loop, the hand-over to the application. */
#include <string.h>
#include "loader.h"
#include "dwc2.h"
#include "dfu.h"
#include "usbd.h"
#include "../chips/stm32f7/stm32f7.h"
#include "../chips/stm32f7/system.h"

extern volatile const uint8_t nonce_record[16];

static char serial[13];
static char nonce_str[17];
static char report[127];

static const char hexd[] = "0123456789ABCDEF";

static char *hex(char *p, uint32_t v, int digits) {
  for (int i = digits - 1; i >= 0; i--) *p++ = hexd[(v >> (4 * i)) & 0xFu];
  return p;
}

static char *kv(char *p, const char *key, uint32_t v, int digits) {
  while (*key) *p++ = *key++;
  *p++ = '=';
  p = hex(p, v, digits);
  *p++ = ' ';
  return p;
}

/* The entry report (BootBridge loader protocol, "entryReport"): what the loader found at entry, as
 * KEY=VALUE pairs, every value 8 hex digits. One string descriptor holds at most 126 characters
 * (bLength is one byte), which fits nine pairs: IPSR, CTRL (CONTROL), VTOR, CR (RCC_CR), PLL
 * (RCC_PLLCFGR), CSR (RCC_CSR), CCR (SCB_CCR), IWDG (1 = running), HSE (measured, Hz). SYSCLK at
 * entry does not fit; CR, PLL and HSE give the PLL output it most likely was. */
static void build_report(void) {
  char *p = report;
  p = kv(p, "IPSR", entry.ipsr, 8);
  p = kv(p, "CTRL", entry.control, 8);
  p = kv(p, "VTOR", entry.vtor, 8);
  p = kv(p, "CR", entry.rcc_cr, 8);
  p = kv(p, "PLL", entry.rcc_pllcfgr, 8);
  p = kv(p, "CSR", entry.rcc_csr, 8);
  p = kv(p, "CCR", entry.ccr, 8);
  p = kv(p, "IWDG", entry.iwdg, 8);
  p = kv(p, "HSE", entry.hse_hz, 8);
  p[-1] = 0;
}

/* The ROM's serial (ST USB device library Get_SerialNum): 8 hex digits of UID w0 + w2, then the
 * top 4 hex digits of w1 (docs/loader-protocol.md §2.2). */
static void build_serial(void) {
  uint32_t w[3];
  system_uid(w);
  char *p = hex(serial, w[0] + w[2], 8);
  p = hex(p, w[1] >> 16, 4);
  *p = 0;
}

static void build_nonce(void) {
  char *p = nonce_str;
  for (int i = 8; i < 16; i++) p = hex(p, nonce_record[i], 2);
  *p = 0;
}

const char *usbd_string(uint8_t index) {
  switch (index) {
  case STR_MANUFACTURER: return "BootBridge";
  case STR_PRODUCT: return "BootBridge Loader";
  case STR_SERIAL: return serial;
  case STR_NONCE: return nonce_str;
  case STR_ENTRY_REPORT: return report;
  default:
    if (index >= STR_ALT0 && index < STR_ALT0 + board.memory_count) return board.memories[index - STR_ALT0]->layout();
    return 0;
  }
}

static void spin(uint32_t ms) {
  /* Works at any clock (used when the time base may be gone): about 4 cycles an iteration. */
  uint32_t n = (system_sysclk_hz() / 4000u) * ms;
  for (volatile uint32_t i = 0; i < n; i++) {
    if ((i & 0xFFFu) == 0) iwdg_refresh();
  }
}

void fail_forever(unsigned pattern) {
  __asm volatile("cpsid i");
  if (RCC_AHB2ENR & RCC_AHB2_OTGFS) OTG_DCTL |= OTG_DCTL_SDIS; /* never look like a working device */
  board.led_init();
  for (;;) {
    for (unsigned i = 0; i < pattern; i++) {
      board.led(1);
      spin(150);
      board.led(0);
      spin(150);
    }
    spin(1000);
  }
}

/* vectors = 0: no application to start; reset the chip (the ROM comes back with BOOT0 high). */
void loader_leave(uint32_t vectors) {
  dwc2_disconnect();
  delay_ms(20); /* pull-up off ≥ 10 ms: the host sees the detach (loader protocol §3.2) */
  int keep_qspi = 0;
  for (unsigned i = 0; i < board.memory_count; i++) {
    const struct memory *m = board.memories[i];
    int here = vectors >= m->base && vectors - m->base < m->size();
    if (here && m->base == QSPI_MMAP_BASE) keep_qspi = 1;
    else if (m->deinit) m->deinit();
  }
  board.led(0);
  if (vectors == 0) system_reset();
  system_leave(vectors, keep_qspi);
}

void loader_main(void) __attribute__((noreturn));
void loader_main(void) {
  system_entry();
  uint32_t hse = system_clocks();
  board.led_init();
  if (hse == 0) fail_forever(FAIL_NO_HSE);
  if (hse == 0xFFFFFFFFu) fail_forever(FAIL_CLOCK);
  build_report();
  build_serial();
  build_nonce();
  board.led(1);
  board.usb_pins();
  usbd_init();
  dfu_init();
  dwc2_init();
  dwc2_connect();
  for (;;) {
    iwdg_refresh();
    dwc2_poll();
    dfu_poll();
  }
}
