# SPDX-License-Identifier: GPL-2.0
"""The steps of `kdump.py test`, in the order they run. Names start with
the component or area they check; `kdump.py test --list` prints them."""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from kdump_btf import build_btf_kernel, check_kfunc, check_sysfs_btf
from kdump_build import build_kernel
from kdump_common import (BUILD, HERE, SOURCE_LOCK, StageError, last_run,
                          run_logged)
from kdump_cycle import TRIGGERS, refusal_cycle, run_cycle
from kdump_devdump import check_sample
from kdump_headers import header_boots, outcome, side_by_side
from kdump_host import ignored_test, run_fuzz, workspace_tests
from kdump_ktap import kunit_outcomes
from kdump_kselftest import ARCHES as KSELFTEST_ARCHES, compare, \
    run_kexec_selftests, summary, verdicts
from kdump_lint import clippy, our_rust_files
from kdump_mutants import build_kernel_mutant, host_mutant, \
    mutated_copy, tree_files
from kdump_objcheck import build_panicky, check_handoff, check_panic_free, \
    check_purgatory, objdump, without_call_targets, HANDOFF_REQUIRED, \
    RUST_HANDOFF_ROOTS
from kdump_report import cycle_detail, print_report
from kdump_resident import check_boot_resident
from kdump_review import checkpatch_check, kernel_doc_check, rustdoc_check, \
    rustfmt_check
from kdump_scenarios import boot_guest, \
    crashkernel_lines, crashkernel_table, image_checks, \
    panic_without_crash_kernel, reboot_cycle
from kdump_setup import RUSTC, copy_overlay
from kdump_steps_hardening import register_hardening
from kdump_suite import Suite
from kdump_verify import compare_core_layouts

IMPLS = ("c", "rust")
# Our KUnit suites, by kernel: the crashkernel= table runs on both, and
# where kexec_file_load loads ELF (arch.kexec_image "elf"), kdump_kexec_elf.
KUNIT_SUITES = {"c": ["kdump_crashkernel"],
                "rust": ["kdump_rust_memparse", "kdump_crashkernel",
                         "kdump_rust_purgatory", "rust_doctests_kernel"]}
# Planted headers the C provider (fs/proc/vmcore.c of the base) handles
# otherwise than ours, and why; every other case must match.
HEADER_DIFFERENCES = {
    "load-wraps": "C serves a PT_LOAD that ends past the address space; "
                  "reading it fails with EFAULT (on x86_64 after a WARN in "
                  "__ioremap_caller(), arch/x86/mm/ioremap.c:207; on "
                  "riscv64 it oopses in generic_ioremap_prot() under "
                  "copy_oldmem_page() and the guest hangs). Rust refuses "
                  "the header",
    "note-huge": "C refuses the 1 TiB PT_NOTE only after the page allocator "
                 "WARNs on the size vmcore_init() asks for. Rust refuses it "
                 "before allocating",
    "bad-note": "C refuses the whole header after vmalloc WARNs on the "
                "2 GiB note size. Rust drops the one bad note, says so, and "
                "serves the rest",
    "addr-own-ram": "C maps this kernel's own RAM at elfcorehdr= (WARNING: "
                    "ioremap on RAM, arch/x86/mm/ioremap.c:218) and refuses "
                    "the bytes it read. Rust refuses the address before "
                    "mapping it",
    "addr-last-page": "where the page is this kernel's unreserved RAM, as "
                      "addr-own-ram",
}


class Context:
    """What the steps share: the set-up tools and what earlier steps made."""

    def __init__(self, tools):
        self.tools = tools
        self.arch = tools.arch
        self.kernels = {}
        self.planted = {}
        self.kselftests = {}

    def out(self, name):
        """A step's output folder, per architecture."""
        return BUILD / f"{name}-{self.arch.name}"


suite = Suite()
step = suite.step


def drop_vmcore(outdir):
    """Delete a verified capture no later step reads (each is the guest's
    memory size: a dozen of them per architecture fill a CI disk); the
    report and the console log stay."""
    (outdir / "vmcore").unlink(missing_ok=True)


def has_purgatory(arch):
    """kexec_file_load on arch loads a purgatory (arm64's does not)."""
    return arch.purgatory_ro is not None


@step("host-cargo-test", timeout=2400, scope="host")
def host_cargo_test(ctx):
    """cargo test --workspace: the core's unit and property tests and the
    differential tests against the upstream C functions."""
    passed, ignored = workspace_tests()
    return (f"{passed} passed; {len(ignored)} skipped here, each run by "
            f"the step that has its input: {', '.join(ignored)}")


@step("host-fuzz", timeout=1200, scope="host")
def host_fuzz(ctx):
    """Each libFuzzer target for 15 s (long campaigns: kdump.py fuzz)."""
    return run_fuzz(15, ctx.arch)


for impl in IMPLS:
    @step(f"build-{impl}", timeout=3600, lane="build")
    def build(ctx, impl=impl):
        """Build the kernel (tinyconfig plus the fragments). A new Rust
        build folder starts as a copy of the C one when that exists: the
        two configurations differ in a few options (our switches, RUST,
        the samples), so kbuild builds again only what those touch."""
        seed = BUILD / f"out-{ctx.arch.name}-c" if impl == "rust" else None
        if seed is not None and not (seed / ".config").exists():
            seed = None
        k = ctx.kernels[impl] = build_kernel(ctx.tools, impl, seed=seed)
        return f"{k['release']}, {k['seconds']}s"

@step("lint-clippy", needs=["build-rust"], timeout=3600, lane="build")
def rust_clippy(ctx):
    """CLIPPY=1 over every Rust object of the Rust kernel (a copy of its
    build folder): no warning or error in our files."""
    found, secs = clippy(ctx.tools)
    if found:
        raise StageError("clippy", f"{len(found)} clippy diagnostics in our "
                         f"code: " + "; ".join(f"{f}:{n}: {lvl}: {msg}"
                                               for lvl, msg, f, n in
                                               found[:10]))
    return (f"clippy: 0 diagnostics in our {len(our_rust_files())} Rust "
            f"files, {secs}s")


# The review tools read the source tree, which runner-failures breaks for a
# while: they run in the build lane, which holds the tree.
@step("review-rustfmt", timeout=600, scope="first", lane="build")
def review_rustfmt(ctx):
    """make rustfmtcheck: our Rust files are formatted as the kernel's
    .rustfmt.toml says."""
    return rustfmt_check(ctx.tools.src)


@step("review-kernel-doc", timeout=600, scope="first", lane="build")
def review_kernel_doc(ctx):
    """scripts/kernel-doc -none -Wall on our C files: no warning."""
    return kernel_doc_check(ctx.tools.src)


@step("review-checkpatch", timeout=900, scope="first", lane="build")
def review_checkpatch(ctx):
    """scripts/checkpatch.pl --strict -f on our C files: each finding is
    listed with the reason it is right."""
    return checkpatch_check(ctx.tools.src)


@step("review-rustdoc", needs=["build-rust"], timeout=1800, scope="first",
      lane="build")
def review_rustdoc(ctx):
    """make rustdoc in the Rust kernel's build folder: the kernel and kdump
    crates are documented with no warning in our files."""
    out = ctx.kernels["rust"]["out"]
    return rustdoc_check(ctx.tools, out, out / "rustdoc.log")


for impl in IMPLS:
    @step(f"kunit-{impl}", needs=[f"build-{impl}"], timeout=600)
    def kunit(ctx, impl=impl):
        """Boot with crashkernel=128M: our KUnit suites pass in the boot log
        and /proc/iomem shows the reservation."""
        k = ctx.kernels[impl]
        rc, output, g = boot_guest(k, "crashkernel=128M",
                                   "grep -i 'crash kernel' /proc/iomem",
                                   "1G", 1, 300, ctx.out(f"test-kunit-{impl}"))
        suites = KUNIT_SUITES[impl] + (["kdump_kexec_elf"]
                                       if ctx.arch.kexec_image == "elf"
                                       else [])
        res = kunit_outcomes(Path(g.log_path).read_text(errors="replace"),
                             suites)
        if any(v != "ok" for v in res.values()):
            raise StageError("kunit", f"KUnit suites of the {impl} kernel: "
                             f"{res}", log=g.log_path)
        if rc != 0 or "Crash kernel" not in output:
            raise StageError("boot", "crashkernel=128M did not show a "
                             f"'Crash kernel' range in /proc/iomem "
                             f"(status {rc}, output {output!r})",
                             log=g.log_path)
        return (f"KTAP: {', '.join(f'{s} {v}' for s, v in res.items())}; "
                f"iomem: {output.strip()}")


@step("crashkernel-table", needs=["build-c", "build-rust"], timeout=3600)
def crashkernel_table_step(ctx):
    """Every crashkernel= form booted on C and Rust: identical reservations;
    each malformed line explained by the Rust kernel in one warning."""
    # C and Rust only, in a dict of its own: the build lane adds the debug
    # kernel to ctx.kernels while this step runs (a RuntimeError in CI).
    rows = crashkernel_table({i: ctx.kernels[i] for i in IMPLS})
    return (f"{len(rows)} of {len(crashkernel_lines(ctx.arch))} lines "
            f"identical")


@step("kexec-image-checks", needs=["build-c", "build-rust"], timeout=900,
      when=lambda arch: bool(arch.image_cases))
def kexec_image_checks(ctx):
    """kexec -s -l of broken kernel images (arm64: an Image header with no
    image_size, or a page size the CPU lacks; riscv64: an ELF vmlinux that
    is not ET_EXEC, wants an interpreter or has a segment past the end of
    the file): refused with the same error on C and Rust, the Rust kernel
    naming the field once; the intact image loads."""
    rows = image_checks({i: ctx.kernels[i] for i in IMPLS},
                        ctx.out("kexec-image"))
    return "; ".join(rows)


for impl in IMPLS:
    for loader in ("load", "file"):
        @step(f"cycle-{impl}-{loader}", needs=[f"build-{impl}"],
              timeout=2400)
        def cycle(ctx, impl=impl, loader=loader):
            """Full kdump cycle with --guest-checks: drgn on the host (and
            makedumpfile, if the host's reads the architecture),
            vmcore_test on 2 CPUs and makedumpfile in the capture kernel,
            old memory against QEMU's copy."""
            # kexec_file_load runs without KASLR, so that the C and the
            # Rust kernel's ELF core headers describe the same layout.
            out = ctx.out(f"run-{impl}-{loader}")
            r = run_cycle(ctx.tools, ctx.kernels[impl], out, loader=loader,
                          append_extra="nokaslr" if loader == "file" else "",
                          guest_checks=True)
            print_report(r)
            if not r["verified"]:
                raise StageError("verify", "; ".join(r["problems"]))
            # Later steps read the kexec_file_load captures only.
            if loader != "file":
                drop_vmcore(out)
            return cycle_detail(r)


for impl in IMPLS:
    @step(f"kexec-selftests-{impl}", needs=[f"build-{impl}"], timeout=900,
          when=lambda arch: arch.kernel_arch in KSELFTEST_ARCHES)
    def kexec_selftests(ctx, impl=impl):
        """The base's tools/testing/selftests/kexec/ (make install,
        run_kselftest.sh in the guest): every test has a result and none
        fails; skips are listed with their reason, never counted as
        passes."""
        res, listed, _ = ctx.kselftests[impl] = run_kexec_selftests(
            ctx.tools, ctx.kernels[impl], ctx.out(f"kselftest-kexec-{impl}"))
        problems = verdicts(res, listed, expected={})
        if problems:
            raise StageError("kselftest", "; ".join(problems))
        return summary(res)


@step("kexec-selftests-c-vs-rust", needs=["kexec-selftests-c",
                                          "kexec-selftests-rust"],
      timeout=60, when=lambda arch: arch.kernel_arch in KSELFTEST_ARCHES)
def kexec_selftests_c_vs_rust(ctx):
    """The base's kexec kselftests have the same result, closing line and
    [INFO] conditions on the C and the Rust kernel, and each load
    succeeded (nothing requires a signature here; the tests pass when a
    load fails too)."""
    (c, listed, _), (rust, _, _) = (ctx.kselftests[i] for i in IMPLS)
    rows, diffs = compare(c, rust)
    for r in rows:
        print(f"  {r}")
    diffs += [f"{i}: {p}" for i in IMPLS
              for p in verdicts(ctx.kselftests[i][0], listed)]
    if diffs:
        raise StageError("kselftest", "; ".join(diffs))
    return f"{len(rows)} tests, the same on C and Rust: {summary(c)}"


# The C side of the device-dump comparison on the first architecture only:
# the provider code is the same on every one, and each one's Rust captures
# check the sample's note already (CI time).
@step("build-rust-cvmcore", needs=["build-rust"], timeout=3600,
      scope="first", lane="build")
def build_cvmcore(ctx):
    """The Rust kernel with the C /proc/vmcore (configs/cvmcore.config),
    built from a copy of the Rust build folder."""
    k = ctx.kernels["rust-cvmcore"] = build_kernel(
        ctx.tools, "rust", variant="rust-cvmcore",
        extra=[HERE / "configs/cvmcore.config"],
        seed=ctx.kernels["rust"]["out"])
    return f"{k['release']}, {k['seconds']}s"


# The DEBUG_INFO_BTF build on x86_64 only: which functions are kfuncs is
# decided in C, the same on every architecture, and each BTF build costs
# a kernel link with pahole (CI time).
def btf_arch(arch):
    """The architecture the BTF build and its kfunc check run on."""
    return arch.name == "x86_64"


@step("build-rust-btf", needs=["build-rust"], timeout=3600, when=btf_arch,
      lane="build")
def build_btf(ctx):
    """The Rust kernel with DEBUG_INFO_BTF and BPF_SYSCALL
    (configs/btf.config), built with Debian trixie's pahole from a copy of
    the Rust build folder."""
    k = ctx.kernels["rust-btf"] = build_btf_kernel(
        ctx.tools, seed=ctx.kernels["rust"]["out"])
    return f"{k['release']}, {k['seconds']}s"


@step("btf-kfunc-crash-kexec", needs=["build-rust-btf"], timeout=300,
      when=btf_arch)
def btf_kfunc(ctx):
    """crash_kexec() stays a destructive BPF kfunc with the Rust handoff:
    a FUNC in vmlinux's BTF, whose id resolve_btfids put into the
    kfunc set generic_btf_ids with KF_DESTRUCTIVE."""
    return check_kfunc(ctx.kernels["rust-btf"], ctx.tools.src)


@step("btf-sysfs-vmlinux", needs=["build-rust-btf"], timeout=600,
      when=btf_arch)
def btf_sysfs(ctx):
    """The BTF kernel boots, registers its kfunc sets (kfunc_init()
    returns 0) and publishes its BTF: /sys/kernel/btf/vmlinux is the .BTF
    section of its vmlinux, byte for byte."""
    return check_sysfs_btf(ctx.kernels["rust-btf"], ctx.out("boot-btf"))


@step("device-dump-c-vs-rust", needs=["build-rust-cvmcore", "cycle-rust-file"],
      timeout=2400, scope="first")
def device_dump_c_vs_rust(ctx):
    """The Rust sample's device dump, first in the PT_NOTE segment with
    the sample's bytes, is byte for byte the same note in the C
    /proc/vmcore (a cycle of the Rust kernel with the C provider) as in
    the Rust one (cycle-rust-file)."""
    out = ctx.out("run-rust-cvmcore-file")
    r = run_cycle(ctx.tools, ctx.kernels["rust-cvmcore"], out, loader="file",
                  append_extra="nokaslr")
    drop_vmcore(out)
    if not r["verified"]:
        raise StageError("verify", "; ".join(r["problems"]))
    c_note = out / "device-dump.bin"
    rust_note = ctx.out("run-rust-file") / "device-dump.bin"
    for p in (c_note, rust_note):
        if not p.exists():
            raise StageError("verify", f"no device dump was kept in {p}")
    if c_note.read_bytes() != rust_note.read_bytes():
        raise StageError("verify", "the sample's device-dump note differs "
                         "between the C and the Rust /proc/vmcore")
    return (f"C and Rust /proc/vmcore: the same {c_note.stat().st_size}-byte "
            f"NT_VMCOREDD note, first in PT_NOTE; {cycle_detail(r)}")


@step("elfcorehdr-c-vs-rust", needs=["cycle-c-file", "cycle-rust-file"],
      timeout=120)
def elfcorehdr_c_vs_rust(ctx):
    """The vmcores of C and Rust (kexec_file_load, no KASLR) have the same
    PT_LOAD and PT_NOTE program headers: Rust built the ELF core header."""
    return compare_core_layouts(ctx.arch, ctx.out("run-c-file"),
                                ctx.out("run-rust-file"))


@step("elfcorehdr-high-low", needs=["build-c", "build-rust"], timeout=1800,
      when=lambda arch: arch.high_low is not None)
def elfcorehdr_high_low(ctx):
    """crashkernel=,high and ,low on a guest with memory above 4 GiB, then
    kexec -s -p (riscv64: kexec_file_load(2) itself): both crash ranges are left out of the C and the Rust ELF
    core header alike (identical program headers), each vmcore verified."""
    mem, crashkernel = ctx.arch.high_low
    outs = [ctx.out(f"run-{impl}-high-low") for impl in IMPLS]
    try:
        for impl, out in zip(IMPLS, outs):
            r = run_cycle(ctx.tools, ctx.kernels[impl], out, mem=mem,
                          crashkernel=crashkernel,
                          loader=ctx.arch.high_low_loader,
                          append_extra="nokaslr", makedumpfile=False)
            if not r["verified"]:
                raise StageError("verify", "; ".join(r["problems"]))
            ranges = r["crash_kernel_iomem"]
            if len(ranges) != 2:
                raise StageError("load", f"{impl}: want a low and a high "
                                 f"crash kernel range, got {ranges}")
        same = compare_core_layouts(ctx.arch, *outs)
    finally:
        for out in outs:
            drop_vmcore(out)
    return f"crash kernel {'; '.join(ranges)}: {same}"


@step("vmcore-c-header-host", needs=["cycle-c-file"], timeout=1200)
def vmcore_c_header_host(ctx):
    """kdump::vmcore lays out the C kernel's vmcore header again, byte for
    byte (the host test that needs a C capture)."""
    ignored_test("kdump", None, "vmcore::tests::c_vmcore_header_is_reproduced",
                 BUILD / "logs/vmcore-c-header.log",
                 KDUMP_C_VMCORE=ctx.out("run-c-file") / "vmcore")
    return "kdump::vmcore rebuilt the C kernel's vmcore header byte for byte"


for impl in IMPLS:
    @step(f"vmcore-headers-{impl}", needs=[f"build-{impl}"], timeout=1800)
    def headers(ctx, impl=impl):
        """Planted good and bad ELF core headers at elfcorehdr=. Rust: each
        bad one refused with one error naming the field, no oops, good ones
        served with the planted bytes; C: what it does is recorded."""
        res = ctx.planted[impl] = header_boots(ctx.kernels[impl],
                                               ctx.out(f"headers-{impl}"))
        return "; ".join(f"{n}: {outcome(f)}" for n, f in res.items())


@step("vmcore-headers-c-vs-rust", needs=["vmcore-headers-c",
                                         "vmcore-headers-rust"], timeout=60)
def headers_c_vs_rust(ctx):
    """Each planted header has the same outcome on C and Rust (refused, or
    served with the same bytes), but for the differences listed with their
    reason."""
    rows = side_by_side(ctx.planted["c"], ctx.planted["rust"],
                        HEADER_DIFFERENCES)
    for r in rows:
        print(f"  {r}")
    return f"{len(rows)} cases side by side, outcomes as expected"


for impl in IMPLS:
    @step(f"purgatory-ro-{impl}", needs=[f"build-{impl}"], timeout=120,
          when=has_purgatory)
    def purgatory_ro(ctx, impl=impl):
        """purgatory.ro has what the loader looks up, no undefined symbol,
        no Rust panic symbol, only relocation types the loader applies."""
        return check_purgatory(ctx.kernels[impl])


@step("purgatory-reloc-c-vs-rust", needs=["build-c", "build-rust"],
      timeout=1200, when=has_purgatory)
def reloc_diff(ctx):
    """Both real purgatory.ro relocated by the upstream C function and by
    ours at five load addresses: identical bytes."""
    ros = [str(ctx.kernels[i]["out"] / ctx.arch.purgatory_ro) for i in IMPLS]
    test_file, test, env = ctx.arch.reloc_diff
    lines = ignored_test("kdump-cref", test_file, test,
                         BUILD / "logs/reloc-diff.log",
                         **{env: ":".join(ros)})
    seen = [l for l in lines if "relocation sections identical" in l]
    if len(seen) != len(ros):
        raise StageError("host", f"the relocation diff checked {len(seen)} "
                         f"of {len(ros)} purgatory.ro",
                         log=BUILD / "logs/reloc-diff.log")
    return "; ".join(l.split("out-", 1)[-1] for l in seen)


for impl in IMPLS:
    @step(f"purgatory-reboot-{impl}", needs=[f"build-{impl}"], timeout=900,
          when=has_purgatory)
    def reboot(ctx, impl=impl):
        """kexec -s -l and kexec -e: the second kernel, through purgatory,
        reaches its init with the token on its command line."""
        r = reboot_cycle(ctx.kernels[impl], ctx.out(f"reboot-{impl}"))
        return f"second kernel up, stages {r['stages']}"

    @step(f"purgatory-refusal-{impl}", needs=[f"build-{impl}"], timeout=1200,
          when=has_purgatory)
    def refusal(ctx, impl=impl):
        """A byte of a loaded segment changed after kexec -s -p: purgatory
        refuses, no kernel starts; the same byte written back unchanged:
        the capture kernel starts."""
        k = ctx.kernels[impl]
        bad = refusal_cycle(ctx.tools, k, ctx.out(f"refusal-{impl}"), True)
        good = refusal_cycle(ctx.tools, k, ctx.out(f"refusal-{impl}-same"),
                             False)
        return f"{bad}; {good}"


@step("handoff-panic-free", needs=["build-rust"], timeout=600)
def handoff_panic_free(ctx):
    """crash_kexec()/__crash_kexec() of the Rust vmlinux call the Rust
    faces, no panic is reachable from those, every machine step is found;
    the check catches a panicky linked object and refuses a disassembly it
    does not understand."""
    k = ctx.kernels["rust"]
    real = check_handoff(k)
    caught = []
    with tempfile.TemporaryDirectory(prefix="kdump-panicky-") as tmp:
        so = build_panicky(RUSTC, tmp, ctx.arch, k["out"])
        _, problems = check_panic_free(objdump(so, ctx.arch), RUST_HANDOFF_ROOTS,
                                       HANDOFF_REQUIRED | ctx.arch.arch_callees,
                                       HANDOFF_REQUIRED, ctx.arch)
        if not any("panic function" in p for p in problems):
            raise StageError("handoff", f"the check missed the bounds-check "
                             f"panic of a linked panicky object: {problems}")
        caught.append(next(p for p in problems if "panic function" in p))
    try:
        check_handoff(k, without_call_targets(objdump(k["vmlinux"],
                                                      ctx.arch)))
    except StageError as e:
        caught.append(e.message.split(": ", 1)[1][:120])
    else:
        raise StageError("handoff", "the check passed a disassembly without "
                         "call targets")
    return real + "; self-test: " + " | ".join(caught)


for impl in IMPLS:
    @step(f"reserve-boot-resident-{impl}", needs=[f"build-{impl}"],
          timeout=600)
    def boot_resident(ctx, impl=impl):
        """parse_crashkernel() and reserve_crashkernel_generic() are in
        .init.text, as C's; measures the core code they leave in .text."""
        return check_boot_resident(ctx.kernels[impl])


@step("handoff-no-crash-kernel", needs=["build-rust"], timeout=600)
def handoff_no_crash_kernel(ctx):
    """A panic with no crash kernel loaded: the handoff does nothing,
    panic() reboots, no second kernel."""
    return panic_without_crash_kernel(ctx.kernels["rust"],
                                      ctx.out("test-no-image"))


for trigger, extra in (("panic", ""), ("bug", ""), ("exception", ""),
                       ("warning", ""), ("two-cpus", ""),
                       ("panic", "crash_kexec_post_notifiers")):
    name = f"handoff-trigger-{trigger}" + ("-post-notifiers" if extra else "")

    @step(name, needs=["build-rust"], timeout=1200)
    def trig_run(ctx, trigger=trigger, extra=extra, name=name):
        """A crash by this trigger on the Rust kernel (kexec_file_load):
        exactly one capture kernel, the trigger's frames in drgn's
        backtrace."""
        out = ctx.out(f"run-{name}")
        r = run_cycle(ctx.tools, ctx.kernels["rust"], out,
                      loader="file", trigger=trigger, append_extra=extra,
                      makedumpfile=False)
        print_report(r)
        if not r["verified"]:
            raise StageError("verify", "; ".join(r["problems"]))
        drop_vmcore(out)
        wanted = {f for g in TRIGGERS[trigger]["expect"] for f in g}
        frames = [f for i, f in enumerate(r["backtrace"]) if f in wanted
                  and (i == 0 or r["backtrace"][i - 1] != f)]
        others = "; ".join(f"CPU {c} stopped in {f[0] if isinstance(f, list) and f else f}"
                           for c, f in r["other_cpus"].items())
        return (f"one capture, vmcore {r['vmcore_bytes'] >> 20} MiB, "
                f"backtrace has {' < '.join(frames)}; handoff "
                f"{r['stages']['handoff']}s" + (f"; {others}" if others else ""))


@step("runner-offline", timeout=300, scope="host")
def runner_offline(ctx):
    """The runner's own unit tests: its checks on saved objdump, nm and
    KTAP output and synthetic cores (kdump_tool_test.py), the bench's
    parsing and tables (kdump_bench_test.py), the device dump check
    (kdump_devdump_test.py), the series
    generator's mapping (kdump_series_test.py), the faces and state
    checks' (kdump_panicfree_test.py, kdump_states_test.py), and the QEMU
    control clients against a live QEMU (kdump_qemu_control_test.py)."""
    ran = []
    for test, env in (("kdump_tool_test.py", {}), ("kdump_bench_test.py", {}),
                      ("kdump_devdump_test.py", {}),
                      ("kdump_series_test.py", {}),
                      ("kdump_panicfree_test.py", {}),
                      ("kdump_states_test.py", {}),
                      ("kdump_qemu_control_test.py", {"KDUMP_QEMU_LIVE": "1"})):
        log = BUILD / f"logs/{test[:-3]}.log"
        run_logged([sys.executable, HERE / test, "-v"], log, "runner",
                   env=dict(os.environ, **env))
        text = "\n".join(last_run(log))
        # unittest's verdict: "OK", or "OK (skipped=N)" when tests skipped.
        m = re.search(r"^Ran (\d+) tests?", text, re.M)
        if not m or not re.search(r"^OK$", text, re.M):
            raise StageError("runner", f"{test}: not every test ran and "
                             f"passed", log=log)
        ran.append(f"{test}: {m.group(1)} passed")
    return "; ".join(ran)


@step("series-check", timeout=1800, scope="host")
def series_check(ctx):
    """The patch series (kdump.py series --check, without --bisect):
    generated from the tree, applied with git am to a pristine base,
    checkpatch.pl --strict clean but for series/checkpatch-allow.toml,
    and the result equal to kdump.py apply's. Builds no kernel."""
    import kdump_series_git as series
    series.identity_fallback(series.TEST_IDENTITY)
    log = BUILD / "logs/series.log"
    files = series.generate(BUILD / "series/patches", BUILD, log)
    who = "signed off as " + " ".join(series.identity())
    return f"{series.check(files, log)}; {who}"


@step("runner-failures", needs=["build-rust"], timeout=3600, scope="first")
def runner_failures(ctx):
    """A broken build fails at stage 'build' and a capture kernel that never
    comes up at stage 'capture', each with its log path. It breaks the
    source tree and builds and runs through `kdump.py`, which copies the
    overlay back: it holds SOURCE_LOCK, so the build lane waits."""
    with SOURCE_LOCK:
        return check_runner_failures(ctx)


def check_runner_failures(ctx):
    """runner_failures(), the source tree held."""
    me = [sys.executable, str(HERE / "kdump.py")]
    arch = ["--arch", ctx.arch.name]
    checks = []
    with tempfile.TemporaryDirectory(prefix="kdump-broken-") as tmp:
        broken = Path(tmp)
        mutated_copy(broken, tree_files(), [])
        face = broken / "kernel/kdump/memparse.rs"
        face.write_text(face.read_text() + "\nfn broken( {\n")
        env = dict(os.environ, KDUMP_OVERLAY=str(broken))
        r = subprocess.run(me + ["build", *arch, "--impl", "rust"], env=env,
                           capture_output=True, text=True, timeout=1800)
        checks.append(("broken build", r, "FAILED at stage 'build'"))
    # Put the good overlay back right away (rebuilds the one object).
    copy_overlay(ctx.tools.src)
    with tempfile.TemporaryDirectory(prefix="kdump-nocapture-") as tmp:
        r = subprocess.run(me + ["run", *arch, "--impl", "rust", "--out", tmp,
                                 "--fault-inject", "capture"],
                           capture_output=True, text=True, timeout=1800)
        checks.append(("no capture kernel", r, "FAILED at stage 'capture'"))
    for name, r, want in checks:
        if r.returncode == 0 or want not in r.stdout or \
                "full log:" not in r.stdout:
            raise StageError("runner", f"{name}: expected a non-zero exit and "
                             f"{want!r} with the log path; got status "
                             f"{r.returncode}",
                             tail=(r.stdout + r.stderr).splitlines()[-20:])
    return "; ".join(f"{n}: exit {r.returncode}, {w!r}" for n, r, w in checks)


@step("runner-mutant-handoff-race", timeout=900, scope="host")
def mutant_handoff_race(ctx):
    """Mutant handoff-two-winners (two CPUs can claim panic_cpu): the racing
    host test fails within its deadline instead of hanging."""
    # A race is a race: on a loaded machine the test misses this mutant
    # about once in 150 runs, so it gets three tries to catch it.
    for attempt in range(1, 4):
        status, out, secs = host_mutant(
            "handoff-two-winners",
            ["test", "-p", "kdump", "--lib",
             "handoff::tests::racing_cpus_enter_exactly_once", "--",
             "--exact"], timeout=600)
        if status is None:
            raise StageError("runner", f"the racing test hung with the "
                             f"mutant ({secs} s)", tail=out.splitlines()[-20:])
        if status != 0:
            break
    if status == 0 or "racing_cpus_enter_exactly_once ... FAILED" not in out:
        raise StageError("runner", f"the racing test did not fail with the "
                         f"mutant in {attempt} runs (status {status})",
                         tail=out.splitlines()[-20:])
    why = next((l.strip() for l in out.splitlines() if "panicked at" in l),
               "")
    return (f"failed as it must, run {attempt}, {secs} s with the build: "
            f"{why[:160]}")


def host_diff_mutant(name, test, what):
    """Run differential test `test` of kdump-cref on mutant `name`: it must
    fail. `what` names the test in messages."""
    status, out, secs = host_mutant(
        name, ["test", "-p", "kdump-cref", "--test", test], timeout=600)
    if status is None:
        raise StageError("runner", f"the {what} hung with the "
                         f"mutant ({secs} s)", tail=out.splitlines()[-20:])
    if status == 0 or "test result: FAILED" not in out:
        raise StageError("runner", f"the {what} passed the mutant "
                         f"(status {status})", tail=out.splitlines()[-20:])
    failed = sorted(set(re.findall(r"^test (\S+) \.\.\. FAILED", out,
                                   re.M)))
    return f"failed as it must ({', '.join(failed)}), {secs} s with the build"


@step("runner-mutant-arm64-image", timeout=900, scope="host")
def mutant_arm64_image(ctx):
    """Mutant arm64-image-granules-swapped (the Image check asks about the
    64K granule for a 16K kernel and the other way round): the differential
    test against the upstream image_load() fails."""
    return host_diff_mutant("arm64-image-granules-swapped",
                            "arm64_image_diff", "Image diff test")


@step("runner-mutant-riscv-reloc", timeout=900, scope="host")
def mutant_riscv_reloc(ctx):
    """Mutant riscv-jal-imm (bits 11 and 20 of the JAL immediate swapped):
    the differential test against the upstream riscv
    arch_kexec_apply_relocations_add() fails."""
    return host_diff_mutant("riscv-jal-imm", "riscv_reloc_diff",
                            "riscv relocation diff test")


@step("runner-mutant-kexec-elf", timeout=900, scope="host")
def mutant_kexec_elf(ctx):
    """Mutant kexec-elf-shdr-size (the ELF image check measures section
    headers in 56-byte entries): the differential test against the
    upstream kexec_build_elf_info() fails."""
    return host_diff_mutant("kexec-elf-shdr-size", "kexec_elf_diff",
                            "kexec ELF image diff test")


@step("build-rust-mutant", needs=["build-rust"], timeout=3600,
      scope="first", lane="build")
def build_mutant(ctx):
    """The Rust kernel with the kernel mutants (mutants/*.patch named in
    kdump_mutants.KERNEL_MUTANTS) in its own build folder."""
    k = ctx.kernels["rust-mutant"] = build_kernel_mutant(ctx.tools)
    return f"{k['release']}, {k['seconds']}s"


@step("runner-mutant-purgatory-refusal", needs=["build-rust-mutant"],
      timeout=900, scope="first", when=has_purgatory)
def mutant_refusal(ctx):
    """Mutant purgatory-always-jumps: the purgatory refusal check fails."""
    try:
        refusal_cycle(ctx.tools, ctx.kernels["rust-mutant"],
                      ctx.out("refusal-mutant"), True)
    except StageError as e:
        if "purgatory did not refuse" in e.message:
            return f"red as it must be: {e.message}"
        raise
    raise StageError("runner", "the refusal check passed the mutant")


@step("runner-mutant-vmcore", needs=["build-rust-mutant"], timeout=1800,
      scope="first")
def mutant_vmcore(ctx):
    """Mutants vmcore-wrong-page and vmcore-dump-after-notes, and a capture
    kernel on 1 CPU: the old-memory comparison and the CPU check of
    --guest-checks fail, and so does the device-dump check on the
    vmcore."""
    out = ctx.out("run-mutant")
    try:
        run_cycle(ctx.tools, ctx.kernels["rust-mutant"], out, loader="file",
                  append_extra="nokaslr", guest_checks=True,
                  fault="capture-1cpu")
    except StageError as e:
        want = ("differs from guest memory", "ran on 1 CPU")
        if not all(w in e.message for w in want):
            drop_vmcore(out)
            raise
        guest = e.message
    else:
        drop_vmcore(out)
        raise StageError("runner", "the guest checks passed the mutant")
    # The guest checks stop the cycle before the host's checks: run the
    # device-dump one on the vmcore it kept.
    try:
        check_sample(out / "vmcore")
    except StageError as e:
        return f"red as it must be: {guest[:240]}; {e.message[:160]}"
    finally:
        drop_vmcore(out)
    raise StageError("runner", "the device-dump check passed the mutant")


@step("runner-mutant-reserve-init", needs=["build-rust-mutant"], timeout=600,
      scope="first")
def mutant_reserve_init(ctx):
    """Mutant reserve-not-init (parse_crashkernel() in .text): the
    boot-resident check fails."""
    try:
        check_boot_resident(ctx.kernels["rust-mutant"])
    except StageError as e:
        if "parse_crashkernel is in .text" in e.message:
            return f"red as it must be: {e.message.split(': ', 1)[1]}"
        raise
    raise StageError("runner", "the boot-resident check passed the mutant")


@step("runner-mutant-handoff-atomics", needs=["build-rust-mutant"],
      timeout=600, scope="first")
def mutant_handoff_atomics(ctx):
    """Mutant handoff-core-atomics (the kexec lock taken with a Rust
    compare-exchange, C11 ordering, instead of atomic_cmpxchg_acquire()):
    the handoff check fails."""
    try:
        check_handoff(ctx.kernels["rust-mutant"])
    except StageError as e:
        if "rust_helper_atomic_cmpxchg_acquire is never called" in e.message:
            return f"red as it must be: {e.message.split(': ', 1)[1][:200]}"
        raise
    raise StageError("runner", "the handoff check passed the mutant")


@step("build-rust-btf-mutant", needs=["build-rust-btf"], timeout=3600,
      when=btf_arch, lane="build")
def build_btf_mutant(ctx):
    """The BTF kernel with mutant btf-crash-kexec-in-rust, from a copy of
    its build folder."""
    k = ctx.kernels["rust-btf-mutant"] = build_kernel_mutant(
        ctx.tools, ("btf-crash-kexec-in-rust",), seed="rust-btf",
        build=lambda tools, seed: build_btf_kernel(
            tools, seed=seed, variant="rust-btf-mutant"))
    return f"{k['release']}, {k['seconds']}s"


@step("runner-mutant-btf-kfunc", needs=["build-rust-btf-mutant"],
      timeout=600, when=btf_arch)
def mutant_btf_kfunc(ctx):
    """Mutant btf-crash-kexec-in-rust (crash_kexec a Rust symbol): the
    kfunc check fails, and so does the boot check (registering the kfunc
    set with an id 0 fails)."""
    k = ctx.kernels["rust-btf-mutant"]
    caught = []
    for check, want in ((lambda: check_kfunc(k, ctx.tools.src),
                         "FUNC named crash_kexec"),
                        (lambda: check_sysfs_btf(k, ctx.out("boot-btf-mutant")),
                         "kfunc_init()")):
        try:
            check()
        except StageError as e:
            if want not in e.message:
                raise
            caught.append(e.message.split(": ", 1)[-1][:200])
        else:
            raise StageError("runner", f"a check passed the mutant (it "
                             f"should have said {want!r})")
    return "red as it must be: " + " | ".join(caught)


# The hardening steps (issue: debug kernels, states, panics behind every
# face) live in their own module.
register_hardening(step, IMPLS, drop_vmcore)
