/* STM32F746G-DISCO (and STM32F7508-DK: same chip ID 0x449, same N25Q128A, same pins).
 * Everything board-specific is here: the LED, the USB and QSPI pins, the memories served.
 * Pins: ST's board user manual UM1907 and BSP pin list (facts, no code): LD1 green user LED on PI1;
 * USB OTG FS D-/D+ on PA11/PA12, AF10; QSPI CLK PB2 AF9, BK1_NCS PB6 AF10, IO0 PD11 AF9, IO1 PD12 AF9,
 * IO2 PE2 AF9, IO3 PD13 AF9. The HSE (25 MHz on these boards) is measured, not assumed. */
/* The package's manifest fields (scripts/build-loaders.mjs adds image, nonce and entryReport).
 * memories: alt 1 as a 1 MB F746 reports it; the loader computes it from 0x1FF0F442 (64 KB F750:
 * 02*032Kg). timing: N25Q128A typical page program 0.5 ms per 256 B, plus 85 µs of data at 24 MHz on
 * one line and about 20 µs of commands, ≈ 0.6 ms a page (420 KB/s); 64 KB sector erase 0.7 s; bulk
 * erase (alt 0, C7) 170 s typical; the internal flash's mass erase time is not verified: null (never chosen).

loader.json:
{
  "protocol": 1,
  "name": "STM32F746G-DISCO / STM32F7508-DK loader (QSPI N25Q128A + internal flash)",
  "version": "0.1.0",
  "description": "Real loader built from firmware/loader: QSPI NOR (64 KB sectors; 4 KB subsectors not offered) and the internal flash as the flash-size register says. Experimental: no run on a real board recorded yet.",
  "board": "STM32F746G-DISCO",
  "chips": ["0x449"],
  "usb": { "vendorId": "0x1209", "productId": "0x0001", "product": "BootBridge Loader", "enumerationTimeoutMs": 5000 },
  "transferSize": 4096,
  "memories": ["@QSPI Flash /0x90000000/256*064Kg", "@Internal Flash  /0x08000000/04*032Kg,01*128Kg,03*256Kg"],
  "extensions": ["crc32", "overlap"],
  "timing": { "programKBps": 420, "eraseMsPerSector": 700, "massEraseMs": [170000, null] },
  "experimental": true
}
*/

#include "../core/loader.h"
#include "../chips/stm32f7/gpio.h"
#include "../chips/stm32f7/qspi.h"
#include "../parts/n25q128a.h"

extern const struct memory stm32f7_flash;

static const struct pin led_pin = {PORT_I, 1, 0xFF, 0};
static const struct pin usb_pins_list[] = {{PORT_A, 11, 10, 0}, {PORT_A, 12, 10, 0}};
static const struct pin qspi_pins[] = {
  {PORT_B, 2, 9, 0}, {PORT_B, 6, 10, 1}, {PORT_D, 11, 9, 0}, {PORT_D, 12, 9, 0}, {PORT_E, 2, 9, 0}, {PORT_D, 13, 9, 0},
};

/* QSPI pins are set up only at the first QSPI request (n25q128a.c), so the loader is harmless on a
 * board without the part. Prescaler 3: 96 MHz / 4 = 24 MHz, well inside the part's limits for 03/0B,
 * until a board run proves a faster setting (ST's BSP runs it at 108 MHz). FSIZE 23: 2^24 = 16 MB. */
const struct qspi_config board_qspi = {qspi_pins, 6, 3, 23};

static void led_init(void) { gpio_setup(&led_pin); }
static void led(int on) { gpio_write(&led_pin, on); }
static void usb_pins(void) {
  gpio_setup(&usb_pins_list[0]);
  gpio_setup(&usb_pins_list[1]);
}

static const struct memory *const memories[] = {&n25q128a, &stm32f7_flash};

const struct board board = {
  .name = "STM32F746G-DISCO",
  .led_init = led_init,
  .led = led,
  .usb_pins = usb_pins,
  .memories = memories,
  .memory_count = 2,
};
