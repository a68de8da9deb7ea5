/* USB device framework for EP0 (USB 2.0 §9.4), descriptors (§9.6), BOS with the WebUSB and
 * Microsoft OS 2.0 platform capabilities (WebUSB spec §3, "Microsoft OS 2.0 Descriptors
 * Specification" July 2018), and dispatch of DFU class requests to dfu.c. */
#include <string.h>
#include "dwc2.h"
#include "dfu.h"
#include "loader.h"
#include "usbd.h"

#define VENDOR_ID 0x1209u
#define PRODUCT_ID 0x0001u
#define VENDOR_CODE_WEBUSB 0x01u
#define VENDOR_CODE_MSOS20 0x02u
#define LE16(v) (uint8_t)((v) & 0xFFu), (uint8_t)((v) >> 8)

static const uint8_t device_desc[18] = {
  18, 1, LE16(0x0210), /* bcdUSB 2.1: a BOS descriptor is there */
  0x00, 0x00, 0x00, 64, LE16(VENDOR_ID), LE16(PRODUCT_ID), LE16(0x0100),
  STR_MANUFACTURER, STR_PRODUCT, STR_SERIAL, 1};

#define MSOS20_SET_LEN (10u + 20u + 132u)
#define BOS_LEN (5u + 24u + 28u)
static const uint8_t bos_desc[BOS_LEN] = {
  5, 15, LE16(BOS_LEN), 2,
  /* WebUSB platform capability: UUID {3408b638-09a9-47a0-8bfd-a0768815b665}, version 1.0, no landing page */
  24, 16, 5, 0, 0x38, 0xB6, 0x08, 0x34, 0xA9, 0x09, 0xA0, 0x47, 0x8B, 0xFD, 0xA0, 0x76, 0x88, 0x15, 0xB6, 0x65,
  LE16(0x0100), VENDOR_CODE_WEBUSB, 0,
  /* Microsoft OS 2.0 platform capability: UUID {D8DD60DF-4589-4CC7-9CD2-659D9E648A9F}, Windows 8.1+ */
  28, 16, 5, 0, 0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C, 0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64, 0x8A, 0x9F,
  0x00, 0x00, 0x03, 0x06, LE16(MSOS20_SET_LEN), VENDOR_CODE_MSOS20, 0};

/* Microsoft OS 2.0 descriptor set: compatible ID "WINUSB" and a DeviceInterfaceGUIDs property, so
 * Windows binds WinUSB by itself and libusb/Chrome find the device. */
#define U16(c) (c), 0
static const uint8_t msos20_set[MSOS20_SET_LEN] = {
  10, 0, LE16(0x0000), 0x00, 0x00, 0x03, 0x06, LE16(MSOS20_SET_LEN),               /* set header */
  20, 0, LE16(0x0003), 'W', 'I', 'N', 'U', 'S', 'B', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* compatible ID */
  132, 0, LE16(0x0004), LE16(0x0007), LE16(42),                                    /* registry property, REG_MULTI_SZ */
  U16('D'), U16('e'), U16('v'), U16('i'), U16('c'), U16('e'), U16('I'), U16('n'), U16('t'), U16('e'), U16('r'),
  U16('f'), U16('a'), U16('c'), U16('e'), U16('G'), U16('U'), U16('I'), U16('D'), U16('s'), U16(0),
  LE16(80),
  U16('{'), U16('7'), U16('D'), U16('3'), U16('B'), U16('5'), U16('E'), U16('2'), U16('1'), U16('-'),
  U16('4'), U16('C'), U16('6'), U16('A'), U16('-'), U16('4'), U16('F'), U16('0'), U16('B'), U16('-'),
  U16('9'), U16('E'), U16('2'), U16('D'), U16('-'), U16('B'), U16('0'), U16('0'), U16('7'), U16('D'),
  U16('F'), U16('1'), U16('2'), U16('0'), U16('0'), U16('1'), U16('0'), U16('}'), U16(0), U16(0)};

static uint8_t config_desc[9 + 9 * MAX_MEMORIES + 9];
static uint32_t config_len;
static uint8_t string_buf[2 + 2 * 126];
static uint8_t small[2];
static uint8_t configured;

static void build_config(void) {
  uint8_t *p = config_desc;
  uint32_t n = board.memory_count;
  config_len = 9 + 9 * n + 9;
  const uint8_t head[9] = {9, 2, LE16(config_len), 1, 1, 0, 0x80, 50};
  memcpy(p, head, 9);
  p += 9;
  for (uint32_t alt = 0; alt < n; alt++) {
    /* DFU mode interface (DFU 1.1 §4.2.3): class FE, subclass 01, protocol 02 */
    const uint8_t intf[9] = {9, 4, 0, (uint8_t)alt, 0, 0xFE, 0x01, 0x02, (uint8_t)(STR_ALT0 + alt)};
    memcpy(p, intf, 9);
    p += 9;
  }
  /* DFU functional descriptor (DFU 1.1 §4.1.3 / DfuSe): download, upload, will-detach; not
   * manifestation tolerant; detach timeout 255 ms; wTransferSize; DfuSe version 1.1a. */
  const uint8_t func[9] = {9, 0x21, 0x0B, LE16(255), LE16(LOADER_TRANSFER_SIZE), LE16(0x011A)};
  memcpy(p, func, 9);
}

static uint32_t string_desc(uint8_t index) {
  const char *s = usbd_string(index);
  if (index == 0) {
    static const uint8_t langs[4] = {4, 3, LE16(0x0409)};
    memcpy(string_buf, langs, 4);
    return 4;
  }
  if (!s) return 0;
  uint32_t n = 0;
  while (s[n] && n < 126) {
    string_buf[2 + 2 * n] = (uint8_t)s[n];
    string_buf[3 + 2 * n] = 0;
    n++;
  }
  string_buf[0] = (uint8_t)(2 + 2 * n);
  string_buf[1] = 3;
  return 2 + 2 * n;
}

void usbd_init(void) {
  build_config();
  configured = 0;
}

int usbd_request(const struct setup *s, const uint8_t *out, const uint8_t **in, uint32_t *in_len) {
  uint8_t type = s->bmRequestType & 0x60u, recipient = s->bmRequestType & 0x1Fu;
  if (type == 0x20u && recipient == 1u && (s->wIndex & 0xFFu) == 0) return dfu_request(s, out, in, in_len);
  if (type == 0x40u && s->bmRequestType == 0xC0u) {
    if (s->bRequest == VENDOR_CODE_MSOS20 && s->wIndex == 7u) { /* MS_OS_20_DESCRIPTOR_INDEX */
      *in = msos20_set;
      *in_len = sizeof msos20_set;
      return 1;
    }
    return 0; /* WebUSB GET_URL: there is no landing page */
  }
  if (type != 0) return 0;
  switch (s->bRequest) {
  case 0x06: /* GET_DESCRIPTOR */
    if (s->bmRequestType != 0x80u) return 0;
    switch (s->wValue >> 8) {
    case 1:
      *in = device_desc;
      *in_len = sizeof device_desc;
      return 1;
    case 2:
      *in = config_desc;
      *in_len = config_len;
      return 1;
    case 3:
      *in_len = string_desc((uint8_t)s->wValue);
      *in = string_buf;
      return *in_len != 0;
    case 15:
      *in = bos_desc;
      *in_len = sizeof bos_desc;
      return 1;
    default:
      return 0; /* device qualifier etc.: a full-speed-only device STALLs (USB 2.0 §9.6.2) */
    }
  case 0x05: /* SET_ADDRESS */
    if (s->bmRequestType != 0x00u || s->wValue > 127) return 0;
    dwc2_set_address((uint8_t)s->wValue);
    return 1;
  case 0x09: /* SET_CONFIGURATION */
    if (s->wValue > 1) return 0;
    configured = (uint8_t)s->wValue;
    return 1;
  case 0x08: /* GET_CONFIGURATION */
    small[0] = configured;
    *in = small;
    *in_len = 1;
    return 1;
  case 0x00: /* GET_STATUS: bus powered, no remote wake-up; interface and endpoint 0 */
    small[0] = small[1] = 0;
    *in = small;
    *in_len = 2;
    return 1;
  case 0x0B: /* SET_INTERFACE */
    if (recipient != 1u || s->wIndex != 0 || s->wValue >= board.memory_count || dfu_busy()) return 0;
    dfu_set_alt((uint8_t)s->wValue);
    return 1;
  case 0x0A: /* GET_INTERFACE */
    if (recipient != 1u || s->wIndex != 0) return 0;
    small[0] = usbd_alt();
    *in = small;
    *in_len = 1;
    return 1;
  case 0x01: /* CLEAR_FEATURE */
  case 0x03: /* SET_FEATURE */
    return recipient != 0 || s->wValue != 2; /* no TEST_MODE on this loader */
  default:
    return 0;
  }
}

void usbd_complete(const struct setup *s) {
  if ((s->bmRequestType & 0x60u) == 0x20u) dfu_complete(s);
}
