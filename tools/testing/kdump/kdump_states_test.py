#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Offline tests of the state checks (kdump_states.py) on synthetic
console logs and cores. No kernel."""

import struct
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from kdump_common import StageError  # noqa: E402
import kdump_arch  # noqa: E402
from kdump_debug import check_clean, reports  # noqa: E402
from kdump_soak import plan  # noqa: E402
from kdump_states import HEADERS, HOTADD_SIZE, SHRINK_TO, HotAdd, \
    check_state, compare_kaslr, keep_headers  # noqa: E402

MIB = 1 << 20
# crashkernel=256M at 0x2f000000 in 1 GiB; the shrink keeps the start.
CONSOLE = [
    "KDUMP-STAGE: booted",
    "KDUMP-IOMEM-BEFORE:   2f000000-3effffff : Crash kernel",
    f"KDUMP-STAGE: shrunk kexec_crash_size={SHRINK_TO}",
    "KDUMP-IOMEM: 00100000-3ffdffff : System RAM",
    "KDUMP-IOMEM:   2f000000-3affffff : Crash kernel",
    "KDUMP-STAGE: loaded",
    f"KDUMP-STAGE: state-done shrink={SHRINK_TO}",
]


def core(path, loads):
    """An ELF64 core with a PT_LOAD per (paddr, size[, vaddr]), no data."""
    ph = b"".join(struct.pack("<IIQQQQQQ", 1, 7, 0x1000, (l + (l[0],))[2],
                              l[0], l[1], l[1], 0) for l in loads)
    eh = (b"\x7fELF\x02\x01\x01" + bytes(9) +
          struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56,
                      len(loads), 0, 0, 0))
    Path(path).write_bytes(eh + ph)
    return path


class Shrink(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_freed_memory_dumped_and_reservation_not(self):
        vm = core(self.d / "ok", [(0x100000, 0x2f000000 - 0x100000),
                                  (0x3b000000, 0x3ffe0000 - 0x3b000000)])
        self.assertEqual(check_state("shrink", CONSOLE, vm, {}),
                         "64 MiB freed and dumped, 192 MiB reserved and not")

    def test_a_header_that_still_excludes_the_old_reservation(self):
        # What a header built from the crashk_res of before the shrink
        # would say: the freed 64 MiB are missing.
        vm = core(self.d / "stale", [(0x100000, 0x2f000000 - 0x100000),
                                     (0x3f000000, 0x3ffe0000 - 0x3f000000)])
        with self.assertRaisesRegex(StageError, "not in the dump"):
            check_state("shrink", CONSOLE, vm, {})

    def test_a_header_that_dumps_the_reservation(self):
        vm = core(self.d / "all", [(0x100000, 0x3ffe0000 - 0x100000)])
        with self.assertRaisesRegex(StageError, "covers the reservation"):
            check_state("shrink", CONSOLE, vm, {})

    def test_a_shrink_that_did_not_take(self):
        lines = [l.replace("3affffff", "3effffff") for l in CONSOLE]
        vm = core(self.d / "x", [(0x100000, 0x2f000000 - 0x100000)])
        with self.assertRaisesRegex(StageError, "after the shrink"):
            check_state("shrink", lines, vm, {})


class Loads(unittest.TestCase):
    def test_reload_needs_an_unload_between_two_loads(self):
        lines = ["KDUMP-STAGE: loaded", "KDUMP-STAGE: unloaded",
                 "KDUMP-STAGE: loaded", "KDUMP-STAGE: state-done reload"]
        self.assertEqual(check_state("reload", lines, None, {}),
                         "2 loads, 1 unload")
        with self.assertRaisesRegex(StageError, "1 loads"):
            check_state("reload", lines[1:], None, {})
        with self.assertRaisesRegex(StageError, "never finished"):
            check_state("reload", lines[:3], None, {})

    def test_twice(self):
        lines = ["KDUMP-STAGE: loaded", "KDUMP-STAGE: loaded",
                 "KDUMP-STAGE: state-done twice"]
        self.assertEqual(check_state("load-twice", lines, None, {}),
                         "2 loads")

    def test_cpu_hotplug(self):
        lines = ["KDUMP-STAGE: loaded", "KDUMP-STAGE: crash_hotplug=1",
                 "KDUMP-STAGE: cpu1 online=0", "KDUMP-STAGE: cpu1 online=1",
                 "KDUMP-STAGE: state-done cpu-hotplug"]
        good = {"other_cpus": {"1": ["native_safe_halt", "default_idle"]}}
        self.assertIn("CPU 1 (not the crashing one) unwound",
                      check_state("cpu-hotplug", lines, None, good))
        for bad in ({"other_cpus": {}},
                    {"other_cpus": {"1": ["(no PRSTATUS note for CPU 1)"]}}):
            with self.assertRaisesRegex(StageError, "could not unwind"):
                check_state("cpu-hotplug", lines, None, bad)
        with self.assertRaisesRegex(StageError, "not updated on hotplug"):
            check_state("cpu-hotplug", [l.replace("=1", "=0") if
                                        "crash_hotplug" in l else l
                                        for l in lines], None, good)


class MemHotplug(unittest.TestCase):
    """256 MiB of virtio-mem at 4 GiB, plugged after the load of a 1 GiB
    guest whose crash kernel is at 0x2f000000."""
    LINES = ["KDUMP-IOMEM: 00001000-0009fbff : System RAM",
             "KDUMP-IOMEM: 00100000-3ffdffff : System RAM",
             "KDUMP-IOMEM:   2f000000-3effffff : Crash kernel",
             "KDUMP-STAGE: loaded",
             "KDUMP-STAGE: memory crash_hotplug=1",
             "KDUMP-STAGE: hot-add-ready",
             "KDUMP-IOMEM-AFTER: 00001000-0009fbff : System RAM",
             "KDUMP-IOMEM-AFTER: 00100000-3ffdffff : System RAM",
             "KDUMP-IOMEM-AFTER:   100000000-10fffffff : System RAM "
             "(virtio_mem)",
             f"KDUMP-STAGE: state-done mem-hotplug={HOTADD_SIZE}"]
    BOOT = [(0x100000, 0x2f000000 - 0x100000),
            (0x3f000000, 0x3ffe0000 - 0x3f000000)]

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = Path(self.tmp.name)
        self.x86 = kdump_arch.get("x86_64")

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, lines, loads):
        return check_state("mem-hotplug", lines, core(self.d / "vm", loads),
                           {}, self.x86)

    def test_the_new_memory_is_dumped(self):
        self.assertEqual(
            self.check(self.LINES, self.BOOT + [(0x100000000, 256 * MIB)]),
            "256 MiB hot-added after the load (0x100000000-0x10fffffff) and "
            "dumped; RAM PT_LOADs = System RAM minus the crash kernel "
            "(1022 MiB)")

    def test_a_header_from_before_the_hot_add(self):
        # What the header loaded by kexec -s -p says if nothing rebuilds
        # it on MEM_ONLINE.
        with self.assertRaisesRegex(StageError, "hot-added memory not in "
                                    "the dump: .*0x100000000"):
            self.check(self.LINES, self.BOOT)

    def test_a_header_that_dumps_the_crash_kernel_too(self):
        with self.assertRaisesRegex(StageError, "are not System RAM minus"):
            self.check(self.LINES, [(0x100000, 0x3ffe0000 - 0x100000),
                                    (0x100000000, 256 * MIB)])

    def test_no_hot_add_or_no_hotplug_support(self):
        loads = self.BOOT + [(0x100000000, 256 * MIB)]
        with self.assertRaisesRegex(StageError, "0x0 bytes of System RAM "
                                    r"\(virtio_mem\)"):
            self.check([l for l in self.LINES if "AFTER: " not in l
                        or "virtio" not in l], loads)
        with self.assertRaisesRegex(StageError, "not updated on hotplug"):
            self.check([l.replace("crash_hotplug=1", "crash_hotplug=0")
                        for l in self.LINES], loads)

    def test_the_guests_device(self):
        mem, extra, grow = HotAdd().qemu("1G")
        self.assertEqual((mem, grow), ("1G,maxmem=1536M", 512 * MIB))
        self.assertIn("virtio-mem-pci,id=vm0,memdev=vmem0,requested-size=0",
                      extra)


class Kaslr(unittest.TestCase):
    IOMEM = ["KDUMP-IOMEM: 00001000-0009fbff : System RAM",
             "KDUMP-IOMEM: 00100000-3ffdcfff : System RAM",
             "KDUMP-IOMEM:   2f000000-3effffff : Crash kernel"]
    TEXT = 0xffffffff80000000

    def boot(self, d, dm, loads):
        d.mkdir()
        (d / "console.log").write_text("\n".join(self.IOMEM) + "\n")
        core(d / "vmcore", [(a, n, a + dm) for a, n in loads] +
             [(0x1000000, 0x1000000, self.TEXT + 0x1000000)])
        # The step keeps the headers only; the dump's data must not matter.
        with open(d / "vmcore", "ab") as f:
            f.write(b"\xa5" * 8192)
        size = (d / "vmcore").stat().st_size
        keep_headers(d)
        self.assertFalse((d / "vmcore").exists())
        self.assertLess((d / HEADERS).stat().st_size, size)
        return d

    def test_offsets_differ_layout_holds(self):
        x86 = kdump_arch.get("x86_64")
        ram = [(0x100000, 0x2f000000 - 0x100000),
               (0x3f000000, 0x3ffdd000 - 0x3f000000)]
        with tempfile.TemporaryDirectory() as t:
            c = self.boot(Path(t) / "c", 0xffff888000000000, ram)
            r = self.boot(Path(t) / "r", 0xffff9a0000000000, ram)
            self.assertIn("direct map C 0xffff888000000000 vs Rust "
                          "0xffff9a0000000000", compare_kaslr(x86, c, r))
            # A header that still dumps the crash kernel's memory.
            bad = self.boot(Path(t) / "bad", 0xffff888000000000,
                            [(0x100000, 0x3ffdd000 - 0x100000)])
            with self.assertRaisesRegex(StageError, "not System RAM minus"):
                compare_kaslr(x86, c, bad)


class DebugReports(unittest.TestCase):
    """The debug kernel's console scan: every checker's first line is a
    report, a checker announcing itself is not."""
    CLEAN = ["[    2.913] kasan: KernelAddressSanitizer initialized",
             "[    3.643] rcu: \tRCU lockdep checking is enabled.",
             "[    6.035] Kernel panic - not syncing: sysrq triggered crash",
             "[    9.389] # kdump_crashkernel: pass:2 fail:0 skip:0 total:2",
             "[    3.371] kcsan: enabled early",
             "[    4.764] kcsan: selftest: 3/3 tests passed"]
    REPORTS = [
        "[   12.1] BUG: KASAN: slab-out-of-bounds in vmcore_read+0x1c/0x90",
        "[   12.1] UBSAN: array-index-out-of-bounds in fs/proc/vmcore.c:312",
        "[   12.1] WARNING: possible circular locking dependency detected",
        "[   12.1] BUG: sleeping function called from invalid context at "
        "mm/vmalloc.c:3000",
        "[   12.1] WARNING: CPU: 0 PID: 1 at mm/page_alloc.c:4700 x+0x1/0x2",
        "[   12.1] Oops: general protection fault, probably for non-"
        "canonical address 0xdffffc0000000001: 0000 [#1] SMP KASAN",
        "[   12.1] DEBUG_LOCKS_WARN_ON(1)",
        "[   12.1] BUG: KCSAN: data-race in vmcore_read / vmcore_mmap",
    ]

    def test_each_report_is_found_and_fails_the_log(self):
        self.assertEqual(reports("\n".join(self.CLEAN)), [])
        for line in self.REPORTS:
            self.assertEqual(len(reports(line)), 1, line)
        with tempfile.TemporaryDirectory() as t:
            log = Path(t) / "run" / "console.log"
            log.parent.mkdir()
            log.write_text("\n".join(self.CLEAN) + "\n")
            self.assertIn("1 console log(s) clean", check_clean([log]))
            log.write_text("\n".join(self.CLEAN + self.REPORTS[:1]) + "\n")
            with self.assertRaisesRegex(StageError, "BUG: KASAN"):
                check_clean([log])


class SoakPlan(unittest.TestCase):
    def test_reproducible_mixed_and_runnable(self):
        x86 = kdump_arch.get("x86_64")
        p = plan(x86, 50, 7)
        self.assertEqual(p, plan(x86, 50, 7))
        self.assertNotEqual(p, plan(x86, 50, 8))
        for i, what in enumerate(("loader", "trigger", "mem", "crashkernel",
                                  "smp", "kaslr")):
            self.assertGreater(len({c[i] for c in p}), 1, what)
        # The two-CPU trigger always gets two CPUs.
        self.assertTrue(all(c[4] >= 2 for c in p if c[1] == "two-cpus"))


if __name__ == "__main__":
    unittest.main()
