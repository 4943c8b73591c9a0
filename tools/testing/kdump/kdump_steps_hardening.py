# SPDX-License-Identifier: GPL-2.0
"""The hardening steps of `kdump.py test`: no Rust panic behind any of our
C faces, the states the crash path must survive, and the debug kernel's
cycles and planted headers with no checker report (x86_64; every
architecture with test --debug). kdump_steps.py registers them after its
own (they need its build steps)."""

import os

from kdump_common import StageError
from kdump_cycle import run_cycle
from kdump_debug import (DEBUG_APPEND, DEBUG_CRASHKERNEL,
                         build_debug_kernel, check_clean)
from kdump_headers import header_boots
from kdump_panicfree import check_faces_panic_free
from kdump_report import cycle_detail, print_report
from kdump_states import HOST, STATES, check_state, compare_kaslr, \
    console_lines, keep_headers


def x86_64(arch):
    """The states and the debug kernel run on x86_64 (the other
    architectures' TCG cycles are several times slower); CPU hotplug
    updates a loaded crash kernel's header on x86 only (6.12's
    ARCH_SUPPORTS_CRASH_HOTPLUG)."""
    return arch.name == "x86_64"


def debug_arch(arch):
    """The debug kernel's steps: x86_64's in every run, the other
    architectures' with `test --debug` (their TCG guests are several times
    slower under KASAN; CI's time has no room for them)."""
    return x86_64(arch) or os.environ.get("KDUMP_TEST_DEBUG") == "1"


def register_hardening(step, impls, drop_vmcore):
    """Register the steps with `step` (the suite's decorator)."""

    @step("faces-panic-free", needs=["build-rust"], timeout=900)
    def faces_panic_free(ctx):
        """No Rust panic is reachable from any of our C faces (every
        no_mangle extern "C" function of kernel/ and arch/, every callback
        of our kernel-crate abstractions) in the Rust vmlinux, but those
        panic-allow.toml proves cannot fire."""
        return check_faces_panic_free(ctx.kernels["rust"])

    @step("runner-mutant-faces-panic", needs=["build-rust-mutant"],
          timeout=900, scope="first")
    def mutant_faces_panic(ctx):
        """Mutant memparse-face-slices (kdump_rust_memparse() finds its end
        pointer through a range index that can fail): the faces check
        fails."""
        try:
            check_faces_panic_free(ctx.kernels["rust-mutant"])
        except StageError as e:
            hit = [p for p in e.message.split("; ")
                   if "kdump_rust_memparse reaches" in p]
            if hit:
                return "red as it must be: " + hit[0][:300]
            raise
        raise StageError("runner", "the faces check passed the mutant")

    for state in STATES:
        for impl in impls:
            state_step(step, state, impl, drop_vmcore)

    @step("runner-mutant-stale-header", needs=["build-c"], timeout=1800,
          when=x86_64, scope="first")
    def mutant_stale_header(ctx):
        """The mem-hotplug state with kexec_load (kexec -p, without
        --hotplug): the kernel keeps the header loaded before the hot-add,
        as a kernel whose MEM_ONLINE rebuild did nothing would, and the
        state's check must fail on the dump."""
        out = ctx.out("mutant-stale-header")
        word, _, smp, mem, _ = STATES["mem-hotplug"]
        # The state's check on its own; drgn's verdict is said beside it.
        # drgn fails too when what it reads (the crashed task) was
        # allocated in the new memory, which run_cycle raises: the dump is
        # on disk by then, and the state's check still runs on it.
        try:
            r = run_cycle(ctx.tools, ctx.kernels["c"], out, loader="load",
                          smp=smp, mem=mem, state=word,
                          host=HOST["mem-hotplug"])
            verify = ("drgn and makedumpfile verified the dump"
                      if r["verified"] else
                      "verify: " + "; ".join(r["problems"])[:200])
        except StageError as e:
            if e.stage != "verify" or not (out / "vmcore").exists():
                raise
            r, verify = {}, f"verify: {e.message[:200]}"
        try:
            check_state("mem-hotplug", console_lines(out), out / "vmcore", r,
                        ctx.arch)
        except StageError as e:
            if "hot-added memory not in the dump" in e.message:
                return f"red as it must be: {e.message[:300]} ({verify})"
            raise
        finally:
            drop_vmcore(out)
        raise StageError("runner", "the mem-hotplug check passed a header "
                         "loaded before the hot-add")

    @step("elfcorehdr-kaslr-c-vs-rust",
          needs=["state-reload-c", "state-reload-rust"], timeout=120,
          when=x86_64)
    def kaslr_c_vs_rust(ctx):
        """The reload states' dumps (kexec_file_load, KASLR on) of C and
        Rust: each one's RAM PT_LOADs are System RAM minus the crash
        kernel at one direct-map offset, both cover as much RAM with as
        many notes; what KASLR moves is printed."""
        return compare_kaslr(ctx.arch, *[ctx.out(f"state-reload-{impl}")
                                         for impl in impls])

    # Late, and all in the build lane: the KASAN build (about 10 min on 2
    # cores under load) comes after every architecture's builds, and its
    # cycles and headers (about 9 min) run there too, on the core the
    # builds leave free, beside the main lane's other architectures.
    @step("build-rust-debug", needs=["build-rust"], timeout=3600,
          when=debug_arch, lane="build", late=True)
    def build_debug(ctx):
        """The Rust kernel with configs/debug.config (KASAN, UBSAN,
        PROVE_LOCKING, DEBUG_ATOMIC_SLEEP, DEBUG_VM) in its own build
        folder."""
        k = ctx.kernels["rust-debug"] = build_debug_kernel(ctx.tools, "rust")
        return f"{k['release']}, {k['seconds']}s"

    for loader in ("load", "file"):
        @step(f"debug-cycle-rust-{loader}", needs=["build-rust-debug"],
              timeout=3600, when=debug_arch, late=True, lane="build")
        def debug_cycle(ctx, loader=loader):
            """A full cycle of the Rust debug kernel with --guest-checks:
            verified as cycle-rust-*, and no report from any checker on
            the first or the capture kernel's console."""
            out = ctx.out(f"debug-run-rust-{loader}")
            r = run_cycle(ctx.tools, ctx.kernels["rust-debug"], out,
                          crashkernel=DEBUG_CRASHKERNEL,
                          loader=loader, guest_checks=True,
                          append_extra=DEBUG_APPEND)
            print_report(r)
            drop_vmcore(out)
            if not r["verified"]:
                raise StageError("verify", "; ".join(r["problems"]))
            return f"{check_clean([out / 'console.log'])}; {cycle_detail(r)}"

    @step("debug-headers-rust", needs=["build-rust-debug"], timeout=3600,
          when=debug_arch, late=True, lane="build")
    def debug_headers(ctx):
        """Every planted ELF core header on the Rust debug kernel: handled
        as on the Rust kernel, and no checker report on any console."""
        res = header_boots(ctx.kernels["rust-debug"],
                           ctx.out("debug-headers-rust"))
        return (f"{len(res)} cases; " +
                check_clean([f["log"] for f in res.values()]))


def state_step(step, state, impl, drop_vmcore):
    """Register step state-STATE-IMPL: a full cycle after a state the crash
    path must survive (kdump_states.STATES)."""
    word, loader, smp, mem, doc = STATES[state]

    def state_cycle(ctx):
        out = ctx.out(f"state-{state}-{impl}")
        r = run_cycle(ctx.tools, ctx.kernels[impl], out, loader=loader,
                      smp=smp, mem=mem, state=word, host=HOST.get(state))
        if not r["verified"]:
            raise StageError("verify", "; ".join(r["problems"]))
        res = check_state(state, console_lines(out), out / "vmcore", r,
                          ctx.arch)
        if state == "reload":
            # elfcorehdr-kaslr-c-vs-rust reads the reload dumps' headers.
            keep_headers(out)
        else:
            drop_vmcore(out)
        return f"{res}; {cycle_detail(r)}"
    state_cycle.__doc__ = (f"A full cycle, the dump verified by drgn and "
                           f"makedumpfile, after: {doc}.")
    step(f"state-{state}-{impl}", needs=[f"build-{impl}"], timeout=1800,
         when=x86_64)(state_cycle)
