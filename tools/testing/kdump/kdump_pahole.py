# SPDX-License-Identifier: GPL-2.0
"""pahole for the DEBUG_INFO_BTF build, from Debian's archive.

A kernel with Rust and DEBUG_INFO_BTF needs pahole's --lang_exclude
(init/Kconfig: RUST depends on PAHOLE_HAS_LANG_EXCLUDE when BTF is on,
1.24), and 6.12's scripts/Makefile.btf asks pahole 1.26 or later for its
--btf_features, 1.27 for the kfunc tags. Debian 12 ships pahole 1.24.
Debian 13 (trixie) ships a newer one, built against a newer C library
than Debian 12's (it needs GLIBC_2.38, Debian 12 has 2.36).

So the runner fetches trixie's pahole with the libraries it loads,
trixie's C library and program loader among them, through a private apt
configuration (as kdump_userspace.py fetches a guest's packages: nothing
is installed on the host, the host's apt set-up is not touched, the
archive's signatures are checked with Debian's keyring), unpacks them
under BUILD/tools/pahole-trixie and writes a wrapper script that runs
pahole through trixie's own loader, with trixie's libraries only. kbuild
gets the wrapper as PAHOLE=.
"""

import hashlib
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

from kdump_common import BUILD, StageError, run_logged, say
from kdump_userspace import KEYRING, Userspace, apt_options, \
    host_debian_arch, suites

# The oldest pahole the BTF build accepts. Kconfig lets RUST and BTF meet
# from 1.24 on (--lang_exclude=rust); 6.12's Makefile.btf passes
# --btf_features from 1.26 on, and its decl_tag_kfuncs, with which pahole
# tags each kfunc's FUNC "bpf_kfunc" (what vmlinux.h declares kfuncs by),
# is a feature of 1.27.
PAHOLE_MIN = (1, 27)
PAHOLE_SUITE = "trixie"
# pahole and what it loads (DT_NEEDED, recursively), with trixie's C
# library: Debian 12's is too old for trixie's binaries. A library missing
# here is an error that names it (Userspace.libraries()).
PAHOLE_PACKAGES = ("pahole", "libbpf1", "libdw1t64", "libelf1t64", "libc6",
                   "zlib1g", "libzstd1", "liblzma5", "libbz2-1.0")
WRAPPER = """#!/bin/sh
# pahole {version} from Debian {suite}, run by {suite}'s own program loader
# with {suite}'s libraries only. Written by tools/testing/kdump/kdump_pahole.py.
exec '{loader}' --inhibit-cache --library-path '{libdirs}' '{pahole}' "$@"
"""


def pahole_version(path):
    """(major, minor) that `path --version` prints ("v1.30"), or None."""
    try:
        r = subprocess.run([str(path), "--version"], capture_output=True,
                           text=True, timeout=60)
    except OSError:
        return None
    m = re.fullmatch(r"v(\d+)\.(\d+)", r.stdout.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def _fetch(top, root, sources, pkgs, log):
    """Download pkgs with a private apt set-up in `top`; unpack into root."""
    for d in (top, root):
        shutil.rmtree(d, ignore_errors=True)
    for d in ("state/lists/partial", "cache/archives/partial", "empty",
              "debs"):
        (top / d).mkdir(parents=True)
    (top / "state/status").write_text("")
    (top / "sources.list").write_text(sources)
    opts = apt_options(top, host_debian_arch())
    run_logged(["apt-get", *opts, "update"], log, "setup")
    run_logged(["apt-get", *opts, "download",
                *(f"{p}/{PAHOLE_SUITE}" for p in pkgs)], log, "setup",
               cwd=top / "debs")
    debs = sorted((top / "debs").glob("*.deb"))
    if len(debs) != len(pkgs):
        raise StageError("setup", f"apt-get download gave {len(debs)} of "
                         f"{len(pkgs)} packages", log=log)
    root.mkdir(parents=True)
    for deb in debs:
        run_logged(["dpkg-deb", "-x", deb, root], log, "setup")
    (root / ".kdump-versions").write_text("".join(d.name + "\n"
                                                  for d in debs))


def ensure_pahole(log=None):
    """The path of a pahole >= PAHOLE_MIN for kbuild's PAHOLE=: a wrapper
    around Debian trixie's pahole, fetched and unpacked once (again when
    the package list changes). Raises StageError saying what to do when it
    cannot be fetched or does not run."""
    log = log or BUILD / "logs/setup.log"
    top = BUILD / "tools/pahole-apt"
    root = BUILD / "tools/pahole-trixie"
    wrapper = BUILD / "tools/bin/pahole"
    sources = "".join(f"deb [arch={host_debian_arch()} signed-by={KEYRING}] "
                      f"{url} {suite} main\n"
                      for url, suite in suites(PAHOLE_SUITE))
    want = hashlib.sha256((sources + " ".join(PAHOLE_PACKAGES)).encode()
                          ).hexdigest()
    stamp = root / ".kdump-packages"
    if stamp.exists() and stamp.read_text() == want and wrapper.exists():
        version = pahole_version(wrapper)
        if version is not None and version >= PAHOLE_MIN:
            return wrapper
    say(f"fetching pahole from Debian {PAHOLE_SUITE} into {root} (not "
        f"installed on the host): {' '.join(PAHOLE_PACKAGES)}")
    try:
        _fetch(top, root, sources, PAHOLE_PACKAGES, log)
    except StageError as e:
        raise StageError("setup", f"cannot fetch pahole >= "
                         f"{'.'.join(map(str, PAHOLE_MIN))} from Debian "
                         f"{PAHOLE_SUITE} (deb.debian.org): {e.message}. The "
                         f"DEBUG_INFO_BTF build needs it (Debian 12's is "
                         f"1.24); check that deb.debian.org is reachable",
                         log=log) from e
    multiarch = subprocess.run(["gcc", "-print-multiarch"],
                               capture_output=True, text=True,
                               check=True).stdout.strip()
    unpacked = Userspace(SimpleNamespace(multiarch=multiarch,
                                         debian_arch=host_debian_arch()),
                         root)
    binary = root / "usr/bin/pahole"
    if not binary.exists():
        raise StageError("setup", f"{binary} is missing from Debian "
                         f"{PAHOLE_SUITE}'s pahole package", log=log)
    libs = unpacked.libraries(binary)
    loader = next((host for guest, host in libs if "/ld-linux" in guest),
                  None)
    if loader is None:
        raise StageError("setup", f"{binary} names no program loader")
    libdirs = sorted({str(Path(host).parent) for _, host in libs})
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    version = subprocess.run(["dpkg-deb", "-f", next(
        (top / "debs").glob("pahole_*.deb")), "Version"],
        capture_output=True, text=True, check=True).stdout.strip()
    wrapper.write_text(WRAPPER.format(version=version, suite=PAHOLE_SUITE,
                                      loader=loader,
                                      libdirs=":".join(libdirs),
                                      pahole=binary))
    wrapper.chmod(0o755)
    got = pahole_version(wrapper)
    if got is None or got < PAHOLE_MIN:
        raise StageError("setup", f"{wrapper} (Debian {PAHOLE_SUITE}'s "
                         f"pahole {version}) reports version {got}; the BTF "
                         f"build needs {'.'.join(map(str, PAHOLE_MIN))} or "
                         f"later")
    stamp.write_text(want)
    say(f"pahole {got[0]}.{got[1]} (Debian {version}) at {wrapper}")
    return wrapper
