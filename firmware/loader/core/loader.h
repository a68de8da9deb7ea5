/* The loader's core: what a board file provides, and what the core offers to it.
 * Loader protocol v1 (docs/loader-protocol.md); USB DFU 1.1 + ST DfuSe (UM0424, AN3156). */
#ifndef LOADER_H
#define LOADER_H
#include <stddef.h>
#include <stdint.h>

/* DFU 1.1 table A.2 status codes (bStatus of GETSTATUS). */
enum dfu_status {
  DFU_OK = 0x00,
  DFU_errTARGET = 0x01,
  DFU_errFILE = 0x02,
  DFU_errWRITE = 0x03,
  DFU_errERASE = 0x04,
  DFU_errCHECK_ERASED = 0x05,
  DFU_errPROG = 0x06,
  DFU_errVERIFY = 0x07,
  DFU_errADDRESS = 0x08,
  DFU_errNOTDONE = 0x09,
  DFU_errFIRMWARE = 0x0A,
  DFU_errVENDOR = 0x0B,
  DFU_errUSBR = 0x0C,
  DFU_errPOR = 0x0D,
  DFU_errUNKNOWN = 0x0E,
  DFU_errSTALLEDPKT = 0x0F,
};

/* A long operation's result while it runs. */
#define JOB_BUSY (-1)

/* One memory the loader serves: one DFU alternate setting. Operations are non-blocking jobs: a
 * `*_start` returns DFU_OK when the job was started (then `poll` is called until it stops returning
 * JOB_BUSY) or an error status; `typ_ms` receives the datasheet typical duration of the whole job. */
struct memory {
  const char *(*layout)(void);                                   /* DfuSe layout string */
  uint32_t base;
  uint32_t (*size)(void);                                        /* bytes (may be read from the chip) */
  /* Sector holding `addr`: returns its size, or 0 when `addr` is in no sector; `*start` its first byte. */
  uint32_t (*sector)(uint32_t addr, uint32_t *start);
  /* Makes the memory readable through its bus address (memory-mapped QSPI); a DFU status. */
  int (*readable)(void);
  int (*erase_start)(uint32_t addr, int mass, uint32_t *typ_ms); /* sector holding addr, or all */
  int (*write_start)(uint32_t addr, const uint8_t *data, uint32_t len, uint32_t *typ_ms);
  int (*poll)(void);                                             /* JOB_BUSY or the final DFU status */
  uint32_t read_kbps;                                            /* for the CRC job's time estimate */
  void (*deinit)(void);                                          /* before leaving to the application */
};

/* What a board file names (boards/<board>.c defines `const struct board board`). */
struct board {
  const char *name;
  void (*led_init)(void);
  void (*led)(int on);
  void (*usb_pins)(void);            /* OTG FS D-/D+ to their alternate function */
  const struct memory *const *memories; /* alt 0 first */
  uint8_t memory_count;
};
extern const struct board board;

/* ---- services of the core and chip layer ---- */
uint32_t time_us(void);              /* free-running µs counter (polled timer, no interrupt) */
void delay_ms(uint32_t ms);          /* refreshes the IWDG while it waits */
uint32_t crc32_update(uint32_t crc, const uint8_t *p, uint32_t len);
void fail_forever(unsigned pattern) __attribute__((noreturn)); /* USB off, LED pattern `pattern` (number of blinks), never returns */

#define FAIL_FAULT 5u   /* a CPU fault */
#define FAIL_NO_HSE 2u  /* no usable HSE crystal: USB full speed would be unreliable */
#define FAIL_CLOCK 3u   /* the PLL did not lock */

#define LOADER_TRANSFER_SIZE 4096u
#define LOADER_VERSION "0.1.0"

#endif
