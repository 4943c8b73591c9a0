# SPDX-License-Identifier: GPL-2.0
"""What each kdump.py subcommand does, given its parsed arguments; returns
the exit status or raises StageError."""

import os
import sys
from pathlib import Path

import kdump_arch
from kdump_btf import build_btf_kernel, check_kfunc
from kdump_build import build_kernel
from kdump_common import BUILD, StageError, say
from kdump_debug import (DEBUG_APPEND, DEBUG_CRASHKERNEL,
                         build_debug_kernel, check_clean)
from kdump_cycle import refusal_cycle, run_cycle
from kdump_headers import header_boots
from kdump_host import run_fuzz
from kdump_report import print_report
from kdump_scenarios import boot_guest, \
    crashkernel_lines, crashkernel_table, \
    reboot_cycle
from kdump_setup import apply_patches, base_version, copy_overlay, setup


def arch_of(args):
    return kdump_arch.get(args.arch)


def cmd_apply(args):
    if args.kernel_dir:
        # The user's own 6.12 tree: patches then overlay, in place.
        src = Path(args.kernel_dir).resolve()
        if not (src / "Makefile").exists():
            raise StageError("apply", f"{src} is not a kernel tree")
        BUILD.mkdir(parents=True, exist_ok=True)
        apply_patches(src, BUILD / "logs/apply.log")
        n = copy_overlay(src)
        say(f"{n} overlay file(s) copied into {src}")
        say(f"base: {base_version(src)}")
        return 0
    tools = setup(arch_of(args), need_build=False)
    print(tools.src)
    return 0


def debug_or_plain(tools, args):
    """The kernel `run` and `headers` use: the debug kind of --debug, or
    the plain build."""
    if args.debug:
        return build_debug_kernel(tools, args.impl, args.debug)
    return build_kernel(tools, args.impl)


def cmd_build(args):
    tools = setup(arch_of(args))
    if args.btf and args.debug:
        raise StageError("build", "--btf and --debug are separate variants")
    if args.btf:
        k = build_btf_kernel(tools, args.impl)
        print(f"kfunc:   {check_kfunc(k, tools.src)}")
    elif args.debug:
        k = build_debug_kernel(tools, args.impl, args.debug)
    else:
        k = build_kernel(tools, args.impl)
    print(f"image:   {k['image']}")
    print(f"vmlinux: {k['vmlinux']}")
    return 0


def cmd_boot(args):
    tools = setup(arch_of(args))
    k = build_kernel(tools, args.impl)
    work = BUILD / f"boot-{args.arch}-{args.impl}"
    say(f"booting the {args.impl} kernel: {args.append!r}, running "
        f"{args.cmd!r}")
    rc, output, g = boot_guest(k, args.append, args.cmd, args.mem, args.smp,
                               args.timeout, work)
    sys.stdout.write(output)
    say(f"guest command exited with status {rc} (console: {g.log_path})")
    return rc


def cmd_run(args):
    tools = setup(arch_of(args))
    k = debug_or_plain(tools, args)
    name = f"run-{k['variant']}-{args.loader}"
    if args.trigger != "sysrq":
        name += f"-{args.trigger}"
    out = Path(args.out or BUILD / f"{name}-{args.arch}").resolve()
    crashkernel = args.crashkernel or (DEBUG_CRASHKERNEL if args.debug
                                       else "256M")
    append = args.append
    if args.debug and "kaslr" not in append:
        # As the debug steps: see DEBUG_APPEND.
        append = f"{append} {DEBUG_APPEND}".strip()
    r = run_cycle(tools, k, out, args.mem, crashkernel, args.loader,
                  fault=args.fault_inject, smp=args.smp,
                  append_extra=append, trigger=args.trigger,
                  guest_checks=args.guest_checks)
    print_report(r)
    print(f"report: {out / 'report.json'}")
    if not r["verified"]:
        raise StageError("verify", "; ".join(r["problems"]),
                         log=out / "console.log")
    if args.debug:
        print(f"debug:   {check_clean([out / 'console.log'])}")
    return 0


def cmd_refusal(args):
    tools = setup(arch_of(args))
    k = build_kernel(tools, args.impl)
    out = BUILD / f"refusal-{args.impl}-{args.arch}"
    print(refusal_cycle(tools, k, out, not args.unchanged))
    return 0


def cmd_headers(args):
    tools = setup(arch_of(args))
    k = debug_or_plain(tools, args)
    res = header_boots(k, BUILD / f"headers-{k['variant']}-{args.arch}",
                       args.cases or None)
    for name, f in res.items():
        print(f"{name:<11} {f['errors'][0] if f['errors'] else f['outcome']}")
    if args.debug:
        print(f"debug: {check_clean([f['log'] for f in res.values()])}")
    return 0


def cmd_reboot(args):
    tools = setup(arch_of(args))
    k = build_kernel(tools, args.impl)
    r = reboot_cycle(k, BUILD / f"reboot-{args.impl}-{args.arch}", args.mem)
    print(f"\n=== kexec reboot: impl={r['impl']} (kexec -s -l, kexec -e) ===")
    print("stages:          " + ", ".join(f"{k} {v}s" for k, v in
                                         r["stages"].items()))
    print(f"second kernel:   {r['cmdline']}")
    print(f"console:         {r['console']}")
    return 0


def cmd_crashkernel_table(args):
    tools = setup(arch_of(args))
    impls = ("c", "rust") if args.impl == "both" else (args.impl,)
    kernels = {impl: build_kernel(tools, impl) for impl in impls}
    say(f"booting {len(crashkernel_lines(tools.arch))} crashkernel= lines "
        f"on {', '.join(impls)}")
    for append, mem, out, warns in crashkernel_table(kernels):
        print(f"{append} ({mem}):")
        for line in out or ["(nothing reserved)"]:
            print(f"    {line}")
        for w in warns:
            print(f"    rust: {w}")
    return 0


def cmd_fuzz(args):
    BUILD.mkdir(parents=True, exist_ok=True)
    setup(arch_of(args), need_build=False)
    print("\n".join(run_fuzz(args.seconds, arch_of(args), args.runs,
                             args.target).split("; ")))
    return 0


def cmd_soak(args):
    """N crash cycles of mixed settings, every vmcore verified."""
    from kdump_soak import soak
    tools = setup(arch_of(args))
    k = build_kernel(tools, args.impl)
    passed, failures, work = soak(tools, k, args.cycles, args.seed)
    for f in failures:
        print(f"FAILED {f}")
    print(f"soak {args.arch} {k['variant']}: {passed}/{args.cycles} cycles "
          f"verified (seed {args.seed}; {work}/summary.json)")
    return 0 if not failures else 1


def cmd_series(args):
    """Generate the series; with --check (and --bisect) test it."""
    import kdump_series_git as series
    if args.bisect and not args.check:
        raise StageError("series", "--bisect goes with --check")
    BUILD.mkdir(parents=True, exist_ok=True)
    log = BUILD / "logs/series.log"
    out = Path(args.out or BUILD / "series/patches").resolve()
    files = series.generate(out, Path(args.figures or BUILD), log)
    for f in files:
        print(f)
    if args.check:
        print(series.check(files, log))
    if args.bisect:
        print(series.bisect(setup(arch_of(args)), log))
    return 0


def cmd_test(args):
    if args.debug:
        # The debug kernel's steps (kdump_steps_hardening) join the plan.
        os.environ["KDUMP_TEST_DEBUG"] = "1"
    import kdump_steps
    arches = [kdump_arch.get(n) for n in
              (kdump_arch.ordered() if args.arch == "all" else [args.arch])]
    tasks = kdump_steps.suite.plan(arches, args.filter)
    if args.list:
        for t in tasks:
            needs = f"  (needs {', '.join(t.needs)})" if t.needs else ""
            print(f"{t.name:<42} {t.doc}{needs}")
        return 0
    if not tasks:
        raise StageError("test", f"no step matches {args.filter}")
    used = [a for a in arches if any(t.arch == a.name for t in tasks)] or \
        arches[:1]
    # bindgen is built (cargo install) only when a kernel build is planned.
    builds = any(t.lane == "build" for t in tasks)
    contexts = {a.name: kdump_steps.Context(setup(a, need_build=builds))
                for a in used}
    report = kdump_steps.suite.run(contexts, tasks, BUILD / "test-report.json")
    return 1 if any(s["status"] == "failed" for s in report["steps"]) else 0
