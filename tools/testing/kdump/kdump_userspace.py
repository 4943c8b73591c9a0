# SPDX-License-Identifier: GPL-2.0
"""The guests' programs (busybox, kexec, makedumpfile and the shared
libraries they load) and the C compiler for the guest's kselftest.

A guest of the host's own Debian architecture runs the host's programs
(installed by apt from APT_PACKAGES). For another architecture the runner
fetches Debian's packages of that architecture with apt-get into
BUILD/guest-root-ARCH, as the user, through a private apt configuration:
nothing is installed on the host and the host's apt set-up is not touched
(no `dpkg --add-architecture`). The archive's signatures are checked with
Debian's keyring as for any apt download. The packages come from the
architecture's Debian release (ArchConfig.debian_suite): Debian 12 has no
riscv64 port, Debian 13 has one, and the host's keyring (Debian 12's)
verifies both.

A package the release lacks for the architecture comes from a later one
(ArchConfig.guest_package_suites): Debian 13's kexec-tools (2.0.29) has
no riscv64 port, which kexec-tools gained in 2.0.31; Debian's testing
release builds 2.0.32 for riscv64, against a C library that Debian 13's
satisfies.
"""

import hashlib
import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

from kdump_common import BUILD, StageError, run_logged, say

# The programs a guest runs, by package.
PROGRAMS = {"busybox": ("busybox-static", "bin/busybox"),
            "kexec": ("kexec-tools", "sbin/kexec"),
            "makedumpfile": ("makedumpfile", "usr/bin/makedumpfile")}
# The shared libraries kexec and makedumpfile load (DT_NEEDED, followed
# recursively), by package, in Debian 12; ArchConfig.guest_libraries
# replaces the list for another release. A library missing here is an
# error that names it (see libraries()).
LIBRARY_PACKAGES = (
    "libc6", "zlib1g", "liblzma5", "libbz2-1.0", "liblzo2-2", "libdw1",
    "libelf1", "libzstd1", "libxenmisc4.17", "libxentoollog1",
    "libxencall1", "libxenevtchn1", "libxengnttab1",
    "libxenforeignmemory1", "libxendevicemodel1", "libxentoolcore1",
    "libyajl2",
)
def suites(release):
    """(archive, suite) of a Debian release, with its updates and security
    suites."""
    return (("http://deb.debian.org/debian", release),
            ("http://deb.debian.org/debian", f"{release}-updates"),
            ("http://deb.debian.org/debian-security", f"{release}-security"))


KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def host_debian_arch():
    return subprocess.run(["dpkg", "--print-architecture"],
                          capture_output=True, text=True,
                          check=True).stdout.strip()


class Userspace:
    """Where one architecture's guest programs and libraries are: `root`
    is / for the host's architecture, else the unpacked packages."""

    def __init__(self, arch, root):
        self.arch = arch
        self.root = Path(root)

    def program(self, name):
        """Host path of a guest program (a PROGRAMS key)."""
        path = self.root / PROGRAMS[name][1]
        if not path.exists():
            # Debian 13 installs everything under /usr.
            path = self.root / "usr" / PROGRAMS[name][1]
        if not path.exists():
            raise StageError("setup", f"{path} is missing (package "
                             f"{PROGRAMS[name][0]}:{self.arch.debian_arch})")
        return path

    def library(self, soname):
        """Host path of a guest library by file name, or None."""
        return self._find(soname)

    def _find(self, soname):
        for d in (f"lib/{self.arch.multiarch}", f"usr/lib/{self.arch.multiarch}",
                  "lib", "usr/lib"):
            p = self.root / d / soname
            if p.exists():
                return p
        return None

    def libraries(self, binary):
        """[(guest path, host path)] of what `binary` loads: its program
        interpreter and its DT_NEEDED libraries, recursively."""
        out, todo, seen = [], [Path(binary)], set()
        while todo:
            r = subprocess.run(["llvm-readelf", "-d", "-l", str(todo.pop())],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise StageError("setup", f"llvm-readelf cannot read "
                                 f"{binary}: {r.stderr.strip()}")
            interp = re.findall(r"program interpreter: (\S+?)\]", r.stdout)
            needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                                r.stdout)
            for name in interp + needed:
                base = os.path.basename(name)
                if base in seen:
                    continue
                seen.add(base)
                host = self._find(base)
                if host is None:
                    raise StageError("setup", f"{binary} needs {base}, which "
                                     f"no unpacked package under {self.root} "
                                     f"has (add its package to "
                                     f"kdump_userspace.LIBRARY_PACKAGES)")
                guest = name if name.startswith("/") else \
                    "/" + str(host.relative_to(self.root))
                out.append((guest, host))
                todo.append(host)
        return out


def apt_options(top, arch):
    """apt-get options for a private apt set-up under `top` (sources.list,
    state, cache) fetching packages of Debian architecture `arch`: the
    host's apt configuration, lists and lock are neither read nor
    written."""
    return ["-o", f"APT::Architecture={arch}",
            "-o", f"APT::Architectures::={arch}",
            "-o", f"Dir::Etc::SourceList={top}/sources.list",
            "-o", f"Dir::Etc::SourceParts={top}/empty",
            "-o", "Dir::Etc::Preferences=/dev/null",
            "-o", f"Dir::Etc::PreferencesParts={top}/empty",
            "-o", f"Dir::State={top}/state",
            "-o", f"Dir::State::status={top}/state/status",
            "-o", f"Dir::Cache={top}/cache",
            "-o", "Debug::NoLocking=1",
            "-o", "APT::Sandbox::User=" + pwd.getpwuid(os.geteuid()).pw_name,
            "-o", "Acquire::Languages=none", "-q"]


def fetch_packages(arch, log):
    """Download and unpack the guest packages of arch.debian_arch into
    BUILD/guest-root-ARCH (once; again when the package list changes)."""
    top = BUILD / f"guest-apt-{arch.debian_arch}"
    root = BUILD / f"guest-root-{arch.debian_arch}"
    pkgs = sorted({p for p, _ in PROGRAMS.values()} |
                  set(arch.guest_libraries or LIBRARY_PACKAGES) |
                  set(arch.firmware_packages))
    later = sorted(set(arch.guest_package_suites.values()))
    sources = "".join(f"deb [arch={arch.debian_arch} signed-by={KEYRING}] "
                      f"{url} {suite} main\n"
                      for url, suite in suites(arch.debian_suite) +
                      tuple(("http://deb.debian.org/debian", r)
                            for r in later))
    want = hashlib.sha256((sources + " ".join(pkgs)).encode()).hexdigest()
    stamp = root / ".kdump-packages"
    if stamp.exists() and stamp.read_text() == want:
        return root
    say(f"fetching Debian {arch.debian_arch} packages for the guest into "
        f"{root} (not installed on the host): {' '.join(pkgs)}")
    for d in (top, root):
        shutil.rmtree(d, ignore_errors=True)
    for d in ("state/lists/partial", "cache/archives/partial", "empty",
              "debs"):
        (top / d).mkdir(parents=True)
    (top / "state/status").write_text("")
    (top / "sources.list").write_text(sources)
    opts = apt_options(top, arch.debian_arch)
    run_logged(["apt-get", *opts, "update"], log, "setup")
    # Each package from its release: the architecture's, or the later
    # one named for it.
    run_logged(["apt-get", *opts, "download",
                *(f"{p}/{arch.guest_package_suites[p]}"
                  if p in arch.guest_package_suites else
                  f"{p}/{arch.debian_suite}" for p in pkgs)], log, "setup",
               cwd=top / "debs")
    root.mkdir(parents=True)
    debs = sorted((top / "debs").glob("*.deb"))
    if len(debs) != len(pkgs):
        raise StageError("setup", f"apt-get download gave {len(debs)} of "
                         f"{len(pkgs)} packages", log=log)
    for deb in debs:
        run_logged(["dpkg-deb", "-x", deb, root], log, "setup")
    (root / ".kdump-versions").write_text(
        "".join(d.name + "\n" for d in debs))
    stamp.write_text(want)
    return root


_CACHE = {}


def userspace(arch):
    """The Userspace of arch (fetched on first use)."""
    if arch.name not in _CACHE:
        if arch.debian_arch == host_debian_arch():
            root = Path("/")
        else:
            root = fetch_packages(arch, BUILD / "logs/setup.log")
        _CACHE[arch.name] = Userspace(arch, root)
    return _CACHE[arch.name]


def guest_cc(arch, src, out, include):
    """Build a static guest program from one C file with the arch's
    compiler (the host's gcc, or Debian's cross gcc); raises with the
    compiler's output."""
    r = subprocess.run([arch.guest_cc, "-static", "-O2", "-Wall", "-Werror",
                        "-I", str(include), "-o", str(out), str(src),
                        "-lpthread"], capture_output=True, text=True)
    if r.returncode != 0:
        raise StageError("build", f"{Path(src).name} does not build with "
                         f"{arch.guest_cc}",
                         tail=(r.stdout + r.stderr).splitlines())
    return out
