/* STM32F74x/75x internal flash as a loader memory (RM0385 §3: sector erase §3.3.5, programming
 * §3.3.6, FLASH_SR errors §3.7.4). Single bank: 4 × 32 KB, 1 × 128 KB, then 256 KB sectors, as many
 * as the flash-size register (0x1FF0F442) says: 1 MB on the F746, 64 KB (2 × 32 KB) on the F750.
 * Programming is x32 (PSIZE = 10, 2.7–3.6 V). Erase and program run as polled jobs. */
#include <string.h>
#include "stm32f7.h"
#include "../../core/loader.h"

#define FLASH_BASE_ADDR 0x08000000u

/* Typical times (x32): sector erase and word program. DS10916 gives the maxima quoted in
 * timing.md (32 KB 800 ms, 128 KB 2.4 s, 256 KB 4 s, x8); these typical x32 values follow the
 * same family's tables (F4: 16 µs a word) and are unverified for the F7: a board run settles them. */
#define WORD_PROGRAM_US 16u
static uint32_t erase_typ_ms(uint32_t sector_size) {
  return sector_size <= 32768u ? 250u : sector_size <= 131072u ? 1000u : 2000u;
}

static uint32_t size_bytes(void) {
  uint32_t kb = FLASH_SIZE_KB;
  if (kb == 0 || kb > 2048u) kb = 1024u; /* unprogrammed signature: assume the F746's 1 MB */
  return kb * 1024u;
}

/* Sector n: its start offset and size. */
static uint32_t sector_info(uint32_t n, uint32_t *offset) {
  if (n < 4) {
    *offset = n * 32768u;
    return 32768u;
  }
  if (n == 4) {
    *offset = 131072u;
    return 131072u;
  }
  *offset = 262144u + (n - 5u) * 262144u;
  return 262144u;
}

static uint32_t sector_count(void) {
  uint32_t size = size_bytes(), n = 0, off;
  while (sector_info(n, &off), off < size) n++;
  return n;
}

static char layout_buf[80];
static const char *layout(void) {
  if (layout_buf[0]) return layout_buf;
  char *p = layout_buf;
  const char *head = "@Internal Flash  /0x08000000/";
  while (*head) *p++ = *head++;
  uint32_t n = sector_count(), i = 0, off;
  while (i < n) {
    uint32_t size = sector_info(i, &off), count = 0;
    while (i < n && sector_info(i, &off) == size) {
      count++;
      i++;
    }
    if (p[-1] != '/') *p++ = ',';
    uint32_t kb = size / 1024u;
    *p++ = (char)('0' + count / 10u);
    *p++ = (char)('0' + count % 10u);
    *p++ = '*';
    *p++ = (char)('0' + kb / 100u);
    *p++ = (char)('0' + (kb / 10u) % 10u);
    *p++ = (char)('0' + kb % 10u);
    *p++ = 'K';
    *p++ = 'g';
  }
  *p = 0;
  return layout_buf;
}

static uint32_t sector(uint32_t addr, uint32_t *start) {
  uint32_t off = addr - FLASH_BASE_ADDR, n = sector_count(), s;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t size = sector_info(i, &s);
    if (off >= s && off - s < size) {
      *start = FLASH_BASE_ADDR + s;
      return size;
    }
  }
  return 0;
}

static int readable(void) { return DFU_OK; }

static int unlock(void) {
  if (FLASH_CR & FLASH_CR_LOCK) {
    FLASH_KEYR = FLASH_KEY1;
    FLASH_KEYR = FLASH_KEY2;
  }
  return (FLASH_CR & FLASH_CR_LOCK) == 0;
}

static enum { F_IDLE, F_ERASE, F_PROGRAM } op;
static uint32_t w_addr, w_done, w_len;
static const uint8_t *w_data;
static uint32_t deadline_ms, op_start_us;

static int finish(int status) {
  FLASH_CR = FLASH_CR_LOCK; /* clears PG/SER/MER and locks (RM0385 §3.7.5) */
  op = F_IDLE;
  return status;
}

static int erase_start(uint32_t addr, int mass, uint32_t *typ_ms) {
  if (FLASH_SR & FLASH_SR_BSY) return DFU_errERASE;
  if (!unlock()) return DFU_errERASE;
  FLASH_SR = FLASH_SR_ERRORS | FLASH_SR_EOP;
  if (mass) {
    FLASH_CR = FLASH_CR_PSIZE_X32 | FLASH_CR_MER;
    *typ_ms = 16000u * (size_bytes() / 65536u) / 16u; /* 16 s a MB, unverified (see above) */
  } else {
    uint32_t start, size = sector(addr, &start), n = 0, off;
    if (size == 0) return finish(DFU_errTARGET);
    while (sector_info(n, &off), FLASH_BASE_ADDR + off != start) n++;
    FLASH_CR = FLASH_CR_PSIZE_X32 | FLASH_CR_SER | (n << FLASH_CR_SNB_SHIFT);
    *typ_ms = erase_typ_ms(size);
  }
  FLASH_CR |= FLASH_CR_STRT;
  deadline_ms = mass ? 64000u : 8000u; /* twice the datasheet maxima */
  op_start_us = time_us();
  op = F_ERASE;
  return DFU_OK;
}

static int write_start(uint32_t addr, const uint8_t *data, uint32_t len, uint32_t *typ_ms) {
  if (addr & 3u) return DFU_errADDRESS; /* x32 programming writes whole words (RM0385 §3.3.6) */
  if (FLASH_SR & FLASH_SR_BSY) return DFU_errWRITE;
  if (!unlock()) return DFU_errWRITE;
  FLASH_SR = FLASH_SR_ERRORS | FLASH_SR_EOP;
  FLASH_CR = FLASH_CR_PSIZE_X32 | FLASH_CR_PG;
  w_addr = addr;
  w_data = data;
  w_len = len;
  w_done = 0;
  *typ_ms = ((len + 3u) / 4u) * WORD_PROGRAM_US / 1000u + 1u;
  deadline_ms = 2000u;
  op_start_us = time_us();
  op = F_PROGRAM;
  return DFU_OK;
}

static int poll(void) {
  uint32_t sr = FLASH_SR;
  if (op == F_IDLE) return DFU_OK;
  if (sr & FLASH_SR_ERRORS) {
    FLASH_SR = FLASH_SR_ERRORS;
    return finish(op == F_ERASE ? DFU_errERASE : DFU_errWRITE);
  }
  if (sr & FLASH_SR_BSY) {
    if ((time_us() - op_start_us) / 1000u > deadline_ms) return finish(DFU_errPROG);
    return JOB_BUSY;
  }
  if (op == F_ERASE) return finish(DFU_OK);
  if (w_done < w_len) {
    /* a few words a slice; the tail is padded with 0xFF, which leaves erased bytes as they are */
    for (int k = 0; k < 16 && w_done < w_len; k++) {
      if (FLASH_SR & FLASH_SR_BSY) break;
      uint32_t word = 0xFFFFFFFFu;
      uint32_t n = w_len - w_done < 4u ? w_len - w_done : 4u;
      memcpy(&word, w_data + w_done, n);
      REG32(w_addr + w_done) = word;
      dsb();
      w_done += 4u;
      if (w_done > w_len) w_done = w_len;
    }
    return JOB_BUSY;
  }
  int st = finish(DFU_OK);
  if (memcmp((const void *)(uintptr_t)w_addr, w_data, w_len) != 0) return DFU_errVERIFY;
  return st;
}

static void deinit(void) {
  if (!(FLASH_CR & FLASH_CR_LOCK)) FLASH_CR = FLASH_CR_LOCK;
}

const struct memory stm32f7_flash = {
  .layout = layout,
  .base = FLASH_BASE_ADDR,
  .size = size_bytes,
  .sector = sector,
  .readable = readable,
  .erase_start = erase_start,
  .write_start = write_start,
  .poll = poll,
  .read_kbps = 10000u,
  .deinit = deinit,
};
