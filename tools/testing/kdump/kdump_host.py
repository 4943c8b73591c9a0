# SPDX-License-Identifier: GPL-2.0
"""Host-side tests with Debian's cargo: the workspace's unit, property and
differential tests, the tests that need a built kernel or a capture, and
the fuzz targets."""

import re
import shutil
import struct

import kdump_arch
from kdump_common import BUILD, REPO, StageError, last_run, run_logged, say
from kdump_setup import CARGO, ensure_cargo_tool, host_env

FUZZ_DIR = REPO / "tools/testing/kdump/fuzz"
FUZZ_TARGETS = ["crashkernel", "purgatory_reloc", "vmcore_header",
                "arm64_image", "riscv_reloc", "kexec_elf"]


def cargo(args, log, env=None, cwd=None, manifest=None):
    """`cargo ARGS` on the workspace (or `manifest`), Debian's toolchain,
    --locked; returns the log lines of this run."""
    env = env or host_env(CARGO_TARGET_DIR=BUILD / "cargo-target")
    sub, rest = args[0], args[1:]
    run_logged([CARGO, sub, "--locked", "--manifest-path",
                manifest or REPO / "Cargo.toml", *rest], log, "host",
               env=env, cwd=cwd)
    return last_run(log)


def test_counts(lines):
    """(passed, failed, [ignored test names]) of cargo test output."""
    text = "\n".join(lines)
    passed = sum(int(n) for n in re.findall(r"test result: \w+\. (\d+) passed",
                                            text))
    failed = sum(int(n) for n in re.findall(r"; (\d+) failed;", text))
    ignored = re.findall(r"^test (\S+) \.\.\. ignored", text, re.M)
    return passed, failed, ignored


def workspace_tests():
    """cargo test --workspace: returns (summary, skipped test names)."""
    lines = cargo(["test", "--workspace"], BUILD / "logs/cargo-test.log")
    passed, failed, ignored = test_counts(lines)
    if failed or not passed:
        raise StageError("host", f"{passed} passed, {failed} failed",
                         log=BUILD / "logs/cargo-test.log")
    return passed, ignored


def ignored_test(package, target, name, log, **env):
    """Run one #[ignore]d test that needs an input (env names it); fails
    unless exactly that test ran and passed. Returns its output lines."""
    where = ["--lib"] if target is None else ["--test", target]
    lines = cargo(["test", "-p", package, *where, name, "--", "--ignored",
                   "--exact", "--nocapture"], log,
                  env=host_env(CARGO_TARGET_DIR=BUILD / "cargo-target", **env))
    passed, failed, _ = test_counts(lines)
    if passed != 1 or failed:
        raise StageError("host", f"{name}: {passed} passed, {failed} failed "
                         f"(want the one test to run and pass)", log=log)
    return lines


def vmcore_seed():
    """A small crashed-kernel ELF64 core header with its notes after it, as
    the vmcore_header target reads its input: 2 PT_NOTEs (a CORE note and
    VMCOREINFO, each in a buffer larger than the note), 2 PT_LOADs, one of
    them unaligned."""
    def pad(b):
        return b + b"\0" * (-len(b) % 4)

    def note(name, kind, desc):
        name += b"\0"
        return struct.pack("<III", len(name), len(desc), kind) + pad(name) + \
            pad(desc)
    notes = [(0x200, note(b"CORE", 1, bytes(range(48))), 0x100),
             (0x300, note(b"VMCOREINFO", 0, b"OSRELEASE=6.12.117\n"), 0x80)]
    loads = [(0x1000, 0x3000), (0x100123, 0x10000)]
    phnum = len(notes) + len(loads)
    eh = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) +
          struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, phnum,
                      0, 0, 0))
    ph = b"".join(struct.pack("<IIQQQQQQ", 4, 0, off, 0, off, size, size, 0)
                  for off, _, size in notes)
    ph += b"".join(struct.pack("<IIQQQQQQ", 1, 7, pa, pa + 0xffff888000000000,
                               pa, size, size, 0) for pa, size in loads)
    out = bytearray(0x400)
    out[:len(eh + ph)] = eh + ph
    for off, n, _ in notes:
        out[off:off + len(n)] = n
    return bytes(out)


def kexec_elf_seed(big=False):
    """A small riscv64 ELF executable as the runner gives kexec_file_load
    (kdump_build.image_elf()): one PT_LOAD of 256 bytes from the second
    page, in either byte order, for the kexec_elf target."""
    e = ">" if big else "<"
    ehdr = b"\x7fELF" + bytes([2, 2 if big else 1, 1, 0]) + bytes(8) + \
        struct.pack(e + "HHIQQQIHHHHHH", 2, 243, 1, 0xffffffff80000000, 64,
                    0, 0, 64, 56, 1, 64, 0, 0)
    phdr = struct.pack(e + "IIQQQQQQ", 1, 7, 0x1000, 0xffffffff80000000, 0,
                       0x100, 0x2000, 0x1000)
    return ehdr + phdr + bytes(0x1000 - len(ehdr) - len(phdr)) + \
        bytes(range(256))


def run_fuzz(seconds, arch=None, runs=None, targets=None):
    """Each fuzz target (or those named in `targets`) for `seconds`, or
    (runs) until it has run that many
    inputs (libFuzzer through cargo-fuzz, no sanitizer: Debian's rustc
    ships no sanitizer runtime; the stable toolchain takes cargo-fuzz's -Z
    flags with RUSTC_BOOTSTRAP=1). The corpora stay under build/ between
    runs. Returns one line a target: runs, seconds, coverage."""
    log = BUILD / "logs/fuzz.log"
    unknown = sorted(set(targets or ()) - set(FUZZ_TARGETS))
    if unknown:
        raise StageError("host", f"no fuzz target {', '.join(unknown)} "
                         f"(there are {', '.join(FUZZ_TARGETS)})")
    ensure_cargo_tool("cargo-fuzz", BUILD / "logs/setup.log")
    env = host_env(RUSTC_BOOTSTRAP=1, CARGO_TARGET_DIR=BUILD / "fuzz-target")
    # cargo fuzz has no --locked: fetching with it first fails if the fuzz
    # workspace's Cargo.lock would change, and cargo fuzz then builds from it.
    cargo(["fetch"], log, env=env, manifest=FUZZ_DIR / "Cargo.toml")
    done = []
    for target in [t for t in FUZZ_TARGETS if not targets or t in targets]:
        corpus = BUILD / "fuzz-corpus" / target
        artifacts = BUILD / "fuzz-artifacts" / target
        corpus.mkdir(parents=True, exist_ok=True)
        artifacts.mkdir(parents=True, exist_ok=True)
        # Real objects make the best seeds, when a kernel was built:
        # purgatory_reloc takes --arch's purgatory.ro, riscv_reloc riscv64's.
        seed_ro = {"purgatory_reloc": arch and arch.purgatory_ro,
                   "riscv_reloc": kdump_arch.get("riscv64").purgatory_ro}
        if seed_ro.get(target):
            for ro in BUILD.glob(f"out-*/{seed_ro[target]}"):
                shutil.copyfile(ro, corpus / f"seed-{ro.relative_to(BUILD).parts[0]}.ro")
        if target == "kexec_elf":
            (corpus / "seed-riscv-le").write_bytes(kexec_elf_seed())
            (corpus / "seed-riscv-be").write_bytes(kexec_elf_seed(big=True))
        if target == "vmcore_header":
            (corpus / "seed-synthetic").write_bytes(vmcore_seed())
            # And a captured vmcore's first pages, when there is one.
            for core in sorted(BUILD.glob("run-*/vmcore"))[:2]:
                with open(core, "rb") as f:
                    (corpus / f"seed-{core.parent.name}").write_bytes(
                        f.read(16384))
        say(f"fuzzing {target} " + (f"for {runs} runs" if runs else
                                    f"for {seconds}s") + f" (log: {log})")
        limit = [f"-runs={runs}"] if runs else [f"-max_total_time={seconds}"]
        run_logged([CARGO, "fuzz", "run", "--sanitizer", "none",
                    "--fuzz-dir", FUZZ_DIR, target, corpus, "--", *limit,
                    "-print_final_stats=1",
                    f"-artifact_prefix={artifacts}/"], log, "host",
                   cwd=REPO, env=env)
        text = "\n".join(last_run(log))
        did = re.findall(r"Done (\d+) runs in (\d+) second", text)
        if not did:
            raise StageError("host", f"fuzz target {target}: no 'Done N "
                             f"runs' line", log=log)
        if runs and int(did[-1][0]) < runs:
            raise StageError("host", f"fuzz target {target}: {did[-1][0]} "
                             f"runs, not {runs}", log=log)
        cov = re.findall(r"DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)", text)
        done.append(f"{target}: {int(did[-1][0]):,} runs in {did[-1][1]} s, "
                    f"no failure" + (f", coverage {cov[-1][0]} edges, "
                                     f"{cov[-1][1]} features, corpus "
                                     f"{cov[-1][2]} inputs" if cov else ""))
    return "; ".join(done)
