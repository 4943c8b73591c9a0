#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Build, boot, crash and verify kdump kernels under QEMU.

One command takes the pinned upstream base (Debian's linux-source-6.12), applies
this tree (overlay files plus the hook patches in patches/), builds the C or the
Rust crash-dump kernel, crashes it under QEMU and checks the captured vmcore
with tools nobody here wrote (drgn and makedumpfile).

Subcommands:
  apply   apply the overlay and hook patches to a kernel tree
  build   build a kernel (--impl c|rust) and print bzImage/vmlinux
  boot    boot the first kernel, run a shell command in it, print its output
  run     full kdump cycle: boot, load, crash, capture, verify
  reboot  kexec -s -l the kernel, kexec -e, wait for the second kernel
  bench   C vs Rust side by side: panic to capture kernel latency
  test    the whole suite (host tests, both kernels, KUnit, every run cycle)

Every subcommand sets up what is still missing (apt packages, bindgen-cli,
drgn, the unpacked base) and reuses earlier work. Output goes under build/
(KDUMP_BUILD_DIR overrides). Python 3 standard library only.
"""

import argparse
import hashlib
import json
import os
import queue
import re
import shlex
import shutil
import struct
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# --------------------------------------------------------------------------
# Where things are

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
BUILD = Path(os.environ.get("KDUMP_BUILD_DIR", REPO / "build")).resolve()
# Files of this tree are copied from here; a test may point it elsewhere.
OVERLAY = Path(os.environ.get("KDUMP_OVERLAY", REPO)).resolve()

BASE_PKG = "linux-source-6.12"
BASE_PKG_VERSION = "6.12.117-1~deb12u1"
BASE_TARBALL = Path("/usr/src/linux-source-6.12.tar.xz")
BASE_DIRNAME = "linux-source-6.12"

# Top-level folders of this repository that land in the kernel tree as they are.
OVERLAY_DIRS = ("Documentation", "arch", "fs", "include", "kernel", "mm",
                "rust", "samples", "scripts", "tools")
PATCH_DIR = "patches"

APT_PACKAGES = [
    BASE_PKG, "rustc-web", "rust-web-src", "clang", "lld", "llvm",
    "libclang-dev", "make", "gcc", "flex", "bison", "bc", "libelf-dev",
    "libssl-dev", "xz-utils", "cpio", "qemu-system-x86", "kexec-tools",
    "makedumpfile", "busybox-static", "patch", "perl", "python3-venv",
    "libc6-dev",
]
BINDGEN_VERSION = "0.69.5"
DRGN_SPEC = "drgn"

# Debian's rustc-web: the kernel must be built with it, not rustup's rustc.
KRUSTC = "/usr/bin/rustc"
KRUSTDOC = "/usr/bin/rustdoc"
KRUST_LIB_SRC = "/usr/lib/rustlib/src/rust/library"

CONFIG_FRAGMENTS = {
    "common": [REPO / "tools/testing/selftests/kdump/config",
               HERE / "configs/x86_64.config"],
    "c": [HERE / "configs/c.config"],
    "rust": [HERE / "configs/rust.config"],
}

# Our KUnit suites: `test` requires each of them in the Rust kernel's log.
KUNIT_SUITES = ["kdump_rust_memparse", "kdump_crashkernel",
                "kdump_rust_purgatory"]

# crashkernel= command lines booted on both kernels; the "Crash kernel" lines
# of /proc/iomem, /sys/kernel/kexec_crash_size and the result of shrinking it
# must be identical. (append, guest memory, refused: the Rust kernel must say
# why in one warning naming the word; with nokaslr the kernel image sits at
# 16M, so @16M is in use)
CRASHKERNEL_TABLE = [
    ("crashkernel=128M", "1G", False),
    ("crashkernel=0x8000000", "1G", False),
    ("crashkernel=512M-2G:64M,2G-:128M", "1G", False),
    ("crashkernel=512M-2G:64M,2G-:128M", "6G", False),
    ("crashkernel=64M@16M", "1G", True),
    ("crashkernel=64M@512M", "1G", False),
    ("crashkernel=64M@513M", "1G", True),
    ("crashkernel=64M crashkernel=96M", "1G", False),
    ("crashkernel=256M,high crashkernel=64M,low", "6G", False),
    ("crashkernel=256M,high", "6G", False),
    ("crashkernel=3G", "8G", False),
    ("crashkernel=2G", "1G", True),
    ("crashkernel=99999999999999999999G", "1G", True),
    ("crashkernel=1G-:", "1G", True),
    ("crashkernel=2G-1G:64M", "1G", True),
    ("crashkernel=64Mjunk", "1G", True),
]
CRASHKERNEL_PROBE = (
    "grep -i 'crash kernel' /proc/iomem; "
    "s=$(cat /sys/kernel/kexec_crash_size); echo kexec_crash_size=$s; "
    "if [ \"$s\" -gt 0 ]; then echo $((s / 2)) > /sys/kernel/kexec_crash_size; "
    "grep -i 'crash kernel' /proc/iomem; "
    "echo shrunk=$(cat /sys/kernel/kexec_crash_size); fi")

CONSOLE = "console=ttyS0 panic=1 loglevel=7"
CAPTURE_APPEND = "console=ttyS0 panic=1 irqpoll nr_cpus=1 reset_devices"

LKDTM = "/sys/kernel/debug/provoke-crash/DIRECT"
# How `run --trigger` crashes the first kernel: the guest script, what the
# kernel command line needs for it, the vCPUs, and what the crashed thread's
# backtrace (drgn) must show: every group needs one of its functions.
TRIGGERS = {
    "sysrq": {"script": "echo c > /proc/sysrq-trigger\n", "append": "",
              "smp": 1, "expect": [["panic"], ["sysrq_handle_crash"]]},
    "panic": {"script": f"echo PANIC > {LKDTM}\n", "append": "", "smp": 1,
              "expect": [["panic"], ["lkdtm_PANIC"]]},
    # An oops with panic_on_oops (boot parameter oops=panic): oops_end()
    # calls crash_kexec() with the registers of the fault, before panic().
    "bug": {"script": f"echo BUG > {LKDTM}\n", "append": "oops=panic",
            "smp": 1, "expect": [["lkdtm_BUG"]]},
    "exception": {"script": f"echo EXCEPTION > {LKDTM}\n",
                  "append": "oops=panic", "smp": 1,
                  "expect": [["lkdtm_EXCEPTION"]]},
    "warning": {"script": f"echo WARNING > {LKDTM}\n",
                "append": "panic_on_warn=1", "smp": 1,
                "expect": [["panic"], ["lkdtm_WARNING"]]},
    # Two CPUs at once: CPU 0 panics (panic() claims panic_cpu and calls
    # __crash_kexec()), CPU 1 oopses (crash_kexec() claims panic_cpu). Both
    # spin on one flag so that they fire together; exactly one may enter
    # the crash kernel, and the backtrace is that one's.
    "two-cpus": {"script": "".join(
        f"taskset -c {cpu} sh -c 'echo armed cpu {cpu} {what}; "
        f"while [ ! -e /tmp/kdump-go ]; do :; done; echo {what} > {LKDTM}' &\n"
        for cpu, what in ((0, "PANIC"), (1, "BUG"))) +
        "sleep 1; touch /tmp/kdump-go; wait\n",
        "append": "oops=panic", "smp": 2, "armed": 2,
        "expect": [["lkdtm_PANIC", "lkdtm_BUG"]]},
}


class StageError(Exception):
    """A stage failed; carries what the user needs to see."""

    def __init__(self, stage, message, log=None, tail=None):
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.log = log
        self.tail = tail


def last_run(log):
    """Lines of the last command in a log (logs are appended to)."""
    lines = Path(log).read_text(errors="replace").splitlines()
    start = max((i for i, l in enumerate(lines) if l.startswith("$ ")),
                default=0)
    return lines[start:]


def fail_report(err):
    """Print a stage failure the way every subcommand reports it."""
    print(f"\nFAILED at stage '{err.stage}': {err.message}", flush=True)
    tail = err.tail
    if tail is None and err.log and Path(err.log).exists():
        lines = last_run(err.log)
        tail = lines[-25:]
        # With parallel make the first error is rarely at the end: show it.
        first = next((i for i, l in enumerate(lines)
                      if re.search(r"\berror\b[:\[]|^\S+:\d+:\d+: error", l)),
                     None)
        if first is not None and first < len(lines) - 25:
            tail = lines[max(first - 3, 0):first + 12] + ["..."] + lines[-6:]
    if tail:
        print(f"--- last lines of the {err.stage} log ---")
        for line in tail:
            print("  " + line)
        print("---")
    if err.log:
        print(f"full log: {err.log}")


class Clock:
    """Elapsed-time helper for progress lines."""

    def __init__(self):
        self.t0 = time.monotonic()

    def __str__(self):
        s = int(time.monotonic() - self.t0)
        return f"{s // 60}m{s % 60:02d}s"

    def seconds(self):
        return round(time.monotonic() - self.t0, 1)


def say(msg):
    print(f"[kdump] {msg}", flush=True)


def run_logged(cmd, log, stage, cwd=None, env=None, heartbeat=None):
    """Run cmd with output appended to log; raise StageError on failure.

    heartbeat(last_line) is called every 30 s so long steps show progress.
    """
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as f:
        f.write(f"\n$ {shlex.join(map(str, cmd))}\n".encode())
        f.flush()
        proc = subprocess.Popen(list(map(str, cmd)), cwd=cwd, env=env,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        last = [""]
        stop = threading.Event()

        def beat():
            while not stop.wait(30):
                if heartbeat:
                    heartbeat(last[0])

        t = threading.Thread(target=beat, daemon=True)
        t.start()
        for line in proc.stdout:
            f.write(line)
            s = line.decode(errors="replace").strip()
            if s:
                last[0] = s
        rc = proc.wait()
        stop.set()
    if rc != 0:
        raise StageError(stage, f"`{shlex.join(map(str, cmd[:3]))} ...` "
                         f"exited with status {rc}", log=log)


# --------------------------------------------------------------------------
# Set-up: packages, tools, base source

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


def ensure_apt(log):
    missing = [p for p in APT_PACKAGES if dpkg_version(p) is None]
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


def cargo_bin(name):
    found = shutil.which(name)
    if found:
        return found
    p = Path.home() / ".cargo/bin" / name
    return str(p) if p.exists() else None


def ensure_bindgen(log):
    b = cargo_bin("bindgen")
    if b:
        r = subprocess.run([b, "--version"], capture_output=True, text=True)
        if BINDGEN_VERSION in r.stdout:
            return b
    cargo = cargo_bin("cargo")
    if not cargo:
        raise StageError("setup", "cargo is needed to install bindgen-cli "
                         "(install rustup's toolchain)")
    say(f"installing bindgen-cli {BINDGEN_VERSION} with cargo")
    run_logged([cargo, "install", "--locked", "bindgen-cli", "--version",
                BINDGEN_VERSION], log, "setup")
    return cargo_bin("bindgen")


def venv_python():
    return BUILD / "venv/bin/python3"


def ensure_drgn(log):
    py = venv_python()
    if py.exists() and subprocess.run([py, "-c", "import drgn"],
                                      capture_output=True).returncode == 0:
        return py
    say("installing drgn from PyPI into build/venv")
    if not py.exists():
        run_logged([sys.executable, "-m", "venv", BUILD / "venv"], log, "setup")
    run_logged([py, "-m", "pip", "install", "--quiet", DRGN_SPEC], log,
               "setup")
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


def apply_patches(src, log):
    for p in patch_files():
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


def copy_overlay(src):
    """Copy changed overlay files into src; drop files we put there before
    that the overlay no longer has. Unchanged files keep their mtime so make
    does not rebuild them."""
    manifest = Path(src) / ".kdump-overlay"
    old = set(manifest.read_text().split()) if manifest.exists() else set()
    new = overlay_files()
    changed = 0
    for rel in new:
        s, d = OVERLAY / rel, Path(src) / rel
        data = s.read_bytes()
        if d.exists() and d.read_bytes() == data:
            continue
        d.parent.mkdir(parents=True, exist_ok=True)
        d.write_bytes(data)
        shutil.copymode(s, d)
        changed += 1
    for rel in old - {str(r) for r in new}:
        (Path(src) / rel).unlink(missing_ok=True)
    manifest.write_text("\n".join(str(r) for r in new) + "\n")
    return changed


def prepare_source(log):
    """Unpack the base once, apply the hook patches, copy the overlay.

    The tree is unpacked afresh whenever the set of patches changes, so a
    patch is always applied to pristine sources.
    """
    if not BASE_TARBALL.exists():
        raise StageError("setup", f"{BASE_TARBALL} is missing; is "
                         f"{BASE_PKG} installed?")
    src = BUILD / "src" / BASE_DIRNAME
    h = hashlib.sha256()
    h.update(str(BASE_TARBALL.stat().st_mtime_ns).encode())
    for p in patch_files():
        h.update(p.name.encode() + p.read_bytes())
    stamp = src / ".kdump-patches"
    if not (stamp.exists() and stamp.read_text() == h.hexdigest()):
        clock = Clock()
        if src.exists():
            say("hook patches changed: unpacking the base afresh")
            shutil.rmtree(src)
        say(f"unpacking {BASE_TARBALL}")
        src.parent.mkdir(parents=True, exist_ok=True)
        run_logged(["tar", "-C", src.parent, "-xf", BASE_TARBALL], log,
                   "apply")
        apply_patches(src, log)
        stamp.write_text(h.hexdigest())
        say(f"base unpacked and patched in {clock}")
    n = copy_overlay(src)
    if n:
        say(f"overlay: {n} file(s) updated in {src}")
    return src


def setup(need_build=True):
    """Everything a subcommand needs before it starts; idempotent."""
    BUILD.mkdir(parents=True, exist_ok=True)
    log = BUILD / "logs/setup.log"
    ensure_apt(log)
    tools = {}
    if need_build:
        tools["bindgen"] = ensure_bindgen(log)
    src = prepare_source(BUILD / "logs/apply.log")
    say(f"base: {base_version(src)}")
    return src, tools


# --------------------------------------------------------------------------
# Kernel build

def make_cmd(src, out, tools):
    cmd = ["make", "-C", src, f"O={out}", "LLVM=1",
           f"RUSTC={KRUSTC}", f"RUSTDOC={KRUSTDOC}", f"HOSTRUSTC={KRUSTC}",
           f"RUST_LIB_SRC={KRUST_LIB_SRC}", f"-j{os.cpu_count() or 2}"]
    if tools.get("bindgen"):
        cmd.append(f"BINDGEN={tools['bindgen']}")
    return cmd


def wanted_options(impl):
    """(option, value) pairs the fragments ask for; value None = not set."""
    want = {}
    for frag in CONFIG_FRAGMENTS["common"] + CONFIG_FRAGMENTS[impl]:
        for line in frag.read_text().splitlines():
            m = re.match(r"^(CONFIG_\w+)=(.*)$", line)
            if m:
                want[m.group(1)] = m.group(2)
                continue
            m = re.match(r"^# (CONFIG_\w+) is not set", line)
            if m:
                want[m.group(1)] = None
    return want


def configure(src, out, impl, tools, log):
    frags = CONFIG_FRAGMENTS["common"] + CONFIG_FRAGMENTS[impl]
    text = "".join(f.read_text() for f in frags)
    stamp = out / ".kdump-fragments"
    if stamp.exists() and stamp.read_text() == text and (out / ".config").exists():
        return
    say(f"configuring {impl} kernel: tinyconfig + {', '.join(f.name for f in frags)}")
    out.mkdir(parents=True, exist_ok=True)
    base = make_cmd(src, out, tools)
    run_logged(base + ["tinyconfig"], log, "build")
    run_logged([src / "scripts/kconfig/merge_config.sh", "-m", "-O", out,
                out / ".config"] + frags, log, "build", cwd=out)
    run_logged(base + ["olddefconfig"], log, "build")
    have = {}
    for line in (out / ".config").read_text().splitlines():
        m = re.match(r"^(CONFIG_\w+)=(.*)$", line)
        if m:
            have[m.group(1)] = m.group(2)
    bad = [f"{k}={v if v is not None else 'n'} (got "
           f"{have.get(k, 'n')})"
           for k, v in wanted_options(impl).items() if have.get(k) != v]
    if bad:
        raise StageError("build", "the kernel configuration does not have "
                         "what the fragments ask for (a dependency is "
                         "missing): " + "; ".join(bad), log=log)
    stamp.write_text(text)


def build_kernel(impl, src, tools):
    out = BUILD / f"out-{impl}"
    log = out / "build.log"
    out.mkdir(parents=True, exist_ok=True)
    clock = Clock()
    configure(src, out, impl, tools, log)
    say(f"building the {impl} kernel (log: {log})")

    def beat(last):
        say(f"  build {impl}: {clock} elapsed, {last[:70]}")

    run_logged(make_cmd(src, out, tools) + ["bzImage"], log, "build",
               heartbeat=beat)
    bz = out / "arch/x86/boot/bzImage"
    vmlinux = out / "vmlinux"
    release = (out / "include/config/kernel.release").read_text().strip()
    say(f"built {impl} kernel {release} in {clock}")
    return {"impl": impl, "bzImage": bz, "vmlinux": vmlinux,
            "release": release, "seconds": clock.seconds(), "out": out}


# --------------------------------------------------------------------------
# Initramfs (newc cpio written here: no root, no cpio quirks)

class Cpio:
    def __init__(self):
        self.entries = []
        self.dirs = set()
        self.ino = 1000

    def _hdr(self, name, mode, size, nlink=1, mtime=0):
        self.ino += 1
        fields = [self.ino, mode, 0, 0, nlink, mtime, size, 0, 0, 0, 0,
                  len(name) + 1, 0]
        return b"070701" + b"".join(b"%08X" % f for f in fields)

    def _add(self, name, mode, data):
        name = name.lstrip("/")
        hdr = self._hdr(name, mode, len(data))
        blob = hdr + name.encode() + b"\0"
        blob += b"\0" * (-len(blob) % 4)
        blob += data + b"\0" * (-len(data) % 4)
        self.entries.append(blob)

    def mkdir(self, path):
        parts = Path(path.lstrip("/")).parts
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.dirs:
                self.dirs.add(d)
                self._add(d, 0o040755, b"")

    def file(self, path, data, mode=0o644):
        self.mkdir(str(Path(path).parent))
        self._add(path, 0o100000 | mode, data)

    def symlink(self, path, target):
        self.mkdir(str(Path(path).parent))
        self._add(path, 0o120777, target.encode())

    def bytes(self):
        trailer = self._hdr("TRAILER!!!", 0, 0)
        blob = trailer + b"TRAILER!!!\0"
        blob += b"\0" * (-len(blob) % 4)
        data = b"".join(self.entries) + blob
        return data + b"\0" * (-len(data) % 512)


def shared_libs(binary):
    """Paths of the shared libraries binary loads (ldd), loader included."""
    r = subprocess.run(["ldd", binary], capture_output=True, text=True)
    libs = []
    for line in r.stdout.splitlines():
        m = re.search(r"(/\S+) \(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


INIT = r"""#!/bin/busybox sh
# init of the tools/testing/kdump guests: mode boot, run, capture, reboot
# (kexec -s -l, kexec -e) or rebooted (the kernel reboot started).
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mark() { echo "KDUMP-STAGE: $*" > /dev/console; }
finish() { sync; reboot -f; sleep 5; echo o > /proc/sysrq-trigger; }
# load_kernel FLAGS INITRD APPEND-FILE SYSFS-FILE: kexec-load /boot/bzImage and
# check /sys/kernel/SYSFS-FILE says so, or report load-failed and stop.
load_kernel() {
	mark load
	if ! kexec $1 /boot/bzImage --initrd="$2" --append="$(cat "$3")" \
		> /dev/console 2>&1; then
		mark "load-failed"
		finish
	fi
	if [ "$(cat /sys/kernel/$4)" != 1 ]; then
		mark "load-failed $4=$(cat /sys/kernel/$4)"
		finish
	fi
	mark loaded
}
mode=$(cat /etc/kdump/mode)
case "$mode" in
boot)
	mark booted
	sh /etc/kdump/cmd > /dev/ttyS1 2>&1
	rc=$?
	mark "exit rc=$rc"
	finish
	;;
run)
	mark booted
	grep -i 'crash kernel' /proc/iomem | sed 's/^/KDUMP-IOMEM: /' > /dev/console
	load_kernel "$(cat /etc/kdump/kexec-flags)" /boot/capture.cpio \
		/etc/kdump/capture-append kexec_crash_loaded
	echo 1 > /proc/sys/kernel/sysrq
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	sync
	mark crash
	sh /etc/kdump/trigger > /dev/console 2>&1
	mark "crash-returned"
	finish
	;;
reboot)
	mark booted
	load_kernel "-s -l" /boot/next.cpio /etc/kdump/next-append kexec_loaded
	sync
	mark kexec
	kexec -e > /dev/console 2>&1
	mark "kexec-failed: kexec -e returned $?"
	finish
	;;
rebooted)
	mark "second-kernel $(cat /proc/cmdline)"
	finish
	;;
capture)
	mark capture-kernel
	if [ ! -e /proc/vmcore ]; then
		mark "capture-failed no /proc/vmcore"
		finish
	fi
	size=$(stat -c %s /proc/vmcore)
	mark "capture-start size=$size"
	dd if=/proc/vmcore of=/dev/vda bs=1M 2>/dev/console
	rc=$?
	sync
	mark "capture-done rc=$rc size=$size"
	# kdump.py run --guest-checks: the disk now holds one sequential
	# read, the reference for vmcore_test; then makedumpfile through
	# mmap() and through read().
	if [ -x /bin/vmcore_test ]; then
		mark vmcore-test
		/bin/vmcore_test test /proc/vmcore /dev/vda > /dev/console 2>&1
		mark "vmcore-test-done rc=$?"
		for how in mmap non-mmap; do
			flag=
			[ $how = non-mmap ] && flag=--non-mmap
			makedumpfile $flag --message-level 31 -d 31 /proc/vmcore \
				/tmp/dump > /tmp/md.log 2>&1
			rc=$?
			grep -o "mmap() is [a-z]*" /tmp/md.log | head -n 1 | \
				sed "s/^/KDUMP-MD: $how /" > /dev/console
			tail -n 3 /tmp/md.log > /dev/console
			mark "makedumpfile-$how rc=$rc size=$(stat -c %s /tmp/dump 2>/dev/null || echo 0)"
			rm -f /tmp/dump
		done
	fi
	if [ -e /etc/kdump/bench ]; then
		/bin/vmcore_test bench /proc/vmcore $(cat /etc/kdump/bench) \
			> /dev/console 2>&1
		mark "bench-done rc=$?"
	fi
	finish
	;;
esac
mark "unknown mode $mode"
finish
"""


def busybox_cpio(mode):
    c = Cpio()
    c.file("/bin/busybox", Path("/bin/busybox").read_bytes(), 0o755)
    c.symlink("/bin/sh", "busybox")
    c.file("/init", INIT.encode(), 0o755)
    c.file("/etc/kdump/mode", mode.encode() + b"\n")
    for d in ("/proc", "/sys", "/dev", "/tmp"):
        c.mkdir(d)
    return c


def capture_cpio(guest_checks=False, bench_mib=None):
    """The capture kernel's initramfs; with guest_checks, also vmcore_test
    and makedumpfile (with its libraries), and with bench_mib the bench."""
    c = busybox_cpio("capture")
    if guest_checks or bench_mib:
        c.file("/bin/vmcore_test", vmcore_test_binary().read_bytes(), 0o755)
    if guest_checks:
        md = shutil.which("makedumpfile") or "/usr/sbin/makedumpfile"
        c.file("/sbin/makedumpfile", Path(md).read_bytes(), 0o755)
        for lib in shared_libs(md):
            c.file(lib, Path(lib).resolve().read_bytes(), 0o755)
    if bench_mib:
        c.file("/etc/kdump/bench", f"{bench_mib}\n".encode())
    return c


def vmcore_test_binary():
    """tools/testing/selftests/kdump/vmcore_test.c, built static for the
    guest against the base's kselftest.h."""
    src = OVERLAY / "tools/testing/selftests/kdump/vmcore_test.c"
    out = BUILD / "vmcore_test"
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    inc = BUILD / "src" / BASE_DIRNAME / "tools/testing/selftests"
    r = subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Werror",
                        "-I", str(inc), "-o", str(out), str(src), "-lpthread"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise StageError("build", "vmcore_test does not build",
                         tail=(r.stdout + r.stderr).splitlines())
    return out


def make_initramfs(path, mode, cmd=None, kernel=None, loader=None,
                   capture_append=None, trigger="sysrq", guest_checks=False,
                   bench_mib=None):
    c = busybox_cpio(mode)
    if cmd is not None:
        c.file("/etc/kdump/cmd", cmd.encode() + b"\n")
    if mode in ("run", "reboot"):
        kexec = shutil.which("kexec") or "/sbin/kexec"
        c.file("/sbin/kexec", Path(kexec).read_bytes(), 0o755)
        for lib in shared_libs(kexec):
            c.file(lib, Path(lib).resolve().read_bytes(), 0o755)
        c.file("/boot/bzImage", Path(kernel).read_bytes())
    if mode == "reboot":
        c.file("/boot/next.cpio", busybox_cpio("rebooted").bytes())
        c.file("/etc/kdump/next-append", capture_append.encode() + b"\n")
    if mode == "run":
        c.file("/boot/capture.cpio",
               capture_cpio(guest_checks, bench_mib).bytes())
        flags = {"load": "-p", "file": "-s -p"}[loader]
        c.file("/etc/kdump/kexec-flags", flags.encode() + b"\n")
        c.file("/etc/kdump/capture-append", capture_append.encode() + b"\n")
        c.file("/etc/kdump/trigger", TRIGGERS[trigger]["script"].encode())
    Path(path).write_bytes(c.bytes())


# --------------------------------------------------------------------------
# QEMU

class Guest:
    """One QEMU run with its serial console streamed, timestamped and logged.

    expect() waits for a console line; the guest is always killed at the end,
    so a guest that halts instead of powering off cannot hang the runner.
    """

    def __init__(self, kernel, initrd, append, log, mem="1G", smp=1,
                 disk=None, cmd_out=None, extra=()):
        self.log_path = Path(log)
        self.log = open(self.log_path, "w")
        accel = os.environ.get("KDUMP_QEMU_ACCEL", "tcg")
        args = ["qemu-system-x86_64", "-accel", accel, "-m", mem,
                # One socket per CPU: SeaBIOS's MP table (no ACPI in these
                # kernels) lists sockets, so "-smp 2" alone boots one CPU.
                "-smp", f"{smp},sockets={smp}", "-nodefaults", "-display", "none",
                "-no-reboot", "-kernel", str(kernel), "-initrd", str(initrd),
                "-append", append, "-serial", "stdio"]
        args += ["-serial", f"file:{cmd_out}" if cmd_out else "null"]
        if disk:
            args += ["-drive", f"file={disk},format=raw,if=virtio"]
        args += list(extra)
        self.log.write(f"$ {shlex.join(args)}\n")
        self.log.flush()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.lines = queue.Queue()
        self.seen = []
        self.t0 = time.monotonic()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            t = time.monotonic() - self.t0
            self.log.write(f"[{t:8.3f}] {line}\n")
            self.log.flush()
            self.lines.put((t, line))
        self.lines.put(None)

    def tail(self, n=25):
        return [l for _, l in self.seen[-n:]]

    def expect(self, pattern, timeout, stage, fail=r"KDUMP-STAGE: \S+-failed"):
        """Wait for a console line matching pattern; returns (time, match)."""
        rx, frx = re.compile(pattern), re.compile(fail) if fail else None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise StageError(stage, f"no `{pattern}` on the console "
                                 f"within {timeout}s", log=self.log_path,
                                 tail=self.tail())
            try:
                item = self.lines.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if item is None:
                self.lines.put(None)
                raise StageError(stage, f"the guest stopped (QEMU exit "
                                 f"status {self.proc.wait()}) before "
                                 f"`{pattern}` appeared", log=self.log_path,
                                 tail=self.tail())
            self.seen.append(item)
            t, line = item
            if frx and frx.search(line):
                raise StageError(stage, f"guest reported: {line.strip()}",
                                 log=self.log_path, tail=self.tail())
            m = rx.search(line)
            if m:
                return t, m

    def stop(self, grace=20):
        """Let the guest power off by itself for grace seconds, then kill."""
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.log.write("[kdump] guest did not power off: killed\n")
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # Drain what is left so the log is complete.
        while True:
            try:
                item = self.lines.get(timeout=2)
            except queue.Empty:
                break
            if item is None:
                break
            self.seen.append(item)
        self.log.close()


# --------------------------------------------------------------------------
# Subcommands

def cmd_apply(args):
    if args.kernel_dir:
        # The user's own 6.12 tree: patches then overlay, in place.
        src = Path(args.kernel_dir).resolve()
        if not (src / "Makefile").exists():
            raise StageError("apply", f"{src} is not a kernel tree")
        log = BUILD / "logs/apply.log"
        BUILD.mkdir(parents=True, exist_ok=True)
        apply_patches(src, log)
        n = copy_overlay(src)
        say(f"{n} overlay file(s) copied into {src}")
        say(f"base: {base_version(src)}")
        return 0
    src, _ = setup(need_build=False)
    print(src)
    return 0


def cmd_build(args):
    src, tools = setup()
    k = build_kernel(args.impl, src, tools)
    print(f"bzImage: {k['bzImage']}")
    print(f"vmlinux: {k['vmlinux']}")
    return 0


def boot_guest(k, append, cmd, mem, smp, timeout, workdir, extra=()):
    """Boot the first kernel only, run cmd; returns (rc, output, console).
    extra: more QEMU arguments."""
    workdir.mkdir(parents=True, exist_ok=True)
    initrd = workdir / "boot.cpio"
    make_initramfs(initrd, "boot", cmd=cmd)
    out = workdir / "cmd.out"
    out.write_bytes(b"")
    g = Guest(k["bzImage"], initrd, f"{CONSOLE} {append}".strip(),
              workdir / "console.log", mem=mem, smp=smp, cmd_out=out,
              extra=extra)
    try:
        g.expect(r"KDUMP-STAGE: booted", timeout, "boot")
        _, m = g.expect(r"KDUMP-STAGE: exit rc=(\d+)", timeout, "boot")
    finally:
        g.stop()
    return int(m.group(1)), out.read_text(errors="replace"), g


def cmd_boot(args):
    src, tools = setup()
    k = build_kernel(args.impl, src, tools)
    work = BUILD / f"boot-{args.impl}"
    say(f"booting the {args.impl} kernel: {args.append!r}, running {args.cmd!r}")
    rc, output, g = boot_guest(k, args.append, args.cmd, args.mem, args.smp,
                               args.timeout, work)
    sys.stdout.write(output)
    say(f"guest command exited with status {rc} (console: {g.log_path})")
    return rc


DRGN_SCRIPT = r"""
import json, sys, drgn
prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
prog.load_debug_info([sys.argv[2]])
t = prog.crashed_thread()


def names(trace):
    out = []
    for f in trace:
        try:
            out.append(f.name)
        except Exception:
            out.append(None)
    return out


trace = t.stack_trace()
frames = names(trace)
text = str(trace)
# An exception handler's frame (a WARN() is a trap) holds the registers of
# the code it interrupted: unwind from them too, as the oops printout does.
interrupted = []
for f in trace:
    try:
        regs = f["regs"]
        if (regs.type_.type_name() != "struct pt_regs *" or
                regs.absent_ or not regs.value_()):
            continue
        if regs.cs.value_() & 3:
            continue  # the system call's user-mode registers
        more = prog.stack_trace(regs)
        interrupted = names(more)
        text += "\n  -- interrupted by " + str(f.name) + " --\n" + str(more)
        break
    except Exception:
        continue
# Where the other CPUs were when the crash kernel's NMI stopped them.
others = {}
try:
    from drgn.helpers.linux.cpumask import for_each_online_cpu
    from drgn.helpers.linux.sched import cpu_curr
    for cpu in for_each_online_cpu(prog):
        task = cpu_curr(prog, cpu)
        if task.pid.value_() == t.tid:
            continue
        try:
            others[cpu] = [n for n in names(prog.stack_trace(task)) if n][:8]
        except Exception as e:
            others[cpu] = [f"({e})"]
except Exception as e:
    others = {"error": str(e)}
print(json.dumps({
    "others": others,
    "pid": t.tid,
    "comm": t.object.comm.string_().decode() if t.object else None,
    "frames": frames + interrupted,
    "release": prog["init_uts_ns"].name.release.string_().decode(),
    "trace": text,
}))
"""


def verify_vmcore(vmcore, vmlinux, release, workdir, expect,
                  makedumpfile=True):
    """drgn and makedumpfile on the host; returns facts or raises. `expect`
    lists groups of functions: the crashed thread's backtrace must hold one
    of each group."""
    py = ensure_drgn(BUILD / "logs/setup.log")
    script = workdir / "drgn_verify.py"
    script.write_text(DRGN_SCRIPT)
    r = subprocess.run([py, script, vmcore, vmlinux], capture_output=True,
                       text=True, timeout=600)
    (workdir / "drgn.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        raise StageError("verify", "drgn could not read the vmcore",
                         log=workdir / "drgn.log")
    facts = json.loads(r.stdout.strip().splitlines()[-1])
    problems = []
    names = [f for f in facts["frames"] if f]
    for group in expect:
        if not any(fn in names for fn in group):
            problems.append(f"`{'` or `'.join(group)}` is not in the "
                            f"crashed thread's backtrace")
    if facts["release"] != release:
        problems.append(f"UTS release {facts['release']!r} is not the built "
                        f"kernel's {release!r}")
    dump = workdir / "dumpfile"
    dump.unlink(missing_ok=True)
    facts["problems"] = problems
    facts["makedumpfile_bytes"] = None
    if not makedumpfile:
        return facts
    m = subprocess.run(["makedumpfile", "-d", "31", "-x", str(vmlinux),
                        str(vmcore), str(dump)], capture_output=True,
                       text=True, timeout=900)
    (workdir / "makedumpfile.log").write_text(m.stdout + m.stderr)
    facts["makedumpfile_bytes"] = dump.stat().st_size if dump.exists() else 0
    if m.returncode != 0 or not facts["makedumpfile_bytes"]:
        problems.append(f"makedumpfile -d 31 failed (status {m.returncode}, "
                        f"see {workdir / 'makedumpfile.log'})")
    return facts


def vmcore_phdrs(vmcore):
    """Program headers of an ELF64 core file: [(type, flags, offset,
    vaddr, paddr, filesz, memsz)]."""
    with open(vmcore, "rb") as f:
        eh = f.read(64)
        if eh[:4] != b"\x7fELF" or eh[4] != 2:
            raise StageError("verify", f"{vmcore} is not an ELF64 file")
        phoff, = struct.unpack_from("<Q", eh, 32)
        phentsize, phnum = struct.unpack_from("<HH", eh, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return [struct.unpack_from("<IIQQQQQ", table, i * phentsize)
            for i in range(phnum)]


def compare_core_layouts(c_dir, rust_dir):
    """The vmcores of the C and the Rust kernel, crashed the same way on the
    same guest, must describe the same memory: same PT_LOAD addresses and
    sizes in the same order, same number of notes."""
    def summary(d):
        ph = vmcore_phdrs(Path(d) / "vmcore")
        # The kernel text map covers _text.._end, which differs between two
        # kernel images: compare its addresses, not its size.
        loads = [(t[3], t[4]) if t[3] >= 0xffffffff80000000 else
                 (t[3], t[4], t[6]) for t in ph if t[0] == 1]
        return loads, sum(1 for t in ph if t[0] == 4)
    (c_loads, c_notes), (r_loads, r_notes) = summary(c_dir), summary(rust_dir)
    if c_loads != r_loads or c_notes != r_notes:
        diff = [f"#{i}: C {c} vs Rust {r}" for i, (c, r) in
                enumerate(zip(c_loads, r_loads)) if c != r][:3]
        raise StageError("verify", f"vmcore program headers differ: C has "
                         f"{len(c_loads)} PT_LOAD/{c_notes} PT_NOTE, Rust "
                         f"{len(r_loads)}/{r_notes}; {diff}")
    return (f"{len(c_loads)} PT_LOAD (vaddr, paddr, size; the kernel map's "
            f"size aside) and {c_notes} PT_NOTE identical")


# The first console line of a crash, whatever the trigger: a panic, an oops
# (with panic_on_oops, crash_kexec() runs before any panic line) or a
# warning (with panic_on_warn).
CRASH_LINE = (r"Kernel panic - not syncing|kernel BUG at|BUG: |Oops: |"
              r"WARNING: CPU: |sysrq: Trigger a crash|"
              r"lkdtm: Performing direct entry")


def run_cycle(impl, loader, outdir, mem, crashkernel, src, tools,
              fault=None, smp=1, append_extra="", trigger="sysrq",
              makedumpfile=True, guest_checks=False, bench_mib=None):
    """One full kdump cycle; returns the report dict (raises on failure).

    guest_checks: in the capture kernel, after the copy, vmcore_test (TAP)
    and makedumpfile -d 31 through mmap() and read(). bench_mib: then the
    read/mmap throughput bench over that many MiB."""
    trig = TRIGGERS[trigger]
    smp = max(smp, trig["smp"])
    append_extra = f"{trig['append']} {append_extra}".strip()
    stages = {}
    clock = Clock()
    k = build_kernel(impl, src, tools)
    stages["build"] = clock.seconds()
    outdir.mkdir(parents=True, exist_ok=True)
    for stale in ("vmcore", "report.json", "dumpfile"):
        (outdir / stale).unlink(missing_ok=True)
    capture_append = CAPTURE_APPEND
    if fault == "capture":
        # Deliberately unusable capture kernel (its init cannot start, so it
        # panics): proves the runner notices a guest that never gets there.
        capture_append += " rdinit=/nonexistent init=/nonexistent"
    initrd = outdir / "initramfs.cpio"
    make_initramfs(initrd, "run", kernel=k["bzImage"], loader=loader,
                   capture_append=capture_append, trigger=trigger,
                   guest_checks=guest_checks, bench_mib=bench_mib)
    disk = outdir / "vmcore.disk"
    disk.unlink(missing_ok=True)
    with open(disk, "wb") as f:
        f.truncate(parse_size(mem) + (64 << 20))
    append = f"{CONSOLE} crashkernel={crashkernel} {append_extra}".strip()
    say(f"run {impl}/{loader}: booting ({mem}, {smp} CPU, "
        f"crashkernel={crashkernel}, trigger {trigger})")
    g = Guest(k["bzImage"], initrd, append, outdir / "console.log", mem=mem,
              smp=smp, disk=disk)
    last = 0.0
    iomem = []
    try:
        t, _ = g.expect(r"KDUMP-STAGE: booted", 300, "boot")
        stages["boot"], last = round(t - last, 1), t
        t, _ = g.expect(r"KDUMP-STAGE: loaded", 120, "load")
        iomem = [l.split("KDUMP-IOMEM: ", 1)[1].strip()
                 for _, l in g.seen if "KDUMP-IOMEM: " in l]
        stages["load"], last = round(t - last, 1), t
        say(f"run {impl}/{loader}: capture kernel loaded, crashing")
        t, _ = g.expect(r"KDUMP-STAGE: crash$", 60, "crash")
        t, _ = g.expect(CRASH_LINE, 120, "crash")
        stages["crash"], last = round(t - last, 1), t
        # The handoff: from the crash to the capture kernel's first line.
        t, _ = g.expect(r"Linux version", 300, "capture")
        stages["handoff"], last = round(t - last, 1), t
        g.expect(r"KDUMP-STAGE: capture-kernel", 300, "capture")
        _, m1 = g.expect(r"KDUMP-STAGE: capture-start size=(\d+)", 60,
                         "capture")
        say(f"run {impl}/{loader}: capture kernel up, copying "
            f"{int(m1.group(1)) >> 20} MiB of /proc/vmcore")
        t, m = g.expect(r"KDUMP-STAGE: capture-done rc=(\d+) size=(\d+)",
                        1800, "capture")
        stages["capture"], last = round(t - last, 1), t
        guest = {}
        if guest_checks:
            say(f"run {impl}/{loader}: vmcore_test and makedumpfile in the "
                f"capture kernel")
            _, mt = g.expect(r"KDUMP-STAGE: vmcore-test-done rc=(\d+)", 1200,
                             "guest-checks")
            guest["vmcore_test_rc"] = int(mt.group(1))
            for how in ("mmap", "non-mmap"):
                t, mm = g.expect(rf"KDUMP-STAGE: makedumpfile-{how} "
                                 rf"rc=(\d+) size=(\d+)", 600, "guest-checks")
                guest[f"makedumpfile_{how}"] = (int(mm.group(1)),
                                                int(mm.group(2)))
            stages["guest_checks"], last = round(t - last, 1), t
        if bench_mib:
            t, mb = g.expect(r"KDUMP-STAGE: bench-done rc=(\d+)", 3600,
                             "bench")
            stages["bench"] = round(t - last, 1)
            guest["bench_rc"] = int(mb.group(1))
    finally:
        g.stop()
    if m.group(1) != "0":
        raise StageError("capture", f"dd of /proc/vmcore failed with status "
                         f"{m.group(1)}", log=g.log_path, tail=g.tail())
    if guest_checks:
        guest.update(check_guest(g, guest["vmcore_test_rc"]))
    if bench_mib:
        guest["bench"] = {k: float(v) for k, v in
                          (l.split()[1:3] for _, l in g.seen
                           if l.startswith("BENCH "))}
        if guest["bench_rc"] != 0 or len(guest["bench"]) != 5:
            raise StageError("bench", f"vmcore_test bench failed "
                             f"(rc {guest['bench_rc']})", log=g.log_path,
                             tail=g.tail())
    # Exactly one crash kernel came up: no second handoff, no second boot.
    boots = sum(1 for _, l in g.seen if "Linux version" in l)
    captures = sum(1 for _, l in g.seen if "KDUMP-STAGE: capture-kernel" in l)
    if boots != 2 or captures != 1:
        raise StageError("capture", f"{boots} kernel boots and {captures} "
                         f"capture kernels on the console (want 2 and 1)",
                         log=g.log_path, tail=g.tail())
    armed = [l.strip() for _, l in g.seen if l.startswith("armed cpu")]
    if len(armed) != trig.get("armed", 0):
        raise StageError("crash", f"{len(armed)} of {trig.get('armed', 0)} "
                         f"CPUs armed the trigger: {armed}", log=g.log_path,
                         tail=g.tail())
    size = int(m.group(2))
    if size <= 0 or size > disk.stat().st_size:
        raise StageError("capture", f"implausible vmcore size {size}",
                         log=g.log_path, tail=g.tail())
    with open(disk, "r+b") as f:
        f.truncate(size)
    vmcore = outdir / "vmcore"
    disk.rename(vmcore)
    vml = outdir / "vmlinux"
    vml.unlink(missing_ok=True)
    try:
        os.link(k["vmlinux"], vml)
    except OSError:
        shutil.copy2(k["vmlinux"], vml)
    say(f"run {impl}/{loader}: verifying with drgn and makedumpfile")
    t0 = time.monotonic()
    facts = verify_vmcore(vmcore, vml, k["release"], outdir, trig["expect"],
                          makedumpfile)
    stages["verify"] = round(time.monotonic() - t0, 1)
    report = {
        "impl": impl, "loader": loader, "trigger": trigger,
        "append": append, "armed": armed, "base_version": base_version(src),
        "kernel_release": k["release"], "vmcore_bytes": size,
        "crashed_pid": facts["pid"], "crashed_comm": facts["comm"],
        "other_cpus": facts.get("others", {}),
        "backtrace": facts["frames"], "stages": stages,
        "crash_kernel_iomem": iomem,
        "makedumpfile_bytes": facts["makedumpfile_bytes"],
        "guest": guest,
        "problems": facts["problems"], "verified": not facts["problems"],
    }
    (outdir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    report["trace"] = facts["trace"]
    return report


def check_guest(g, rc):
    """What vmcore_test (exit status rc) and makedumpfile said in the
    capture kernel; raises on a failed TAP line or a failed or inconsistent
    makedumpfile."""
    lines = [l.strip() for _, l in g.seen]
    start = lines.index("KDUMP-STAGE: vmcore-test")
    tap = [l for l in lines[start:]
           if re.match(r"(not )?ok \d+ |# |1\.\.\d+|TAP version", l)]
    tap = tap[:next((i + 1 for i, l in enumerate(tap)
                     if l.startswith("# Totals")), len(tap))]
    bad = [l for l in tap if l.startswith("not ok")]
    plan = next((int(l[3:]) for l in tap if l.startswith("1..")), 0)
    passed = sum(1 for l in tap if re.match(r"ok \d+ ", l))
    out = {"tap": tap, "vmcore_test_passed": passed}
    if bad or rc != 0 or plan == 0 or passed != plan:
        raise StageError("guest-checks", f"vmcore_test: {passed}/{plan} passed"
                         f", rc {rc}: " + "; ".join(bad), log=g.log_path,
                         tail=tap[-20:])
    how = {l.split()[1]: " ".join(l.split()[2:]) for l in lines
           if l.startswith("KDUMP-MD: ")}
    sizes = {}
    for h in ("mmap", "non-mmap"):
        m = next(re.search(rf"makedumpfile-{h} rc=(\d+) size=(\d+)", l)
                 for l in lines if f"makedumpfile-{h} rc=" in l)
        rc, sizes[h] = int(m.group(1)), int(m.group(2))
        if rc != 0 or sizes[h] == 0:
            raise StageError("guest-checks", f"makedumpfile ({h}) in the "
                             f"capture kernel failed (rc {rc}, {sizes[h]} "
                             f"bytes)", log=g.log_path, tail=g.tail())
    if how.get("mmap") != "mmap() is available" or \
            how.get("non-mmap") != "mmap() is disabled":
        raise StageError("guest-checks", f"makedumpfile did not take the "
                         f"mmap() and read() paths: {how}", log=g.log_path)
    if sizes["mmap"] != sizes["non-mmap"]:
        raise StageError("guest-checks", f"makedumpfile -d 31 gives "
                         f"{sizes['mmap']} bytes through mmap() and "
                         f"{sizes['non-mmap']} through read()",
                         log=g.log_path)
    out["makedumpfile_guest_bytes"] = sizes
    return out


# --------------------------------------------------------------------------
# ELF core headers planted in guest memory: elfcorehdr= at bytes QEMU loaded
# above mem=, where the kernel never looks, as a crashed kernel leaves them.

HDR_ADDR = 0x30000000          # 768 MiB; the guest runs with mem=512M
NOTE_AT, LOAD_AT, LOAD_SIZE = 0x10000, 0x100000, 1 << 20
NOTE = (struct.pack("<III", 11, 28, 0) + b"VMCOREINFO\0\0" +
        b"OSRELEASE=6.12\nPAGESIZE=4096\n")   # 11 -> 12, 28: padded


def core_header(cls=64, machine=62, phnum=None, phentsize=None,
                loads=((HDR_ADDR + LOAD_AT, LOAD_SIZE),),
                notes=((HDR_ADDR + NOTE_AT, 4096),)):
    """An ELF core header as a crashed kernel leaves it, written here from
    the ELF specification: PT_NOTEs, then PT_LOADs (p_offset = p_paddr)."""
    phs = [(4, a, 0, n) for a, n in notes] + \
          [(1, a, 0xffff888000000000 + a, n) for a, n in loads]
    # Per class: e_ident[EI_CLASS], Elf_Ehdr after e_ident, Elf_Phdr (the
    # ELF64 one has p_flags second, the ELF32 one seventh), address mask.
    ident, ehdr, phdr, mask = {
        64: (2, "<HHIQQQIHHHHHH", "<IIQQQQQQ", 2**64 - 1),
        32: (1, "<HHIIIIIHHHHHH", "<IIIIIIII", 2**32 - 1)}[cls]
    eh = 16 + struct.calcsize(ehdr)
    out = (b"\x7fELF" + bytes([ident, 1, 1]) + bytes(9) +
           struct.pack(ehdr, 4, machine, 1, 0, eh, 0, 0, eh,
                       phentsize or struct.calcsize(phdr),
                       len(phs) if phnum is None else phnum, 0, 0, 0))
    for t, off, va, n in phs:
        load = t == 1
        f = (t, 7 if load else 0, off, va & mask if load else 0,
             off if load else 0, n, n, 0)
        out += struct.pack(phdr, *(f if cls == 64 else f[:1] + f[2:7] +
                                   f[1:2] + f[7:]))
    return out


def header_image(hdr, notes=NOTE):
    """What QEMU loads at HDR_ADDR: the header, the notes, and a PT_LOAD
    page pattern whose digest the guest can check."""
    img = bytearray(LOAD_AT + LOAD_SIZE)
    img[:len(hdr)] = hdr
    img[NOTE_AT:NOTE_AT + len(notes)] = notes
    pattern = b"".join(hashlib.sha256(i.to_bytes(4, "little")).digest()
                       for i in range(LOAD_SIZE // 32))
    img[LOAD_AT:] = pattern
    return bytes(img), hashlib.md5(pattern).hexdigest()


# name: (header bytes or None for plain zeros, notes, what the log must say:
# a substring of the one error, or None for a served /proc/vmcore)
HEADER_CASES = {
    "zeros": (None, NOTE, "e_ident[EI_MAG]: not an ELF file"),
    "machine": (core_header(machine=183), NOTE, "e_machine: wrong machine"),
    "phnum-0": (core_header(phnum=0), NOTE, "e_phnum: no program header"),
    "phentsize": (core_header(phentsize=40), NOTE,
                  "e_phentsize: wrong program header size"),
    "load-wraps": (core_header(loads=((2**64 - 4096, 8192),)), NOTE,
                   "p_memsz: PT_LOAD ends past the address space"),
    "note-huge": (core_header(notes=((HDR_ADDR + NOTE_AT, 1 << 40),)), NOTE,
                  "p_memsz"),
    "bad-note": (core_header(), struct.pack("<III", 0x7fffffff, 4, 0), None),
    "elf64": (core_header(), NOTE, None),
    "elf32": (core_header(cls=32), NOTE, None),
}

HEADER_CMD = (
    "if [ -e /proc/vmcore ]; then echo \"VMCORE size=$(stat -c %s /proc/vmcore)"
    " mode=$(stat -c %a /proc/vmcore) md5=$(md5sum < /proc/vmcore | "
    "cut -d' ' -f1) load=$(tail -c 1048576 /proc/vmcore | md5sum | "
    "cut -d' ' -f1)\"; else echo VMCORE none; fi")

OOPS = re.compile(r"Oops|BUG:|WARNING:|Call Trace|Kernel panic|general protection")


def header_boots(k, workdir, cases=None):
    """Boot kernel k once per HEADER_CASES entry with elfcorehdr= at the
    planted header; returns {case: facts}. Raises if a bad header oopses,
    leaves a /proc/vmcore or is not named in exactly one error line, or a
    good one is not served with the planted bytes."""
    out = {}
    for name in cases or HEADER_CASES:
        hdr, notes, want = HEADER_CASES[name]
        work = workdir / name
        work.mkdir(parents=True, exist_ok=True)
        img, load_md5 = header_image(hdr or b"", notes)
        if hdr is None:
            img = bytes(len(img))
        (work / "planted.bin").write_bytes(img)
        extra = ["-device", f"loader,file={work / 'planted.bin'},"
                 f"addr={HDR_ADDR:#x},force-raw=on"]
        rc, output, g = boot_guest(k, f"mem=512M elfcorehdr={HDR_ADDR:#x}",
                                   HEADER_CMD, "1G", 1, 120, work, extra)
        console = Path(g.log_path).read_text(errors="replace")
        errors = [l.split("] ", 2)[-1] for l in console.splitlines()
                  if "vmcore: " in l and ("refused" in l or "disabled" in l)]
        fact = {"output": output.strip(), "errors": errors}
        m = re.search(r"VMCORE size=(\d+) mode=(\d+) md5=(\w+) load=(\w+)",
                      output)
        problems = []
        if OOPS.search(console):
            problems.append(f"oops/warning: {OOPS.search(console).group(0)}")
        if rc != 0:
            problems.append(f"guest command status {rc}")
        if want is not None:
            if m:
                problems.append("/proc/vmcore exists")
            if len(errors) != 1 or want not in errors[0]:
                problems.append(f"want one error naming {want!r}, got {errors}")
        else:
            # Header page, the notes' page (none when the one note was
            # dropped), the PT_LOAD.
            size = (1 if name == "bad-note" else 2) * 4096 + LOAD_SIZE
            if not m:
                problems.append("no /proc/vmcore")
            elif (int(m.group(1)), m.group(2), m.group(4)) != \
                    (size, "400", load_md5):
                problems.append(f"/proc/vmcore is {m.group(0)}; want size "
                                f"{size}, mode 400, PT_LOAD md5 {load_md5}")
            else:
                fact["md5"] = m.group(3)
            if name == "bad-note" and not any("n_namesz" in l for l in
                                              console.splitlines()):
                problems.append("the dropped note is not reported")
        if problems:
            raise StageError("headers", f"elfcorehdr case {name}: "
                             + "; ".join(problems), log=g.log_path,
                             tail=console.splitlines()[-15:])
        out[name] = fact
    return out


def reboot_cycle(impl, outdir, mem, src, tools):
    """A normal kexec_file_load reboot: `kexec -s -l` the same kernel,
    `kexec -e`, and wait for the second kernel's init. The jump goes
    through purgatory, which checks the segments' SHA-256 first."""
    stages = {}
    k = build_kernel(impl, src, tools)
    outdir.mkdir(parents=True, exist_ok=True)
    # A token on the second kernel's command line proves that the kernel
    # that came up is the one kexec loaded.
    token = f"kdump.kexec_token={os.getpid()}x{int(time.time())}"
    initrd = outdir / "initramfs.cpio"
    make_initramfs(initrd, "reboot", kernel=k["bzImage"],
                   capture_append=f"{CONSOLE} {token}")
    say(f"reboot {impl}: booting, then kexec -s -l and kexec -e")
    g = Guest(k["bzImage"], initrd, CONSOLE, outdir / "console.log", mem=mem)
    try:
        t, _ = g.expect(r"KDUMP-STAGE: booted", 300, "boot")
        stages["boot"] = round(t, 1)
        t1, _ = g.expect(r"KDUMP-STAGE: loaded", 120, "load")
        stages["load"] = round(t1 - t, 1)
        t2, _ = g.expect(r"KDUMP-STAGE: kexec$", 60, "kexec")
        t3, _ = g.expect(r"Linux version", 120, "kexec")
        stages["kexec"] = round(t3 - t2, 1)
        t4, m = g.expect(r"KDUMP-STAGE: second-kernel (.*)", 300, "kexec")
        stages["second boot"] = round(t4 - t3, 1)
    finally:
        g.stop()
    if token not in m.group(1):
        raise StageError("kexec", f"the second kernel's command line "
                         f"{m.group(1)!r} lacks {token!r}", log=g.log_path)
    return {"impl": impl, "stages": stages, "cmdline": m.group(1).strip(),
            "console": str(g.log_path)}


def cmd_reboot(args):
    src, tools = setup()
    out = BUILD / f"reboot-{args.impl}"
    r = reboot_cycle(args.impl, out, args.mem, src, tools)
    print(f"\n=== kexec reboot: impl={r['impl']} (kexec -s -l, kexec -e) ===")
    print("stages:          " + ", ".join(f"{k} {v}s" for k, v in
                                         r["stages"].items()))
    print(f"second kernel:   {r['cmdline']}")
    print(f"console:         {r['console']}")
    return 0


# The relocation types arch_kexec_apply_relocations_add() applies.
PURGATORY_RELOCS = {"R_X86_64_NONE", "R_X86_64_64", "R_X86_64_PC32",
                    "R_X86_64_PLT32", "R_X86_64_32", "R_X86_64_32S"}
# Symbols the loader looks up, with the sizes it checks.
PURGATORY_SYMBOLS = {"purgatory_start": None, "purgatory": None,
                     "purgatory_sha_regions": 256,
                     "purgatory_sha256_digest": 32}
PANIC_SYMBOL = re.compile(r"panicking|rust_begin_unwind|panic_fmt|"
                          r"panic_bounds_check|slice_(start|end)_index")


def check_purgatory(k):
    """Inspect the built purgatory.ro: what the loader needs is there, it
    needs nothing from outside, only relocation types the loader applies,
    and (the panic-freedom proof) no Rust panic symbol at all."""
    ro = k["out"] / "arch/x86/purgatory/purgatory.ro"
    if not ro.exists():
        raise StageError("purgatory", f"{ro} was not built")
    nm = subprocess.run(["llvm-nm", "-S", str(ro)], capture_output=True,
                        text=True, check=True).stdout.splitlines()
    relocs = subprocess.run(["llvm-readelf", "-r", str(ro)],
                            capture_output=True, text=True,
                            check=True).stdout
    problems, syms = [], {}
    for line in nm:
        f = line.split()
        name, kind = f[-1], f[-2]
        size = int(f[1], 16) if len(f) == 4 else None
        syms[name] = size
        if kind == "U":
            problems.append(f"undefined symbol {name}")
        if PANIC_SYMBOL.search(name):
            problems.append(f"panic symbol {name}")
    for name, size in PURGATORY_SYMBOLS.items():
        if name not in syms:
            problems.append(f"{name} missing")
        elif size is not None and syms[name] != size:
            problems.append(f"{name} is {syms[name]} bytes, not {size}")
    types = re.findall(r"\b(R_X86_64_\w+)", relocs)
    for t in sorted(set(types) - PURGATORY_RELOCS):
        problems.append(f"relocation type {t} (the loader refuses it)")
    rust_syms = sum(1 for n in syms if n.startswith("_R"))
    if (k["impl"] == "rust") != (rust_syms > 0):
        problems.append(f"{rust_syms} Rust (v0-mangled) symbols in the "
                        f"{k['impl']} purgatory")
    if problems:
        raise StageError("purgatory", f"{ro}: " + "; ".join(problems))
    return (f"{len(syms)} symbols ({rust_syms} Rust), {len(types)} "
            f"relocations of types {', '.join(sorted(set(types)))}; no "
            f"undefined or panic symbol")


# The panic-path handoff: its entry points, and the only functions outside
# Rust it may call (the machine steps of __crash_kexec(), our glue, the
# compiler's memset and the return thunk). Anything else (an allocator, a
# lock, printk) fails the check.
HANDOFF_ROOTS = ("crash_kexec", "__crash_kexec")
HANDOFF_CALLEES = {"kdump_this_cpu", "kdump_kexec_lock_word",
                   "kdump_crash_setup_regs", "crash_save_vmcoreinfo",
                   "machine_crash_shutdown", "machine_kexec", "memset",
                   "__x86_return_thunk"}
CALL = re.compile(r"\b(call|jmp)q?\s+(\*)?\S*(?:\s+<([^>+]+)(\+0x[0-9a-f]+)?>)?")


def call_graph(obj, roots, follow):
    """Direct calls and tail jumps out of `roots` in `obj` (linked, or a
    relocatable object whose calls are relocations), following every
    callee for which follow(name) is true: ({function: {callee}}, [functions
    with an indirect call or jump])."""
    graph, indirect, todo = {}, [], list(roots)

    def add(fn, target):
        graph[fn].add(target)
        if target not in graph and target not in todo and follow(target):
            todo.append(target)

    while todo:
        out = subprocess.run(["llvm-objdump", "-d", "-r", "--no-show-raw-insn",
                              "--disassemble-symbols=" + ",".join(todo),
                              str(obj)], capture_output=True, text=True,
                             check=True).stdout
        missing = [n for n in todo if f"<{n}>:" not in out]
        if any(n in roots for n in missing):
            raise StageError("handoff", f"{obj}: no function {missing[0]}")
        # Others are outside a relocatable object: leaves.
        graph.update((n, set()) for n in missing)
        todo, fn, call = [], None, False
        for line in out.splitlines():
            m = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
            if m:
                fn, call = m.group(1), False
                graph[fn] = set()
                continue
            m = re.search(r"R_X86_64_(?:PLT32|PC32)\s+([^\s+-]+)", line)
            if m and call:
                # The call's target is this relocation's symbol.
                add(fn, m.group(1))
                call = False
                continue
            m = CALL.search(line)
            call = False
            if not m or fn is None:
                continue
            if m.group(2):
                indirect.append(fn)
                continue
            target = m.group(3)
            if target is None or target == fn or m.group(4):
                # A branch inside the function, or (unlinked) a call whose
                # target is the relocation on the next line.
                call = True
                continue
            add(fn, target)
    return graph, indirect


def check_panic_free(obj, roots, callees):
    """The panic-freedom proof: no Rust panic function is reachable from
    `roots` in `obj`. Every Rust function they reach (v0-mangled `_R`) is
    followed; calls out of Rust must go to `callees`."""
    graph, indirect = call_graph(obj, roots, lambda n: n.startswith("_R"))
    problems = []
    for fn, outs in sorted(graph.items()):
        for t in sorted(outs):
            if PANIC_SYMBOL.search(t):
                problems.append(f"{fn} calls the panic function {t}")
            elif not t.startswith("_R") and t not in callees:
                problems.append(f"{fn} calls {t}, which the panic path "
                                f"must not")
    for fn in sorted(set(indirect)):
        problems.append(f"{fn} makes an indirect call (could reach anything)")
    return graph, problems


def check_handoff(k):
    """crash_kexec() and __crash_kexec() of the built vmlinux (Rust kernel:
    ours; C kernel: upstream's, whose callees are only listed)."""
    vmlinux = k["out"] / "vmlinux"
    if k["impl"] == "c":
        graph, _ = call_graph(vmlinux, HANDOFF_ROOTS, lambda n: False)
        return "C: " + "; ".join(f"{f} -> {', '.join(sorted(o))}"
                                 for f, o in sorted(graph.items()))
    graph, problems = check_panic_free(vmlinux, HANDOFF_ROOTS,
                                       HANDOFF_CALLEES)
    rust = sorted(f for f in graph if f.startswith("_R"))
    if problems:
        raise StageError("handoff", f"{vmlinux}: " + "; ".join(problems))
    calls = sorted({t for o in graph.values() for t in o
                    if not t.startswith("_R")})
    return (f"{len(graph)} functions reached from {', '.join(HANDOFF_ROOTS)} "
            f"({len(rust)} Rust beyond them), none calls a panic function; "
            f"calls out: {', '.join(calls)}")


def panic_without_crash_kernel(k, workdir):
    """With no crash kernel loaded the handoff must do nothing: panic() goes
    on to its reboot (panic=1) and no second kernel starts."""
    workdir.mkdir(parents=True, exist_ok=True)
    initrd = workdir / "boot.cpio"
    make_initramfs(initrd, "boot", cmd=(
        "mount -t debugfs debugfs /sys/kernel/debug; "
        "echo kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded); "
        f"sync; echo PANIC > {LKDTM}"))
    out = workdir / "cmd.out"
    out.write_bytes(b"")
    g = Guest(k["bzImage"], initrd, f"{CONSOLE} crashkernel=256M",
              workdir / "console.log", cmd_out=out)
    try:
        g.expect(r"KDUMP-STAGE: booted", 300, "boot")
        t0, _ = g.expect(r"Kernel panic - not syncing", 120, "crash")
        t1, _ = g.expect(r"Rebooting in 1 seconds", 60, "crash")
    finally:
        g.stop()
    boots = sum(1 for _, l in g.seen if "Linux version" in l)
    loaded = out.read_text(errors="replace").strip()
    if boots != 1 or loaded != "kexec_crash_loaded=0":
        raise StageError("crash", f"{boots} kernel boots (want 1), guest "
                         f"said {loaded!r}", log=g.log_path, tail=g.tail())
    return (f"{loaded}: panic went on to 'Rebooting in 1 seconds' "
            f"({t1 - t0:.1f}s), no second kernel")


# A function that can panic (a bounds check), built the way the kernel
# builds Rust (panic=abort, no_std) and linked, so that its call to the panic
# function is resolved: the check must find it.
PANICKY_RS = r"""#![no_std]
static TABLE: [u8; 4] = [1, 2, 3, 4];
#[no_mangle]
pub extern "C" fn crash_kexec(i: usize) -> u8 { TABLE[i] }
#[no_mangle]
pub extern "C" fn __crash_kexec(i: usize) -> u8 { i as u8 }
#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo) -> ! { loop {} }
"""


def handoff_check_self_test():
    """The panic-freedom check must catch a reachable panic."""
    with tempfile.TemporaryDirectory(prefix="kdump-panicky-") as tmp:
        src, so = Path(tmp) / "panicky.rs", Path(tmp) / "panicky.o"
        src.write_text(PANICKY_RS)
        subprocess.run([cargo_bin("rustc"), "--edition=2021",
                        "--crate-type=lib", "--emit=obj", "-Cpanic=abort",
                        "-O", "-Csymbol-mangling-version=v0",
                        "-Crelocation-model=static", "-o", so, src],
                       check=True, capture_output=True)
        _, problems = check_panic_free(so, HANDOFF_ROOTS, HANDOFF_CALLEES)
    caught = [p for p in problems if "panic function" in p]
    if not caught:
        raise StageError("handoff", "the check missed the bounds-check panic "
                         f"of a deliberately panicky object: {problems}")
    return caught[0]


def parse_size(s):
    m = re.fullmatch(r"(\d+)([KMG]?)", s.upper())
    if not m:
        raise SystemExit(f"bad size {s!r}: use e.g. 1G or 512M")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def print_report(r):
    print(f"\n=== kdump run: impl={r['impl']} loader={r['loader']} "
          f"trigger={r['trigger']} ===")
    print(f"base:            {r['base_version']}")
    print(f"kernel:          {r['kernel_release']}")
    print(f"command line:    {r['append']}")
    for a in r["armed"]:
        print(f"trigger:         {a}")
    print(f"crash kernel:    {'; '.join(r['crash_kernel_iomem']) or '?'}")
    print(f"vmcore:          {r['vmcore_bytes']} bytes "
          f"({r['vmcore_bytes'] / (1 << 20):.1f} MiB)")
    if r["makedumpfile_bytes"] is not None:
        print(f"makedumpfile -d 31: {r['makedumpfile_bytes']} bytes")
    g = r.get("guest") or {}
    if "tap" in g:
        print(f"in the capture kernel: vmcore_test {g['vmcore_test_passed']} "
              f"ok; makedumpfile -d 31 through mmap() and read(): "
              f"{g['makedumpfile_guest_bytes']['mmap']} bytes each")
        for l in g["tap"]:
            if l.startswith(("ok ", "# seed")):
                print(f"  {l}")
    print("stages:          " + ", ".join(f"{k} {v}s" for k, v in
                                         r["stages"].items()))
    print(f"crashed thread:  pid {r['crashed_pid']} ({r['crashed_comm']})")
    for cpu, frames in r.get("other_cpus", {}).items():
        print(f"CPU {cpu} stopped in: {' < '.join(frames) or '?'}")
    print("backtrace (drgn):")
    for line in r["trace"].splitlines():
        print("  " + line)
    for p in r["problems"]:
        print(f"PROBLEM: {p}")
    print(f"verified:        {str(r['verified']).lower()}")


def cmd_run(args):
    src, tools = setup()
    name = f"run-{args.impl}-{args.loader}"
    if args.trigger != "sysrq":
        name += f"-{args.trigger}"
    out = Path(args.out or BUILD / name).resolve()
    r = run_cycle(args.impl, args.loader, out, args.mem, args.crashkernel,
                  src, tools, fault=args.fault_inject, smp=args.smp,
                  append_extra=args.append, trigger=args.trigger,
                  guest_checks=args.guest_checks)
    print_report(r)
    print(f"report: {out / 'report.json'}")
    if not r["verified"]:
        raise StageError("verify", "; ".join(r["problems"]),
                         log=out / "console.log")
    return 0


def cmd_headers(args):
    src, tools = setup()
    k = build_kernel(args.impl, src, tools)
    res = header_boots(k, BUILD / f"headers-{args.impl}", args.cases or None)
    for name, f in res.items():
        print(f"{name:<11} {f['errors'][0] if f['errors'] else f['output']}")
    return 0


def handoff_latency(k, outdir, runs, mem="1G", crashkernel="256M"):
    """Seconds from the crash's first console line to the capture kernel's
    first line (host clock), for `runs` crashes of kernel `k` (kexec -s -p,
    echo c > /proc/sysrq-trigger). The guest is killed once the capture
    kernel speaks: only the handoff is timed."""
    outdir.mkdir(parents=True, exist_ok=True)
    initrd = outdir / "initramfs.cpio"
    make_initramfs(initrd, "run", kernel=k["bzImage"], loader="file",
                   capture_append=CAPTURE_APPEND)
    append = f"{CONSOLE} crashkernel={crashkernel} nokaslr"
    samples = []
    for i in range(runs):
        g = Guest(k["bzImage"], initrd, append, outdir / f"console-{i}.log",
                  mem=mem)
        try:
            g.expect(r"KDUMP-STAGE: loaded", 300, "load")
            g.expect(r"KDUMP-STAGE: crash$", 60, "crash")
            t0, _ = g.expect(CRASH_LINE, 120, "crash")
            t1, _ = g.expect(r"Linux version", 300, "capture")
        finally:
            g.stop(grace=0)  # kills it: only the handoff is timed
        samples.append(t1 - t0)
        say(f"bench {k['impl']}: handoff {i + 1}/{runs}: {t1 - t0:.3f}s")
    return samples


def cmd_bench(args):
    """C and Rust side by side in one run; a benchmark, not a test."""
    src, tools = setup()
    kernels = {impl: build_kernel(impl, src, tools) for impl in ("c", "rust")}
    if args.runs <= 0:
        return vmcore_bench(kernels, src, tools, args.vmcore_mib) or 0
    lat = {impl: handoff_latency(k, BUILD / f"bench-{impl}", args.runs)
           for impl, k in kernels.items()}
    med = {impl: statistics.median(v) for impl, v in lat.items()}
    print(f"\n=== kdump bench: panic to capture kernel, {args.runs} crashes "
          f"each (host clock, serial console, QEMU {os.environ.get('KDUMP_QEMU_ACCEL', 'tcg')}) ===")
    print(f"{'impl':<6}{'median':>10}{'min':>10}{'max':>10}")
    for impl, v in lat.items():
        print(f"{impl:<6}{med[impl]:>9.3f}s{min(v):>9.3f}s{max(v):>9.3f}s")
    print(f"Rust/C median time: {med['rust'] / med['c']:.2f}")
    if args.vmcore_mib:
        vmcore_bench(kernels, src, tools, args.vmcore_mib)
    return 0


def vmcore_bench(kernels, src, tools, mib):
    """/proc/vmcore throughput in each capture kernel: read() with 4 KiB
    and 1 MiB blocks, mmap() in 64 MiB windows, and a tmpfs file read with
    1 MiB blocks in the same guest as the ceiling (vmcore_test bench)."""
    res = {}
    for impl, k in kernels.items():
        r = run_cycle(impl, "file", BUILD / f"bench-vmcore-{impl}", "1G",
                      "256M", src, tools, append_extra="nokaslr",
                      makedumpfile=False, bench_mib=mib)
        res[impl] = r["guest"]["bench"]
    cols = ("read-4k", "read-1m", "mmap", "tmpfs")
    print(f"\n=== kdump bench: /proc/vmcore throughput, MB/s over "
          f"{int(res['c']['bytes']) >> 20} MiB of old memory in the capture "
          f"kernel (QEMU {os.environ.get('KDUMP_QEMU_ACCEL', 'tcg')}) ===")
    print(f"{'impl':<8}" + "".join(f"{c:>10}" for c in cols))
    for impl, b in res.items():
        print(f"{impl:<8}" + "".join(f"{b[c]:>10.1f}" for c in cols))
    print(f"{'Rust/C':<8}" + "".join(f"{res['rust'][c] / res['c'][c]:>10.2f}"
                                     for c in cols))


def crashkernel_table(kernels):
    """Boot every CRASHKERNEL_TABLE line on each kernel in `kernels`
    ({impl: build}); returns rows and raises if C and Rust disagree or a
    malformed line is not explained by the Rust kernel."""
    rows, problems = [], []
    for i, (append, mem, malformed) in enumerate(CRASHKERNEL_TABLE):
        seen = {}
        for impl, k in kernels.items():
            work = BUILD / f"crashkernel-{impl}" / f"{i:02d}"
            # KUnit off: its parser cases log warnings of their own. KASLR
            # off: a randomly placed kernel image moves the reservation.
            rc, out, g = boot_guest(k, f"{append} kunit.enable=0 nokaslr",
                                    CRASHKERNEL_PROBE, mem, 1, 300, work)
            if rc != 0:
                problems.append(f"{impl} {append!r}: guest command status {rc}")
            console = Path(g.log_path).read_text(errors="replace")
            warns = [l.split("] ", 1)[-1] for l in console.splitlines()
                     if "crashkernel: 'crashkernel=" in l]
            seen[impl] = (out.strip().splitlines(), warns)
        outs = {impl: v[0] for impl, v in seen.items()}
        if len({tuple(v) for v in outs.values()}) > 1:
            problems.append(f"{append!r} ({mem}): C and Rust differ: {outs}")
        if "rust" in seen:
            warns = seen["rust"][1]
            if malformed and len(warns) != 1:
                problems.append(f"{append!r}: expected one Rust warning naming "
                                f"the word, got {warns}")
            if not malformed and warns:
                problems.append(f"{append!r}: unexpected warning {warns}")
        first = next(iter(outs.values()))
        rows.append((append, mem, first, seen.get("rust", ([], []))[1]))
        say(f"  {append:<45} {mem:>3}  " +
            " | ".join(first or ["(nothing reserved)"]))
    if problems:
        raise StageError("boot", "crashkernel table: " + "; ".join(problems))
    return rows


def cmd_crashkernel_table(args):
    src, tools = setup()
    impls = ("c", "rust") if args.impl == "both" else (args.impl,)
    kernels = {impl: build_kernel(impl, src, tools) for impl in impls}
    say(f"booting {len(CRASHKERNEL_TABLE)} crashkernel= lines on "
        f"{', '.join(impls)}")
    rows = crashkernel_table(kernels)
    for append, mem, out, warns in rows:
        print(f"{append} ({mem}):")
        for line in out or ["(nothing reserved)"]:
            print(f"    {line}")
        for w in warns:
            print(f"    rust: {w}")
    return 0


FUZZ_DIR = "tools/testing/kdump/fuzz"
FUZZ_TARGETS = ["crashkernel", "purgatory_reloc", "vmcore_header"]


def vmcore_seed():
    """A small crashed-kernel ELF64 core header with its notes after it, as
    the vmcore_header target reads its input: 2 PT_NOTEs (a CORE note and
    VMCOREINFO, each in a buffer larger than the note), 2 PT_LOADs, one of
    them unaligned."""
    def note(name, kind, desc):
        name += b"\0"
        pad = lambda b: b + b"\0" * (-len(b) % 4)
        return struct.pack("<III", len(name), len(desc), kind) + pad(name) + pad(desc)
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


def run_fuzz(seconds):
    """Each fuzz target for `seconds` (libFuzzer through cargo-fuzz; the
    stable toolchain takes the sanitizer flags with RUSTC_BOOTSTRAP=1)."""
    log = BUILD / "logs/fuzz.log"
    if not cargo_bin("cargo-fuzz"):
        say("installing cargo-fuzz with cargo")
        run_logged([cargo_bin("cargo"), "install", "--locked", "cargo-fuzz"],
                   BUILD / "logs/setup.log", "setup")
    env = dict(os.environ, RUSTC_BOOTSTRAP="1",
               CARGO_TARGET_DIR=str(BUILD / "fuzz-target"))
    done = []
    for target in FUZZ_TARGETS:
        corpus = BUILD / "fuzz-corpus" / target
        artifacts = BUILD / "fuzz-artifacts" / target
        corpus.mkdir(parents=True, exist_ok=True)
        artifacts.mkdir(parents=True, exist_ok=True)
        if target == "purgatory_reloc":
            # Real objects make the best seeds, when a kernel was built.
            for ro in BUILD.glob("out-*/arch/x86/purgatory/purgatory.ro"):
                shutil.copyfile(ro, corpus / f"seed-{ro.parts[-5]}.ro")
        if target == "vmcore_header":
            (corpus / "seed-synthetic").write_bytes(vmcore_seed())
            # And a captured vmcore's first pages, when there is one.
            for core in sorted(BUILD.glob("run-*/vmcore"))[:2]:
                with open(core, "rb") as f:
                    (corpus / f"seed-{core.parent.name}").write_bytes(
                        f.read(16384))
        say(f"fuzzing {target} for {seconds}s (log: {log})")
        run_logged([cargo_bin("cargo"), "fuzz", "run", "--fuzz-dir",
                    REPO / FUZZ_DIR, target, corpus, "--",
                    f"-max_total_time={seconds}",
                    f"-artifact_prefix={artifacts}/"], log, "host",
                   cwd=REPO, env=env)
        runs = re.findall(r"Done (\d+) runs in (\d+) second",
                          "\n".join(last_run(log)))
        done.append(f"{target}: {runs[-1][0] if runs else '?'} runs, no failure")
    return "; ".join(done)


def cmd_fuzz(args):
    BUILD.mkdir(parents=True, exist_ok=True)
    print(run_fuzz(args.seconds))
    return 0


def parse_ktap(console):
    """Results of top-level KTAP test lines: {suite: 'ok'|'not ok'|...}."""
    res = {}
    for line in console.splitlines():
        line = re.sub(r"^\[\s*[\d.]+\]\s*", "", line)  # runner timestamp
        line = re.sub(r"^\[\s*[\d.]+\]\s*", "", line)  # printk timestamp
        m = re.match(r"^(not ok|ok) \d+ (\S+)(.*)$", line)
        if m:
            res[m.group(2)] = m.group(1) + m.group(3)
    return res


def cmd_test(args):
    """The whole suite; every step runs even if an earlier one failed
    (unless it needs what failed), and the summary names each."""
    results = []
    t_all = Clock()

    def step(name, fn):
        c = Clock()
        say(f"=== {name} ===")
        try:
            detail = fn() or ""
            results.append((name, "ok", c.seconds(), detail))
            return True
        except StageError as e:
            fail_report(e)
            results.append((name, f"FAILED ({e.stage})", c.seconds(),
                            e.message))
            return False

    def host_tests():
        log = BUILD / "logs/cargo-test.log"
        cargo = cargo_bin("cargo")
        env = dict(os.environ, CARGO_TARGET_DIR=str(BUILD / "cargo-target"))
        run_logged([cargo, "test", "--workspace", "--manifest-path",
                    REPO / "Cargo.toml"], log, "host", env=env)
        text = "\n".join(last_run(log))
        passed = sum(int(n) for n in re.findall(r"test result: ok\. (\d+) passed", text))
        return f"{passed} host tests passed"

    src, tools = setup()
    step("host: cargo test", host_tests)
    step("host: fuzz (30 s a target)", lambda: run_fuzz(30))
    kernels = {}
    for impl in ("c", "rust"):
        def b(impl=impl):
            kernels[impl] = build_kernel(impl, src, tools)
            return f"{kernels[impl]['release']}, {kernels[impl]['seconds']}s"
        step(f"build {impl}", b)

    def kunit_and_iomem():
        work = BUILD / "test-kunit"
        rc, output, g = boot_guest(kernels["rust"], "crashkernel=128M",
                                   "grep -i 'crash kernel' /proc/iomem",
                                   "1G", 1, 300, work)
        console = Path(g.log_path).read_text(errors="replace")
        res = parse_ktap(console)
        missing = [s for s in KUNIT_SUITES if s not in res]
        bad = [f"{s}: {res[s]}" for s in KUNIT_SUITES
               if s in res and not res[s].startswith("ok")]
        if missing or bad:
            raise StageError("kunit", "KUnit suites missing from the boot "
                             f"log: {missing}; failing: {bad}",
                             log=g.log_path)
        if rc != 0 or "Crash kernel" not in output:
            raise StageError("boot", "crashkernel=128M did not show a "
                             f"'Crash kernel' range in /proc/iomem "
                             f"(status {rc}, output {output!r})",
                             log=g.log_path)
        return (f"KTAP: {', '.join(f'{s} ok' for s in KUNIT_SUITES)}; "
                f"iomem: {output.strip()}")

    if "rust" in kernels:
        step("kunit + crashkernel=128M boot (rust)", kunit_and_iomem)
    if len(kernels) == 2:
        step(f"crashkernel= table: {len(CRASHKERNEL_TABLE)} lines, C vs Rust",
             lambda: f"{len(crashkernel_table(kernels))} lines identical")
    for impl in ("c", "rust"):
        if impl not in kernels:
            continue
        for loader in ("load", "file"):
            def cyc(impl=impl, loader=loader):
                # kexec_file_load runs without KASLR, so that the C and the
                # Rust kernel's ELF core headers describe the same layout.
                # The capture also runs vmcore_test and makedumpfile
                # (mmap and read) against /proc/vmcore.
                r = run_cycle(impl, loader, BUILD / f"run-{impl}-{loader}",
                              "1G", "256M", src, tools,
                              append_extra="nokaslr" if loader == "file" else "",
                              guest_checks=True)
                print_report(r)
                if not r["verified"]:
                    raise StageError("verify", "; ".join(r["problems"]))
                g = r["guest"]
                extra = (f"; in the capture kernel vmcore_test "
                         f"{g['vmcore_test_passed']} ok, makedumpfile -d 31 "
                         f"{g['makedumpfile_guest_bytes']['mmap']} B via mmap "
                         f"and read" if g else "")
                return (f"vmcore {r['vmcore_bytes'] >> 20} MiB, "
                        f"pid {r['crashed_pid']}, stages {r['stages']}{extra}")
            step(f"run {impl} --loader {loader}", cyc)

    if all((BUILD / f"run-{i}-file/report.json").exists() and
           json.loads((BUILD / f"run-{i}-file/report.json").read_text())
           .get("verified") for i in ("c", "rust")) and len(kernels) == 2:
        step("elfcorehdr: Rust vs C vmcore program headers (file loader)",
             lambda: compare_core_layouts(BUILD / "run-c-file",
                                          BUILD / "run-rust-file"))
    def c_header_host():
        # The host test that lays out the C capture's header again with
        # kdump::vmcore; without the variable it skips when there is none.
        log = BUILD / "logs/vmcore-c-header.log"
        env = dict(os.environ, CARGO_TARGET_DIR=str(BUILD / "cargo-target"),
                   KDUMP_C_VMCORE=str(BUILD / "run-c-file/vmcore"))
        run_logged([cargo_bin("cargo"), "test", "--manifest-path",
                    REPO / "Cargo.toml", "-p", "kdump", "--lib",
                    "vmcore::tests::c_vmcore_header_is_reproduced", "--",
                    "--exact"], log, "host", env=env)
        if "test result: ok. 1 passed" not in "\n".join(last_run(log)):
            raise StageError("host", "the C capture's header test did not run",
                             log=log)
        return "kdump::vmcore rebuilt the C kernel's vmcore header byte for byte"

    if "c" in kernels and (BUILD / "run-c-file/report.json").exists():
        step("vmcore: host layout of the C capture's header", c_header_host)
    planted = {}

    def headers_rust():
        planted["rust"] = header_boots(kernels["rust"], BUILD / "headers-rust")
        bad = [n for n, f in planted["rust"].items() if f["errors"]]
        return (f"{len(bad)} refused, each with one error naming the field "
                f"({', '.join(bad)}), no oops; "
                f"{len(planted['rust']) - len(bad)} served")

    def headers_c_vs_rust():
        good = ["elf64", "elf32"]
        c = header_boots(kernels["c"], BUILD / "headers-c", good)
        diff = [n for n in good if c[n]["md5"] != planted["rust"][n]["md5"]]
        if diff:
            raise StageError("headers", f"/proc/vmcore differs between C and "
                             f"Rust for {diff}")
        return ", ".join(f"{n}: md5 {c[n]['md5'][:12]} in both" for n in good)

    if "rust" in kernels:
        step("vmcore: planted bad and good ELF core headers (rust)",
             headers_rust)
    if len(kernels) == 2 and "rust" in planted:
        step("vmcore: planted ELF64/ELF32 headers, C vs Rust /proc/vmcore",
             headers_c_vs_rust)
    for impl in ("c", "rust"):
        if impl in kernels:
            step(f"purgatory.ro {impl}: symbols, relocations, no panic",
                 lambda impl=impl: check_purgatory(kernels[impl]))

    if "rust" in kernels:
        def handoff_check():
            return (check_handoff(kernels["rust"]) + "; self-test: " +
                    handoff_check_self_test())
        step("handoff: no panic reachable from crash_kexec (rust vmlinux)",
             handoff_check)
        step("handoff: panic with no crash kernel loaded (rust)",
             lambda: panic_without_crash_kernel(kernels["rust"],
                                                BUILD / "test-no-image"))
        for trigger, extra in (("panic", ""), ("bug", ""), ("exception", ""),
                               ("warning", ""), ("two-cpus", ""),
                               ("panic", "crash_kexec_post_notifiers")):
            def trig_run(trigger=trigger, extra=extra):
                name = f"run-rust-file-{trigger}" + ("-post" if extra else "")
                r = run_cycle("rust", "file", BUILD / name, "1G", "256M", src,
                              tools, trigger=trigger, append_extra=extra,
                              makedumpfile=False)
                print_report(r)
                if not r["verified"]:
                    raise StageError("verify", "; ".join(r["problems"]))
                wanted = {f for g in TRIGGERS[trigger]["expect"] for f in g}
                frames = [f for f in r["backtrace"] if f in wanted]
                others = "; ".join(f"CPU {c} stopped in {f[0] if isinstance(f, list) and f else f}"
                                   for c, f in r["other_cpus"].items())
                return (f"one capture, vmcore {r['vmcore_bytes'] >> 20} MiB, "
                        f"backtrace has {' < '.join(frames)}; handoff "
                        f"{r['stages']['handoff']}s" +
                        (f"; {others}" if others else ""))
            step(f"run rust --trigger {trigger}" + (f" ({extra})" if extra else ""),
                 trig_run)

    def reloc_diff():
        # The real purgatory.ro of both kernels, relocated by the upstream C
        # function and by ours at several load addresses.
        ros = [str(k["out"] / "arch/x86/purgatory/purgatory.ro")
               for k in kernels.values()]
        log = BUILD / "logs/reloc-diff.log"
        env = dict(os.environ, CARGO_TARGET_DIR=str(BUILD / "cargo-target"),
                   KDUMP_PURGATORY_RO=":".join(ros))
        run_logged([cargo_bin("cargo"), "test", "--manifest-path",
                    REPO / "Cargo.toml", "-p", "kdump-cref", "--test",
                    "reloc_diff", "built_purgatory", "--", "--nocapture"],
                   log, "host", env=env)
        seen = []
        for line in last_run(log):
            m = re.search(r"out-(\w+)/arch/x86/purgatory/purgatory\.ro: (.*)",
                          line)
            if m:
                seen.append(f"{m.group(1)}: {m.group(2)}")
        if len(seen) != len(ros):
            raise StageError("host", f"the relocation diff checked "
                             f"{len(seen)} of {len(ros)} purgatory.ro", log=log)
        return "; ".join(seen)

    if kernels:
        step("purgatory.ro relocated by C and Rust: identical", reloc_diff)
    for impl in ("c", "rust"):
        if impl in kernels:
            def rb(impl=impl):
                r = reboot_cycle(impl, BUILD / f"reboot-{impl}", "1G", src,
                                 tools)
                return f"second kernel up, stages {r['stages']}"
            step(f"kexec -s -l / kexec -e reboot ({impl})", rb)

    def runner_selftest():
        return runner_self_test(src, tools)

    if "rust" in kernels:
        step("runner: failures name their stage", runner_selftest)

    print(f"\n=== kdump.py test summary ({t_all}) ===")
    width = max(len(n) for n, *_ in results)
    for name, status, secs, detail in results:
        print(f"{name:<{width}}  {status:<16} {secs:7.1f}s  {detail}")
    failed = [n for n, s, *_ in results if s != "ok"]
    print(f"{len(results) - len(failed)}/{len(results)} passed")
    return 1 if failed else 0


def runner_self_test(src, tools):
    """A broken build and a guest that never reaches the capture kernel must
    each fail with their stage named."""
    me = [sys.executable, str(Path(__file__).resolve())]
    checks = []
    with tempfile.TemporaryDirectory(prefix="kdump-broken-") as tmp:
        broken = Path(tmp)
        for rel in overlay_files() + [Path(PATCH_DIR) / p.name
                                      for p in patch_files()]:
            (broken / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(OVERLAY / rel, broken / rel)
        face = broken / "kernel/kdump/memparse.rs"
        face.write_text(face.read_text() + "\nfn broken( {\n")
        env = dict(os.environ, KDUMP_OVERLAY=str(broken))
        r = subprocess.run(me + ["build", "--impl", "rust"], env=env,
                           capture_output=True, text=True, timeout=1800)
        checks.append(("broken build", r, "FAILED at stage 'build'"))
    # Put the good overlay back right away (rebuilds the one object).
    copy_overlay(src)
    with tempfile.TemporaryDirectory(prefix="kdump-nocapture-") as tmp:
        r = subprocess.run(me + ["run", "--impl", "rust", "--out", tmp,
                                 "--fault-inject", "capture"],
                           capture_output=True, text=True, timeout=1800)
        checks.append(("no capture kernel", r, "FAILED at stage 'capture'"))
    for name, r, want in checks:
        if r.returncode == 0 or want not in r.stdout or "full log:" not in r.stdout:
            raise StageError("host", f"{name}: expected a non-zero exit and "
                             f"{want!r} with the log path; got status "
                             f"{r.returncode}",
                             tail=(r.stdout + r.stderr).splitlines()[-20:])
    return "; ".join(f"{n}: exit {r.returncode}, {w!r}" for n, r, w in checks)


def main(argv=None):
    p = argparse.ArgumentParser(prog="kdump.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def impl_opt(sp):
        sp.add_argument("--impl", choices=("c", "rust"), default="rust",
                        help="c: pristine upstream path (our switches off); "
                        "rust: every Rust component that exists (default)")

    a = sub.add_parser("apply", help="apply the overlay and hook patches")
    a.add_argument("--kernel-dir", help="apply to this 6.12 tree in place "
                   "instead of build/src")
    a.set_defaults(fn=cmd_apply)
    b = sub.add_parser("build", help="build a kernel")
    impl_opt(b)
    b.set_defaults(fn=cmd_build)
    bo = sub.add_parser("boot", help="boot, run a command, power off")
    impl_opt(bo)
    bo.add_argument("--mem", default="1G")
    bo.add_argument("--smp", type=int, default=1)
    bo.add_argument("--append", default="", help="kernel command line additions")
    bo.add_argument("--cmd", default="true", help="shell command run in the guest")
    bo.add_argument("--timeout", type=int, default=300,
                    help="seconds before the guest is killed")
    bo.set_defaults(fn=cmd_boot)
    r = sub.add_parser("run", help="full kdump cycle")
    impl_opt(r)
    r.add_argument("--loader", choices=("load", "file"), default="load",
                   help="load: kexec -p (kexec_load); file: kexec -s -p "
                   "(kexec_file_load)")
    r.add_argument("--out", help="output folder (default build/run-IMPL-LOADER)")
    r.add_argument("--mem", default="1G")
    r.add_argument("--smp", type=int, default=1)
    r.add_argument("--crashkernel", default="256M")
    r.add_argument("--append", default="",
                   help="first kernel command line additions (e.g. nokaslr)")
    r.add_argument("--trigger", choices=sorted(TRIGGERS), default="sysrq",
                   help="how the first kernel crashes: sysrq (echo c > "
                   "/proc/sysrq-trigger), LKDTM panic, bug and exception "
                   "(with oops=panic), warning (panic_on_warn=1), or "
                   "two-cpus (LKDTM PANIC and BUG on two CPUs at once)")
    r.add_argument("--fault-inject", choices=("capture",),
                   help="testing the runner: make the capture kernel unusable")
    r.add_argument("--guest-checks", action="store_true",
                   help="in the capture kernel, after the copy: vmcore_test "
                   "(random, concurrent and mmap reads against the copy, bad "
                   "mmap()s) and makedumpfile -d 31 through mmap() and read()")
    r.set_defaults(fn=cmd_run)
    hb = sub.add_parser("headers", help="boot with planted good and bad ELF "
                        "core headers at elfcorehdr=")
    impl_opt(hb)
    hb.add_argument("cases", nargs="*", choices=[[]] + list(HEADER_CASES),
                    help="default: all")
    hb.set_defaults(fn=cmd_headers)
    ct = sub.add_parser("crashkernel-table",
                        help="boot the crashkernel= table, compare C and Rust")
    ct.add_argument("--impl", choices=("c", "rust", "both"), default="both")
    ct.set_defaults(fn=cmd_crashkernel_table)
    rb = sub.add_parser("reboot", help="kexec -s -l the kernel, kexec -e, "
                        "wait for the second kernel's init")
    impl_opt(rb)
    rb.add_argument("--mem", default="1G")
    rb.set_defaults(fn=cmd_reboot)

    be = sub.add_parser("bench", help="C vs Rust side by side: panic to "
                        "capture kernel latency, /proc/vmcore throughput")
    be.add_argument("--runs", type=int, default=5,
                    help="crashes per kernel (the median is compared); 0 "
                    "skips the latency bench")
    be.add_argument("--vmcore-mib", type=int, default=256,
                    help="MiB of old memory read each way for the "
                    "/proc/vmcore throughput bench; 0 skips it")
    be.set_defaults(fn=cmd_bench)

    f = sub.add_parser("fuzz", help="run the libFuzzer targets for a while")
    f.add_argument("--seconds", type=int, default=60)
    f.set_defaults(fn=cmd_fuzz)
    t = sub.add_parser("test", help="the whole suite")
    t.set_defaults(fn=cmd_test)
    args = p.parse_args(argv)
    try:
        return args.fn(args)
    except StageError as e:
        fail_report(e)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
