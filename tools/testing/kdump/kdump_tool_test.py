#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Offline tests of the kdump runner itself, on saved tool output in
test_data/ and on synthetic files: no kernel, no QEMU. Each check that
guards the kernel tests is fed the defect it exists to catch."""

import contextlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
import types
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import kdump_arch  # noqa: E402
import kdump_btf  # noqa: E402
import kdump_common  # noqa: E402
import kdump_cycle  # noqa: E402
import kdump_disasm  # noqa: E402
import kdump_host  # noqa: E402
import kdump_kselftest  # noqa: E402
import kdump_ktap  # noqa: E402
import kdump_lint  # noqa: E402
import kdump_objcheck  # noqa: E402
import kdump_review  # noqa: E402
import kdump_suite  # noqa: E402
import kdump_verify  # noqa: E402
from kdump_common import StageError  # noqa: E402

DATA = HERE / "test_data"
X86 = kdump_arch.get("x86_64")


def saved_disassembler(text):
    """A disassembler answering from saved llvm-objdump output."""
    blocks = {}
    for block in text.strip().split("\n\n"):
        m = re.match(r"^[0-9a-f]+ <(.+)>:$", block.splitlines()[0])
        blocks[m.group(1)] = block
    return lambda symbols: "\n\n".join(blocks[s] for s in symbols
                                       if s in blocks)


class HandoffCheck:
    """The handoff check on a saved disassembly of a Rust vmlinux; one
    subclass per architecture (ARCH, CALL: how its calls are printed)."""

    def setUp(self):
        self.text = (DATA / f"handoff_{self.ARCH.name}.objdump").read_text()
        self.k = {"impl": "rust", "arch": self.ARCH, "vmlinux": "vmlinux"}
        self.site = re.search(rf"{self.CALL}\t0x[0-9a-f]+ "
                              r"<kdump_kexec_lock_word>", self.text).group(0)

    def check(self, text):
        return kdump_objcheck.check_handoff(self.k, saved_disassembler(text))

    def replaced(self, new):
        text = self.text.replace(self.site, new, 1)
        self.assertNotEqual(text, self.text)
        return text

    def test_saved_vmlinux_passes_with_every_machine_step(self):
        out = self.check(self.text)
        for name in kdump_objcheck.HANDOFF_REQUIRED:
            self.assertIn(name, out)

    def test_disassembly_without_call_targets_fails(self):
        stripped = kdump_objcheck.without_call_targets(
            saved_disassembler(self.text))
        text = stripped(["kdump_rust_crash_kexec_locked"])
        self.assertIn("<kdump_rust_crash_kexec_locked>:", text)
        self.assertNotIn("<kdump_kexec_lock_word>", text)
        with self.assertRaisesRegex(StageError, "does not call|never called"):
            kdump_objcheck.check_handoff(self.k, stripped)

    def test_a_rust_atomic_in_place_of_the_kernel_accessor_fails(self):
        site = re.search(rf"{self.CALL}\t0x[0-9a-f]+ "
                         r"<rust_helper_atomic_cmpxchg_acquire>",
                         self.text).group(0)
        text = self.text.replace(site, self.ATOMIC)
        with self.assertRaisesRegex(StageError, "rust_helper_atomic_cmpxchg_"
                                    "acquire is never called"):
            self.check(text)

    def test_a_call_to_the_allocator_fails(self):
        text = self.replaced(f"{self.CALL}\t0x100 <__kmalloc>")
        with self.assertRaisesRegex(StageError, "calls __kmalloc"):
            self.check(text + "\n")

    def test_an_indirect_call_fails(self):
        text = self.replaced(self.INDIRECT)
        with self.assertRaisesRegex(StageError, "indirect call"):
            self.check(text)

    def test_a_reachable_panic_fails(self):
        panic = "_RNvNtCs1_4core9panicking18panic_bounds_check"
        text = self.replaced(f"{self.CALL}\t0x100 <{panic}>")
        with self.assertRaisesRegex(StageError, "panic function"):
            self.check(text)

    def test_a_missing_root_fails(self):
        text = "\n\n".join(b for b in self.text.split("\n\n")
                           if "<kdump_rust_crash_kexec>:" not in b)
        with self.assertRaisesRegex(StageError,
                                    "no function kdump_rust_crash_kexec"):
            self.check(text)

    def test_a_wrapper_that_skips_rust_fails(self):
        text = self.text.replace("<kdump_rust_crash_kexec_locked>\n",
                                 "<machine_kexec>\n", 1)
        with self.assertRaisesRegex(StageError, "__crash_kexec does not "
                                    "call kdump_rust_crash_kexec_locked"):
            self.check(text)


class HandoffCheckX86(HandoffCheck, unittest.TestCase):
    ARCH, CALL, INDIRECT = X86, "callq", "callq\t*%rax"
    ATOMIC = "lock\tcmpxchgl\t%ecx, (%rdi)"


class HandoffCheckArm64(HandoffCheck, unittest.TestCase):
    ARCH, CALL, INDIRECT = kdump_arch.get("arm64"), "bl", "blr\tx8"
    ATOMIC = "casa\tw8, w9, [x0]"


class MachineArgs(unittest.TestCase):
    """arm64 guests booted with nokaslr get no random device tree nodes
    (kexec-tools refuses kexec_load while a kaslr-seed is left); the
    others keep QEMU's defaults."""

    def test_arm64_nokaslr_drops_the_seed(self):
        arm64 = kdump_arch.get("arm64")
        self.assertEqual(arm64.machine_args("console=ttyAMA0 nokaslr")[:2],
                         ["-M", "virt,dtb-randomness=off"])
        self.assertEqual(arm64.machine_args("console=ttyAMA0"),
                         list(arm64.qemu_args))
        # A word that merely contains it is not the option.
        self.assertEqual(arm64.machine_args("xnokaslr"),
                         list(arm64.qemu_args))

    def test_other_architectures_unchanged(self):
        for name in ("x86_64", "riscv64"):
            a = kdump_arch.get(name)
            self.assertEqual(a.machine_args("nokaslr"), list(a.qemu_args))


class RiscvCallPairs(unittest.TestCase):
    """kdump_disasm turns riscv's auipc/jalr pairs into named calls (a
    negative 20-bit immediate, as llvm-objdump prints it unsigned), a
    jr pair into a tail call, names branch targets after their function,
    drops .L label lines, and leaves a jump through a register alone."""

    SYMS = {"f": (0x1000, 0x40), "g": (0x700, 0x10), "h": (0x2000, 0x10)}
    TEXT = "\n".join([
        "0000000000001000 <f>:",
        "    1000:      \tauipc\tra, 1048575",
        "    1004:      \tjalr\t1792(ra)",
        "0000000000001008 <.LBB0_1>:",
        "    1008:      \tbnez\ta0, 0x1010 <.LBB0_1+0x8>",
        "    100c:      \tauipc\tt1, 1",
        "    1010:      \tjr\t-12(t1)",
        "    1014:      \tjalr\ta5",
    ])

    def test_resolve(self):
        sym = kdump_disasm.Symbolizer(self.SYMS)
        out = kdump_disasm.resolve(self.TEXT, sym)
        self.assertIn("call\t0x700 <g>", out)
        self.assertIn("tail\t0x2000 <h>", out)
        self.assertIn("0x1010 <f+0x10>", out)
        self.assertNotIn(".LBB", out)
        self.assertIn("jalr\ta5", out)

    def test_call_graph(self):
        arch = kdump_arch.get("riscv64")
        sym = kdump_disasm.Symbolizer(self.SYMS)
        graph, indirect = kdump_objcheck.call_graph(
            lambda names: kdump_disasm.resolve(self.TEXT, sym), ["f"],
            lambda n: False, arch)
        self.assertEqual(graph["f"], {"g", "h"})
        self.assertEqual(indirect, ["f"])


class PurgatoryCheck(unittest.TestCase):
    def problems(self, nm, relocs, impl="rust"):
        return kdump_objcheck.purgatory_problems(X86, impl, nm, relocs)[0]

    def setUp(self):
        self.nm = (DATA / "purgatory_x86_64_rust.nm").read_text()
        self.relocs = (DATA / "purgatory_x86_64_rust.relocs").read_text()

    def test_saved_object_passes(self):
        self.assertEqual(self.problems(self.nm, self.relocs), [])

    def test_defects_are_named(self):
        nm = self.nm + "                 U memcpy\n"
        self.assertIn("undefined symbol memcpy", self.problems(nm, self.relocs))
        relocs = self.relocs + "0 0 R_X86_64_GOTPCREL 0 x - 4\n"
        self.assertIn("relocation type R_X86_64_GOTPCREL (the loader "
                      "refuses it)", self.problems(self.nm, relocs))
        nm = self.nm + "0000000000000000 T _RNvNtCs1_4core9panicking5panic\n"
        self.assertTrue(any("panic symbol" in p
                            for p in self.problems(nm, self.relocs)))
        nm = re.sub(r"\n\S+ \S+ \S+ purgatory_sha256_digest\n", "\n", self.nm)
        self.assertIn("purgatory_sha256_digest missing",
                      self.problems(nm, self.relocs))
        self.assertTrue(any("Rust (v0-mangled) symbols in the c purgatory" in p
                            for p in self.problems(self.nm, self.relocs, "c")))
        # Where the block loop was before it started a page (0x570).
        nm = re.sub(r"^0+1000 (\S+ t \S+compress_blocks)$", r"0000000000000570 \1",
                    self.nm, flags=re.M)
        self.assertIn("straddles a 4 KiB page", " ".join(self.problems(nm, self.relocs)))
        nm = re.sub(r"^.*compress_blocks\n", "", self.nm, flags=re.M)
        self.assertIn("block function (sha256::compress_blocks) is missing",
                      " ".join(self.problems(nm, self.relocs)))


class Tap(unittest.TestCase):
    def test_kunit_outcomes(self):
        log = ("[    1.0] [    0.9] KTAP version 1\n"
               "[    1.0] [    0.9]     ok 1 inner_case\n"
               "[    1.0] [    0.9] ok 1 kdump_crashkernel\n"
               "[    1.1] [    1.0] ok 2 kdump_rust_memparse # SKIP no\n"
               "[    1.2] [    1.1] not ok 3 kdump_rust_purgatory\n")
        self.assertEqual(kdump_ktap.kunit_outcomes(
            log, ["kdump_crashkernel", "kdump_rust_memparse",
                  "kdump_rust_purgatory", "absent"]),
            {"kdump_crashkernel": "ok", "kdump_rust_memparse": "skipped",
             "kdump_rust_purgatory": "not ok", "absent": "missing"})

    def test_tap_block_counts_skips_apart(self):
        lines = ["noise", "KDUMP-STAGE: vmcore-test", "TAP version 13",
                 "1..3", "ok 1 a", "ok 2 b # SKIP 1 CPU", "not ok 3 c",
                 "# Totals: pass:1 fail:1", "ok 9 later"]
        plan, passed, failed, skipped, _ = kdump_ktap.tap_block(
            lines, "KDUMP-STAGE: vmcore-test")
        self.assertEqual((plan, passed, failed, skipped),
                         (3, 1, ["not ok 3 c"], ["ok 2 b # SKIP 1 CPU"]))

    def test_cargo_ignored_tests_are_not_passes(self):
        out = ["running 3 tests",
               "test a ... ok",
               "test vmcore::tests::c_vmcore_header_is_reproduced ... ignored, needs KDUMP_C_VMCORE",
               "test b ... ok",
               "test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured"]
        self.assertEqual(kdump_host.test_counts(out),
                         (2, 0, ["vmcore::tests::c_vmcore_header_is_reproduced"]))


class KexecSelftests(unittest.TestCase):
    """The base's kexec kselftests' TAP as run_kselftest.sh printed it in
    a guest (test_data/kselftest_kexec_x86_64.tap, the C and the Rust
    kernel alike), and of a Rust kernel whose purgatory relocation was
    broken by hand to refuse every load (..._load_refused.tap): the
    upstream test passes it, the comparison and the expectation do not."""

    LISTED = ["kexec:test_kexec_load.sh", "kexec:test_kexec_file_load.sh"]
    FILE = "test_kexec_file_load.sh"

    def setUp(self):
        self.good = (DATA / "kselftest_kexec_x86_64.tap").read_text()
        self.refused = (DATA / "kselftest_kexec_x86_64_load_refused.tap"
                        ).read_text()

    def results(self, text):
        return kdump_ktap.kselftest_results(text)

    def test_saved_run(self):
        r = self.results(self.good)
        self.assertEqual({n: (v["result"], v["reason"]) for n, v in r.items()},
                         {"test_kexec_load.sh":
                          ("pass", "kexec_load succeeded [PASS]"),
                          self.FILE:
                          ("pass", "kexec_file_load succeeded [PASS]")})
        self.assertIn("[INFO] secure boot mode not enabled",
                      r[self.FILE]["info"])
        self.assertNotIn("timeout set to 45", r[self.FILE]["log"])
        self.assertEqual(kdump_kselftest.verdicts(r, self.LISTED), [])
        rows, diffs = kdump_kselftest.compare(r, self.results(self.good))
        self.assertEqual((len(rows), diffs), (2, []))

    def test_refused_load_passes_upstream_but_not_here(self):
        c, rust = self.results(self.good), self.results(self.refused)
        self.assertEqual(rust[self.FILE]["result"], "pass")
        self.assertEqual(kdump_kselftest.verdicts(rust, self.LISTED, {}), [])
        _, diffs = kdump_kselftest.compare(c, rust)
        self.assertEqual(len(diffs), 2)
        self.assertIn("reason C 'kexec_file_load succeeded [PASS]', Rust "
                      "'kexec_file_load failed [PASS]'", diffs[0])
        self.assertIn("only C ['[INFO] No signature verification required'],"
                      " only Rust []", diffs[1])
        self.assertEqual(kdump_kselftest.verdicts(rust, self.LISTED),
                         [f"{self.FILE}: 'kexec_file_load failed [PASS]', "
                          f"want 'kexec_file_load succeeded [PASS]'"])

    def test_a_skip_is_a_skip_with_its_reason(self):
        text = self.good.replace(
            "# kexec_file_load succeeded [PASS]\nok 2 selftests: kexec: "
            "test_kexec_file_load.sh",
            "# pesign not found\nok 2 selftests: kexec: "
            "test_kexec_file_load.sh # SKIP")
        r = self.results(text)
        self.assertEqual((r[self.FILE]["result"], r[self.FILE]["reason"]),
                         ("skip", "pesign not found"))
        self.assertTrue(kdump_kselftest.summary(r).startswith(
            "1 passed, 1 skipped, 0 failed: "))
        self.assertEqual(kdump_kselftest.verdicts(r, self.LISTED), [])
        _, diffs = kdump_kselftest.compare(self.results(self.good), r)
        self.assertIn("result C 'pass', Rust 'skip'", diffs[0])

    def test_a_failure_and_a_missing_result_fail(self):
        failed = self.good.replace("ok 1 selftests: kexec: test_kexec_load.sh",
                                   "not ok 1 selftests: kexec: "
                                   "test_kexec_load.sh # exit=1")
        self.assertEqual(kdump_kselftest.verdicts(self.results(failed),
                                                  self.LISTED, {}),
                         ["test_kexec_load.sh: failed (exit=1): kexec_load "
                          "succeeded [PASS]"])
        cut = self.good[:self.good.index("ok 2 ")]
        r = self.results(cut)
        self.assertEqual(kdump_kselftest.verdicts(r, self.LISTED, {}),
                         [f"{self.FILE}: no result"])
        _, diffs = kdump_kselftest.compare(self.results(self.good), r)
        self.assertEqual(diffs, [f"{self.FILE}: only on C"])


class SavedConsole(unittest.TestCase):
    """A real console log: the Rust kernel's --guest-checks cycle."""

    def setUp(self):
        self.text = (DATA / "console_x86_64_rust_file.log").read_text()

    class Guest:
        def __init__(self, text):
            self.seen = [(0.0, re.sub(r"^\[\s*[\d.]+\] ", "", l))
                         for l in text.splitlines()]
            self.log_path = "console.log"

    def test_kunit_and_iomem(self):
        self.assertEqual(set(kdump_ktap.kunit_outcomes(
            self.text, ["kdump_crashkernel", "kdump_rust_memparse",
                        "kdump_rust_purgatory"]).values()), {"ok"})
        g = self.Guest(self.text)
        self.assertEqual(kdump_cycle.iomem_ranges(
            kdump_cycle.iomem_lines(g), "Crash kernel"),
            [(0x2f000000, 0x3f000000)])

    def test_unreserved_says_why_in_the_kernels_words(self):
        g = self.Guest(self.text)
        self.assertIsNone(kdump_cycle.unreserved(g))
        # The debug kernel's boot where KASLR left no 512M window.
        bad = "\n".join(
            "cannot allocate crashkernel (size:0x20000000)"
            if "crashkernel: reserved:" in l else l
            for l in self.text.splitlines() if "Crash kernel" not in l)
        self.assertEqual(kdump_cycle.unreserved(self.Guest(bad)),
                         "cannot allocate crashkernel (size:0x20000000)")
        # Killed before it listed /proc/iomem, having reserved (C's words).
        cut = "\n".join(l.replace("crashkernel: reserved:", "crashkernel reserved:")
                         for l in self.text.splitlines() if "KDUMP-IOMEM" not in l)
        self.assertIsNone(kdump_cycle.unreserved(self.Guest(cut)))

    def test_guest_checks_pass_and_a_failed_line_fails(self):
        facts = kdump_verify.check_guest(self.Guest(self.text))
        self.assertEqual(facts["vmcore_test_passed"], 9)
        self.assertEqual(facts["makedumpfile_guest_bytes"],
                         {"mmap": 44339496, "non-mmap": 44339496})
        for bad in (self.text.replace("ok 4 4 concurrent", "not ok 4 4 concurrent"),
                    self.text.replace("ok 4 4 concurrent", "ok 4 # SKIP 1 CPU"),
                    self.text.replace("makedumpfile-non-mmap rc=0 size=44339496",
                                      "makedumpfile-non-mmap rc=0 size=4096"),
                    self.text.replace("mmap() is available", "mmap() is disabled")):
            self.assertNotEqual(bad, self.text)
            with self.assertRaises(StageError):
                kdump_verify.check_guest(self.Guest(bad))


class Marks(unittest.TestCase):
    def test_crash_mark_survives_a_kernel_message_on_its_line(self):
        rx = re.compile(kdump_cycle.CRASH_MARK)
        # Seen in CI: printk went on on the mark's line.
        self.assertTrue(rx.search("KDUMP-STAGE: crashclocksource: timekeeping "
                                  "watchdog on CPU0: Marking clocksource"))
        self.assertTrue(rx.search("KDUMP-STAGE: crash"))
        self.assertFalse(rx.search("KDUMP-STAGE: crash-returned"))


class OldMemory(unittest.TestCase):
    """compare_old_memory on a synthetic core and memory image."""

    def write_core(self, d, mem, loads):
        phs, data, off = b"", b"", 4096
        for paddr, size in loads:
            phs += struct.pack("<IIQQQQQQ", 1, 7, off, paddr, paddr, size,
                               size, 0)
            data += mem[paddr:paddr + size]
            off += size
        eh = (b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) +
              struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56,
                          len(loads), 0, 0, 0))
        head = (eh + phs).ljust(4096, b"\0")
        (d / "vmcore").write_bytes(head + data)
        return d / "vmcore"

    def test_identical_wrong_page_and_holes(self):
        import random
        rnd = random.Random(1)
        mem = bytearray(rnd.randbytes(64 * 4096))
        mem[8 * 4096:9 * 4096] = bytes(4096)
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            (d / "ram").write_bytes(mem)
            core = self.write_core(d, bytes(mem), [(0, 16 * 4096),
                                                   (20 * 4096, 40 * 4096)])
            saved = [(0, d / "ram")]
            f = kdump_verify.compare_old_memory(core, saved, [(0, 4096)])
            self.assertEqual((f["loads"], f["compared"], f["skipped"]),
                             (2, 55 * 4096, 4096))
            self.assertEqual(f["nonzero_pages"], 54)
            # Swap two pages in the second load, as a provider serving the
            # wrong page would.
            raw = bytearray(core.read_bytes())
            at = 4096 + 16 * 4096 + 6 * 4096
            raw[at:at + 8192] = raw[at + 4096:at + 8192] + raw[at:at + 4096]
            core.write_bytes(raw)
            with self.assertRaisesRegex(StageError, r"at physical 0x1a000 "
                                        r"\(file offset 0x17000\)"):
                kdump_verify.compare_old_memory(core, saved, [(0, 4096)])
            # A PT_LOAD beyond what QEMU saved is a failure, not a pass.
            (d / "ram").write_bytes(mem[:30 * 4096])
            with self.assertRaisesRegex(StageError, "not in the guest memory"):
                kdump_verify.compare_old_memory(core, saved, [(0, 4096)])

    def test_subtract(self):
        self.assertEqual(kdump_verify.subtract((0, 100), [(90, 200), (0, 10),
                                                          (50, 60)]),
                         [(10, 50), (60, 90)])
        self.assertEqual(kdump_verify.subtract((20, 30), [(0, 40)]), [])

    def test_iomem(self):
        lines = ["00001000-0009fbff : System RAM",
                 "00100000-3ffdffff : System RAM",
                 "  2f000000-3effffff : Crash kernel",
                 "  01000000-01ffffff : Kernel code"]
        self.assertEqual(kdump_cycle.iomem_ranges(lines, "System RAM"),
                         [(0x1000, 0x9fc00), (0x100000, 0x3ffe0000)])
        self.assertEqual(kdump_cycle.iomem_ranges(lines, "Crash kernel"),
                         [(0x2f000000, 0x3f000000)])


class GdbFrames(unittest.TestCase):
    """gdb-multiarch's backtrace of a riscv64 panic_on_warn crash (saved
    from handoff-trigger-warning): gdb stops at check_panic_on_warn(), and
    the trap frame gdb/trap_frames.py found names the function that
    trapped."""

    OUT = (DATA / "gdb_riscv64_warning.txt").read_text()

    def test_trap_frame_follows_the_unwound_frames(self):
        frames, text = kdump_verify.parse_gdb_frames(0, self.OUT, 297, "log")
        self.assertEqual(frames, ["riscv_crash_save_regs", "crash_setup_regs",
                                  "__crash_kexec", "panic",
                                  "check_panic_on_warn", "lkdtm_WARNING",
                                  "lkdtm_do_action"])
        self.assertIn("(trap frame at 0xff60000001d8bc50: epc "
                      "0xffffffff8020f756 in lkdtm_WARNING)", text)

    def test_without_the_trap_frame_the_trigger_is_missing(self):
        cut = self.OUT[:self.OUT.index("kdump-trap ")]
        frames, _ = kdump_verify.parse_gdb_frames(0, cut, 297, "log")
        self.assertNotIn("lkdtm_WARNING", frames)
        self.assertEqual(frames[-1], "check_panic_on_warn")

    def test_unknown_address_and_other_thread(self):
        out = self.OUT.replace("0xffffffff8020f6ee lkdtm_do_action",
                               "0x3fffff0000 ?")
        frames, _ = kdump_verify.parse_gdb_frames(0, out, 297, "log")
        self.assertEqual(frames[-1], "lkdtm_WARNING")
        with self.assertRaisesRegex(StageError, "LWP 1"):
            kdump_verify.parse_gdb_frames(0, self.OUT, 1, "log")
        with self.assertRaisesRegex(StageError, "could not unwind"):
            kdump_verify.parse_gdb_frames(1, self.OUT, 297, "log")


class Demangle(unittest.TestCase):
    def test_rust_frames_are_demangled(self):
        sym = "_RINvNtCs1234_5kdump7handoff18crash_kexec_lockedNtB2_3FooE"
        name = "kdump::handoff::crash_kexec_locked::<kdump::handoff::Foo>"
        got = kdump_verify.demangled({
            "frames": ["panic", sym, None],
            "trace": f"#1 {sym}+0x10/0x20 (kdump/handoff.rs:3)",
            "others": {"1": [sym]}})
        self.assertEqual(got["frames"], ["panic", name, None])
        self.assertEqual(got["trace"],
                         f"#1 {name}+0x10/0x20 (kdump/handoff.rs:3)")
        self.assertEqual(got["others"], {"1": [name]})
        # Not a v0 symbol: left alone.
        self.assertEqual(kdump_verify.demangled({"frames": ["_Rx"]}),
                         {"frames": ["_Rx"]})


class Clippy(unittest.TestCase):
    def test_diagnostics_in_our_files_only(self):
        src = Path("/k/src")
        log = [
            "  CLIPPY     kernel/kdump/vmcore.o",
            "warning: casting to the same type is unnecessary (`u8` -> `u8`)",
            "   --> /k/src/kernel/kdump/vmcore.rs:560:44",
            "    |",
            "warning: this is in the base's code",
            "   --> /k/src/rust/kernel/sync/arc.rs:10:1",
            "error: arithmetic operation that can potentially result in "
            "unexpected side-effects",
            "  --> /k/src/rust/kdump/vmcore/layout.rs:229:21",
            "error: aborting due to 1 previous error",
            "warning: 2 warnings emitted",
        ]
        self.assertEqual(kdump_lint.diagnostics(log, src), [
            ("warning", "casting to the same type is unnecessary (`u8` -> "
             "`u8`)", "kernel/kdump/vmcore.rs", 560),
            ("error", "arithmetic operation that can potentially result in "
             "unexpected side-effects", "rust/kdump/vmcore/layout.rs", 229)])


class ReviewTools(unittest.TestCase):
    """The review tools' parsers on saved output: rustfmt --check of an
    unformatted tree, checkpatch with a planted trailing space, kernel-doc
    with a parameter description removed."""

    SRC = "/build/src/linux-source-6.12"

    def test_rustfmt_diffs_in_our_files_count_and_the_base_apart(self):
        text = (DATA / "review_rustfmt.txt").read_text()
        # A diff in a file of the base's, and one reached through ../ (the
        # purgatory's #[path] modules).
        text += (f"Diff in {self.SRC}/rust/kernel/sync.rs:10:\n"
                 f"Diff in {self.SRC}/arch/riscv/purgatory/../../../rust/"
                 f"kdump/sha256.rs:22:\n")
        mine, base = kdump_review.rustfmt_findings(text, self.SRC)
        self.assertEqual(mine, [("arch/arm64/kernel/kexec_image_rust.rs", 64),
                                ("arch/arm64/kernel/kexec_image_rust.rs", 78),
                                ("arch/x86/kernel/crash_elf_rust.rs", 74),
                                ("rust/kdump/sha256.rs", 22)])
        self.assertEqual(base, 1)

    def test_checkpatch_findings_split_by_the_allowed_list(self):
        text = (DATA / "review_checkpatch.txt").read_text()
        bad, allowed = kdump_review.checkpatch_findings(text, self.SRC)
        self.assertEqual(bad, [("/tmp/kd/handoff_glue.c", 25, "ERROR",
                                "trailing whitespace")])
        self.assertEqual([(f, n) for f, n, _, _ in allowed],
                         [("kernel/kdump/kexec_elf_kunit.c", 31),
                          ("kernel/kdump/kexec_elf_kunit.c", 33)])

    def test_kernel_doc_warning_is_found(self):
        text = (DATA / "review_kernel_doc.txt").read_text()
        self.assertEqual(kdump_review.kernel_doc_findings(text),
                         [("/tmp/kd/kdump_rust.h", 421,
                           "Function parameter or struct member 'regs' not "
                           "described in 'kdump_rust_crash_kexec_locked'")])
        self.assertEqual(kdump_review.kernel_doc_findings(
            "No typos will be found - file 'x': No such file\n"), [])


def tiny_elf(sections):
    """A little-endian ELF64 file with `sections` ([(name, address,
    bytes)]), its section headers and names only."""
    names = b"\0" + b"".join(n.encode() + b"\0" for n, _, _ in sections) + \
        b".shstrtab\0"
    body, headers, off, name_off = b"", [bytes(64)], 64, 1
    for name, addr, data in sections:
        headers.append(struct.pack("<IIQQQQIIQQ", name_off, 1, 2, addr,
                                   off + len(body), len(data), 0, 0, 1, 0))
        body += data
        name_off += len(name) + 1
    headers.append(struct.pack("<IIQQQQIIQQ", name_off, 3, 0, 0,
                               off + len(body), len(names), 0, 0, 1, 0))
    body += names
    shoff = off + len(body)
    ehdr = struct.pack("<4s5B7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, 2,
                       62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, len(headers),
                       len(headers) - 1)
    return ehdr + body + b"".join(headers)


class BtfKfunc(unittest.TestCase):
    """The check that crash_kexec stays a destructive kfunc, on an excerpt
    of bpftool's dump of a DEBUG_INFO_BTF Rust vmlinux and on synthetic
    kfunc sets."""

    KF_DESTRUCTIVE = 1 << 6

    def setUp(self):
        self.text = (DATA / "btf_x86_64_rust.dump").read_text()
        self.types = kdump_btf.parse_btf_dump(self.text)
        self.fid = next(i for i, kind, name, _ in self.types
                        if kind == "FUNC" and name == "crash_kexec")

    def set8(self, *pairs, flags=1):
        return len(pairs), flags, list(pairs)

    def problems(self, types=None, set8=None):
        return kdump_btf.kfunc_problems(
            self.types if types is None else types,
            set8 or self.set8((self.fid - 7, 5), (self.fid, 0x40),
                              (self.fid + 3, 0)),
            self.KF_DESTRUCTIVE)[0]

    def test_parse(self):
        kinds = {kind for _, kind, _, _ in self.types}
        self.assertLessEqual({"FUNC", "FUNC_PROTO", "DECL_TAG", "STRUCT"},
                             kinds)
        # Member and parameter lines are not types.
        self.assertFalse(any(name.startswith("\t") for _, _, name, _
                             in self.types))
        attrs = next(a for i, _, _, a in self.types if i == self.fid)
        proto = next(t for t in self.types if t[0] == int(attrs["type_id"]))
        self.assertEqual(proto[1:3], ("FUNC_PROTO", ""))

    def test_the_saved_kernel_passes(self):
        self.assertEqual(self.problems(), [])

    def test_a_rust_crash_kexec_fails(self):
        # pahole left Rust out: no FUNC, and resolve_btfids wrote id 0.
        types = [t for t in self.types if t[2] != "crash_kexec"]
        got = self.problems(types=types)
        self.assertIn("0 FUNC named crash_kexec", got[0])

    def test_an_unresolved_id_fails(self):
        got = self.problems(set8=self.set8((0, 0x40), (self.fid + 3, 0)))
        self.assertEqual(len(got), 1)
        self.assertIn("1 with id 0", got[0])
        self.assertIn(f"does not hold id {self.fid}", got[0])

    def test_flags_and_tag(self):
        got = self.problems(set8=self.set8((self.fid, 0x5), flags=0))
        self.assertEqual(len(got), 2)
        self.assertIn("lack BTF_SET8_KFUNCS", got[0])
        self.assertIn("without KF_DESTRUCTIVE", got[1])
        untagged = [t for t in self.types if t[1] != "DECL_TAG"]
        self.assertIn("no DECL_TAG 'bpf_kfunc'",
                      self.problems(types=untagged)[0])

    def test_set_in_an_elf_section(self):
        body = struct.pack("<4I", 7, 0, 0, 0) + struct.pack(
            "<6I", 2, 1, 10, 0x40, 12, 5)
        data = tiny_elf([(".data", 0x1000, b"x" * 8),
                         (".BTF_ids", 0x2000, body)])
        section = kdump_btf.elf_section(data, ".BTF_ids")
        self.assertEqual(section[0], 0x2000)
        self.assertIsNone(kdump_btf.elf_section(data, ".BTF"))
        self.assertEqual(kdump_btf.read_set8(data, section, 0x2010),
                         (2, 1, [(10, 0x40), (12, 5)]))
        with self.assertRaises(ValueError):
            kdump_btf.read_set8(data, section, 0x2018)
        with self.assertRaises(ValueError):
            kdump_btf.read_set8(data, section, 0x1000)

    def test_initcall_returns(self):
        # A BTF kernel without NET: common_btf_ids has an id 0, so
        # helpers.c's kfunc_init() fails; arena.c's kfunc_init() does not;
        # crypto_kfunc_init() is another function.
        log = (DATA / "initcall_btf_x86_64_no_net.log").read_text()
        self.assertEqual(kdump_btf.initcall_returns(log, "kfunc_init"),
                         [-22, 0])
        self.assertEqual(kdump_btf.initcall_returns(log, "crypto_kfunc_init"),
                         [0])
        self.assertEqual(kdump_btf.initcall_returns(log, "bpf_init"), [])

    def test_flag_from_the_source_tree(self):
        with tempfile.TemporaryDirectory() as tmp:
            h = Path(tmp) / "include/linux/btf.h"
            h.parent.mkdir(parents=True)
            h.write_text("#define KF_SLEEPABLE    (1 << 5) /* x */\n"
                         "#define KF_DESTRUCTIVE  (1 << 6) /* y */\n")
            self.assertEqual(kdump_btf.kf_flag(tmp, "KF_DESTRUCTIVE"), 64)
            with self.assertRaises(StageError):
                kdump_btf.kf_flag(tmp, "KF_MISSING")


class SuiteMachinery(unittest.TestCase):
    def suite(self):
        s = kdump_suite.Suite()

        @s.step("build-a")
        def build_a(ctx):
            return "built"

        @s.step("build-b")
        def build_b(ctx):
            raise ValueError("broken")

        @s.step("use-a", needs=["build-a"])
        def use_a(ctx):
            return "used a"

        @s.step("use-b", needs=["build-b"])
        def use_b(ctx):
            return "never"

        @s.step("skips")
        def skips(ctx):
            raise kdump_suite.Skip("no input here")

        @s.step("slow", timeout=1)
        def slow(ctx):
            # A guest or a build that never ends: killed at the time limit.
            kdump_common.track(subprocess.Popen(
                ["sleep", "30"], start_new_session=True)).wait()
            raise AssertionError("the child was not killed")

        return s

    ARCHES = [types.SimpleNamespace(name="one", big=True),
              types.SimpleNamespace(name="two", big=False)]

    def plan(self, s, patterns=None, arches=None):
        return [t.name for t in s.plan(arches or self.ARCHES[:1], patterns)]

    def test_plan_takes_what_a_step_needs(self):
        s = self.suite()
        self.assertEqual(self.plan(s, ["use-*"]),
                         ["one/build-a", "one/build-b", "one/use-a",
                          "one/use-b"])
        self.assertEqual(self.plan(s, ["nothing"]), [])

    def test_plan_per_architecture(self):
        s = kdump_suite.Suite()
        for name, kw in (("host", {"scope": "host"}), ("build", {}),
                         ("runner", {"scope": "first"}),
                         ("big-only", {"when": lambda a: a.big})):
            s.step(name, **kw)(lambda ctx: "")
        s.step("use", needs=["build", "host"])(lambda ctx: "")
        self.assertEqual(self.plan(s, arches=self.ARCHES),
                         ["host", "one/build", "one/runner", "one/big-only",
                          "one/use", "two/build", "two/use"])
        # A glob matches the step name on every architecture, or one task.
        self.assertEqual(self.plan(s, ["use"], self.ARCHES),
                         ["host", "one/build", "one/use", "two/build",
                          "two/use"])
        self.assertEqual(self.plan(s, ["two/*"], self.ARCHES),
                         ["host", "two/build", "two/use"])
        with self.assertRaises(ValueError):
            s.step("host-needs-arch", needs=["build"], scope="host")(
                lambda ctx: "")

    def test_late_steps_come_after_every_architecture(self):
        s = kdump_suite.Suite()
        s.step("build")(lambda ctx: "")
        s.step("slow-build", needs=["build"], late=True)(lambda ctx: "")
        s.step("use", needs=["build"])(lambda ctx: "")
        s.step("use-slow", needs=["slow-build"], late=True,
               when=lambda a: a.big)(lambda ctx: "")
        self.assertEqual(self.plan(s, arches=self.ARCHES),
                         ["one/build", "one/use", "two/build", "two/use",
                          "one/slow-build", "one/use-slow", "two/slow-build"])
        # A step that runs in order cannot wait for a late one.
        with self.assertRaises(ValueError):
            s.step("early", needs=["slow-build"])(lambda ctx: "")

    def test_failures_are_isolated_and_reported(self):
        s = self.suite()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "report.json"
            t0 = time.monotonic()
            with contextlib.redirect_stdout(io.StringIO()) as out:
                s.run({"one": None}, s.plan(self.ARCHES[:1]), path)
            self.assertIn("2 passed, 2 failed, 2 skipped, of 6", out.getvalue())
            self.assertLess(time.monotonic() - t0, 15)
            steps = {x["name"].split("/")[1]: x
                     for x in json.loads(path.read_text())["steps"]}
        self.assertEqual({n: x["status"] for n, x in steps.items()},
                         {"build-a": "passed", "build-b": "failed",
                          "use-a": "passed", "use-b": "skipped",
                          "skips": "skipped", "slow": "failed"})
        self.assertIn("ValueError: broken", steps["build-b"]["reason"])
        self.assertIn("needs one/build-b (failed)", steps["use-b"]["reason"])
        self.assertEqual(steps["skips"]["reason"], "no input here")
        self.assertIn("ran out of its 1 s", steps["slow"]["reason"])
        for x in steps.values():
            extra = {"log", "tail"} if x["status"] == "failed" else set()
            self.assertEqual(set(x), {"name", "status", "seconds", "reason"}
                             | extra)
        # Why a step failed closes the summary (CI shows its end): the
        # reason, then the last lines of its log or traceback.
        tail = out.getvalue().split("2 passed, 2 failed, 2 skipped")[1]
        self.assertIn("FAILED one/build-b: step: ValueError: broken", tail)
        self.assertIn("  | ValueError: broken", tail)
        self.assertIn("FAILED one/slow: timeout: one/slow ran out of its 1 s",
                      tail)

    def test_a_failure_shows_its_logs_last_lines(self):
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "console.log"
            log.write_text("".join(f"line {i}\n" for i in range(40)))
            err = kdump_common.StageError("boot", "no booted mark", log=log)
            self.assertEqual(kdump_suite.failure_tail(err),
                             [f"line {i}" for i in range(28, 40)])
            err = kdump_common.StageError("x", "y", log=Path(tmp) / "none")
            self.assertEqual(kdump_suite.failure_tail(err), [])

    def test_build_lane_runs_beside_the_main_lane(self):
        """A build-lane step runs while main-lane steps do, at the lowest
        priority; a main step that needs it waits for it; a main step's
        time limit kills the main lane's children only."""
        s = kdump_suite.Suite()
        started, seen = threading.Event(), {}

        @s.step("build", timeout=20, lane="build")
        def build(ctx):
            seen["nice"] = os.getpriority(os.PRIO_PROCESS,
                                          threading.get_native_id())
            # A main step must run meanwhile: sequential lanes time out here.
            if not started.wait(10):
                raise AssertionError("the main lane did not run meanwhile")
            # Outlives the main lane's slow step, which must not kill it.
            status = kdump_common.track(subprocess.Popen(
                ["sleep", "3"], start_new_session=True)).wait()
            return f"built, status {status}"

        @s.step("meanwhile")
        def meanwhile(ctx):
            started.set()
            return "ran"

        @s.step("slow", timeout=1)
        def slow(ctx):
            kdump_common.track(subprocess.Popen(
                ["sleep", "30"], start_new_session=True)).wait()

        @s.step("use", needs=["build"])
        def use(ctx):
            return f"after {seen.get('nice')}"

        with self.assertRaises(ValueError):
            s.step("build-2", needs=["meanwhile"], lane="build")(
                lambda ctx: "")
        with tempfile.TemporaryDirectory() as tmp:
            with contextlib.redirect_stdout(io.StringIO()):
                report = s.run({"one": None}, s.plan(self.ARCHES[:1]),
                               Path(tmp) / "report.json")
        got = {x["name"]: (x["status"], x["reason"]) for x in report["steps"]}
        self.assertEqual([x["name"] for x in report["steps"]],
                         ["one/build", "one/meanwhile", "one/slow", "one/use"])
        self.assertEqual(got["one/build"], ("passed", "built, status 0"))
        self.assertEqual(seen["nice"], kdump_suite.BUILD_NICE)
        self.assertEqual(got["one/slow"][0], "failed")
        self.assertEqual(got["one/use"], ("passed", "after 19"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
