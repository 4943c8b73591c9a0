# SPDX-License-Identifier: GPL-2.0
"""Mutants: deliberately broken copies of this tree (the patches in
mutants/), built and run so that each check shows it can turn red.

A kernel mutant is built into its own build folder, a copy of the Rust
kernel's, from the source tree with the mutated files in place of ours for
the time of the build; a host mutant is a copy of the cargo workspace with
the patch applied."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from kdump_build import build_kernel
from kdump_common import BUILD, HERE, OVERLAY, REPO, StageError, say
from kdump_setup import CARGO, PATCH_DIR, \
    host_env, overlay_files, patch_files

MUTANTS = HERE / "mutants"
# The mutants one kernel carries together: each is caught by its own check.
KERNEL_MUTANTS = ("purgatory-always-jumps", "vmcore-wrong-page",
                  "vmcore-dump-after-notes", "reserve-not-init",
                  "handoff-core-atomics", "memparse-face-slices")


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
        r = subprocess.run(["patch", "-p1", "--batch", "--forward",
                            "--no-backup-if-mismatch", "-i",
                            MUTANTS / f"{name}.patch"], cwd=dest,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise StageError("mutant", f"mutant {name} does not apply",
                             tail=(r.stdout + r.stderr).splitlines())


def build_kernel_mutant(tools, mutants=KERNEL_MUTANTS, variant="rust-mutant",
                        seed="rust", build=None):
    """The Rust kernel with `mutants` (names in mutants/) applied, in
    out-ARCH-VARIANT; `build(tools, seed)` builds it (default: the Rust
    kernel, build_kernel()), seeded from out-ARCH-SEED.

    The build folder starts as a copy of the seed's, and the mutated files
    take the place of ours in the one source tree while it builds
    (kbuild's commands name the source tree, so another tree would rebuild
    everything): only what the mutants touch is compiled again. Ours are
    put back afterwards with their old times, and files a mutant adds are
    removed, so the seed's build folder stays up to date; if the runner
    dies in between, the next run's overlay copy puts them back (a file a
    mutant added stays until then, unused by our Makefiles)."""
    main = tools.src
    stale = BUILD / "src-mutant"
    if stale.exists():
        shutil.rmtree(stale)
    with tempfile.TemporaryDirectory(prefix="kdump-mutant-") as tmp:
        mutated_copy(Path(tmp), tree_files(), mutants)
        ours = set(tree_files())
        changed = [rel for rel in sorted(ours)
                   if (Path(tmp) / rel).read_bytes() !=
                   (OVERLAY / rel).read_bytes()]
        added = [p.relative_to(tmp) for p in sorted(Path(tmp).rglob("*"))
                 if p.is_file() and p.relative_to(tmp) not in ours]
        if not changed + added or any(rel.suffix == ".patch"
                                      for rel in changed + added):
            raise StageError("mutant", f"the mutants change {changed} and "
                             f"add {added}: want overlay files only, at "
                             f"least one")
        saved = {rel: ((main / rel).read_bytes(), (main / rel).stat())
                 for rel in changed}
        say(f"mutants ({', '.join(mutants)}) in "
            f"{', '.join(map(str, changed + added))} while the mutant kernel "
            f"builds")
        seed_out = BUILD / f"out-{tools.arch.name}-{seed}"
        try:
            for rel in changed + added:
                replace_file(main / rel, (Path(tmp) / rel).read_bytes())
            if build is not None:
                return build(tools, seed_out)
            return build_kernel(tools, "rust", variant=variant,
                                seed=seed_out)
        finally:
            for rel in added:
                (main / rel).unlink(missing_ok=True)
            for rel, (data, st) in saved.items():
                replace_file(main / rel, data)
                os.chmod(main / rel, st.st_mode)
                os.utime(main / rel, ns=(st.st_atime_ns, st.st_mtime_ns))


def replace_file(path, data):
    """A new file at path with data (never written through a link)."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)


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
