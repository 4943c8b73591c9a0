# SPDX-License-Identifier: GPL-2.0
"""Mutants: deliberately broken copies of this tree (the patches in
mutants/), built and run so that each check shows it can turn red.

A kernel mutant is built from its own source tree (a hard-linked copy of
the base with the mutated overlay), into its own build folder; a host
mutant is a copy of the cargo workspace with the patch applied."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from kdump_build import build_kernel
from kdump_common import BUILD, HERE, OVERLAY, REPO, StageError, say
from kdump_setup import BASE_DIRNAME, CARGO, PATCH_DIR, copy_overlay, \
    host_env, overlay_files, patch_files

MUTANTS = HERE / "mutants"
# The mutants one kernel carries together: each is caught by its own check.
KERNEL_MUTANTS = ("purgatory-always-jumps", "vmcore-wrong-page")


def tree_files():
    """What this tree gives a kernel tree: the overlay files and the hook
    patches, relative to the repository."""
    return overlay_files() + [Path(PATCH_DIR) / p.name for p in patch_files()]


def mutated_copy(dest, files, patches):
    """Copy `files` (relative to the repository) to dest and apply the
    mutant `patches` (names in mutants/) there."""
    for rel in files:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(OVERLAY / rel, dest / rel)
    for name in patches:
        r = subprocess.run(["patch", "-p1", "--batch", "--forward", "-i",
                            MUTANTS / f"{name}.patch"], cwd=dest,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise StageError("mutant", f"mutant {name} does not apply",
                             tail=(r.stdout + r.stderr).splitlines())


def build_kernel_mutant(tools):
    """The Rust kernel with KERNEL_MUTANTS applied, in out-ARCH-rust-mutant."""
    main = tools.src
    src = BUILD / "src-mutant" / BASE_DIRNAME
    stamp = ".kdump-patches"
    if not (src / stamp).exists() or \
            (src / stamp).read_text() != (main / stamp).read_text():
        if src.exists():
            shutil.rmtree(src)
        src.parent.mkdir(parents=True, exist_ok=True)
        say(f"mutant source tree: hard-linked copy of {main}")
        subprocess.run(["cp", "-al", main, src], check=True)
    with tempfile.TemporaryDirectory(prefix="kdump-mutant-") as tmp:
        mutated_copy(Path(tmp), tree_files(), KERNEL_MUTANTS)
        n = copy_overlay(src, Path(tmp))
    say(f"mutant overlay ({', '.join(KERNEL_MUTANTS)}): {n} file(s) updated")
    return build_kernel(tools, "rust", variant="rust-mutant", src=src)


def host_mutant(name, cargo_args, timeout):
    """Apply mutant `name` to a copy of the cargo workspace and run cargo
    with cargo_args there; returns (status, output, seconds). A status of
    None means it ran out of `timeout` seconds (and was killed)."""
    files = [Path("Cargo.toml"), Path("Cargo.lock")]
    for d in ("rust/kdump", "tools/testing/kdump/cref"):
        files += [p.relative_to(REPO) for p in sorted((REPO / d).rglob("*"))
                  if p.is_file() and "target" not in p.parts]
    with tempfile.TemporaryDirectory(prefix="kdump-mutant-") as tmp:
        mutated_copy(Path(tmp), files, [name])
        env = host_env(CARGO_TARGET_DIR=BUILD / "cargo-target-mutant")
        t0 = time.monotonic()
        proc = subprocess.Popen([CARGO, *cargo_args[:1], "--locked",
                                 *cargo_args[1:]], cwd=tmp, env=env,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
            status = proc.returncode
        except subprocess.TimeoutExpired:
            # The test binary is cargo's child: kill the whole group.
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            status = None
        return status, out.decode(errors="replace"), \
            round(time.monotonic() - t0, 1)
