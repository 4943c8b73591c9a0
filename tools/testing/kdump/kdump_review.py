# SPDX-License-Identifier: GPL-2.0
"""The kernel's own review tools over our files: `make rustfmtcheck`,
`make rustdoc`, scripts/kernel-doc and scripts/checkpatch.pl -f, each run
from the patched base tree, each counting what points into the overlay.

Each parser takes the tool's text, so kdump_tool_test.py runs them on
saved output; each step also plants one defect of the kind its tool
reports in a copy of one of our files and fails unless the tool finds it.
"""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from kdump_build import make_cmd
from kdump_common import BUILD, Clock, StageError, run_logged
from kdump_lint import diagnostics
from kdump_setup import overlay_files

RUSTFMT = "/usr/bin/rustfmt"
# Host-side C written to compile the pristine upstream functions outside
# the kernel (stand-ins for kernel headers); not kernel code, not in the
# series.
NOT_KERNEL_C = ("tools/testing/kdump/cref/",)
# checkpatch.pl --strict -f findings in our C files that are right as they
# are: (file, message start) -> why.
CHECKPATCH_ALLOWED = {
    ("kernel/kdump/kexec_elf_kunit.c", "Macro argument reuse 'f'"):
        "f is a struct member name, used by offsetof() and sizeof_field(); "
        "it has no side effects to repeat",
    ("tools/testing/selftests/kdump/vmcore_test.c", "Avoid CamelCase"):
        "Elf64_Ehdr and Elf64_Phdr are the C library's <elf.h> names, which "
        "a user-space selftest uses",
    ("tools/testing/kdump/guest/kexec_file_load.c", "ENOSYS means"):
        "the guest tool names the errno kexec_file_load() returned, ENOSYS "
        "included, so the runner can tell a kernel without the syscall",
}
# "Diff in /path/file.rs:LINE:" (rustfmt 1.9) or "... at line LINE:".
RUSTFMT_DIFF = re.compile(r"^Diff in (\S+?)(?::(\d+):| at line (\d+):)")
# checkpatch --terse: "FILE:LINE: LEVEL: message".
CHECKPATCH_LINE = re.compile(r"^(\S+?):(\d+): (ERROR|WARNING|CHECK): (.*)$")
# kernel-doc: "FILE:LINE: warning: message" (older: "warning: ...").
KERNEL_DOC_LINE = re.compile(r"^(\S+?):(\d+): (warning|error): (.*)$")


def ours(path, src):
    """`path` (absolute, or relative to src, possibly with ../) relative to
    the tree if it is an overlay file, else None."""
    p = Path(os.path.normpath(Path(src) / path))
    try:
        rel = p.relative_to(Path(os.path.normpath(src)))
    except ValueError:
        return None
    return str(rel) if rel in set(overlay_files()) else None


def our_c_files():
    """Our C sources and headers that are kernel or selftest code."""
    return [str(p) for p in overlay_files() if p.suffix in (".c", ".h")
            and not str(p).startswith(NOT_KERNEL_C)]


def rustfmt_findings(text, src):
    """(ours, base) from `rustfmt --check` output: the sorted set of
    (file, line) diffs in our files, and the number in the base's."""
    mine, base = set(), 0
    for line in text.splitlines():
        m = RUSTFMT_DIFF.match(line)
        if not m:
            continue
        rel = ours(m.group(1), src)
        if rel:
            mine.add((rel, int(m.group(2) or m.group(3))))
        else:
            base += 1
    return sorted(mine), base


def checkpatch_findings(text, src):
    """(unexpected, allowed) findings of checkpatch --terse output on our
    files: (file, line, level, message) tuples, split by
    CHECKPATCH_ALLOWED."""
    bad, allowed = [], []
    for line in text.splitlines():
        m = CHECKPATCH_LINE.match(line)
        if not m:
            continue
        rel = ours(m.group(1), src) or m.group(1)
        item = (rel, int(m.group(2)), m.group(3), m.group(4))
        ok = any(rel == f and m.group(4).startswith(msg)
                 for f, msg in CHECKPATCH_ALLOWED)
        (allowed if ok else bad).append(item)
    return bad, allowed


def kernel_doc_findings(text):
    """(file, line, message) of every kernel-doc warning or error."""
    return [(m.group(1), int(m.group(2)), m.group(4))
            for m in map(KERNEL_DOC_LINE.match, text.splitlines()) if m]


def run_text(cmd, cwd=None):
    """Run cmd; (exit status, stdout and stderr together)."""
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True,
                       text=True)
    return r.returncode, r.stdout + r.stderr


def planted_copy(src, rel, edit):
    """A scratch tree holding only `rel` of src with `edit(text)` applied;
    returns (tree, file). The caller removes the tree."""
    tree = Path(tempfile.mkdtemp(prefix="kdump-review-"))
    dest = tree / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    text = (Path(src) / rel).read_text()
    new = edit(text)
    if new == text:
        raise StageError("review", f"the planted defect did not change {rel}")
    dest.write_text(new)
    return tree, dest


def rustfmt_check(src):
    """`make rustfmtcheck` over the tree (the base's .rustfmt.toml): no
    diff in our files. A copy of one of ours with a line joined must be
    found. Returns a summary."""
    clock = Clock()
    scratch = BUILD / "out-rustfmt"
    scratch.mkdir(exist_ok=True)
    status, text = run_text(["make", "-s", "-C", src, f"O={scratch}",
                             "LLVM=1", f"RUSTFMT={RUSTFMT}", "rustfmtcheck"])
    mine, base = rustfmt_findings(text, src)
    if status != 0 and not mine and not base:
        raise StageError("rustfmt", f"make rustfmtcheck failed (status "
                         f"{status}) without a diff",
                         tail=text.splitlines()[-20:])
    if mine:
        raise StageError("rustfmt", f"{len(mine)} rustfmt diffs in our files "
                         f"(run make rustfmt): " + ", ".join(
                             f"{f}:{n}" for f, n in mine[:10]))
    rel = "rust/kdump/handoff.rs"
    tree, planted = planted_copy(src, rel, lambda t: t.replace(
        "pub fn crash_kexec<M: Machine, A: AtomicWord>(\n    panic_cpu: &A,\n",
        "pub fn crash_kexec<M: Machine, A: AtomicWord>(panic_cpu: &A,\n", 1))
    try:
        _, out = run_text([RUSTFMT, "--check", "--edition", "2021",
                           "--config-path", Path(src) / ".rustfmt.toml",
                           planted])
    finally:
        shutil.rmtree(tree)
    if not any(RUSTFMT_DIFF.match(l) for l in out.splitlines()):
        raise StageError("rustfmt", f"rustfmt --check missed a joined line "
                         f"planted in a copy of {rel}")
    n = sum(1 for p in overlay_files() if p.suffix == ".rs")
    return (f"make rustfmtcheck: 0 diffs in our {n} Rust files ({base} in "
            f"the base's); a planted joined line is found; {clock}")


def rustdoc_check(tools, out, log):
    """`make rustdoc` in the Rust kernel's build folder (it documents the
    `kernel` crate and, with our hook, `kdump`): no warning in our files.
    Returns a summary."""
    clock = Clock()
    log.unlink(missing_ok=True)
    failed = None
    try:
        run_logged(make_cmd(tools, out) + ["rustdoc"], log, "rustdoc")
    except StageError as e:
        failed = e
    found = diagnostics(log.read_text(errors="replace").splitlines(),
                        tools.src)
    if found:
        raise StageError("rustdoc", f"{len(found)} rustdoc diagnostics in our "
                         f"code: " + "; ".join(f"{f}:{n}: {lvl}: {msg}"
                                               for lvl, msg, f, n in
                                               found[:10]))
    if failed:
        raise failed
    docs = out / "Documentation/output/rust/rustdoc"
    for crate in ("kernel", "kdump"):
        if not (docs / crate / "index.html").exists():
            raise StageError("rustdoc", f"no documentation for crate {crate} "
                             f"in {docs}")
    return (f"make rustdoc: crates kernel and kdump documented, 0 warnings "
            f"in our files; {clock}")


def kernel_doc_check(src):
    """scripts/kernel-doc -none -Wall on our C files: no warning. A copy of
    our header with one parameter's description removed must warn."""
    files = our_c_files()
    status, text = run_text(["perl", "scripts/kernel-doc", "-none", "-Wall",
                             *files], cwd=src)
    found = kernel_doc_findings(text)
    if found or status != 0:
        raise StageError("kernel-doc", f"{len(found)} kernel-doc warnings: " +
                         "; ".join(f"{f}:{n}: {m}" for f, n, m in found[:10]),
                         tail=text.splitlines()[-10:])
    rel = "include/linux/kdump_rust.h"
    tree, planted = planted_copy(src, rel, lambda t: re.sub(
        r"\n \* @regs: [^\n]*", "", t, count=1))
    try:
        _, out = run_text(["perl", Path(src) / "scripts/kernel-doc", "-none",
                           "-Wall", planted])
    finally:
        shutil.rmtree(tree)
    if not kernel_doc_findings(out):
        raise StageError("kernel-doc", f"kernel-doc missed a parameter "
                         f"description removed from a copy of {rel}")
    return (f"kernel-doc -none -Wall: 0 warnings in our {len(files)} C "
            f"files; a removed parameter description is found")


def checkpatch_check(src):
    """scripts/checkpatch.pl --strict -f on our C files: every finding is in
    CHECKPATCH_ALLOWED, and every allowed one still occurs. A copy of one of
    ours with trailing whitespace must be flagged."""
    files = our_c_files()
    text = ""
    for rel in files:
        _, out = run_text(["perl", "scripts/checkpatch.pl", "--strict",
                           "--terse", "--no-summary", "-f",
                           rel], cwd=src)
        text += out
    bad, allowed = checkpatch_findings(text, src)
    if bad:
        raise StageError("checkpatch", f"{len(bad)} checkpatch findings in "
                         f"our C files: " + "; ".join(
                             f"{f}:{n}: {lvl}: {m}" for f, n, lvl, m in
                             bad[:10]))
    stale = [k for k in CHECKPATCH_ALLOWED
             if not any(f == k[0] and m.startswith(k[1])
                        for f, _, _, m in allowed)]
    if stale:
        raise StageError("checkpatch", "allowed findings that no longer "
                         "occur (drop them from CHECKPATCH_ALLOWED): " +
                         ", ".join(f"{f}: {m}" for f, m in stale))
    rel = "kernel/kdump/handoff_glue.c"
    tree, planted = planted_copy(src, rel, lambda t: t.replace(
        "{\n", "{ \n", 1))
    try:
        _, out = run_text(["perl", Path(src) / "scripts/checkpatch.pl",
                           "--strict", "--terse", "--no-summary", "--no-tree",
                           "-f", planted])
    finally:
        shutil.rmtree(tree)
    if not checkpatch_findings(out, src)[0]:
        raise StageError("checkpatch", f"checkpatch missed trailing "
                         f"whitespace planted in a copy of {rel}")
    return (f"checkpatch --strict -f: {len(files)} C files, "
            f"{len(allowed)} findings, each allowed with its reason; "
            f"planted trailing whitespace is flagged")
