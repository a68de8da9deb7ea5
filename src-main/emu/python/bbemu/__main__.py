"""`/usr/bin/python3 -m bbemu`: one emulated board run, driven over stdin/stdout (src-main/emu/README.md).

One JSON object per line each way. The process ends on `{"op":"quit"}`, on stdin EOF (the parent went
away) and on its own limits (address space, wall time per request)."""
from __future__ import annotations

import base64
import json
import os
import resource
import signal
import sys
import time

# Unicorn reserves a 1 GB translation buffer; 3 GB total keeps the process far below what an exception
# storm would take (one probe grew to 16 GB: loader-firmware.md).
AS_LIMIT = int(os.environ.get('BBEMU_AS_LIMIT', str(3 << 30)))
WALL_LIMIT_S = float(os.environ.get('BBEMU_WALL_LIMIT_S', '120'))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode('ascii')


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b''


class Session:
    def __init__(self, out) -> None:
        self.out = out
        self.events: list[dict] = []
        self.machine = None
        self.deadline = 0.0

    def emit(self, ev: dict) -> None:
        if 'data' in ev and isinstance(ev['data'], (bytes, bytearray)):
            ev['data'] = b64(ev['data'])
        self.events.append(ev)

    def reply(self, msg: dict) -> None:
        msg['events'] = self.events
        self.events = []
        if self.machine is not None:
            msg['now'] = self.machine.now_ns
        self.out.write(json.dumps(msg) + '\n')
        self.out.flush()

    def stopped(self, stop) -> None:
        ev = dict(stop.event)
        ev['ev'] = 'stop'
        self.emit(ev)

    def handle(self, req: dict) -> None:
        from .machine import Stop
        op = req.get('op')
        self.deadline = time.monotonic() + WALL_LIMIT_S
        signal.alarm(int(WALL_LIMIT_S) + 5)
        try:
            if op == 'boot':
                self.boot(req)
            elif op == 'bus_reset':
                self.bus_reset(req)
            elif op == 'control':
                self.control(req)
            elif op == 'run':
                self.run(req)
            elif op == 'ram':
                m = self.machine
                self.reply({'re': 'ram', 'data': b64(m.ram())})
            else:
                self.reply({'re': op, 'error': f'unknown op {op!r}'})
        except Stop as s:
            if not any(e.get('ev') == 'stop' for e in self.events):
                self.stopped(s)
            self.reply({'re': op, 'stopped': True})
        finally:
            signal.alarm(0)

    def boot(self, req: dict) -> None:
        from .machine import Machine
        board = dict(req.get('board', {}))
        board['uid'] = unb64(board.get('uid'))
        self.machine = m = Machine(board, self.emit)
        for addr, data in req.get('ram', []):
            m.load_ram(addr, unb64(data))
        for name, chunks in req.get('mem', {}).items():
            mem = m.memory(name)
            for off, data in chunks:
                raw = unb64(data)
                mem.data[off:off + len(raw)] = raw
        m.start_at(req['entry'])
        budget = int(req.get('budget_ns', 5_000_000_000))
        # Until the device connects and then has nothing left to do (waits for the host's reset).
        m.run_until(budget, done=lambda: m.otg.connected and m.otg.idle, stop_when_idle=False)
        state = 'connected' if m.otg.connected else 'silent'
        self.reply({'re': 'boot', 'state': state})

    def bus_reset(self, req: dict) -> None:
        m = self.machine
        m.run_until(max(int(req.get('at', 0)), m.now_ns))
        m.usb_reset()
        self.reply({'re': 'bus_reset', 'connected': m.otg.connected})

    def control(self, req: dict) -> None:
        from .machine import Stop
        m = self.machine
        at = int(req.get('at', 0))
        if at > m.now_ns:
            m.run_until(at)
        start = m.now_ns
        setup = unb64(req['setup'])
        data = unb64(req.get('data')) if req.get('data') is not None else None
        if not m.otg.connected:
            self.reply({'re': 'control', 'status': 'disconnected', 'done': m.now_ns})
            return
        m.otg.host_begin(setup, data)
        budget = int(req.get('budget_ns', 5_000_000_000))
        stop = None
        try:
            m.run_until(start + budget, done=lambda: m.otg.transfer is None or m.otg.transfer['result'] is not None)
        except Stop as s:
            # The run ended in the same slice as the transfer: the answer still stands if it was given.
            if m.otg.transfer is None or m.otg.transfer['result'] is None:
                raise
            stop = s
        result = m.otg.host_result()
        done = m.now_ns
        if result is None:
            m.otg.transfer = None
            self.reply({'re': 'control', 'status': 'timeout', 'done': done})
            return
        msg = {'re': 'control', 'status': result['status'], 'done': done}
        if result.get('data') is not None:
            msg['data'] = b64(result['data'])
        if stop is not None:
            self.stopped(stop)
            self.reply(msg)
            return
        # Let the firmware finish what the transfer started (a leave: disconnect, then the jump).
        try:
            m.run_until(done + int(req.get('after_ns', 2_000_000_000)), stop_when_idle=True)
        except Exception as s:  # noqa: BLE001 - a Stop after the answer is an event, not a failed transfer
            from .machine import Stop
            if not isinstance(s, Stop):
                raise
            self.stopped(s)
        self.reply(msg)

    def run(self, req: dict) -> None:
        m = self.machine
        m.run_until(int(req['until']), stop_when_idle=bool(req.get('idle', False)))
        self.reply({'re': 'run'})


def main() -> int:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    except (ValueError, OSError):
        pass
    signal.signal(signal.SIGALRM, lambda *_: os._exit(70))
    # The parent's end of stdin closing (it exited or unplugged the board) ends this process.
    out = sys.stdout
    sys.stdout = sys.stderr
    session = Session(out)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        if req.get('op') == 'quit':
            break
        session.handle(req)
    return 0


if __name__ == '__main__':
    sys.exit(main())
