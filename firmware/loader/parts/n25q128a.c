/* Micron N25Q128A (16 MB serial NOR) on the STM32F7 QUADSPI, as a loader memory.
 * Datasheet (Micron N25Q128A, 3 V): 256 × 64 KB sectors, 4 KB subsectors (not offered: the layout
 * lists 64 KB sectors only), 256-byte pages; commands WREN 06, RDSR 05 (WIP bit 0, WEL bit 1),
 * READ FLAG STATUS 70 (bit 7 ready; errors: 5 erase, 4 program, 3 VPP, 1 protection), CLEAR FLAG
 * STATUS 50, PAGE PROGRAM 02, SECTOR ERASE D8, BULK ERASE C7, READ 03 (no dummy cycles, up to
 * 54 MHz: so reads do not depend on the dummy-cycle setting an application may have left in the
 * volatile configuration register), RESET ENABLE 66 / RESET MEMORY 99, READ ID 9F → 20 BA 18.
 * Assumed: the part is in extended SPI mode (commands on one line). An application that switched it
 * to quad/dual I/O protocol through the enhanced volatile configuration register leaves it so until
 * the software reset, which the part then does not understand on one line; a power cycle fixes it.
 * Typical times: page program 0.5 ms, sector erase 0.7 s, bulk erase 170 s; maxima 5 ms, 3 s, 250 s. */
#include "n25q128a.h"
#include <string.h>
#include "../chips/stm32f7/stm32f7.h"
#include "../chips/stm32f7/system.h"

#define SIZE (16u * 1024u * 1024u)
#define SECTOR (64u * 1024u)
#define PAGE 256u
#define SR_WIP 0x01u
#define SR_WEL 0x02u
#define FSR_ERRORS 0x3Au

static int ready; /* 0 not yet, 1 ready, -1 no N25Q128A answered */
static uint8_t id[3];

static int init(void) {
  if (ready) return ready > 0;
  qspi_init(&board_qspi);
  /* The application may have left the part mid-command or in another mode: software reset. */
  qspi_command(0x66, 0, 0, 0, 0, 0, 1);
  qspi_command(0x99, 0, 0, 0, 0, 0, 1);
  delay_ms(1);
  if (qspi_command(0x9F, 0, 0, 0, id, 3, 0) && id[0] == 0x20 && id[1] == 0xBA && id[2] == 0x18) ready = 1;
  else ready = -1;
  return ready > 0;
}

static uint8_t read_reg(uint8_t instruction, int *ok) {
  uint8_t v = 0;
  if (!qspi_command(instruction, 0, 0, 0, &v, 1, 0)) *ok = 0;
  return v;
}

static int write_enable(void) {
  int ok = 1;
  if (!qspi_command(0x06, 0, 0, 0, 0, 0, 1)) return 0;
  return (read_reg(0x05, &ok) & SR_WEL) && ok;
}

static const char *layout(void) { return "@QSPI Flash /0x90000000/256*064Kg"; }
static uint32_t size(void) { return SIZE; }

static uint32_t sector(uint32_t addr, uint32_t *start) {
  if (addr - QSPI_MMAP_BASE >= SIZE) return 0;
  *start = addr & ~(SECTOR - 1u);
  return SECTOR;
}

static int readable(void) {
  if (!init()) return DFU_errTARGET;
  return qspi_memory_mapped(0x03, 0) ? DFU_OK : DFU_errUNKNOWN;
}

static enum { Q_IDLE, Q_ERASE, Q_PAGE, Q_PROGRAM } op;
static uint32_t w_addr, w_done, w_len, op_start_us, limit_ms;
/* How often the status register is read while the part is busy: about a tenth of the typical time
 * (page 50 µs, sector 5 ms, bulk 20 ms), so finishing late by one gap costs little, and USB service
 * between two reads stays cheap. */
static uint32_t poll_gap_us, next_poll_us;
static const uint8_t *w_data;

static int erase_start(uint32_t addr, int mass, uint32_t *typ_ms) {
  if (!init()) return DFU_errTARGET;
  if (!write_enable()) return DFU_errERASE;
  if (mass) {
    if (!qspi_command(0xC7, 0, 0, 0, 0, 0, 1)) return DFU_errERASE;
    *typ_ms = 170000u;
    limit_ms = 500000u;
    poll_gap_us = 20000u;
  } else {
    if (!qspi_command(0xD8, 1, (addr - QSPI_MMAP_BASE) & ~(SECTOR - 1u), 0, 0, 0, 1)) return DFU_errERASE;
    *typ_ms = 700u;
    limit_ms = 6000u; /* twice the maxima */
    poll_gap_us = 5000u;
  }
  op_start_us = time_us();
  next_poll_us = op_start_us + poll_gap_us;
  op = Q_ERASE;
  return DFU_OK;
}

static int write_start(uint32_t addr, const uint8_t *data, uint32_t len, uint32_t *typ_ms) {
  if (!init()) return DFU_errTARGET;
  w_addr = addr - QSPI_MMAP_BASE;
  w_data = data;
  w_len = len;
  w_done = 0;
  uint32_t pages = (w_addr + len - 1u) / PAGE - w_addr / PAGE + 1u;
  /* 0.5 ms a page (typical), plus the bytes on one line at the QSPI clock (HCLK / (prescaler + 1)) and
   * about 20 µs of commands (WREN, RDSR, flag status) a page */
  uint32_t mhz = system_hclk_mhz() / (board_qspi.prescaler + 1u);
  uint32_t us = pages * (500u + 20u) + (len * 8u) / (mhz ? mhz : 1u);
  *typ_ms = (us + 999u) / 1000u;
  op = Q_PAGE;
  return DFU_OK;
}

/* After WIP clears: the flag status register says whether it worked; clear it after an error. */
static int check_flags(int erase) {
  int ok = 1;
  uint8_t fsr = read_reg(0x70, &ok);
  if (!ok) return DFU_errUNKNOWN;
  if (fsr & FSR_ERRORS) {
    qspi_command(0x50, 0, 0, 0, 0, 0, 1);
    return erase ? DFU_errERASE : DFU_errWRITE;
  }
  return DFU_OK;
}

static int poll(void) {
  int ok = 1;
  switch (op) {
  case Q_IDLE:
    return DFU_OK;
  case Q_ERASE:
  case Q_PROGRAM: {
    if ((int32_t)(time_us() - next_poll_us) < 0) return JOB_BUSY;
    next_poll_us = time_us() + poll_gap_us;
    uint8_t sr = read_reg(0x05, &ok);
    if (!ok) {
      op = Q_IDLE;
      return DFU_errUNKNOWN;
    }
    if (sr & SR_WIP) {
      if ((time_us() - op_start_us) / 1000u > limit_ms) {
        op = Q_IDLE;
        return DFU_errPROG;
      }
      return JOB_BUSY;
    }
    int st = check_flags(op == Q_ERASE);
    if (st != DFU_OK || op == Q_ERASE) {
      op = Q_IDLE;
      return st;
    }
    op = Q_PAGE; /* and the next page at once: the part is idle */
  }
  /* fall through */
  case Q_PAGE: {
    if (w_done == w_len) {
      op = Q_IDLE;
      if (!qspi_memory_mapped(0x03, 0)) return DFU_errUNKNOWN;
      return memcmp((const void *)(uintptr_t)(QSPI_MMAP_BASE + w_addr), w_data, w_len) ? DFU_errVERIFY : DFU_OK;
    }
    uint32_t a = w_addr + w_done;
    uint32_t n = PAGE - (a % PAGE);
    if (n > w_len - w_done) n = w_len - w_done;
    if (!write_enable() || !qspi_command(0x02, 1, a, 0, (uint8_t *)(uintptr_t)(w_data + w_done), n, 1)) {
      op = Q_IDLE;
      return DFU_errWRITE;
    }
    w_done += n;
    op_start_us = time_us();
    limit_ms = 10u;
    poll_gap_us = 50u;
    next_poll_us = op_start_us + poll_gap_us;
    op = Q_PROGRAM;
    return JOB_BUSY;
  }
  }
  return DFU_errUNKNOWN;
}

static void deinit(void) {
  if (ready) qspi_deinit();
}

const struct memory n25q128a = {
  .layout = layout,
  .base = QSPI_MMAP_BASE,
  .size = size,
  .sector = sector,
  .readable = readable,
  .erase_start = erase_start,
  .write_start = write_start,
  .poll = poll,
  .read_kbps = 2000u, /* 03 at 24 MHz, 1 line: 3 MB/s on the wire */
  .deinit = deinit,
};
