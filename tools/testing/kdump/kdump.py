#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Build, boot, crash and verify kdump kernels under QEMU.

One command takes the pinned upstream base (Debian's linux-source-6.12),
applies this tree (overlay files plus the hook patches in patches/), builds
the C or the Rust crash-dump kernel, crashes it under QEMU and checks the
captured vmcore with tools nobody here wrote (drgn and makedumpfile).

Every subcommand sets up what is still missing (apt packages, the host
tools, drgn, the unpacked base) and reuses earlier work. Output goes under
build/ (KDUMP_BUILD_DIR overrides). Python 3 standard library only; the
modules next to this file do the work (see the README).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kdump_arch  # noqa: E402
import kdump_bench  # noqa: E402
import kdump_commands as cmd  # noqa: E402
from kdump_common import StageError, fail_report, kill_children  # noqa: E402
from kdump_cycle import TRIGGERS  # noqa: E402


def parser():
    p = argparse.ArgumentParser(
        prog="kdump.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    def command(name, fn, help, impl=True, both=False, every=False):
        sp = sub.add_parser(name, help=help, description=help)
        if every:
            sp.add_argument("--arch", choices=["all"] + kdump_arch.names(),
                            default="all", help="the architecture to test "
                            "(default all, " + kdump_arch.DEFAULT +
                            " first)")
        else:
            sp.add_argument("--arch", choices=kdump_arch.names(),
                            default=kdump_arch.DEFAULT, help="the "
                            "architecture to build and boot (default " +
                            kdump_arch.DEFAULT + ")")
        if impl:
            sp.add_argument("--impl", choices=("c", "rust", "both") if both
                            else ("c", "rust"),
                            default="both" if both else "rust",
                            help="c: the pristine upstream path (our switches "
                            "off); rust: every Rust component that exists"
                            + ("; both: C and Rust side by side (default)"
                               if both else " (default)"))
        sp.set_defaults(fn=fn)
        return sp

    a = command("apply", cmd.cmd_apply, "apply the overlay and the hook "
                "patches to build/src or to a kernel tree", impl=False)
    a.add_argument("--kernel-dir", help="apply to this 6.12 tree in place "
                   "instead of build/src")
    bd = command("build", cmd.cmd_build, "build a kernel, print its image "
                 "and vmlinux paths")
    bd.add_argument("--btf", action="store_true",
                    help="with DEBUG_INFO_BTF and the bpf() system call "
                    "(configs/btf.config, Debian trixie's pahole) into "
                    "build/out-ARCH-IMPL-btf, then check that crash_kexec "
                    "is a destructive BPF kfunc of its vmlinux")
    debug_help = ("the debug kernel: KIND kasan (the default) is "
                  "configs/debug.config (KASAN, UBSAN, PROVE_LOCKING, "
                  "DEBUG_ATOMIC_SLEEP, DEBUG_VM) in build/out-ARCH-IMPL-debug; "
                  "kcsan adds configs/kcsan.config (KCSAN instead of KASAN) "
                  "in build/out-ARCH-IMPL-kcsan")
    debug_arg = dict(nargs="?", const="kasan", choices=("kasan", "kcsan"),
                     metavar="KIND")
    bd.add_argument("--debug", help=debug_help, **debug_arg)
    b = command("boot", cmd.cmd_boot, "boot the first kernel, run a shell "
                "command in it, power off")
    b.add_argument("--mem", default="1G", help="guest memory (default 1G)")
    b.add_argument("--smp", type=int, default=1, help="guest CPUs")
    b.add_argument("--append", default="", help="kernel command line "
                   "additions")
    b.add_argument("--cmd", default="true", help="shell command run in the "
                   "guest; its output is printed")
    b.add_argument("--timeout", type=int, default=300,
                   help="seconds before the guest is killed")
    r = command("run", cmd.cmd_run, "full kdump cycle: boot, load, crash, "
                "capture, verify with drgn and makedumpfile")
    r.add_argument("--loader", choices=("load", "file", "syscall"),
                   default="load",
                   help="load: kexec -p (kexec_load); file: kexec -s -p "
                   "(kexec_file_load); syscall: kexec_file_load(2) without "
                   "kexec-tools (guest/kexec_file_load.c)")
    r.add_argument("--out", help="output folder (default "
                   "build/run-IMPL-LOADER-ARCH)")
    r.add_argument("--mem", default="1G", help="guest memory (default 1G)")
    r.add_argument("--smp", type=int, default=1, help="guest CPUs")
    r.add_argument("--crashkernel",
                   help="crashkernel= of the first kernel (default 256M; "
                   "with --debug 512M)")
    r.add_argument("--append", default="",
                   help="first kernel command line additions (e.g. nokaslr; "
                   "with --debug nokaslr unless it names kaslr)")
    r.add_argument("--trigger", choices=sorted(TRIGGERS), default="sysrq",
                   help="how the first kernel crashes: sysrq (echo c > "
                   "/proc/sysrq-trigger), LKDTM panic, bug and exception "
                   "(with oops=panic), warning (panic_on_warn=1), or "
                   "two-cpus (LKDTM PANIC and BUG on two CPUs at once)")
    r.add_argument("--fault-inject", choices=("capture", "capture-1cpu"),
                   help="testing the runner: make the capture kernel "
                   "unusable, or give it one CPU where the checks want two")
    r.add_argument("--guest-checks", action="store_true",
                   help="fill old memory with random pages and compare the "
                   "vmcore with QEMU's copy of guest memory; in the capture "
                   "kernel (2 CPUs), vmcore_test and makedumpfile -d 31 "
                   "through mmap() and read()")
    r.add_argument("--debug", help=debug_help +
                   "; fails on any report on the consoles", **debug_arg)
    f = command("refusal", cmd.cmd_refusal, "kexec -s -p, change a byte of a "
                "loaded segment through QEMU's gdbstub, crash: purgatory "
                "must refuse the jump")
    f.add_argument("--unchanged", action="store_true",
                   help="write the byte back unchanged: the capture kernel "
                   "must start")
    h = command("headers", cmd.cmd_headers, "boot with planted good and bad "
                "ELF core headers at elfcorehdr=")
    h.add_argument("cases", nargs="*", metavar="CASE",
                   help="cases to boot (default: all; see kdump_headers.py)")
    h.add_argument("--debug", help=debug_help +
                   "; fails on any report on the consoles", **debug_arg)
    command("crashkernel-table", cmd.cmd_crashkernel_table, "boot the "
            "crashkernel= table, compare C and Rust", both=True)
    rb = command("reboot", cmd.cmd_reboot, "kexec -s -l the kernel, kexec "
                 "-e, wait for the second kernel's init")
    rb.add_argument("--mem", default="1G", help="guest memory (default 1G)")
    be = command("bench", kdump_bench.cmd_bench, "C vs Rust side by side: panic to "
                 "capture kernel latency, /proc/vmcore throughput (a "
                 "benchmark, not a test)", impl=False)
    be.add_argument("--runs", type=int, default=5,
                    help="crashes per kernel (the median is compared); 0 "
                    "skips the latency bench")
    be.add_argument("--breakdown", type=int, default=0, metavar="RUNS",
                    help="then RUNS crashes per kernel again, with gdb timing "
                    "each part of the handoff (x86_64; default 0: none)")
    be.add_argument("--vmcore-mib", type=int, default=256,
                    help="MiB of old memory read each way for the "
                    "/proc/vmcore throughput bench; 0 skips it")
    so = command("soak", cmd.cmd_soak, "many crash cycles mixing loaders, "
                 "triggers, memory sizes, CPU counts and KASLR, every "
                 "vmcore verified (a campaign, not in test)")
    so.add_argument("--cycles", type=int, default=50,
                    help="crash cycles (default 50)")
    so.add_argument("--seed", type=int, default=1,
                    help="seed of the settings' sequence (default 1)")
    fz = command("fuzz", cmd.cmd_fuzz, "run each libFuzzer target for a "
                 "while", impl=False)
    fz.add_argument("--seconds", type=int, default=60,
                    help="seconds per target (default 60)")
    fz.add_argument("--runs", type=int,
                    help="instead of --seconds: inputs per target (the "
                    "campaign: 10000000); fails if a target ran fewer")
    fz.add_argument("--target", action="append", metavar="NAME",
                    help="only this target (repeatable; default: every one)")
    se = command("series", cmd.cmd_series, "write the patch series we would "
                 "post (git format-patch, cover letter) onto the pinned "
                 "base; --check tests it", impl=False)
    se.add_argument("--out", help="output folder (default "
                    "build/series/patches)")
    se.add_argument("--figures", metavar="DIR", help="runner build folder "
                    "whose reports give the cover letter's figures "
                    "(default: the build folder)")
    se.add_argument("--check", action="store_true",
                    help="git am the series on a pristine base, "
                    "checkpatch.pl --strict every patch (findings must be "
                    "in series/checkpatch-allow.toml), and compare the "
                    "result with kdump.py apply's")
    se.add_argument("--bisect", action="store_true",
                    help="with --check: also build every prefix of the "
                    "series (Rust configuration, incremental; long)")
    t = command("test", cmd.cmd_test, "the whole suite (what CI runs) on "
                "every architecture; writes build/test-report.json",
                impl=False, every=True)
    t.add_argument("--list", action="store_true",
                   help="print the step names (with --filter: the selected "
                   "ones and what they need) and exit")
    t.add_argument("--debug", action="store_true",
                   help="the debug kernel's steps (its build, a cycle with "
                   "each loader, every planted header) on every "
                   "architecture, not on x86_64 only")
    t.add_argument("--filter", action="append", metavar="GLOB",
                   help="run only the steps matching GLOB (repeatable), and "
                   "the steps they need")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except StageError as e:
        fail_report(e)
        return 1
    except KeyboardInterrupt:
        # Builds and guests run in sessions of their own: stop them too.
        kill_children()
        return 130


if __name__ == "__main__":
    sys.exit(main())
