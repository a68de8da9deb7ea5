"""Runs a RAM image on the emulated F746 and enumerates it as a host would, printing what happens.

    PYTHONPATH=src-main/emu/python /usr/bin/python3 -m bbemu.probe IMAGE.bin [--load 0x20010000] [--uid HEX24]

A firmware developer's first check without a board: does the image connect, which descriptors and
strings does it send, where does it stop."""
from __future__ import annotations

import argparse
import sys

from .machine import Machine, Stop


def main() -> int:
    ap = argparse.ArgumentParser(prog='bbemu.probe')
    ap.add_argument('image')
    ap.add_argument('--load', default='0x20010000')
    ap.add_argument('--uid', default='08000000ffff4b3620202020', help='96-bit UID, 24 hex digits, little-endian words as in memory')
    ap.add_argument('--budget-ms', type=int, default=5000)
    args = ap.parse_args()
    load = int(args.load, 0)
    image = open(args.image, 'rb').read()
    m = Machine({'uid': bytes.fromhex(args.uid), 'flash_size_kb': 1024, 'hse_hz': 25_000_000, 'hse_mode': 'crystal', 'qspi_part': 'N25Q128A'},
                lambda ev: print(f'  event {ev["ev"]} at {ev["t"] / 1e6:.3f} ms {ev.get("reason", ev.get("msg", ""))}'))
    m.load_ram(load, image)
    m.start_at(load)

    def control(bm: int, req: int, value: int, index: int, length: int, data: bytes | None = None):
        m.otg.host_begin(bytes([bm, req, value & 255, value >> 8, index & 255, index >> 8, length & 255, length >> 8]), data)
        m.run_until(m.now_ns + 1_000_000_000, done=lambda: m.otg.transfer['result'] is not None)
        return m.otg.host_result() or {'status': 'timeout'}

    try:
        m.run_until(args.budget_ms * 1_000_000, done=lambda: m.otg.connected and m.otg.idle)
        if not m.otg.connected:
            print(f'never connected within {args.budget_ms} ms (pc 0x{m.read_pc():08x})')
            return 1
        print(f'connected at {m.now_ns / 1e6:.3f} ms (SYSCLK {m.sysclk_hz()} Hz)')
        m.usb_reset()
        r = control(0x80, 6, 0x100, 0, 64)
        print('device descriptor (64):', r['status'], r.get('data', b'').hex())
        m.usb_reset()
        print('SET_ADDRESS 1:', control(0, 5, 1, 0, 0)['status'])
        dev = control(0x80, 6, 0x100, 0, 18).get('data', b'')
        print('device descriptor:', dev.hex())
        head = control(0x80, 6, 0x200, 0, 9).get('data', b'')
        cfg = control(0x80, 6, 0x200, 0, head[2] | (head[3] << 8)).get('data', b'') if len(head) >= 4 else b''
        print('configuration:', cfg.hex())
        for i in range(0, 16):
            r = control(0x80, 6, 0x300 | i, 0 if i == 0 else 0x409, 255)
            if r['status'] == 'ok' and len(r.get('data', b'')) >= 2:
                d = r['data']
                text = d[2:].decode('utf-16-le', 'replace') if i else d.hex()
                print(f'string {i}: {text}')
        print('SET_CONFIGURATION 1:', control(0, 9, 1, 0, 0)['status'])
        print(f'done at {m.now_ns / 1e6:.3f} ms')
    except Stop as s:
        print(f'stopped: {s.event}')
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
