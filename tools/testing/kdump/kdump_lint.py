# SPDX-License-Identifier: GPL-2.0
"""Review tools on the Rust kernel: clippy (the kernel's CLIPPY=1) over
every Rust object, in a copy of the Rust kernel's build folder, with the
warnings that point into our files (the overlay) counted."""

import functools
import re
from pathlib import Path

from kdump_build import build_kernel, make_cmd
from kdump_common import BUILD, Clock, StageError, run_logged, say
from kdump_setup import CLIPPY_DRIVER, overlay_files

# "warning: ..." or "error: ...", then " --> path:line:col".
DIAG = re.compile(r"^(warning|error)(\[\w+\])?: (.*)$")
WHERE = re.compile(r"^\s*--> (\S+?):(\d+):(\d+)$")


def ours(path, src):
    """The overlay file `path` (as rustc prints it) is, relative to the
    tree, or None for the base's own code."""
    p = Path(path)
    try:
        rel = p.relative_to(src) if p.is_absolute() else p
    except ValueError:
        return None
    return str(rel) if rel in our_rust_files() else None


@functools.cache
def our_rust_files():
    """The Rust files this tree adds to the kernel, relative to it."""
    return frozenset(p for p in overlay_files() if p.suffix == ".rs")


def diagnostics(lines, src):
    """(level, message, file, line) of every diagnostic in a build log
    whose first location is one of our files."""
    out, pending = [], None
    for line in lines:
        m = DIAG.match(line)
        if m:
            pending = (m.group(1), m.group(3))
            continue
        w = WHERE.match(line)
        if w and pending:
            f = ours(w.group(1), src)
            if f:
                out.append((pending[0], pending[1], f, int(w.group(2))))
            pending = None
    return out


def clippy(tools):
    """Build the Rust kernel with CLIPPY=1 in out-ARCH-rust-clippy (seeded
    from the Rust build folder); our Rust objects and the crates they
    belong to are removed first, so that each run lints all of our code.
    Returns (diagnostics in our files, seconds)."""
    arch = tools.arch
    seed = BUILD / f"out-{arch.name}-rust"
    out = BUILD / f"out-{arch.name}-rust-clippy"
    clock = Clock()
    # Configures (and copies the seed the first time) without building.
    k = build_kernel(tools, "rust", variant="rust-clippy", seed=seed,
                     make=False)
    for rel in our_rust_files():
        # x.rs builds x.o, or x_rs.o beside a C x.o (purgatory).
        for obj in (rel.with_suffix(".o"), rel.with_name(f"{rel.stem}_rs.o")):
            (out / obj).unlink(missing_ok=True)
    for crate in ("kernel", "kdump"):
        (out / "rust" / f"{crate}.o").unlink(missing_ok=True)
    log = out / "clippy.log"
    log.unlink(missing_ok=True)
    say(f"clippy over the Rust kernel for {arch.name} (log: {log})")
    # -k: a crate of ours that clippy fails still leaves the others to lint.
    failed = None
    try:
        run_logged(make_cmd(tools, out) + ["-k", "CLIPPY=1",
                                           f"CLIPPY_DRIVER={CLIPPY_DRIVER}",
                                           arch.make_target], log, "clippy")
    except StageError as e:
        failed = e
    found = diagnostics(log.read_text(errors="replace").splitlines(),
                        k["src"])
    if failed and not found:
        # The build broke somewhere else: that is not a lint result.
        raise failed
    return found, clock.seconds()
