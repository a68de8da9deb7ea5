#!/usr/bin/python3
"""Runs a command on a virtual USB bus whose devices are the project's simulated boards.

  /usr/bin/python3 test/harness/vusb.py --board stm32f746[:SERIAL] [--board ...] -- <command...>

umockdev fakes sysfs (what hosts enumerate), usbfs_trap answers open() and the usbfs ioctls, and
every control transfer goes to sim-server.ts (the simulator, in Node). Boards that re-enumerate
(leave DFU, reset) are removed and added again with a new device number. Exits with the command's
code; 96 when the machine lacks something the harness needs (the message says what), 97 on a
harness failure, 124 on --timeout.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import usbfs_trap  # noqa: E402
from usbfs_trap import Missing  # noqa: E402

EXIT_MISSING, EXIT_HARNESS, EXIT_TIMEOUT = 96, 97, 124
TESTBED_ROOTS = []
BUSNUM = 1
HUB_SYSPATH = '/devices/pci0000:00/0000:00:14.0/usb1'
LOG = False


def log(*a):
    if LOG:
        print('[vusb]', *a, file=sys.stderr, flush=True)


def load_umockdev():
    try:
        import gi
        gi.require_version('UMockdev', '1.0')
        from gi.repository import UMockdev
    except (ImportError, ValueError) as e:
        raise Missing(f'umockdev GObject bindings for {sys.executable} ({e}); '
                      'apt-get install -y umockdev libumockdev0 gir1.2-umockdev-1.0 python3-gi, '
                      'and run the harness with /usr/bin/python3')
    if not any(os.path.exists(os.path.join(d, 'libumockdev-preload.so.0'))
               for d in ('/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib')):
        raise Missing('libumockdev-preload.so.0 (apt-get install -y libumockdev0)')
    return UMockdev


# ------------------------------------------------------------------ sysfs entries
def sysfs_text(dev):
    """A umockdev record for one device, from the descriptors the simulator returned. String
    attributes end in a newline, as the kernel writes them."""
    d = dev.device_desc
    bcd_usb, vid, pid, bcd_dev = (int.from_bytes(d[i:i + 2], 'little') for i in (2, 8, 10, 12))
    cfg = dev.configs[0] if dev.configs else b''
    s = dev.strings
    ifaces = sorted({(cfg[i + 5], cfg[i + 6], cfg[i + 7]) for i in _descriptor_offsets(cfg) if cfg[i + 1] == 4})
    def esc(v):
        return v.replace('\\', '\\\\').replace('\n', '\\n')
    lines = [
        f'P: {dev.syspath[len("/sys"):]}',
        f'E: DEVNAME=/dev/bus/usb/{BUSNUM:03d}/{dev.devnum:03d}',
        'E: DEVTYPE=usb_device', 'E: DRIVER=usb', 'E: SUBSYSTEM=usb',
        f'E: PRODUCT={vid:x}/{pid:x}/{bcd_dev:x}',
        f'E: TYPE={d[4]}/{d[5]}/{d[6]}',
        f'E: BUSNUM={BUSNUM:03d}', f'E: DEVNUM={dev.devnum:03d}',
        'E: MAJOR=189', f'E: MINOR={(BUSNUM - 1) * 128 + dev.devnum - 1}',
        f'E: ID_VENDOR_ID={vid:04x}', f'E: ID_MODEL_ID={pid:04x}', f'E: ID_REVISION={bcd_dev:04x}',
        'E: ID_BUS=usb',
        'E: ID_USB_INTERFACES=:' + ''.join(f'{c:02x}{sc:02x}{p:02x}:' for c, sc, p in ifaces),
    ]
    if 'manufacturer' in s:
        lines.append('E: ID_VENDOR=' + s['manufacturer'].replace(' ', '_'))
    if 'product' in s:
        lines.append('E: ID_MODEL=' + s['product'].replace(' ', '_'))
    if 'serial' in s:
        lines.append('E: ID_SERIAL_SHORT=' + s['serial'])
    lines += [
        'A: authorized=1', 'A: avoid_reset_quirk=0',
        f'A: bConfigurationValue={cfg[5] if len(cfg) > 5 else ""}',
        f'A: bDeviceClass={d[4]:02x}', f'A: bDeviceSubClass={d[5]:02x}', f'A: bDeviceProtocol={d[6]:02x}',
        f'A: bMaxPacketSize0={d[7]}', f'A: bNumConfigurations={d[17]}',
        f'A: bNumInterfaces={cfg[4] if len(cfg) > 4 else 0:2d}',
        f'A: bcdDevice={bcd_dev:04x}', f'A: bmAttributes={cfg[7] if len(cfg) > 7 else 0:02x}',
        f'A: bMaxPower={(cfg[8] if len(cfg) > 8 else 0) * 2}mA',
        f'A: busnum={BUSNUM}', f'A: devnum={dev.devnum}', f'A: devpath={dev.port}',
        f'A: dev=189:{(BUSNUM - 1) * 128 + dev.devnum - 1}',
        f'A: idVendor={vid:04x}', f'A: idProduct={pid:04x}',
        'A: maxchild=0', 'A: quirks=0x0', 'A: removable=removable', 'A: speed=12',
        'A: rx_lanes=1', 'A: tx_lanes=1', 'A: ltm_capable=no', 'A: configuration=',
        f'A: version={bcd_usb >> 8:2x}.{bcd_usb & 0xFF:02x}',
        f'H: descriptors={dev.raw_descriptors.hex().upper()}',
    ]
    for key in ('manufacturer', 'product', 'serial'):
        if key in s:
            lines.append(f'A: {key}={esc(s[key])}\\n')
    return '\n'.join(lines) + '\n'


def _descriptor_offsets(blob):
    i = 0
    while i + 1 < len(blob) and blob[i] >= 2:
        yield i
        i += blob[i]


ROOT_HUB = f"""P: {HUB_SYSPATH}
E: DEVNAME=/dev/bus/usb/001/001
E: DEVTYPE=usb_device
E: DRIVER=usb
E: PRODUCT=1d6b/2/612
E: TYPE=9/0/1
E: BUSNUM=001
E: DEVNUM=001
E: MAJOR=189
E: MINOR=0
E: SUBSYSTEM=usb
A: authorized=1
A: bConfigurationValue=1
A: bDeviceClass=09
A: bDeviceProtocol=01
A: bDeviceSubClass=00
A: bMaxPacketSize0=64
A: bNumConfigurations=1
A: bNumInterfaces= 1
A: bcdDevice=0612
A: busnum=1
A: devnum=1
A: devpath=0
A: dev=189:0
A: idProduct=0002
A: idVendor=1d6b
A: manufacturer=Linux virtual-usb\\n
A: maxchild=8
A: product=Virtual Root Hub\\n
A: serial=vusb\\n
A: speed=480
A: version= 2.00
H: descriptors=12010002090001406B1D120601030201010902190001010000E0000904000001090000000705810304000C

P: /devices/pci0000:00/0000:00:14.0
E: DRIVER=xhci_hcd
E: SUBSYSTEM=pci
A: class=0x0c0330
A: vendor=0x8086
A: device=0xa36d
"""


# ------------------------------------------------------------------ devices and the Node link
class Device:
    def __init__(self, bus, handle, board, port, devnum, device_desc, configs, strings):
        self.bus, self.handle, self.board, self.port, self.devnum = bus, handle, board, port, devnum
        self.busnum = BUSNUM
        self.device_desc, self.configs, self.strings = device_desc, configs, strings
        self.raw_descriptors = device_desc + b''.join(configs)
        self.syspath = f'/sys{HUB_SYSPATH}/{BUSNUM}-{port}'
        self.live = True
        self.open_files = []

    def control(self, setup, out):
        return self.bus.control(self, setup, out)


class SimLink:
    """The line protocol to sim-server.ts (README.md): requests carry an id, answers name it with
    're'; events ('added', 'removed', 'ready', 'bye') arrive in the order the simulator made them."""

    def __init__(self, sock):
        self.sock = sock
        self.reader = sock.makefile('rb')
        self.lock = threading.Lock()
        self.next_id = 1
        self.waiting = {}
        self.on_event = None
        self.closed = threading.Event()
        self.bye = threading.Event()

    def read_until_ready(self):
        for line in self.reader:
            msg = json.loads(line)
            if msg.get('ev') == 'ready':
                return
            self.on_event(msg)
        raise RuntimeError('the simulator exited before it was ready (see its messages above)')

    def run(self):
        try:
            for line in self.reader:
                msg = json.loads(line)
                if 're' in msg:
                    slot = self.waiting.pop(msg['re'])
                    slot[1] = msg
                    slot[0].set()
                elif msg.get('ev') == 'bye':
                    self.bye.set()
                else:
                    self.on_event(msg)
        finally:
            self.closed.set()
            for slot in list(self.waiting.values()):
                slot[0].set()

    def request(self, msg):
        done = threading.Event()
        slot = [done, None]
        with self.lock:
            msg['id'] = self.next_id
            self.next_id += 1
            self.waiting[msg['id']] = slot
            self.sock.sendall(json.dumps(msg).encode() + b'\n')
        done.wait()
        if slot[1] is None:
            raise RuntimeError('the simulator went away')
        return slot[1]

    def send(self, msg):
        with self.lock:
            self.sock.sendall(json.dumps(msg).encode() + b'\n')


class Bus:
    def __init__(self, testbed, link):
        self.testbed, self.link = testbed, link
        self.devices = {}    # handle -> Device
        self.lock = threading.Lock()
        self.next_devnum = 2   # 1 is the root hub; the kernel hands out addresses in turn
        link.on_event = self.on_event

    def find(self, busnum, devnum):
        with self.lock:
            for d in self.devices.values():
                if d.busnum == busnum and d.devnum == devnum and d.live:
                    return d
        return None

    def on_event(self, msg):
        ev = msg.get('ev')
        if ev == 'added':
            with self.lock:
                devnum = self.next_devnum
                self.next_devnum = self.next_devnum + 1 if self.next_devnum < 127 else 2
                dev = Device(self, msg['dev'], msg['board'], msg['port'], devnum, bytes.fromhex(msg['device']),
                             [bytes.fromhex(c) for c in msg['configs']], msg['strings'])
                self.devices[dev.handle] = dev
            # No uevent: umockdev sends them through libudev in this process, which sees the real
            # (empty) /sys. Hosts notice the change by enumerating again, as the engine's poll does.
            self.testbed.add_from_string(sysfs_text(dev))
            log('added', dev.syspath, f'devnum {devnum}', dev.strings)
        elif ev == 'removed':
            with self.lock:
                dev = self.devices.pop(msg['dev'], None)
            if dev is None:
                return
            dev.live = False
            for f in dev.open_files:
                f.hang_up()
            self.testbed.remove_device(dev.syspath)
            log('removed', dev.syspath, f'devnum {dev.devnum}')
        elif ev == 'log':
            print('[sim]', msg.get('text'), file=sys.stderr, flush=True)

    def control(self, dev, setup, out):
        if not dev.live:
            return ('disconnected',)
        msg = {'op': 'control', 'dev': dev.handle, 'setup': list(_unpack_setup(setup))}
        if out:
            msg['data'] = base64.b64encode(out).decode()
        log('control', dev.devnum, setup.hex(), out[:16].hex())
        answer = self.link.request(msg)
        if answer['status'] == 'ok':
            data = base64.b64decode(answer['data']) if 'data' in answer else None
            return ('ok', data, answer.get('written'))
        return (answer['status'],)


def _unpack_setup(setup):
    return (setup[0], setup[1], int.from_bytes(setup[2:4], 'little'), int.from_bytes(setup[4:6], 'little'),
            int.from_bytes(setup[6:8], 'little'))


# ------------------------------------------------------------------ main
def bundle_server(out_dir):
    esbuild = os.path.join(REPO, 'node_modules', '.bin', 'esbuild')
    if not os.path.exists(esbuild):
        raise Missing(f'esbuild ({esbuild}); run npm install in the repository')
    out = os.path.join(out_dir, 'sim-server.mjs')
    r = subprocess.run([esbuild, os.path.join(HERE, 'sim-server.ts'), '--bundle', '--platform=node', '--format=esm',
                        '--target=node20', '--external:usb', f'--outfile={out}', '--log-level=warning'], cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError('bundling sim-server.ts failed:\n' + r.stderr)
    return out


def parse_args(argv):
    if '--' not in argv:
        raise SystemExit('usage: vusb.py --board MODEL[:SERIAL] [--board ...] [--state DIR] [--transfers FILE] -- command...')
    i = argv.index('--')
    p = argparse.ArgumentParser(prog='vusb.py', description=__doc__.split('\n')[0])
    p.add_argument('--board', action='append', default=[], help='MODEL[:SERIAL], e.g. stm32f746:TEST0001')
    p.add_argument('--state', help='folder where the simulator keeps non-volatile memory between runs')
    p.add_argument('--transfers', help='write every control transfer the boards saw to this JSON file')
    p.add_argument('--server', help='a prebuilt sim-server bundle (default: bundle sim-server.ts now)')
    p.add_argument('--timeout', type=float, help='kill the command after this many seconds (exit 124)')
    p.add_argument('--log', action='store_true', help='trace opens, ioctls and transfers on stderr')
    opts = p.parse_args(argv[:i])
    opts.command = argv[i + 1:]
    if not opts.command:
        p.error('no command after --')
    return opts


def main(argv):
    global LOG
    opts = parse_args(argv)
    LOG = opts.log or os.environ.get('VUSB_LOG') == '1'
    usbfs_trap.check_kernel()
    UMockdev = load_umockdev()
    if shutil.which('node') is None:
        raise Missing('node (Node.js 20) on PATH')

    work = tempfile.mkdtemp(prefix='vusb-')
    try:
        return run(opts, UMockdev, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for root in TESTBED_ROOTS:   # umockdev leaves its fake /sys behind otherwise
            shutil.rmtree(root, ignore_errors=True)


def run(opts, UMockdev, work):
    server = opts.server or bundle_server(work)
    boards = []
    for spec in opts.board:
        model, _, serial = spec.partition(':')
        boards.append({'model': model, **({'serial': serial} if serial else {})})
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    config = {'boards': boards, 'fd': theirs.fileno()}
    if opts.transfers:
        config['transfersFile'] = os.path.abspath(opts.transfers)
    if opts.state:
        config['stateDir'] = os.path.abspath(opts.state)

    testbed = UMockdev.Testbed.new()
    testbed.add_from_string(ROOT_HUB)
    root = testbed.get_root_dir()
    TESTBED_ROOTS.append(root)
    # No umockdev device nodes and no default ioctl handler: a host's open() of /dev/bus/usb/... must
    # reach the kernel, where the seccomp trap answers it (umockdev would otherwise serve its own file).
    for rel in ('dev/bus/usb/001/001', 'ioctl/_default'):
        try:
            os.unlink(os.path.join(root, rel))
        except FileNotFoundError:
            pass

    node = subprocess.Popen(['node', server, json.dumps(config)], cwd=REPO, stdin=subprocess.DEVNULL,
                            stdout=sys.stderr, pass_fds=(theirs.fileno(),))
    theirs.close()
    link = SimLink(ours)
    bus = Bus(testbed, link)
    try:
        link.read_until_ready()
    except Exception as e:
        node.kill()
        node.wait()
        print(f'vusb: starting the bus failed: {e}', file=sys.stderr)
        return EXIT_HARNESS
    threading.Thread(target=link.run, daemon=True).start()

    env = dict(os.environ)
    env['UMOCKDEV_DIR'] = root
    env['LD_PRELOAD'] = 'libumockdev-preload.so.0' + (':' + env['LD_PRELOAD'] if env.get('LD_PRELOAD') else '')
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    cfd = child_end.fileno()
    child = subprocess.Popen(opts.command, env=env, pass_fds=(cfd,),
                             preexec_fn=lambda: usbfs_trap.child_install_filter(cfd))
    child_end.close()
    try:
        lfd = usbfs_trap.receive_listener(parent_end)
    except Missing:
        child.wait()
        node.kill()
        raise
    trap = usbfs_trap.UsbfsTrap(bus, log)
    threading.Thread(target=trap.serve, args=(lfd,), daemon=True).start()

    def forward(sig, _frame):
        child.send_signal(sig)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    try:
        rc = child.wait(timeout=opts.timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        print(f'vusb: {" ".join(opts.command)} did not finish in {opts.timeout} s', file=sys.stderr)
        rc = EXIT_TIMEOUT
    if rc < 0:
        rc = 128 - rc

    try:
        link.send({'op': 'shutdown'})
        link.bye.wait(10)
    except OSError:
        pass
    try:
        node.wait(10)
    except subprocess.TimeoutExpired:
        node.kill()
    if link.closed.is_set() and not link.bye.is_set():
        print('vusb: the simulator exited early (see its messages above)', file=sys.stderr)
        return EXIT_HARNESS if rc == 0 else rc
    return rc


def exit_now(code):
    # os._exit: the testbed's root is already removed, and GObject finalizers run at interpreter exit
    # would trip over it (GLib aborts with SIGTRAP); daemon threads may still sit in blocking calls.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == '__main__':
    try:
        exit_now(main(sys.argv[1:]))
    except Missing as e:
        print(f'vusb: missing: {e}', file=sys.stderr)
        exit_now(EXIT_MISSING)
    except RuntimeError as e:
        print(f'vusb: {e}', file=sys.stderr)
        exit_now(EXIT_HARNESS)
