/* DFU 1.1 state machine (USB DFU 1.1 §6, appendix A) with ST's DfuSe extensions (UM0424, AN3156)
 * and BootBridge loader protocol v1 (docs/loader-protocol.md §3, §4).
 * Long operations are jobs: the DNLOAD only stores the request; the GETSTATUS that follows starts it
 * (DfuSe: the operation runs while the device is dfuDNBUSY) and answers bwPollTimeout = the time the
 * job still needs by the part's datasheet typical values; the main loop keeps polling USB, the job and
 * the IWDG, so the device answers every request while a sector erases.
 * Background writes (loader protocol §8, command 0xB1, off until the host sends it): a data block is
 * received into one of two buffers and programmed from it by the main loop while the next block arrives
 * in the other; the host hears "busy" only when a block arrives before the previous one is programmed,
 * and a failed write at the first GETSTATUS after it ended. */
#include "dfu.h"
#include <string.h>
#include "loader.h"
#include "usbd.h"
#include "../chips/stm32f7/stm32f7.h"

enum dfu_state {
  appIDLE = 0, appDETACH, dfuIDLE, dfuDNLOAD_SYNC, dfuDNBUSY, dfuDNLOAD_IDLE, dfuMANIFEST_SYNC,
  dfuMANIFEST, dfuMANIFEST_WAIT_RESET, dfuUPLOAD_IDLE, dfuERROR,
};
enum { REQ_DETACH, REQ_DNLOAD, REQ_UPLOAD, REQ_GETSTATUS, REQ_CLRSTATUS, REQ_GETSTATE, REQ_ABORT };
enum job_kind { JOB_NONE, JOB_MEMORY, JOB_CRC };

static uint8_t state = dfuIDLE, status = DFU_OK, alt;
static uint32_t pointer;
static int pointer_set;
/* DNLOAD data lands in bufs[rx]; a data block is programmed from where it landed, and the next one goes
 * to the other buffer. */
static uint8_t bufs[2][LOADER_TRANSFER_SIZE] __attribute__((aligned(4)));
static uint8_t rx;
static uint32_t pending_len; /* DNLOAD waiting for its GETSTATUS */
static uint16_t pending_block;
static int pending;
static enum job_kind job;
static const struct memory *job_mem; /* the memory the running job works on (alt may not change meanwhile) */
static uint32_t job_start_us, job_typ_ms;
static int job_result = DFU_OK;    /* the last foreground job's outcome (JOB_BUSY while it runs) */
static uint32_t crc_addr, crc_left, crc_value;
static int crc_valid;
static uint8_t reply[6];
static uint8_t io_buf[LOADER_TRANSFER_SIZE] __attribute__((aligned(4)));
static int leave_armed;
static uint32_t leave_at_us;
/* Background writes (loader protocol §8) */
static int overlap;                /* enabled by command 0xB1 for the download that follows */
static int bg;                     /* the running JOB_MEMORY is a background write */
static int bg_result = DFU_OK;     /* a background write's failure, until a GETSTATUS reports it */
static int queued;                 /* the pending DNLOAD's GETSTATUS came while a write ran: start it after */
static int draining;               /* dfuDNBUSY entered by a GETSTATUS in dfuDNLOAD-IDLE */

extern void loader_leave(uint32_t vectors) __attribute__((noreturn));
static void leave(void) __attribute__((noreturn));

static const struct memory *mem(void) { return board.memories[alt]; }

uint8_t usbd_alt(void) { return alt; }

void dfu_set_alt(uint8_t a) {
  alt = a;
  overlap = 0; /* an alt change ends a download, and background writes with it (loader protocol §8) */
  state = dfuIDLE;
  status = DFU_OK;
}

void dfu_init(void) {
  state = dfuIDLE;
  status = DFU_OK;
  alt = 0;
  pointer = board.memories[0]->base;
}

static int in_memory(const struct memory *m, uint32_t addr, uint32_t len) {
  uint32_t size = m->size();
  return addr >= m->base && len <= size && addr - m->base <= size - len;
}

static void fail(uint8_t st) {
  state = dfuERROR;
  status = st;
}

/* Starts what the stored DNLOAD asks for; returns a DFU status. */
static int start_pending(void) {
  const struct memory *m = mem();
  const uint8_t *d = bufs[rx];
  job_mem = m;
  uint32_t n = pending_len;
  job_typ_ms = 0;
  if (pending_block == 0) {
    uint32_t a = n >= 5 ? (uint32_t)d[1] | (uint32_t)d[2] << 8 | (uint32_t)d[3] << 16 | (uint32_t)d[4] << 24 : 0;
    switch (d[0]) {
    case 0x21: /* set the address pointer */
      if (n != 5) return DFU_errUNKNOWN;
      if (!in_memory(m, a, 1)) return DFU_errTARGET;
      pointer = a;
      pointer_set = 1;
      return DFU_OK;
    case 0x41: /* erase the sector holding the address, or the whole memory when alone */
      if (n == 1) {
        job = JOB_MEMORY;
        return m->erase_start(m->base, 1, &job_typ_ms);
      }
      if (n != 5) return DFU_errUNKNOWN;
      {
        uint32_t start;
        if (!in_memory(m, a, 1) || m->sector(a, &start) == 0) return DFU_errTARGET;
      }
      job = JOB_MEMORY;
      return m->erase_start(a, 0, &job_typ_ms);
    case 0xB1: /* background writes on (loader protocol §8) */
      if (n != 1) return DFU_errUNKNOWN;
      overlap = 1;
      return DFU_OK;
    case 0xB0: { /* CRC-32 of a range (loader protocol §4) */
      if (n != 9) return DFU_errUNKNOWN;
      uint32_t len = (uint32_t)d[5] | (uint32_t)d[6] << 8 | (uint32_t)d[7] << 16 | (uint32_t)d[8] << 24;
      if (len == 0 || !in_memory(m, a, len)) return DFU_errTARGET;
      int r = m->readable();
      if (r != DFU_OK) return r;
      crc_addr = a;
      crc_left = len;
      crc_value = 0xFFFFFFFFu;
      crc_valid = 0;
      job = JOB_CRC;
      job_typ_ms = len / m->read_kbps + 1u;
      return DFU_OK;
    }
    default:
      return DFU_errUNKNOWN;
    }
  }
  /* DNLOAD block n ≥ 2: write at pointer + (n − 2) × wTransferSize (DfuSe, UM0424 §4.2) */
  uint32_t addr = pointer + (uint32_t)(pending_block - 2u) * LOADER_TRANSFER_SIZE;
  if (!in_memory(m, addr, n)) return DFU_errTARGET;
  job = JOB_MEMORY;
  rx ^= 1u; /* the driver programs from d; the next block lands in the other buffer */
  return m->write_start(addr, d, n, &job_typ_ms);
}

/* A refusal before anything is programmed: the host attributes it to the block just sent (loader protocol §8). */
static int refusal(int r) { return r == DFU_errTARGET || r == DFU_errADDRESS; }

/* Starts the pending DNLOAD with background writes on: a data block as a background write (a failure
 * of its start is its outcome, reported as a background failure), a command as an ordinary job. */
static void start_overlapped(void) {
  pending = 0;
  job = JOB_NONE;
  job_start_us = time_us();
  int r = start_pending();
  if (pending_block < 2u || refusal(r)) {
    if (r != DFU_OK) job = JOB_NONE;
    job_result = r != DFU_OK ? r : job != JOB_NONE ? JOB_BUSY : DFU_OK;
    return;
  }
  job_result = DFU_OK;
  if (r != DFU_OK) {
    job = JOB_NONE;
    bg_result = r;
  } else {
    bg = 1;
  }
}

/* Runs a slice of the current job; JOB_BUSY or its final status. */
static int job_step(void) {
  if (job == JOB_MEMORY) return job_mem->poll();
  if (job == JOB_CRC) {
    uint32_t n = crc_left > 1024u ? 1024u : crc_left;
    crc_value = crc32_update(crc_value, (const uint8_t *)(uintptr_t)crc_addr, n);
    crc_addr += n;
    crc_left -= n;
    if (crc_left) return JOB_BUSY;
    crc_value ^= 0xFFFFFFFFu;
    crc_valid = 1;
    return DFU_OK;
  }
  return DFU_OK;
}


void dfu_poll(void) {
  /* The host may not finish the GETSTATUS that answered dfuMANIFEST: leave 100 ms later anyway. */
  if (leave_armed && time_us() - leave_at_us > 100000u) leave();
  if (job == JOB_NONE) return;
  int r = job_step();
  if (r == JOB_BUSY) return;
  job = JOB_NONE;
  if (!bg) {
    job_result = r;
    return;
  }
  bg = 0;
  bg_result = r;
  /* The block that came meanwhile starts now, not at the host's next GETSTATUS; after a failure it is
   * dropped and the failure reported instead. */
  if (!queued) return;
  queued = 0;
  if (r != DFU_OK) {
    pending = 0;
    return;
  }
  start_overlapped();
}

/* The time the running job still needs, by the datasheet typical values; never 0 while busy. When
 * the part takes longer than typical, ask again after an eighth of the typical time (1..500 ms). */
static uint32_t remaining_ms(void) {
  uint32_t elapsed = (time_us() - job_start_us) / 1000u;
  if (elapsed < job_typ_ms) return job_typ_ms - elapsed;
  uint32_t again = job_typ_ms / 8u;
  return again < 1u ? 1u : again > 500u ? 500u : again;
}

/* GETSTATUS with background writes on (loader protocol §8); 0 when the ordinary answer applies. */
static int overlap_status(uint32_t *poll) {
  if (!bg && bg_result != DFU_OK) { /* a failed background write, reported once */
    pending = 0;
    queued = 0;
    draining = 0;
    fail((uint8_t)bg_result);
    bg_result = DFU_OK;
    return 1;
  }
  if (state == dfuDNLOAD_SYNC && pending) {
    if (bg) { /* the previous block is still programming: this one waits in its buffer */
      queued = 1;
      state = dfuDNBUSY;
      *poll = remaining_ms();
      return 1;
    }
    if (pending_block < 2u) return 0; /* a command, as ever */
    start_overlapped();
    state = job == JOB_NONE && job_result != DFU_OK ? dfuDNBUSY : dfuDNLOAD_IDLE; /* refused: next answer */
    return 1;
  }
  if (state == dfuDNBUSY) {
    if (job != JOB_NONE && !bg) return 0;             /* a command started after the write */
    if (job == JOB_NONE && job_result != DFU_OK) return 0; /* a refused block: failed below */
    if (queued || (draining && bg)) {
      *poll = remaining_ms();
      return 1;
    }
    draining = 0;
    state = dfuDNLOAD_IDLE;
    return 1;
  }
  if (state == dfuDNLOAD_IDLE && bg) { /* the host drains: busy until the last write ends */
    draining = 1;
    state = dfuDNBUSY;
    *poll = remaining_ms();
    return 1;
  }
  return 0;
}

static void getstatus(void) {
  uint32_t poll = 0;
  if (overlap && (state == dfuDNLOAD_SYNC || state == dfuDNBUSY || state == dfuDNLOAD_IDLE) && overlap_status(&poll)) {
    /* answered */
  } else if (state == dfuDNLOAD_SYNC && pending) {
    /* DfuSe (AN3156 §6.3, as the ROM and dfu-util's dfuse.c expect): the command runs from this
     * GETSTATUS, which answers dfuDNBUSY with the time it needs (0 for an immediate one such as set
     * address); the next GETSTATUS gives the outcome: dfuDNLOAD-IDLE, or dfuERROR and its status. */
    pending = 0;
    job = JOB_NONE;
    job_start_us = time_us();
    int r = start_pending();
    if (r != DFU_OK) {
      job = JOB_NONE;
      job_result = r;
    } else if (job != JOB_NONE) {
      job_result = JOB_BUSY;
      dfu_poll();
    } else {
      job_result = DFU_OK;
    }
    state = dfuDNBUSY;
    poll = job != JOB_NONE ? remaining_ms() : 0u;
  } else if (state == dfuDNBUSY || state == dfuDNLOAD_SYNC) {
    if (job != JOB_NONE) {
      state = dfuDNBUSY;
      poll = remaining_ms();
    } else if (job_result != DFU_OK) {
      fail((uint8_t)job_result);
    } else {
      state = dfuDNLOAD_IDLE;
    }
  } else if (state == dfuMANIFEST_SYNC) {
    state = dfuMANIFEST; /* DfuSe leave: effective at this GETSTATUS (AN3156 §5.5) */
    leave_armed = 1;
    leave_at_us = time_us();
  }
  reply[0] = status;
  reply[1] = (uint8_t)poll;
  reply[2] = (uint8_t)(poll >> 8);
  reply[3] = (uint8_t)(poll >> 16);
  reply[4] = state;
  reply[5] = 0;
}

/* The application's vector table must hold a RAM stack pointer and a Thumb entry point. */
static int vectors_ok(uint32_t v) {
  const struct memory *m = 0;
  for (unsigned i = 0; i < board.memory_count; i++)
    if (in_memory(board.memories[i], v, 8)) m = board.memories[i];
  if (m) {
    if (m->readable() != DFU_OK) return 0;
  } else if (!(v >= 0x20000000u && v < 0x20050000u)) {
    return 0;
  }
  uint32_t sp = REG32(v), pc = REG32(v + 4u);
  return sp >= 0x20000000u && sp <= 0x20050000u && (sp & 3u) == 0 && (pc & 1u) == 1u;
}

static int stall_error(void) {
  fail(DFU_errSTALLEDPKT);
  return 0;
}

int dfu_busy(void) { return job != JOB_NONE || bg_result != DFU_OK; }

int dfu_request(const struct setup *s, const uint8_t *out, const uint8_t **in, uint32_t *in_len) {
  int dir_in = (s->bmRequestType & 0x80u) != 0;
  /* While a job runs only GETSTATUS and GETSTATE are answered; anything else STALLs and leaves the
   * state as it is, so no second operation can start on a busy part. A background write (or its
   * unreported failure) also lets the next DNLOAD with data in (loader protocol §8). */
  if (dfu_busy() && s->bRequest != REQ_GETSTATUS && s->bRequest != REQ_GETSTATE &&
      !(s->bRequest == REQ_DNLOAD && s->wLength > 0 && (bg || (job == JOB_NONE && bg_result != DFU_OK))))
    return 0;
  /* Anything that ends a download ends background writes: a host that never sent 0xB1 meets v1. */
  if (s->bRequest == REQ_UPLOAD || s->bRequest == REQ_ABORT || s->bRequest == REQ_CLRSTATUS || s->bRequest == REQ_DETACH) overlap = 0;
  switch (s->bRequest) {
  case REQ_DNLOAD:
    if (dir_in || (state != dfuIDLE && state != dfuDNLOAD_IDLE)) return stall_error();
    if (s->wLength == 0) {
      /* leave: zero-length DNLOAD (any wBlockNum; dfu-util sends 2), effective at the next GETSTATUS */
      state = dfuMANIFEST_SYNC;
      return 1;
    }
    if (s->wValue == 1) return stall_error(); /* block 1 is not a DfuSe download block */
    memcpy(bufs[rx], out, s->wLength);
    pending_len = s->wLength;
    pending_block = s->wValue;
    pending = 1;
    state = dfuDNLOAD_SYNC;
    return 1;
  case REQ_UPLOAD: {
    if (!dir_in || (state != dfuIDLE && state != dfuUPLOAD_IDLE)) return stall_error();
    uint32_t n = s->wLength;
    if (n == 0 || n > LOADER_TRANSFER_SIZE) return stall_error(); /* wLength ≤ wTransferSize (DFU 1.1 §6.2) */
    if (s->wValue == 0) { /* DfuSe "get commands" */
      static const uint8_t cmds[5] = {0x00, 0x21, 0x41, 0xB0, 0xB1};
      *in = cmds;
      *in_len = n < sizeof cmds ? n : sizeof cmds;
      state = dfuIDLE;
      return 1;
    }
    if (s->wValue == 1) { /* result of the last 0xB0 (loader protocol §4) */
      if (!crc_valid) return stall_error();
      io_buf[0] = (uint8_t)crc_value;
      io_buf[1] = (uint8_t)(crc_value >> 8);
      io_buf[2] = (uint8_t)(crc_value >> 16);
      io_buf[3] = (uint8_t)(crc_value >> 24);
      *in = io_buf;
      *in_len = n < 4 ? n : 4;
      state = dfuIDLE;
      return 1;
    }
    const struct memory *m = mem();
    uint32_t addr = pointer + (uint32_t)(s->wValue - 2u) * LOADER_TRANSFER_SIZE;
    if (!in_memory(m, addr, 1)) {
      fail(DFU_errTARGET);
      return 0;
    }
    int r = m->readable();
    if (r != DFU_OK) {
      fail((uint8_t)r);
      return 0;
    }
    uint32_t end = m->base + (m->size() - 1u);
    if (n - 1u > end - addr) n = end - addr + 1u;
    memcpy(io_buf, (const void *)(uintptr_t)addr, n);
    *in = io_buf;
    *in_len = n;
    state = n < s->wLength ? dfuIDLE : dfuUPLOAD_IDLE; /* a short frame ends the upload */
    return 1;
  }
  case REQ_GETSTATUS:
    if (!dir_in) return stall_error();
    getstatus();
    *in = reply;
    *in_len = 6;
    return 1;
  case REQ_CLRSTATUS:
    if (dir_in || state != dfuERROR) return stall_error();
    state = dfuIDLE;
    status = DFU_OK;
    return 1;
  case REQ_GETSTATE:
    if (!dir_in) return stall_error();
    reply[0] = state;
    *in = reply;
    *in_len = 1;
    return 1;
  case REQ_ABORT:
    if (dir_in || state == dfuDNBUSY || state == dfuERROR || state == dfuMANIFEST) return stall_error();
    pending = 0;
    state = dfuIDLE;
    status = DFU_OK;
    return 1;
  default: /* DETACH and anything else: not in DFU mode */
    return stall_error();
  }
}

/* To the pointer if the host set one, else the flash (AN3156 §5.5). Where no vector table is (a blank
 * flash after a mass erase), the loader resets the chip instead of jumping into 0xFFFFFFFF: with BOOT0
 * still high the ROM bootloader comes back, which is what a host can use next. */
static void leave(void) {
  uint32_t v = pointer_set ? pointer : 0x08000000u;
  loader_leave(vectors_ok(v) ? v : 0u);
}

void dfu_complete(const struct setup *s) {
  if (s->bRequest == REQ_GETSTATUS && leave_armed) leave();
}
