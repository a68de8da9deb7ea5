"""The kernel's usbfs, answered from user space: a seccomp user-notification filter traps open() of
/dev/bus/usb/BBB/DDD and every usbfs ioctl ('U') of the child, and this module answers them for
the simulated devices. Needed because `usb` v3 (nusb) opens the node and issues ioctls with raw
system calls that umockdev's LD_PRELOAD cannot see; libusb users (dfu-util) go through it too.
"""
import ctypes
import errno
import fcntl
import os
import socket
import struct
import sys
import threading

libc = ctypes.CDLL(None, use_errno=True)

# x86-64 system call numbers and seccomp ABI (include/uapi/linux/seccomp.h).
SYS_SECCOMP = 317
NR_OPEN, NR_OPENAT, NR_IOCTL, NR_LSEEK, NR_OPENAT2 = 2, 257, 16, 8, 437
AUDIT_ARCH_X86_64 = 0xC000003E
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_USER_NOTIF = 0x7FC00000
SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1
SECCOMP_ADDFD_FLAG_SEND = 1 << 1
PR_SET_NO_NEW_PRIVS = 38


def _ioc(direction, typ, nr, size):
    return (direction << 30) | (size << 16) | (ord(typ) << 8) | nr


NOTIF_RECV = _ioc(3, '!', 0, 80)    # struct seccomp_notif
NOTIF_SEND = _ioc(3, '!', 1, 24)    # struct seccomp_notif_resp
NOTIF_ADDFD = _ioc(1, '!', 3, 24)   # struct seccomp_notif_addfd

# usbfs ioctls (include/uapi/linux/usbdevice_fs.h), x86-64 sizes.
CONTROL = _ioc(3, 'U', 0, 24)
SETINTERFACE = _ioc(2, 'U', 4, 8)
SETCONFIGURATION = _ioc(2, 'U', 5, 4)
GETDRIVER = _ioc(1, 'U', 8, 260)
SUBMITURB = _ioc(2, 'U', 10, 56)
DISCARDURB = _ioc(0, 'U', 11, 0)
REAPURB = _ioc(1, 'U', 12, 8)
REAPURBNDELAY = _ioc(1, 'U', 13, 8)
CLAIMINTERFACE = _ioc(2, 'U', 15, 4)
RELEASEINTERFACE = _ioc(2, 'U', 16, 4)
CONNECTINFO = _ioc(1, 'U', 17, 8)
IOCTL = _ioc(3, 'U', 18, 16)
RESET = _ioc(0, 'U', 20, 0)
CLEAR_HALT = _ioc(2, 'U', 21, 4)
DISCONNECT = _ioc(0, 'U', 22, 0)
CONNECT = _ioc(0, 'U', 23, 0)
GET_CAPABILITIES = _ioc(2, 'U', 26, 4)
DISCONNECT_CLAIM = _ioc(2, 'U', 27, 264)
DROP_PRIVILEGES = _ioc(1, 'U', 30, 4)
GET_SPEED = _ioc(0, 'U', 31, 0)
CONNINFO_EX_NR = 32
IOCTL_NAMES = {v: k for k, v in dict(globals()).items() if isinstance(v, int) and k.isupper() and (v >> 8) & 0xFF == ord('U')}

URB_TYPE_CONTROL = 2
# drivers/usb/core/devio.c proc_control: `if (wLength > PAGE_SIZE) return -EINVAL;` — USBDEVFS_CONTROL
# carries at most one page of data (the kernel bounces it through one page, __get_free_page). A control
# URB (USBDEVFS_SUBMITURB) has no such limit in the kernel: proc_do_submiturb checks only that the
# buffer holds the 8-byte setup packet and wLength bytes (and the usbfs memory limit, 16 MB by default);
# the 4096-byte limit of libusb (os/linux_usbfs.c MAX_CTRL_BUFFER_LENGTH) is enforced by libusb itself,
# in the host program, before anything reaches the kernel.
PAGE_SIZE = os.sysconf('SC_PAGE_SIZE')
USB_SPEED_FULL = 2
# ZERO_PACKET | BULK_CONTINUATION | NO_PACKET_SIZE_LIM | REAP_AFTER_DISCONNECT; no MMAP, so hosts use
# plain buffers the trap can read and write.
CAPABILITIES = 0x01 | 0x02 | 0x04 | 0x10


class Missing(Exception):
    """The machine lacks something the harness needs; the message says what."""


def check_kernel():
    if os.uname().machine != 'x86_64':
        raise Missing(f'the usbfs trap is written for x86-64 system calls; this machine is {os.uname().machine}')
    rel = os.uname().release.split('-')[0].split('.')
    major, minor = int(rel[0]), int(rel[1]) if len(rel) > 1 and rel[1].isdigit() else 0
    if (major, minor) < (5, 14):
        raise Missing(f'Linux >= 5.14 (seccomp user notification with SECCOMP_ADDFD_FLAG_SEND); this kernel is {os.uname().release}')


def _filter_program():
    def stmt(code, k):
        return struct.pack('=HBBI', code, 0, 0, k)

    def jeq(k, jt, jf):
        return struct.pack('=HBBI', 0x15, jt, jf, k)
    ld, ret, and_ = 0x20, 0x06, 0x54
    insns = [
        stmt(ld, 4),                               # 0: arch
        jeq(AUDIT_ARCH_X86_64, 1, 0),              # 1
        stmt(ret, SECCOMP_RET_ALLOW),              # 2
        stmt(ld, 0),                               # 3: nr
        jeq(NR_OPEN, 8, 0),                        # 4 -> 13
        jeq(NR_OPENAT, 7, 0),                      # 5 -> 13
        jeq(NR_OPENAT2, 6, 0),                     # 6 -> 13
        jeq(NR_LSEEK, 5, 0),                       # 7 -> 13
        jeq(NR_IOCTL, 1, 0),                       # 8 -> 10
        stmt(ret, SECCOMP_RET_ALLOW),              # 9
        stmt(ld, 24),                              # 10: low half of args[1], the ioctl request
        stmt(and_, 0xFF00),                        # 11: its type byte
        jeq(ord('U') << 8, 0, 1),                  # 12: usbfs -> 13, else 14
        stmt(ret, SECCOMP_RET_USER_NOTIF),         # 13
        stmt(ret, SECCOMP_RET_ALLOW),              # 14
    ]
    return b''.join(insns)


def child_install_filter(sock_fd):
    """Runs in the forked child before exec: installs the filter and hands the listener fd to the
    parent over sock_fd ('L' + fd), or reports why it could not ('E' + errno)."""
    s = socket.socket(fileno=sock_fd)
    try:
        prog_bytes = _filter_program()
        buf = ctypes.create_string_buffer(prog_bytes, len(prog_bytes))

        class SockFprog(ctypes.Structure):
            _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]
        prog = SockFprog(len(prog_bytes) // 8, ctypes.cast(buf, ctypes.c_void_p))
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            s.send(b'Eprctl:%d' % ctypes.get_errno())
            os._exit(96)
        lfd = libc.syscall(SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, ctypes.byref(prog))
        if lfd < 0:
            s.send(b'Eseccomp:%d' % ctypes.get_errno())
            os._exit(96)
        socket.send_fds(s, [b'L'], [lfd])
        os.close(lfd)
    finally:
        s.close()   # the command does not inherit it


def receive_listener(parent_sock):
    msg, fds, _, _ = socket.recv_fds(parent_sock, 64, 1)
    if msg.startswith(b'L') and fds:
        return fds[0]
    if msg.startswith(b'E'):
        what, _, num = msg[1:].decode().partition(':')
        raise Missing(f'{what} failed in the child ({errno.errorcode.get(int(num), num)}): '
                      'seccomp user notification (SECCOMP_FILTER_FLAG_NEW_LISTENER) is not available '
                      '(kernel without CONFIG_SECCOMP_FILTER, or seccomp blocked by the container)')
    raise Missing('the child exited before installing the seccomp filter')


# ------------------------------------------------------------------ the child's memory
class _IoVec(ctypes.Structure):
    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]


libc.process_vm_readv.restype = ctypes.c_ssize_t
libc.process_vm_writev.restype = ctypes.c_ssize_t


def mem_read(pid, addr, n):
    if n == 0:
        return b''
    buf = ctypes.create_string_buffer(n)
    local, remote = _IoVec(ctypes.cast(buf, ctypes.c_void_p), n), _IoVec(addr, n)
    got = libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    if got != n:
        raise OSError(ctypes.get_errno(), f'process_vm_readv {pid} {addr:#x}+{n}')
    return buf.raw


def mem_write(pid, addr, data):
    if not data:
        return
    buf = ctypes.create_string_buffer(bytes(data), len(data))
    local, remote = _IoVec(ctypes.cast(buf, ctypes.c_void_p), len(data)), _IoVec(addr, len(data))
    put = libc.process_vm_writev(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    if put != len(data):
        raise OSError(ctypes.get_errno(), f'process_vm_writev {pid} {addr:#x}+{len(data)}')


def read_path(pid, addr):
    out = b''
    while len(out) < 4096:
        chunk_len = 256 - (addr + len(out)) % 256    # never cross into an unmapped page
        chunk = mem_read(pid, addr + len(out), chunk_len)
        end = chunk.find(b'\0')
        if end >= 0:
            return out + chunk[:end]
        out += chunk
    return out


# ------------------------------------------------------------------ open device files
class OpenFile:
    """One open() of a device node. The child gets one end of a socketpair: reading it yields the
    descriptors (as usbfs does), and it polls writable exactly while a URB waits to be reaped (usbfs
    signals URB completion with POLLOUT). A removed device closes the peer: the child sees POLLHUP."""

    def __init__(self, device):
        self.device = device
        self.child_end, self.peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.child_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        self.peer.sendall(device.raw_descriptors)
        self.peer.shutdown(socket.SHUT_WR)
        self.inode = os.fstat(self.child_end.fileno()).st_ino
        self.reapable = []
        self.lock = threading.Lock()
        self.gone = False
        # We keep our copy of the child's end: filling its send buffer is how "not writable" is made.
        self._signal(False)

    def _signal(self, ready):
        if self.gone:
            return
        if ready:
            try:
                while self.peer.recv(65536, socket.MSG_DONTWAIT):
                    pass
            except BlockingIOError:
                pass
        else:
            try:
                while True:
                    self.child_end.send(b'\0' * 4096, socket.MSG_DONTWAIT)
            except BlockingIOError:
                pass

    def complete(self, urb_addr):
        with self.lock:
            self.reapable.append(urb_addr)
            self._signal(True)

    def reap(self):
        with self.lock:
            if not self.reapable:
                return None
            addr = self.reapable.pop(0)
            if not self.reapable:
                self._signal(False)
            return addr

    def hang_up(self):
        with self.lock:
            self.gone = True
            try:
                self.peer.close()
            except OSError:
                pass



# ------------------------------------------------------------------ the trap
class UsbfsTrap:
    """bus must provide: find(busnum, devnum) -> device or None. A device has: busnum, devnum, live,
    raw_descriptors, control(setup: bytes, out: bytes) -> ('ok', data|None, written|None) |
    ('stall',) | ('disconnected',), and open_files (a list the trap appends to)."""

    def __init__(self, bus, log=None):
        self.bus = bus
        self.log = log or (lambda *a: None)
        self.files = {}   # socket inode -> OpenFile

    # ---- responses
    def _send(self, lfd, nid, val=0, err=0, cont=False):
        resp = struct.pack('=QqiI', nid, val, -err if err else 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE if cont else 0)
        try:
            fcntl.ioctl(lfd, NOTIF_SEND, resp)
        except OSError as e:
            if e.errno != errno.ENOENT:   # the syscall was interrupted or the thread died
                raise

    def _file_of(self, tid, fd):
        try:
            link = os.readlink(f'/proc/{tid}/fd/{fd}')
        except OSError:
            return None
        if not link.startswith('socket:['):
            return None
        return self.files.get(int(link[8:-1]))

    def serve(self, lfd):
        while True:
            buf = bytearray(80)   # the kernel insists on a zeroed struct seccomp_notif
            try:
                fcntl.ioctl(lfd, NOTIF_RECV, buf, True)
            except OSError as e:
                if e.errno in (errno.EINTR, errno.ENOENT):
                    continue
                if e.errno != errno.ENOTCONN:
                    print(f'vusb: seccomp listener failed: {e}', file=sys.stderr)
                return   # every trapped process is gone
            nid, tid, _flags, nr, _arch, _ip = struct.unpack_from('=QIIiIQ', buf, 0)
            args = struct.unpack_from('=6Q', buf, 32)
            try:
                self._dispatch(lfd, nid, tid, nr, args)
            except Exception as e:   # keep serving: a dead child thread must not stop the bus
                if not (isinstance(e, OSError) and e.errno in (errno.ESRCH, errno.EFAULT)):
                    import traceback
                    traceback.print_exc()
                self._send(lfd, nid, err=errno.EIO)

    def _dispatch(self, lfd, nid, tid, nr, args):
        if nr in (NR_OPEN, NR_OPENAT, NR_OPENAT2):
            path = read_path(tid, args[0] if nr == NR_OPEN else args[1])
            if not path.startswith(b'/dev/bus/usb/'):
                return self._send(lfd, nid, cont=True)
            parts = path.decode(errors='replace').split('/')
            try:
                busnum, devnum = int(parts[4]), int(parts[5])
            except (IndexError, ValueError):
                return self._send(lfd, nid, err=errno.ENOENT)
            device = self.bus.find(busnum, devnum)
            if device is None or not device.live:
                self.log('open', path.decode(), '-> ENOENT')
                return self._send(lfd, nid, err=errno.ENOENT)
            f = OpenFile(device)
            self.files[f.inode] = f
            device.open_files.append(f)
            flags = args[2] if nr != NR_OPENAT2 else struct.unpack('=Q', mem_read(tid, args[2], 8))[0]
            addfd = struct.pack('=QIIII', nid, SECCOMP_ADDFD_FLAG_SEND, f.child_end.fileno(), 0, os.O_CLOEXEC & flags)
            try:
                fcntl.ioctl(lfd, NOTIF_ADDFD, addfd)
            except OSError as e:
                if e.errno != errno.ENOENT:
                    raise
            self.log('open', path.decode())
            return None
        if nr == NR_LSEEK:
            if self._file_of(tid, args[0]) is None:
                return self._send(lfd, nid, cont=True)
            return self._send(lfd, nid, val=0)   # nusb rewinds before reading descriptors
        if nr == NR_IOCTL:
            f = self._file_of(tid, args[0])
            if f is None:
                return self._send(lfd, nid, cont=True)
            val, err = self._ioctl(f, tid, args[1] & 0xFFFFFFFF, args[2])
            return self._send(lfd, nid, val=val, err=err)
        return self._send(lfd, nid, cont=True)

    # ---- usbfs (drivers/usb/core/devio.c semantics)
    def _ioctl(self, f, tid, req, arg):
        dev = f.device
        name = IOCTL_NAMES.get(req, hex(req))
        self.log('ioctl', name, f'dev {dev.busnum:03d}/{dev.devnum:03d}')
        if not dev.live and req not in (REAPURB, REAPURBNDELAY, RELEASEINTERFACE, DISCARDURB):
            return -1, errno.ENODEV
        if req == SUBMITURB:
            typ, _ep, _st, _fl, bufp, buflen = struct.unpack('=BBxxiIxxxxQi', mem_read(tid, arg, 28))
            if typ != URB_TYPE_CONTROL or buflen < 8:
                return -1, errno.EINVAL
            setup = mem_read(tid, bufp, 8)
            wlength = struct.unpack_from('<H', setup, 6)[0]
            if buflen < wlength + 8:   # devio.c proc_do_submiturb: the buffer must hold the data stage
                return -1, errno.EINVAL
            is_in = setup[0] & 0x80
            out = b'' if is_in else mem_read(tid, bufp + 8, min(wlength, buflen - 8))
            answer = dev.control(setup, out)
            status, actual = 0, 0
            if answer[0] == 'ok':
                if is_in:
                    data = (answer[1] or b'')[:min(wlength, buflen - 8)]
                    mem_write(tid, bufp + 8, data)
                    actual = len(data)
                else:
                    actual = answer[2] if answer[2] is not None else len(out)
            elif answer[0] == 'stall':
                status = -errno.EPIPE
            else:
                status = -errno.ESHUTDOWN   # the device left mid-transfer
            mem_write(tid, arg + 4, struct.pack('<i', status))
            mem_write(tid, arg + 28, struct.pack('<i', actual))
            f.complete(arg)
            return 0, 0
        if req in (REAPURB, REAPURBNDELAY):
            addr = f.reap()
            if addr is None:
                return -1, (errno.ENODEV if not dev.live else errno.EAGAIN)
            mem_write(tid, arg, struct.pack('<Q', addr))
            return 0, 0
        if req == DISCARDURB:
            return -1, errno.EINVAL   # every URB completes at submission
        if req == CONTROL:
            raw = mem_read(tid, arg, 24)
            wlength = struct.unpack_from('<H', raw, 6)[0]
            if wlength > PAGE_SIZE:   # devio.c proc_control (see PAGE_SIZE above)
                self.log('CONTROL', f'wLength {wlength} > PAGE_SIZE {PAGE_SIZE} -> EINVAL')
                return -1, errno.EINVAL
            dptr = struct.unpack_from('<Q', raw, 16)[0]
            is_in = raw[0] & 0x80
            out = b'' if is_in or not wlength else mem_read(tid, dptr, wlength)
            answer = dev.control(raw[:8], out)
            if answer[0] == 'stall':
                return -1, errno.EPIPE
            if answer[0] != 'ok':
                return -1, errno.ENODEV
            if is_in:
                data = (answer[1] or b'')[:wlength]
                mem_write(tid, dptr, data)
                return len(data), 0
            return (answer[2] if answer[2] is not None else wlength), 0
        if req == SETINTERFACE:
            # The kernel sends SET_INTERFACE to the device (USB 2.0 §9.4.10), so the board learns the alt.
            intf, alt = struct.unpack('<II', mem_read(tid, arg, 8))
            answer = dev.control(struct.pack('<BBHHH', 0x01, 11, alt, intf, 0), b'')
            return (0, 0) if answer[0] == 'ok' else (-1, errno.EPIPE if answer[0] == 'stall' else errno.ENODEV)
        if req == SETCONFIGURATION:
            (value,) = struct.unpack('<i', mem_read(tid, arg, 4))
            answer = dev.control(struct.pack('<BBHHH', 0x00, 9, value & 0xFF, 0, 0), b'')
            return (0, 0) if answer[0] == 'ok' else (-1, errno.EPIPE if answer[0] == 'stall' else errno.ENODEV)
        if req == GET_CAPABILITIES:
            mem_write(tid, arg, struct.pack('<I', CAPABILITIES))
            return 0, 0
        if req == GET_SPEED:
            return USB_SPEED_FULL, 0
        if req == CONNECTINFO:
            mem_write(tid, arg, struct.pack('<IB3x', dev.devnum, 0))
            return 0, 0
        if (req & 0xC000FFFF) == _ioc(2, 'U', CONNINFO_EX_NR, 0):
            size = (req >> 16) & 0x3FFF
            ports = bytes([dev.port]) + bytes(6)
            info = struct.pack('<IIIIB7s', 24, dev.busnum, dev.devnum, USB_SPEED_FULL, 1, ports)
            mem_write(tid, arg, info[:size])
            return min(size, len(info)), 0
        if req in (GETDRIVER, IOCTL):
            return -1, errno.ENODATA   # no kernel driver is bound to a DFU interface
        if req in (CLAIMINTERFACE, RELEASEINTERFACE, DISCONNECT_CLAIM, CLEAR_HALT, RESET, DROP_PRIVILEGES,
                   DISCONNECT, CONNECT):
            return 0, 0
        self.log('unhandled ioctl', name)
        return -1, errno.ENOTTY
