/* DWC2 OTG FS device, EP0, polled (RM0385 §32.17.3 device initialization, §32.17.6 "Device
 * programming model": OUT data transfers in slave mode, IN data transfers, control transfers).
 * EP0 OUT holds one packet per arm: DOEPTSIZ0 has a 7-bit XFRSIZ and a 1-bit PKTCNT, so a 4096-byte
 * data stage arrives as 64 packets and the endpoint is re-armed after each; IN data goes out in
 * 64-byte packets the same way. */
#include "dwc2.h"
#include <string.h>
#include "loader.h"
#include "../chips/stm32f7/stm32f7.h"

#define EP0_SIZE 64u
#define RX_FIFO_WORDS 128u /* ≥ 10 + (64/4 + 1) + 2 + 1 = 30 words for one control endpoint (§32.11.3) */
#define TX0_FIFO_WORDS 64u

enum stage { ST_IDLE, ST_DATA_OUT, ST_DATA_IN, ST_STATUS_IN, ST_STATUS_OUT };

static struct setup setup;
static uint32_t setup_words[2];
static uint8_t out_buf[LOADER_TRANSFER_SIZE] __attribute__((aligned(4)));
static uint32_t out_len, last_packet;
static const uint8_t *in_ptr;
static uint32_t in_left;
static int in_zlp;
static enum stage stage;

static int wait_clear(volatile uint32_t *reg, uint32_t bits) {
  uint32_t t0 = time_us();
  while (*reg & bits) {
    iwdg_refresh();
    if (time_us() - t0 > 10000u) return 0;
  }
  return 1;
}

static void flush_fifos(void) {
  OTG_GRSTCTL = OTG_GRSTCTL_TXFFLSH | OTG_GRSTCTL_TXFNUM_ALL;
  wait_clear(&OTG_GRSTCTL, OTG_GRSTCTL_TXFFLSH);
  OTG_GRSTCTL = OTG_GRSTCTL_RXFFLSH;
  wait_clear(&OTG_GRSTCTL, OTG_GRSTCTL_RXFFLSH);
}

/* Ready for the next SETUP (up to 3 back-to-back; §32.15.4 DOEPTSIZ0.STUPCNT). */
static void arm_setup(void) {
  OTG_DOEPTSIZ0 = OTG_DOEPTSIZ0_STUPCNT3 | OTG_DOEPTSIZ0_PKTCNT1 | (3u * 8u);
}

static void arm_out(void) {
  OTG_DOEPTSIZ0 = OTG_DOEPTSIZ0_STUPCNT3 | OTG_DOEPTSIZ0_PKTCNT1 | EP0_SIZE;
  OTG_DOEPCTL0 |= OTG_EPCTL_EPENA | OTG_EPCTL_CNAK;
}

static void stall(void) {
  OTG_DIEPCTL0 |= OTG_EPCTL_STALL; /* cleared by the core on the next SETUP (§32.15.4 DIEPCTL0.STALL) */
  OTG_DOEPCTL0 |= OTG_EPCTL_STALL;
  stage = ST_IDLE;
}

static void send_packet(const uint8_t *p, uint32_t n) {
  OTG_DIEPTSIZ0 = OTG_DIEPTSIZ0_PKTCNT1 | n;
  OTG_DIEPCTL0 |= OTG_EPCTL_EPENA | OTG_EPCTL_CNAK;
  for (uint32_t i = 0; i < n; i += 4) {
    uint32_t w = 0;
    for (uint32_t k = 0; k < 4 && i + k < n; k++) w |= (uint32_t)p[i + k] << (8u * k);
    OTG_FIFO0 = w;
  }
}

static void in_next(void) {
  uint32_t n = in_left > EP0_SIZE ? EP0_SIZE : in_left;
  if (n == 0 && !in_zlp) return;
  if (n == 0) in_zlp = 0;
  send_packet(in_ptr, n);
  in_ptr += n;
  in_left -= n;
  if (in_left == 0 && n < EP0_SIZE) in_zlp = 0;
}

static void status_in(void) {
  stage = ST_STATUS_IN;
  send_packet(0, 0);
}

static void handle_request(const uint8_t *out) {
  const uint8_t *in = 0;
  uint32_t len = 0;
  if (!usbd_request(&setup, out, &in, &len)) {
    stall();
    return;
  }
  if (setup.bmRequestType & 0x80u) {
    if (len > setup.wLength) len = setup.wLength;
    in_ptr = in;
    in_left = len;
    /* a short answer that ends on a packet boundary needs a zero-length packet (USB 2.0 §5.5.3) */
    in_zlp = len < setup.wLength && (len % EP0_SIZE) == 0;
    stage = ST_DATA_IN;
    if (len == 0 && !in_zlp) {
      stage = ST_STATUS_OUT;
      arm_out();
      return;
    }
    in_next();
  } else {
    status_in();
  }
}

static void on_setup(void) {
  const uint8_t *b = (const uint8_t *)setup_words;
  setup.bmRequestType = b[0];
  setup.bRequest = b[1];
  setup.wValue = (uint16_t)(b[2] | (b[3] << 8));
  setup.wIndex = (uint16_t)(b[4] | (b[5] << 8));
  setup.wLength = (uint16_t)(b[6] | (b[7] << 8));
  arm_setup();
  if (OTG_DIEPCTL0 & OTG_EPCTL_EPENA) {
    /* The host gave up on the previous IN data: disable EP0 IN and flush its FIFO, so stale bytes are
     * never sent as the answer to this request (§32.17.6 "IN endpoint disable"). */
    OTG_DIEPCTL0 |= OTG_EPCTL_SNAK | OTG_EPCTL_EPDIS;
    wait_clear(&OTG_DIEPCTL0, OTG_EPCTL_EPENA);
    OTG_GRSTCTL = OTG_GRSTCTL_TXFFLSH; /* TXFNUM = 0: EP0's FIFO */
    wait_clear(&OTG_GRSTCTL, OTG_GRSTCTL_TXFFLSH);
    OTG_DIEPINT0 = 0xFFFFFFFFu;
  }
  if (!(setup.bmRequestType & 0x80u) && setup.wLength > 0) {
    if (setup.wLength > sizeof out_buf) {
      stall();
      return;
    }
    out_len = 0;
    stage = ST_DATA_OUT;
    arm_out();
    return;
  }
  handle_request(0);
}

static void on_reset(void) {
  OTG_DOEPCTL0 |= OTG_EPCTL_SNAK;
  OTG_DCFG &= ~OTG_DCFG_DAD_MASK;
  flush_fifos();
  OTG_DIEPINT0 = 0xFFFFFFFFu;
  OTG_DOEPINT0 = 0xFFFFFFFFu;
  stage = ST_IDLE;
  arm_setup();
}

static void rx_pop(void) {
  uint32_t sts = OTG_GRXSTSP;
  uint32_t n = OTG_RXSTS_BCNT(sts);
  uint32_t kind = OTG_RXSTS_PKTSTS(sts);
  if ((sts & 0xFu) != 0) { /* not EP0: drain */
    for (uint32_t i = 0; i < n; i += 4) (void)OTG_FIFO0;
    return;
  }
  if (kind == OTG_PKTSTS_SETUP_DATA) {
    for (uint32_t i = 0; i < n; i += 4) {
      uint32_t w = OTG_FIFO0;
      if (i < 8) setup_words[i / 4] = w;
    }
  } else if (kind == OTG_PKTSTS_OUT_DATA) {
    for (uint32_t i = 0; i < n; i += 4) {
      uint32_t w = OTG_FIFO0;
      for (uint32_t k = 0; k < 4 && i + k < n; k++) {
        if (stage == ST_DATA_OUT && out_len < sizeof out_buf) out_buf[out_len++] = (uint8_t)(w >> (8u * k));
      }
    }
    last_packet = n;
  }
}

static void on_out_complete(void) {
  if (stage == ST_DATA_OUT) {
    if (out_len >= setup.wLength || last_packet < EP0_SIZE) {
      if (out_len != setup.wLength) {
        stall();
        return;
      }
      handle_request(out_buf);
    } else {
      arm_out();
    }
  } else if (stage == ST_STATUS_OUT) {
    stage = ST_IDLE;
    usbd_complete(&setup);
  }
}

static void on_in_complete(void) {
  if (stage == ST_DATA_IN) {
    if (in_left > 0 || in_zlp) {
      in_next();
    } else {
      stage = ST_STATUS_OUT;
      arm_out(); /* the host's zero-length status packet */
    }
  } else if (stage == ST_STATUS_IN) {
    stage = ST_IDLE;
    usbd_complete(&setup);
  }
}

void dwc2_poll(void) {
  uint32_t g = OTG_GINTSTS;
  if (g & OTG_GINTSTS_USBRST) {
    OTG_GINTSTS = OTG_GINTSTS_USBRST;
    on_reset();
  }
  if (g & OTG_GINTSTS_ENUMDNE) {
    OTG_GINTSTS = OTG_GINTSTS_ENUMDNE;
    OTG_DIEPCTL0 &= ~3u; /* MPSIZ = 00: 64 bytes */
    OTG_DCTL |= OTG_DCTL_CGINAK;
  }
  while (OTG_GINTSTS & OTG_GINTSTS_RXFLVL) rx_pop();
  uint32_t oe = OTG_DOEPINT0;
  if (oe & OTG_EPINT_XFRC) {
    OTG_DOEPINT0 = OTG_EPINT_XFRC;
    on_out_complete();
  }
  if (oe & OTG_DOEPINT_STUP) {
    OTG_DOEPINT0 = OTG_DOEPINT_STUP;
    on_setup();
  }
  if (oe & ~(OTG_EPINT_XFRC | OTG_DOEPINT_STUP)) OTG_DOEPINT0 = oe & ~(OTG_EPINT_XFRC | OTG_DOEPINT_STUP);
  uint32_t ie = OTG_DIEPINT0;
  if (ie & OTG_EPINT_XFRC) {
    OTG_DIEPINT0 = OTG_EPINT_XFRC;
    on_in_complete();
  }
}

void dwc2_set_address(uint8_t address) {
  /* DWC2 applies the address itself after the status stage: write DCFG.DAD before it. */
  OTG_DCFG = (OTG_DCFG & ~OTG_DCFG_DAD_MASK) | ((uint32_t)address << OTG_DCFG_DAD_SHIFT);
}

int dwc2_idle(void) { return stage == ST_IDLE; }

void dwc2_init(void) {
  RCC_AHB2ENR |= RCC_AHB2_OTGFS;
  (void)RCC_AHB2ENR;
  /* Whatever the ROM left in the core goes: peripheral reset (RM0385 §5.3.6 RCC_AHB2RSTR.OTGFSRST). */
  RCC_AHB2RSTR |= RCC_AHB2_OTGFS;
  (void)RCC_AHB2RSTR;
  RCC_AHB2RSTR &= ~RCC_AHB2_OTGFS;
  /* §32.17.1 core initialization: AHB idle, then core soft reset. */
  uint32_t t0 = time_us();
  while (!(OTG_GRSTCTL & OTG_GRSTCTL_AHBIDL) && time_us() - t0 < 10000u) iwdg_refresh();
  OTG_GRSTCTL = OTG_GRSTCTL_CSRST;
  wait_clear(&OTG_GRSTCTL, OTG_GRSTCTL_CSRST);
  OTG_GAHBCFG = 0; /* global interrupt mask off: the loader polls GINTSTS */
  /* Force device mode; turnaround 6 for AHB ≥ 32 MHz (§32.15.4 GUSBCFG.TRDT table). */
  OTG_GUSBCFG = (OTG_GUSBCFG & ~(OTG_GUSBCFG_FHMOD | (0xFu << OTG_GUSBCFG_TRDT_SHIFT))) | OTG_GUSBCFG_FDMOD |
                (6u << OTG_GUSBCFG_TRDT_SHIFT);
  delay_ms(25); /* forced mode takes effect after 25 ms (§32.15.4 GUSBCFG.FDMOD) */
  /* Device initialization (§32.17.3). No VBUS sensing (PA9 is the ST-LINK VCP on the DISCO):
   * B-session valid by override. */
  OTG_DCTL = OTG_DCTL_SDIS;
  OTG_GCCFG = OTG_GCCFG_PWRDWN; /* transceiver on, VBDEN = 0 */
  OTG_GOTGCTL = (OTG_GOTGCTL & ~0xFCu) | OTG_GOTGCTL_BVALOEN | OTG_GOTGCTL_BVALOVAL;
  OTG_PCGCCTL = 0;
  OTG_DCFG = OTG_DCFG_DSPD_FS; /* full speed, internal PHY; address 0 */
  OTG_GRXFSIZ = RX_FIFO_WORDS;
  OTG_DIEPTXF0 = (TX0_FIFO_WORDS << 16) | RX_FIFO_WORDS;
  flush_fifos();
  OTG_GINTMSK = 0;
  OTG_DIEPMSK = 0;
  OTG_DOEPMSK = 0;
  OTG_DAINTMSK = 0;
  OTG_DIEPINT0 = 0xFFFFFFFFu;
  OTG_DOEPINT0 = 0xFFFFFFFFu;
  OTG_GINTSTS = 0xFFFFFFFFu;
  stage = ST_IDLE;
}

void dwc2_connect(void) {
  delay_ms(10); /* SDIS held ≥ 10 ms since the core reset, so a host sees a clean attach */
  OTG_DCTL &= ~OTG_DCTL_SDIS;
}

void dwc2_disconnect(void) {
  OTG_DCTL |= OTG_DCTL_SDIS;
}
