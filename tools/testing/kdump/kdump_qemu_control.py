# SPDX-License-Identifier: GPL-2.0
"""Clients for a running qemu-system-*: QMP and the gdbstub, over the unix
sockets kdump_qemu.Guest creates. The runner needs what no guest-side tool
gives: a copy of guest physical memory taken from outside (QMP pmemsave),
and changes to it behind the guest's back (gdbstub, physical-memory mode).
"""

import json
import os
import socket
import time


class QemuControlError(Exception):
    """A QMP or gdbstub operation failed; the message says which one."""


def _connect(path, timeout, what):
    """Connect to a unix socket path, or adopt a connected socket (tests)."""
    if isinstance(path, socket.socket):
        return path
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(os.fspath(path))
    except OSError as e:
        s.close()
        raise QemuControlError(f"{what}: cannot connect to {path}: {e}")
    return s


def _io(sock, deadline, what, data=None):
    """sendall(data), or one recv() if data is None, bounded by the deadline
    so a silent QEMU cannot hang us; EOF is an error (both protocols are
    request/reply) and every error names the operation."""
    sock.settimeout(max(deadline - time.monotonic(), 0.001))
    try:
        got = sock.recv(65536) if data is None else sock.sendall(data)
    except OSError as e:
        why = "timed out" if isinstance(e, socket.timeout) else e
        raise QemuControlError(f"{what}: {why}") from None
    if data is None and not got:
        raise QemuControlError(f"{what}: QEMU closed the connection")
    return got


class _Client:
    """What both clients share: one socket, closed by close() or `with`."""
    _sock = None

    def close(self):
        """Drop the connection (idempotent)."""
        if self._sock:
            self._sock.close()
            self._sock = None

    def __enter__(self):
        """`with` gives the client itself."""
        return self

    def __exit__(self, *exc):
        """Leaving `with` closes the connection."""
        self.close()


class Qmp(_Client):
    """A QMP monitor client: one command at a time, events skipped."""

    def __init__(self, path, timeout=30.0):
        """Connect and negotiate capabilities (else QEMU refuses commands)."""
        self.timeout, self._buf, self._id = timeout, b"", 0
        self._sock = _connect(path, timeout, "QMP")
        try:
            if "QMP" not in self._message(time.monotonic() + timeout,
                                          "greeting"):
                raise QemuControlError(f"QMP: no greeting on {path}")
            self.command("qmp_capabilities")
        except BaseException:
            self.close()
            raise

    def _message(self, deadline, what):
        """The next JSON object (QMP sends one per line)."""
        while b"\n" not in self._buf:
            self._buf += _io(self._sock, deadline, f"QMP {what}")
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            raise QemuControlError(f"QMP {what}: bad JSON {line!r}") from None

    def execute(self, name, args=None, timeout=None):
        """Run `name`, return its "return" value or raise on "error"; events
        (STOP, RESUME...) and replies with another id are skipped."""
        self._id += 1
        msg = json.dumps({"execute": name, "arguments": args or {},
                          "id": self._id}).encode() + b"\n"
        deadline = time.monotonic() + (timeout or self.timeout)
        _io(self._sock, deadline, f"QMP {name}", msg)
        while True:
            reply = self._message(deadline, name)
            if "event" in reply or reply.get("id") != self._id:
                continue
            if "error" in reply:
                e = reply["error"]
                raise QemuControlError(f"QMP {name} {args or {}} failed: "
                                       f"{e.get('class')}: {e.get('desc')}")
            return reply.get("return")

    def command(self, name, /, **args):
        """Generic command; use **{"cpu-index": 0} for hyphenated names."""
        return self.execute(name, args)

    def pmemsave(self, addr, size, path, timeout=None):
        """Save guest PHYSICAL memory [addr, addr+size) to host file `path`.
        QEMU opens the file itself, so the path is made absolute; the
        default timeout grows with the size (at least 16 MiB/s)."""
        if timeout is None:
            timeout = self.timeout + size / (16 << 20)
        self.execute("pmemsave", {"val": addr, "size": size,
                                  "filename": os.path.abspath(path)}, timeout)


def checksum(data):
    """The remote protocol's checksum: byte sum modulo 256."""
    return sum(data) & 0xFF


def frame(data):
    """A packet on the wire: $data#cs."""
    data = data.encode() if isinstance(data, str) else data
    return b"$" + data + b"#%02x" % checksum(data)


def decode(body):
    """Undo the '}' escape and the run-length encoding 'X*n' (X repeated
    n - 29 more times) that a stub may apply to a reply."""
    out, i = bytearray(), 0
    while i < len(body):
        c, nxt = body[i], body[i + 1:i + 2]
        if c == 0x7D and nxt:  # '}': the next byte XOR 0x20
            out.append(nxt[0] ^ 0x20)
        elif c == 0x2A and out and nxt:  # '*': repeat the previous byte
            out += out[-1:] * (nxt[0] - 29)
        else:
            out.append(c)
            i -= 1
        i += 2
    return bytes(out)


def _ishex(b):
    """Only hex digits (QEMU sends lowercase, other stubs may not)."""
    return all(c in b"0123456789abcdefABCDEF" for c in b)


def is_error(reply):
    """'Enn' or 'E.text'; a hex memory reply always has an even length."""
    return reply[:2] == b"E." or (len(reply) == 3 and reply[:1] == b"E"
                                  and _ishex(reply[1:]))


class GdbStub(_Client):
    """Just enough of the GDB remote protocol for guest physical memory.
    Connecting stops the VM; detach() (also on leaving `with`) resumes it,
    even one started with -S; close() alone leaves it paused (QEMU 7.2)."""

    def __init__(self, path, timeout=10.0):
        """Connect, learn the packet size, and switch to physical addresses
        (else m/M go through the current CPU's page tables)."""
        self.timeout, self._buf, self._pos = timeout, b"", 0
        self._sock = _connect(path, timeout, "gdbstub")
        try:
            self.packet_size = 4096  # QEMU's, if qSupported does not say
            for feat in self.transact("qSupported").split(b";"):
                if feat.startswith(b"PacketSize="):
                    self.packet_size = int(feat[11:], 16)
            reply = self.transact("Qqemu.PhyMemMode:1")
            if reply != b"OK":
                raise QemuControlError(
                    f"gdbstub: Qqemu.PhyMemMode:1 answered {reply!r}: this "
                    f"QEMU cannot access physical memory (needs QEMU >= 4.1)")
        except BaseException:
            self.close()
            raise
        # Room for "M<addr>,<len>:" and the framing; whole 16-byte lines.
        self.chunk = max(16, (self.packet_size - 48) // 2 & ~15)

    def _byte(self, deadline, what):
        """The next byte from the stub, buffered."""
        if self._pos >= len(self._buf):
            self._buf, self._pos = _io(self._sock, deadline, what), 0
        self._pos += 1
        return self._buf[self._pos - 1]

    def transact(self, data, what=None):
        """Send one packet (again on '-') and return the decoded reply, acked
        with '+'; a reply with a bad checksum is NAKed so it comes again."""
        what = "gdbstub " + (what or data.split(":")[0][:24])
        deadline = time.monotonic() + self.timeout
        ack = None
        while ack != ord("+"):  # '-': send it again (until the deadline)
            _io(self._sock, deadline, what, frame(data))
            while (ack := self._byte(deadline, what)) not in b"+-":
                pass
        while True:
            while self._byte(deadline, what) != ord("$"):
                pass
            body = bytearray()
            while (c := self._byte(deadline, what)) != ord("#"):
                body.append(c)
            cs = bytes(self._byte(deadline, what) for _ in range(2))
            ok = _ishex(cs) and int(cs, 16) == checksum(body)
            _io(self._sock, deadline, what, b"+" if ok else b"-")
            if ok:
                return decode(bytes(body))

    def _check(self, reply, what, want=None):
        """Raise if the stub answered with an error (or not with `want`)."""
        if is_error(reply) or want not in (None, reply):
            raise QemuControlError(f"gdbstub {what}: stub replied "
                                   f"{reply.decode(errors='replace')!r}")
        return reply

    def read_phys(self, addr, n):
        """n bytes of guest physical memory at addr, in packet-size chunks."""
        out = bytearray()
        while len(out) < n:
            at, ask = addr + len(out), min(self.chunk, n - len(out))
            what = f"read of {ask} bytes at {at:#x}"
            reply = self._check(self.transact(f"m{at:x},{ask:x}", what), what)
            if not (_ishex(reply) and 0 < len(reply) <= 2 * ask
                    and len(reply) % 2 == 0):
                raise QemuControlError(f"gdbstub {what}: bad reply "
                                       f"{reply[:40]!r}")
            out += bytes.fromhex(reply.decode())
        return bytes(out)

    def write_phys(self, addr, data):
        """Write bytes to guest physical memory at addr, in chunks."""
        for off in range(0, len(data), self.chunk):
            part, at = data[off:off + self.chunk], addr + off
            what = f"write of {len(part)} bytes at {at:#x}"
            reply = self.transact(f"M{at:x},{len(part):x}:{part.hex()}", what)
            self._check(reply, what, b"OK")

    def detach(self):
        """'D' lets the VM run again; the socket is closed either way."""
        try:
            if self._sock:
                self._check(self.transact("D", "detach"), "detach", b"OK")
        finally:
            self.close()

    def __exit__(self, exc_type, *exc):
        """Always detach, without hiding the exception that got us here."""
        try:
            self.detach()
        except QemuControlError:
            if exc_type is None:
                raise
