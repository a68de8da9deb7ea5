/* USB device, endpoint 0 only, on a Synopsys DWC2 OTG core in slave (FIFO) mode, polled. */
#ifndef DWC2_H
#define DWC2_H
#include <stdint.h>

struct setup {
  uint8_t bmRequestType, bRequest;
  uint16_t wValue, wIndex, wLength;
};

/* Control-request handler (usbd.c). Called with the SETUP packet and, for OUT requests with data,
 * after the whole data stage arrived (`out` holds wLength bytes). Returns 1 to accept (then `*in`, `*in_len`
 * give the IN data, if any) or 0 to STALL. */
int usbd_request(const struct setup *s, const uint8_t *out, const uint8_t **in, uint32_t *in_len);
/* Called when the status stage of the current request completed. */
void usbd_complete(const struct setup *s);

void dwc2_init(void);      /* reset the core, device mode, FIFOs; stays disconnected (SDIS = 1) */
void dwc2_connect(void);
void dwc2_disconnect(void);
void dwc2_poll(void);
void dwc2_set_address(uint8_t address);
int dwc2_idle(void);       /* 1 when no control transfer is in progress */

#endif
