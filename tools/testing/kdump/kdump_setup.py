# SPDX-License-Identifier: GPL-2.0
"""Set-up: Debian packages, the host toolchain, drgn, and the pinned base
source with this tree applied.

Everything comes from Debian's archive, crates.io or PyPI, at pinned
versions, and lands on the system (apt) or under the build folder (cargo
tools, the cargo registry, drgn's venv): nothing is read from or written to
the user's home, so `env -i HOME=$(mktemp -d) PATH=/usr/sbin:/usr/bin:/sbin:/bin`
works. Every function is idempotent and quiet when there is nothing to do.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from kdump_common import BUILD, OVERLAY, StageError, Clock, \
    run_logged, say

BASE_PKG = "linux-source-6.12"
BASE_PKG_VERSION = "6.12.117-1~deb12u1"
BASE_TARBALL = Path("/usr/src/linux-source-6.12.tar.xz")
BASE_DIRNAME = "linux-source-6.12"

# Top-level folders of this repository that land in the kernel tree as they are.
OVERLAY_DIRS = ("Documentation", "arch", "fs", "include", "kernel", "mm",
                "rust", "samples", "scripts", "tools")
PATCH_DIR = "patches"

# Debian packages the runner needs on every architecture (the QEMU package
# comes from the architecture's config). cargo-web and rustc-web are the
# host and kernel Rust toolchain (bookworm's `rustc` is too old for the
# kernel's Rust); rust-web-clippy is their clippy (the kernel's CLIPPY=1);
# g++ builds libFuzzer for the fuzz targets.
APT_PACKAGES = [
    BASE_PKG, "rustc-web", "rust-web-src", "cargo-web", "rust-web-clippy",
    "rustfmt-web",
    "clang", "lld",
    "llvm", "libclang-dev", "make", "gcc", "g++", "flex", "bison", "bc",
    "libelf-dev", "libssl-dev", "xz-utils", "cpio", "kexec-tools",
    "makedumpfile", "busybox-static", "patch", "perl", "python3-venv",
    "libc6-dev",
    # make install of kselftests; what the base's kexec kselftests call.
    "rsync", "pesign", "attr",
]

# Debian's Rust (rustc-web, cargo-web), for the kernel and the host alike.
RUSTC = "/usr/bin/rustc"
RUSTDOC = "/usr/bin/rustdoc"
CLIPPY_DRIVER = "/usr/bin/clippy-driver"
CARGO = "/usr/bin/cargo"
RUST_LIB_SRC = "/usr/lib/rustlib/src/rust/library"

# Tools from crates.io, installed with --locked under BUILD/tools.
CARGO_TOOLS = {"bindgen": ("bindgen-cli", "0.69.5"),
               "cargo-fuzz": ("cargo-fuzz", "0.13.2")}
DRGN_SPEC = "drgn==0.3.0"


def have_root():
    return os.geteuid() == 0


def sudo():
    return [] if have_root() else ["sudo", "-n"]


def dpkg_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}\t${Version}", pkg],
                       capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.startswith("install ok installed"):
        return None
    return r.stdout.split("\t", 1)[1]


def ensure_apt(log, extra=()):
    """Install the missing Debian packages (and the pinned base)."""
    missing = [p for p in APT_PACKAGES + list(extra) if dpkg_version(p) is None]
    base = dpkg_version(BASE_PKG)
    pinned = f"{BASE_PKG}={BASE_PKG_VERSION}"
    if base is not None and base != BASE_PKG_VERSION:
        say(f"warning: {BASE_PKG} {base} is installed, the pinned base is "
            f"{BASE_PKG_VERSION}; trying to install the pinned one")
        missing.append(BASE_PKG)
    if not missing:
        return
    want = [pinned if p == BASE_PKG else p for p in missing]
    say(f"installing apt packages: {' '.join(want)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = sudo() + ["apt-get", "install", "-y", "--no-install-recommends"]
    # Always refresh first: stale lists resolve rustc-web to an older
    # version and may not know the pinned base at all.
    run_logged(sudo() + ["apt-get", "update"], log, "setup", env=env)
    try:
        run_logged(cmd + want, log, "setup", env=env)
    except StageError:
        if BASE_PKG not in missing:
            raise
        # The pinned version left the archive: take the newest one and say
        # so loudly (the version is printed in every run).
        say(f"warning: {pinned} is not available; installing the newest "
            f"{BASE_PKG}")
        want = [BASE_PKG if w == pinned else w for w in want]
        run_logged(cmd + want, log, "setup", env=env)


def host_env(**extra):
    """Environment for host cargo: Debian's toolchain, the registry and
    the installed tools under the build folder, whatever HOME and PATH
    the user has (rustup's proxies are never reached)."""
    env = dict(os.environ)
    env.update(CARGO_HOME=str(BUILD / "cargo-home"), RUSTC=RUSTC,
               RUSTDOC=RUSTDOC,
               PATH=os.pathsep.join([str(BUILD / "tools/bin"), "/usr/bin",
                                     "/bin", env.get("PATH", "")]))
    env.pop("RUSTUP_TOOLCHAIN", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def tool_path(name):
    return BUILD / "tools/bin" / name


def ensure_cargo_tool(name, log):
    """A pinned crates.io tool under BUILD/tools; returns its path."""
    crate, version = CARGO_TOOLS[name]
    path = tool_path(name)
    if path.exists():
        r = subprocess.run([path, "--version"], capture_output=True, text=True)
        if version in r.stdout:
            return path
    say(f"installing {crate} {version} with Debian's cargo into "
        f"{BUILD / 'tools'}")
    run_logged([CARGO, "install", "--locked", "--root", BUILD / "tools",
                crate, "--version", version], log, "setup", env=host_env())
    return path


def venv_python():
    return BUILD / "venv/bin/python3"


def ensure_drgn(log):
    py = venv_python()
    want = DRGN_SPEC.split("==")[1]
    if py.exists() and subprocess.run(
            [py, "-c", f"import drgn; assert drgn.__version__ == {want!r}"],
            capture_output=True).returncode == 0:
        return py
    say(f"installing {DRGN_SPEC} from PyPI into {BUILD / 'venv'}")
    if not py.exists():
        run_logged([sys.executable, "-m", "venv", BUILD / "venv"], log, "setup")
    run_logged([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                DRGN_SPEC], log, "setup")
    return py


def base_version(src):
    """Exact base: kernel Makefile version plus the Debian package version."""
    mk = (Path(src) / "Makefile").read_text()
    v = {k: re.search(rf"^{k} = (\S*)", mk, re.M).group(1)
         for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL")}
    kv = f"{v['VERSION']}.{v['PATCHLEVEL']}.{v['SUBLEVEL']}"
    return f"{kv} (Debian {BASE_PKG} {dpkg_version(BASE_PKG) or '?'})"


def patch_files(overlay=None):
    return sorted((overlay or OVERLAY).joinpath(PATCH_DIR).glob("*.patch"))


def overlay_files(overlay=None):
    """Relative paths of every overlay file, in a stable order."""
    root = overlay or OVERLAY
    out = []
    for d in OVERLAY_DIRS:
        top = root / d
        if not top.is_dir():
            continue
        for p in sorted(top.rglob("*")):
            rel = p.relative_to(root)
            if p.is_file() and not any(part in ("__pycache__", "target")
                                       for part in rel.parts):
                out.append(rel)
    return out


def apply_patches(src, log, overlay=None):
    for p in patch_files(overlay):
        # Dry run first: a patch that does not apply must leave the tree as it
        # is and name itself.
        r = subprocess.run(["patch", "-p1", "--forward", "--batch",
                            "--dry-run", "-i", p], cwd=src,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise StageError("apply", f"hook patch {p.name} does not apply to "
                             f"{src}", tail=(r.stdout + r.stderr).splitlines())
        run_logged(["patch", "-p1", "--forward", "--batch", "-i", p], log,
                   "apply", cwd=src)
        say(f"applied {p.name}")


def copy_overlay(src, overlay=None):
    """Copy changed overlay files into src; drop files we put there before
    that the overlay no longer has. Unchanged files keep their mtime so make
    does not rebuild them; changed ones are replaced, never written in
    place, so a hard-linked copy of the tree keeps its own."""
    root = overlay or OVERLAY
    manifest = Path(src) / ".kdump-overlay"
    old = set(manifest.read_text().split()) if manifest.exists() else set()
    new = overlay_files(root)
    changed = 0
    for rel in new:
        s, d = root / rel, Path(src) / rel
        data = s.read_bytes()
        if d.exists() and d.read_bytes() == data:
            continue
        d.parent.mkdir(parents=True, exist_ok=True)
        d.unlink(missing_ok=True)
        d.write_bytes(data)
        shutil.copymode(s, d)
        changed += 1
    for rel in old - {str(r) for r in new}:
        (Path(src) / rel).unlink(missing_ok=True)
    manifest.unlink(missing_ok=True)
    manifest.write_text("\n".join(str(r) for r in new) + "\n")
    return changed


def prepare_source(log, name="src", overlay=None):
    """Unpack the base once into BUILD/name, apply the hook patches, copy
    the overlay. The tree is unpacked afresh whenever the set of patches
    changes, so a patch is always applied to pristine sources."""
    if not BASE_TARBALL.exists():
        raise StageError("setup", f"{BASE_TARBALL} is missing; is "
                         f"{BASE_PKG} installed?")
    src = BUILD / name / BASE_DIRNAME
    h = hashlib.sha256()
    h.update(str(BASE_TARBALL.stat().st_mtime_ns).encode())
    for p in patch_files(overlay):
        h.update(p.name.encode() + p.read_bytes())
    stamp = src / ".kdump-patches"
    if not (stamp.exists() and stamp.read_text() == h.hexdigest()):
        clock = Clock()
        if src.exists():
            say(f"hook patches changed: unpacking the base afresh in {src}")
            shutil.rmtree(src)
        say(f"unpacking {BASE_TARBALL} into {src.parent}")
        src.parent.mkdir(parents=True, exist_ok=True)
        run_logged(["tar", "-C", src.parent, "-xf", BASE_TARBALL], log,
                   "apply")
        apply_patches(src, log, overlay)
        stamp.write_text(h.hexdigest())
        say(f"base unpacked and patched in {clock}")
    n = copy_overlay(src, overlay)
    if n:
        say(f"overlay: {n} file(s) updated in {src}")
    return src


class Tools:
    """What a subcommand set up: the source tree, the architecture, and
    the paths of the installed tools."""

    def __init__(self, arch, src, bindgen=None):
        self.arch = arch
        self.src = src
        self.bindgen = bindgen


def setup(arch, need_build=True):
    """Everything a subcommand needs before it starts; idempotent."""
    BUILD.mkdir(parents=True, exist_ok=True)
    log = BUILD / "logs/setup.log"
    ensure_apt(log, list(arch.host_packages))
    bindgen = ensure_cargo_tool("bindgen", log) if need_build else None
    src = prepare_source(BUILD / "logs/apply.log")
    say(f"base: {base_version(src)}")
    return Tools(arch, src, bindgen)
