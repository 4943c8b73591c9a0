#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Offline tests of `kdump.py bench`'s parsing and tables: no kernel, no
QEMU."""

import sys
import types
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import kdump_bench  # noqa: E402
import kdump_cycle  # noqa: E402
from kdump_common import StageError  # noqa: E402


class MakedumpfileBench(unittest.TestCase):
    """The bench's BENCH-MD lines (guest/init) become timings; a failed
    or missing run fails the bench."""

    LINES = ["BENCH-MD d31 rc=0 real 1.20 user 0.31 sys 0.52 ",
             "BENCH-MD d0-mmap rc=0 real 0.78 user 0.20 sys 0.50 ",
             "BENCH-MD d0-read rc=0 real 1.91 user 0.25 sys 1.60 ",
             "BENCH-MD d0-mmap rc=0 real 0.80 user 0.21 sys 0.51 "]

    def guest(self, lines):
        return types.SimpleNamespace(seen=[(0.0, l) for l in lines],
                                     log_path="console.log",
                                     tail=lambda: lines[-3:])

    def test_timings(self):
        runs = kdump_cycle.makedumpfile_bench(self.guest(self.LINES))
        self.assertEqual(runs["d0-mmap"], [(0.78, 0.20, 0.50),
                                           (0.80, 0.21, 0.51)])
        self.assertEqual(runs["d0-read"], [(1.91, 0.25, 1.60)])

    def test_a_failed_or_missing_run_fails(self):
        failed = self.LINES[:1] + ["BENCH-MD d0-mmap rc=1 real 0.01 user "
                                   "0.00 sys 0.01 "] + self.LINES[2:]
        for bad in (failed, self.LINES[:2]):
            with self.assertRaises(StageError):
                kdump_cycle.makedumpfile_bench(self.guest(bad))


class BenchSummary(unittest.TestCase):
    """The cover-letter table: a cell for each kernel measured, Rust's
    ratio to each C kernel that was."""

    def test_table(self):
        s = kdump_bench.Summary()
        s.add("image size", {"c": 1000, "c-fair": 1250, "rust": 1500},
              "bytes")
        s.add("mmap", {"c": 800.0, "rust": 1200.0}, "MB/s")
        rows = s.markdown().splitlines()
        self.assertEqual(rows[2], "| image size (bytes) | 1,000 | 1,250 | "
                         "1,500 | 1.50 | 1.20 |")
        self.assertEqual(rows[3], "| mmap (MB/s) | 800.0 |  | 1,200.0 | "
                         "1.50 |  |")


if __name__ == "__main__":
    unittest.main()
