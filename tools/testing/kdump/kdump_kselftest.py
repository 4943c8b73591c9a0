# SPDX-License-Identifier: GPL-2.0
"""The base's own kexec kselftests (tools/testing/selftests/kexec/ of the
pinned base, used from the unpacked base, never copied here) on the first
kernel of a guest, the way kselftest runs on a target machine: `make
install` on the host, `run_kselftest.sh` in the guest, TAP on its output.

The scripts read the kernel's configuration (from /proc/config.gz, or
first from /lib/modules/RELEASE/config: without IKCONFIG_PROC the booted
kernel's .config goes there), load
/boot/vmlinuz-RELEASE with kexec_load and kexec_file_load, and call tools
busybox lacks or has in a form they cannot use: GUEST_TOOLS."""

import shutil
from pathlib import Path

from kdump_common import BUILD, StageError, run_logged, say
from kdump_ktap import kselftest_results
from kdump_scenarios import boot_guest
from kdump_userspace import userspace

TARGET = "kexec"
# The kernel ARCH values the base's kexec/Makefile installs its tests for
# (x86 and ppc64le; the runner has no ppc64le).
ARCHES = ("x86",)
GUEST_DIR = "/kselftest"
# Host programs the guest gets, as (package, path), and why:
# - bash becomes /bin/sh: the scripts use `[ a == b ]`, which dash refuses,
#   and busybox's ash runs its own applets before any program in PATH;
# - coreutils' timeout: run_kselftest.sh's runner calls `timeout
#   --foreground` whenever /usr/bin/timeout exists, and busybox's has no
#   --foreground (every test would fail);
# - coreutils' tail: the modsig check calls `tail --bytes` (busybox: -c);
# - pesign and getfattr: the PE and IMA signature checks; without them
#   test_kexec_file_load.sh skips.
GUEST_TOOLS = {"bash": ("bash", "bin/bash"),
               "timeout": ("coreutils", "usr/bin/timeout"),
               "tail": ("coreutils", "usr/bin/tail"),
               "pesign": ("pesign", "usr/bin/pesign"),
               "getfattr": ("attr", "usr/bin/getfattr")}
# What NSS opens with dlopen() when pesign starts (not DT_NEEDED).
DLOPENED = ("libsoftokn3.so", "libfreeblpriv3.so", "libsqlite3.so.0")
# devtmpfs makes no /dev/fd or /dev/std*; run_kselftest.sh writes its log
# to /dev/stdout.
GUEST_CMD = ("ln -sf /proc/self/fd /dev/fd; "
             "for i in 0:stdin 1:stdout 2:stderr; do "
             "ln -sf /proc/self/fd/${i%:*} /dev/${i#*:}; done; "
             f"cd {GUEST_DIR} && ./run_kselftest.sh")
# In these kernels nothing requires a signature (no IMA, no secure boot,
# no KEXEC_SIG): each load must succeed, which is the test's closing line.
# (The scripts pass when the load fails too, unless a policy explains it.)
EXPECTED = {"test_kexec_load.sh": "kexec_load succeeded [PASS]",
            "test_kexec_file_load.sh": "kexec_file_load succeeded [PASS]"}


def install(arch, src, log):
    """`make install` of the kexec kselftests of the base for arch into
    BUILD/kselftest-kexec-ARCH; returns (folder, [collection:test]). The
    base's Makefile installs the scripts only for x86 and ppc64le."""
    dest = BUILD / f"kselftest-{TARGET}-{arch.name}"
    shutil.rmtree(dest, ignore_errors=True)
    run_logged(["make", "-C", Path(src) / "tools/testing/selftests",
                f"ARCH={arch.kernel_arch}", f"TARGETS={TARGET}",
                f"O={BUILD / f'kselftest-build-{arch.name}'}", "install",
                f"INSTALL_PATH={dest}"], log, "setup")
    listed = dest / "kselftest-list.txt"
    tests = listed.read_text().split() if listed.exists() else []
    return dest, tests


def add_tree(c, host_dir, guest_dir):
    """Every file under host_dir into cpio c under guest_dir, modes kept."""
    for p in sorted(Path(host_dir).rglob("*")):
        if p.is_file():
            c.file(f"{guest_dir}/{p.relative_to(host_dir)}", p.read_bytes(),
                   p.stat().st_mode & 0o777)


def add_tools(c, arch):
    """GUEST_TOOLS and the libraries they load into cpio c."""
    us = userspace(arch)
    added = set()

    def add(guest, host, mode=0o755):
        if guest not in added:
            added.add(guest)
            c.file(guest, Path(host).resolve().read_bytes(), mode)

    for package, path in GUEST_TOOLS.values():
        binary = us.root / path
        if not binary.exists():
            raise StageError("setup", f"{binary} is missing (package "
                             f"{package})")
        add("/" + path, binary)
        for guest, host in us.libraries(binary):
            add(guest, host)
    # The busybox initramfs has /bin/sh -> busybox: this later entry
    # replaces it (the kernel's unpacker removes what is in the way); the
    # guest's init names /bin/busybox itself.
    c.symlink("/bin/sh", "bash")
    for name in DLOPENED:
        lib = us.library(name)
        if lib is None:
            raise StageError("setup", f"pesign's NSS needs {name}, not found "
                             f"under {us.root}")
        add(f"/usr/lib/{arch.multiarch}/{name}", lib)
        for guest, host in us.libraries(lib):
            add(guest, host)


def run_kexec_selftests(tools, k, workdir):
    """Boot kernel k with the installed kexec kselftests, the kernel's
    image at /boot/vmlinuz-RELEASE and, unless it has /proc/config.gz, its
    .config at /lib/modules/RELEASE/config; run run_kselftest.sh. Returns (results
    of kdump_ktap.kselftest_results, the tests listed, the TAP text)."""
    arch = k["arch"]
    log = BUILD / f"logs/kselftest-{TARGET}-{arch.name}.log"
    installed, listed = install(arch, tools.src, log)
    if not listed:
        raise StageError("setup", f"the base's {TARGET} kselftests install "
                         f"no test for ARCH={arch.kernel_arch}", log=log)
    rel = k["release"]

    def files(c):
        add_tree(c, installed, GUEST_DIR)
        add_tools(c, arch)
        c.file(f"/boot/vmlinuz-{rel}", Path(k["kexec_image"]).read_bytes())
        config = (k["out"] / ".config").read_bytes()
        # A kernel with /proc/config.gz says itself; else the .config goes
        # where the scripts look first.
        if b"\nCONFIG_IKCONFIG_PROC=y\n" not in config:
            c.file(f"/lib/modules/{rel}/config", config)

    say(f"kselftests {TARGET} on the {k['variant']} kernel ({arch.name}): "
        f"{', '.join(listed)}")
    rc, output, g = boot_guest(k, "", GUEST_CMD, "1G", 1, 600, workdir,
                               kexec=True, files=files)
    (workdir / "kselftest.tap").write_text(output)
    if rc != 0:
        raise StageError("kselftest", f"run_kselftest.sh exited {rc}",
                         log=g.log_path, tail=output.splitlines()[-20:])
    return kselftest_results(output), listed, output


def verdicts(results, listed, expected=EXPECTED):
    """Problems of one kernel's results: a test listed but without a
    result, a failed one, or a closing line other than the expected one.
    Skips are no problem here; the caller reports them with their
    reason."""
    problems = []
    for entry in listed:
        name = entry.split(":", 1)[1]
        r = results.get(name)
        if r is None:
            problems.append(f"{name}: no result")
        elif r["result"] == "fail":
            problems.append(f"{name}: failed ({r['directive']}): "
                            f"{r['reason']}")
        elif r["result"] == "pass" and name in expected and \
                r["reason"] != expected[name]:
            problems.append(f"{name}: {r['reason']!r}, want "
                            f"{expected[name]!r}")
    return problems


def compare(c, rust):
    """Rows test: C vs Rust and the differences; each test's result, its
    closing line and the conditions its [INFO] lines name must be the
    same on both kernels. Returns (rows, differences)."""
    rows, diffs = [], []
    for name in sorted(set(c) | set(rust)):
        a, b = c.get(name), rust.get(name)
        if a is None or b is None:
            diffs.append(f"{name}: only on {'Rust' if a is None else 'C'}")
            continue
        for key in ("result", "reason"):
            if a[key] != b[key]:
                diffs.append(f"{name}: {key} C {a[key]!r}, Rust {b[key]!r}")
        if a["info"] != b["info"]:
            diffs.append(f"{name}: [INFO] lines only C "
                         f"{[l for l in a['info'] if l not in b['info']]}, "
                         f"only Rust "
                         f"{[l for l in b['info'] if l not in a['info']]}")
        rows.append(f"{name}: C {a['result']} ({a['reason']}), Rust "
                    f"{b['result']} ({b['reason']})")
    return rows, diffs


def summary(results):
    """One line: how many passed, skipped and failed, then each test's
    result and closing line (a skip's reason)."""
    count = {k: sum(r["result"] == k for r in results.values())
             for k in ("pass", "skip", "fail")}
    return (f"{count['pass']} passed, {count['skip']} skipped, "
            f"{count['fail']} failed: " +
            "; ".join(f"{n}: {r['result']} ({r['reason']})"
                      for n, r in results.items()))
