#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Offline tests of the device dump check (kdump_devdump.check_sample) on
synthetic vmcores: no kernel, no QEMU."""

import struct
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import kdump_devdump  # noqa: E402
from kdump_common import StageError  # noqa: E402


class DeviceDump(unittest.TestCase):
    """check_sample on synthetic vmcores whose PT_NOTE segment is written
    here from struct vmcoredd_header's layout."""

    @staticmethod
    def note(name, kind, desc):
        pad = lambda b: b + bytes(-len(b) % 4)  # noqa: E731
        return (struct.pack("<III", len(name), len(desc), kind) + pad(name) +
                pad(desc))

    def sample_note(self, data=None):
        data = kdump_devdump.sample_bytes() if data is None else data
        body = (b"rust_sample".ljust(44, b"\0") + data).ljust(8192 - 20,
                                                                 b"\0")
        n = self.note(b"LINUX\0\0\0", 0x700, body)
        self.assertEqual(len(n), 8192)
        return n

    def core(self, d, segment):
        ph = struct.pack("<IIQQQQQQ", 4, 0, 4096, 0, 0, len(segment),
                         len(segment), 4)
        eh = (b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) +
              struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56,
                          1, 0, 0, 0))
        (d / "vmcore").write_bytes((eh + ph).ljust(4096, b"\0") + segment)
        return d / "vmcore"

    def test_the_sample_and_its_defects(self):
        info = self.note(b"VMCOREINFO\0", 0, b"OSRELEASE=6.12\n")
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            good = self.sample_note()
            self.assertEqual(kdump_devdump.check_sample(
                self.core(d, good + info)), good)
            bad = bytearray(kdump_devdump.sample_bytes())
            bad[4999] ^= 1
            cases = [
                (info + good, "not first"),
                (self.sample_note(bytes(bad)) + info, "differ .* at 4999"),
                (info, "0 device dumps named rust_sample"),
                (good + good + info, "2 device dumps"),
                (good[:4000], "runs past its end"),
            ]
            for segment, want in cases:
                with self.assertRaisesRegex(StageError, want):
                    kdump_devdump.check_sample(self.core(d, segment))


if __name__ == "__main__":
    unittest.main()
