/* CRC-32 as zlib's crc32 (IEEE 802.3: reflected, polynomial 0xEDB88320); the caller starts with
 * 0xFFFFFFFF and XORs the result with 0xFFFFFFFF. The 1 KB table is built in RAM at first use, so the
 * image staged through the ROM stays small. */
#include "loader.h"

static uint32_t table[256];

uint32_t crc32_update(uint32_t crc, const uint8_t *p, uint32_t len) {
  if (table[1] == 0) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
      table[i] = c;
    }
  }
  while (len--) crc = table[(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
  return crc;
}
