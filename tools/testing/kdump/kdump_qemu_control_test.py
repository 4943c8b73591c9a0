#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of kdump_qemu_control.

The offline tests talk to a fake QEMU: one end of a socketpair with the
replies written into it beforehand, the other end handed to the client.
The live tests start a real qemu-system-x86_64 (TCG, no kernel: SeaBIOS
runs and idles) and only run with KDUMP_QEMU_LIVE=1; otherwise unittest
reports them as skipped.

    python3 kdump_qemu_control_test.py -v
    KDUMP_QEMU_LIVE=1 python3 kdump_qemu_control_test.py -v
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kdump_qemu_control import (GdbStub, Qmp, QemuControlError, checksum,
                                decode, frame, is_error)


def pkt(body):
    return frame(body)


class PacketTest(unittest.TestCase):
    def test_checksum_and_frame(self):
        self.assertEqual(checksum(b""), 0)
        self.assertEqual(checksum(b"OK"), 0x9A)
        self.assertEqual(frame("OK"), b"$OK#9a")
        self.assertEqual(frame(b"E22"), b"$E22#a9")
        self.assertEqual(frame("m2000000,40"),
                         b"$m2000000,40#%02x" % (sum(b"m2000000,40") % 256))
        # the sum wraps modulo 256
        self.assertEqual(frame(b"\xff\x02"), b"$\xff\x02#01")

    def test_rle(self):
        # "0* " is '0' plus ord(' ') - 29 = 3 repeats
        self.assertEqual(decode(b"0* "), b"0000")
        self.assertEqual(decode(b"ab*\"c"), b"abbbbbbc")
        self.assertEqual(decode(b"12*!"), b"122222")
        self.assertEqual(decode(b"OK"), b"OK")

    def test_escape(self):
        self.assertEqual(decode(b"a}]b"), b"a}b")
        self.assertEqual(decode(b"}\x03}\x04"), b"#$")

    def test_is_error(self):
        for r in (b"E22", b"E01", b"E.bad address"):
            self.assertTrue(is_error(r), r)
        for r in (b"", b"OK", b"e1", b"E1", b"E1a0", b"ee22", b"0e22"):
            self.assertFalse(is_error(r), r)


class FakeGdb(unittest.TestCase):
    """The stub side is prewritten: '+' acks and framed replies."""

    def setUp(self):
        self.ours, self.theirs = socket.socketpair()
        self.addCleanup(self.ours.close)
        self.addCleanup(self.theirs.close)

    def feed(self, *chunks):
        self.ours.sendall(b"".join(chunks))

    def sent(self):
        self.ours.settimeout(0.2)
        out = b""
        try:
            while True:
                d = self.ours.recv(65536)
                if not d:
                    break
                out += d
        except socket.timeout:
            pass
        return out

    def stub(self, packet_size=0x40):
        self.feed(b"+", pkt(f"PacketSize={packet_size:x};qXfer:features:"
                            f"read+"), b"+", pkt("OK"))
        g = GdbStub(self.theirs, timeout=2)
        self.assertEqual(self.sent(), pkt("qSupported") + b"+" +
                         pkt("Qqemu.PhyMemMode:1") + b"+")
        return g

    def test_handshake_chunk(self):
        g = self.stub(0x40)
        self.assertEqual((g.packet_size, g.chunk), (64, 16))
        self.assertEqual(self.stub(0x1000).chunk, 2016)

    def test_no_phymemmode(self):
        self.feed(b"+", pkt("PacketSize=1000"), b"+", pkt(""))
        with self.assertRaisesRegex(QemuControlError, "PhyMemMode.*too old|"
                                    "PhyMemMode.*QEMU >= 4.1"):
            GdbStub(self.theirs, timeout=2)

    def test_read_chunked_hex(self):
        g = self.stub()
        data = bytes(range(200, 240))
        self.feed(b"+", pkt(data[:16].hex()), b"+", pkt(data[16:32].hex()),
                  b"+", pkt(data[32:].hex().upper()))
        self.assertEqual(g.read_phys(0x2000000, 40), data)
        self.assertEqual(self.sent(), pkt("m2000000,10") + b"+" +
                         pkt("m2000010,10") + b"+" + pkt("m2000020,8") + b"+")

    def test_read_rle_reply(self):
        g = self.stub()
        # "0*(" is '0' plus ord('(') - 29 = 11 repeats: six zero bytes
        body = b"ab0*(cd"
        self.feed(b"+", b"$" + body + b"#%02x" % checksum(body))
        self.assertEqual(g.read_phys(0x1000, 8), b"\xab" + bytes(6) + b"\xcd")

    def test_write_chunked_hex(self):
        g = self.stub()
        data = bytes(range(20))
        self.feed(b"+", pkt("OK"), b"+", pkt("OK"))
        g.write_phys(0xABC, data)
        self.assertEqual(self.sent(), pkt("Mabc,10:" + data[:16].hex()) +
                         b"+" + pkt("Macc,4:" + data[16:].hex()) + b"+")

    def test_error_replies(self):
        g = self.stub()
        self.feed(b"+", pkt("E14"))
        with self.assertRaisesRegex(QemuControlError,
                                    r"read of 4 bytes at 0x10: .*E14"):
            g.read_phys(0x10, 4)
        self.feed(b"+", pkt("E.no memory"))
        with self.assertRaisesRegex(QemuControlError, r"write .*E\.no"):
            g.write_phys(0x20, b"x")

    def test_bad_read_replies(self):
        g = self.stub()
        for bad in ("abc", "zz", "", "00112233445566778899"):
            self.feed(b"+", pkt(bad))
            with self.assertRaisesRegex(QemuControlError,
                                        "read of 4 bytes at 0x10: bad reply"):
                g.read_phys(0x10, 4)

    def test_nak_resend_and_bad_checksum(self):
        g = self.stub()
        # the stub NAKs our packet once; then its reply arrives corrupted
        self.feed(b"-", b"+", b"$OK#00", b"$OK#9a")
        self.assertEqual(g.transact("D"), b"OK")
        self.assertEqual(self.sent(), pkt("D") + pkt("D") + b"-+")

    def test_timeout_names_operation(self):
        g = self.stub()
        g.timeout = 0.3
        t = time.monotonic()
        with self.assertRaisesRegex(QemuControlError,
                                    "read of 1 bytes at 0x5.*timed out"):
            g.read_phys(5, 1)
        self.assertLess(time.monotonic() - t, 2)

    def test_eof(self):
        g = self.stub()
        self.ours.shutdown(socket.SHUT_WR)
        with self.assertRaisesRegex(QemuControlError, "closed"):
            g.read_phys(5, 1)

    def test_context_detaches(self):
        with self.stub() as g:
            self.feed(b"+", pkt("OK"))
        self.assertEqual(self.sent(), pkt("D") + b"+")
        self.assertIsNone(g._sock)

    def test_context_keeps_original_exception(self):
        with self.assertRaises(KeyError):
            with self.stub() as g:
                g.timeout = 0.2  # no reply to 'D': must not hide KeyError
                raise KeyError("x")


class FakeQmp(unittest.TestCase):
    def setUp(self):
        self.ours, self.theirs = socket.socketpair()
        self.addCleanup(self.ours.close)
        self.addCleanup(self.theirs.close)

    def feed(self, *msgs):
        self.ours.sendall(b"".join(json.dumps(m).encode() + b"\r\n"
                                   for m in msgs))

    def sent(self):
        self.ours.settimeout(0.2)
        out = b""
        try:
            while True:
                out += self.ours.recv(65536)
        except socket.timeout:
            pass
        return [json.loads(l) for l in out.splitlines()]

    def qmp(self):
        self.feed({"QMP": {"version": {}, "capabilities": []}},
                  {"return": {}, "id": 1})
        return Qmp(self.theirs, timeout=2)

    def test_handshake_events_and_errors(self):
        q = self.qmp()
        self.feed({"event": "STOP", "timestamp": {}},
                  {"return": {"status": "paused"}, "id": 99},
                  {"return": {"status": "running"}, "id": 2},
                  {"error": {"class": "GenericError",
                             "desc": "Could not open '/x/y'"}, "id": 3})
        self.assertEqual(q.command("query-status"), {"status": "running"})
        with self.assertRaisesRegex(QemuControlError,
                                    "pmemsave .*GenericError.*/x/y"):
            q.pmemsave(0x1000, 16, "rel.bin")
        self.assertEqual(self.sent(), [
            {"execute": "qmp_capabilities", "arguments": {}, "id": 1},
            {"execute": "query-status", "arguments": {}, "id": 2},
            {"execute": "pmemsave", "id": 3, "arguments": {
                "val": 0x1000, "size": 16,
                "filename": os.path.abspath("rel.bin")}}])

    def test_argument_called_name_and_path_objects(self):
        q = self.qmp()
        self.feed({"return": {}, "id": 2}, {"return": {}, "id": 3})
        q.command("trace-event-set-state", name="x", enable=True)
        q.pmemsave(0, 1, Path("d") / "f.bin")
        sent = self.sent()
        self.assertEqual(sent[1]["arguments"], {"name": "x", "enable": True})
        self.assertEqual(sent[2]["arguments"]["filename"],
                         os.path.abspath("d/f.bin"))

    def test_not_qmp(self):
        self.feed({"hello": 1})
        with self.assertRaisesRegex(QemuControlError, "no greeting"):
            Qmp(self.theirs, timeout=2)

    def test_timeout(self):
        q = self.qmp()
        q.timeout = 0.3
        with self.assertRaisesRegex(QemuControlError, "QMP stop: timed out"):
            q.command("stop")

    def test_no_socket(self):
        with self.assertRaisesRegex(QemuControlError, "cannot connect"):
            Qmp("/nonexistent/qmp.sock", timeout=1)


LIVE = os.environ.get("KDUMP_QEMU_LIVE") == "1"
ADDR = 0x2000000
MEM = 256 << 20


@unittest.skipUnless(LIVE, "set KDUMP_QEMU_LIVE=1 to run against a real "
                     "qemu-system-x86_64")
class LiveQemu(unittest.TestCase):
    """A real, running (not -S) x86 guest without a kernel."""

    @classmethod
    def setUpClass(cls):
        cls.dir = Path(tempfile.mkdtemp(prefix="kdump-qc-"))
        cls.qmp_path, cls.gdb_path = cls.dir / "qmp", cls.dir / "gdb"
        cls.qemu = subprocess.Popen(
            [shutil.which("qemu-system-x86_64") or "qemu-system-x86_64",
             "-accel", "tcg", "-nodefaults", "-display", "none",
             "-m", f"{MEM >> 20}M",
             "-qmp", f"unix:{cls.qmp_path},server=on,wait=off",
             "-gdb", f"unix:{cls.gdb_path},server=on,wait=off"],
            stdin=subprocess.DEVNULL)
        end = time.monotonic() + 20
        while not (cls.qmp_path.exists() and cls.gdb_path.exists()):
            if cls.qemu.poll() is not None or time.monotonic() > end:
                cls.tearDownClass()
                raise RuntimeError("QEMU did not create its sockets")
            time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.qemu.terminate()
        try:
            cls.qemu.wait(10)
        except subprocess.TimeoutExpired:
            cls.qemu.kill()
            cls.qemu.wait()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def status(self):
        with Qmp(self.qmp_path) as q:
            return q.command("query-status")["status"]

    def log(self, msg):
        sys.stderr.write(f"\n    [live] {msg} ")

    def test_write_running_guest_then_detach_resumes(self):
        self.assertEqual(self.status(), "running")
        pattern = bytes((7 * i + 1) & 0xFF for i in range(64))
        t = time.monotonic()
        with GdbStub(self.gdb_path) as g:
            self.assertEqual(self.status(), "paused")  # stopped on connect
            g.write_phys(ADDR, pattern)
            self.assertEqual(g.read_phys(ADDR, 64), pattern)
        self.log(f"connect+write+read+detach {time.monotonic() - t:.3f}s")
        self.assertEqual(self.status(), "running")
        with GdbStub(self.gdb_path) as g:
            self.assertEqual(g.read_phys(ADDR, 64), pattern)

    def test_pmemsave_holds_pattern(self):
        pattern = os.urandom(64)
        with GdbStub(self.gdb_path) as g:
            g.write_phys(ADDR, pattern)
        with Qmp(self.qmp_path) as q:
            small = self.dir / "small.bin"
            q.pmemsave(ADDR - 0x1000, 0x2000, small)
            self.assertEqual(small.read_bytes()[0x1000:0x1040], pattern)
            whole = self.dir / "whole.bin"
            t = time.monotonic()
            q.pmemsave(0, MEM, whole)
            took = time.monotonic() - t
        self.log(f"pmemsave of {MEM >> 20} MiB took {took:.2f}s "
                 f"({MEM / took / (1 << 20):.0f} MiB/s)")
        self.assertEqual(whole.stat().st_size, MEM)
        with open(whole, "rb") as f:
            f.seek(ADDR)
            self.assertEqual(f.read(64), pattern)
        whole.unlink()
        with GdbStub(self.gdb_path) as g:
            self.assertEqual(g.read_phys(ADDR, 64), pattern)

    def test_large_chunked_roundtrip(self):
        data = os.urandom(100000)  # ~50 packets each way
        at = ADDR + 0x10000 + 3  # unaligned on purpose
        with GdbStub(self.gdb_path) as g:
            t = time.monotonic()
            g.write_phys(at, data)
            back = g.read_phys(at, len(data))
            took = time.monotonic() - t
        self.log(f"gdbstub write+read of {len(data)} bytes {took:.2f}s "
                 f"(chunk {g.chunk})")
        self.assertEqual(back, data)
        with Qmp(self.qmp_path) as q:
            q.pmemsave(at, len(data), self.dir / "big.bin")
        self.assertEqual((self.dir / "big.bin").read_bytes(), data)

    def test_error_replies(self):
        with Qmp(self.qmp_path) as q:
            with self.assertRaisesRegex(QemuControlError, "pmemsave"):
                q.pmemsave(0, 16, "/nonexistent-dir/x.bin")
            self.assertEqual(q.command("query-status")["status"], "running")
        with GdbStub(self.gdb_path) as g:
            # more than QEMU's 4096-byte packet can carry: it says E22
            self.assertTrue(is_error(g.transact("m0,100000")))
        self.assertEqual(self.status(), "running")


if __name__ == "__main__":
    unittest.main()
