# SPDX-License-Identifier: GPL-2.0
"""The guests' initramfs: busybox, guest/init, kexec-tools, makedumpfile,
the vmcore_test kselftest and guest/kexec_file_load.c, written as a newc cpio here (no root needed, no
cpio quirks)."""

from pathlib import Path

from kdump_common import BUILD, HERE, OVERLAY
from kdump_setup import BASE_DIRNAME
from kdump_userspace import guest_cc, userspace

INIT = HERE / "guest/init"


class Cpio:
    """A newc archive built in memory."""

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

    def program(self, path, us, name):
        """Guest program `name` of Userspace `us` and the shared libraries
        it loads."""
        binary = us.program(name)
        self.file(path, binary.read_bytes(), 0o755)
        for guest, host in us.libraries(binary):
            self.file(guest, host.resolve().read_bytes(), 0o755)

    def symlink(self, path, target):
        self.mkdir(str(Path(path).parent))
        self._add(path, 0o120777, target.encode())

    def bytes(self):
        trailer = self._hdr("TRAILER!!!", 0, 0)
        blob = trailer + b"TRAILER!!!\0"
        blob += b"\0" * (-len(blob) % 4)
        data = b"".join(self.entries) + blob
        return data + b"\0" * (-len(data) % 512)



def busybox_cpio(arch, mode):
    c = Cpio()
    c.file("/bin/busybox", userspace(arch).program("busybox").read_bytes(),
           0o755)
    c.symlink("/bin/sh", "busybox")
    c.file("/init", INIT.read_bytes(), 0o755)
    c.file("/etc/kdump/mode", mode.encode() + b"\n")
    c.file("/etc/kdump/cmd-tty", arch.cmd_tty.encode() + b"\n")
    for d in ("/proc", "/sys", "/dev", "/tmp"):
        c.mkdir(d)
    return c


def guest_program(arch, src):
    """A C file built static for the guest (against the base's kselftest.h),
    once per change."""
    out = BUILD / f"{Path(src).stem}-{arch.name}"
    if out.exists() and out.stat().st_mtime >= Path(src).stat().st_mtime:
        return out
    inc = BUILD / "src" / BASE_DIRNAME / "tools/testing/selftests"
    return guest_cc(arch, src, out, inc)


def vmcore_test_binary(arch):
    """tools/testing/selftests/kdump/vmcore_test.c for the guest."""
    return guest_program(
        arch, OVERLAY / "tools/testing/selftests/kdump/vmcore_test.c")


def capture_cpio(arch, guest_checks=False, bench_mib=None):
    """The capture kernel's initramfs; with guest_checks, also vmcore_test
    and makedumpfile, and with bench_mib the bench."""
    c = busybox_cpio(arch, "capture")
    if guest_checks or bench_mib:
        c.file("/bin/vmcore_test", vmcore_test_binary(arch).read_bytes(),
               0o755)
    if guest_checks or bench_mib:
        c.program("/sbin/makedumpfile", userspace(arch), "makedumpfile")
    if bench_mib:
        c.file("/etc/kdump/bench", f"{bench_mib}\n".encode())
    return c


def with_kexec(arch, c, kernel):
    c.program("/sbin/kexec", userspace(arch), "kexec")
    c.file("/boot/kernel", Path(kernel).read_bytes())


def boot_initramfs(arch, path, cmd, kernel=None, files=None):
    """mode boot: run cmd (shell) with its output on the arch's second
    console (arch.cmd_tty); with kernel, kexec and that kernel too;
    files(cpio) adds more."""
    c = busybox_cpio(arch, "boot")
    c.file("/etc/kdump/cmd", cmd.encode() + b"\n")
    if kernel:
        with_kexec(arch, c, kernel)
        with_kexec_file_load(arch, c)
    if files:
        files(c)
    Path(path).write_bytes(c.bytes())


def with_kexec_file_load(arch, c):
    c.file("/bin/kexec_file_load", guest_program(
        arch, HERE / "guest/kexec_file_load.c").read_bytes(), 0o755)


def reboot_initramfs(arch, path, kernel, next_append):
    """mode reboot: kexec -s -l kernel with next_append, kexec -e."""
    c = busybox_cpio(arch, "reboot")
    with_kexec(arch, c, kernel)
    c.file("/boot/next.cpio", busybox_cpio(arch, "rebooted").bytes())
    c.file("/etc/kdump/next-append", next_append.encode() + b"\n")
    Path(path).write_bytes(c.bytes())


def run_initramfs(arch, path, kernel, loader, capture_append, trigger_script,
                  guest_checks=False, bench_mib=None, fill_mib=None,
                  await_go=False, state=None):
    """mode run: load the capture kernel (loader load: kexec -p, file:
    kexec -s -p, syscall: kexec_file_load(2) from guest/kexec_file_load.c),
    optionally fill fill_mib MiB of memory with random pages and wait for
    the host's go, then crash with trigger_script. state: set one up
    around the load (kdump_cycle.STATES)."""
    c = busybox_cpio(arch, "run")
    with_kexec(arch, c, kernel)
    if loader == "syscall":
        with_kexec_file_load(arch, c)
    c.file("/boot/capture.cpio",
           capture_cpio(arch, guest_checks, bench_mib).bytes())
    flags = {"load": "-p", "file": "-s -p", "syscall": "syscall"}[loader]
    c.file("/etc/kdump/kexec-flags", flags.encode() + b"\n")
    c.file("/etc/kdump/capture-append", capture_append.encode() + b"\n")
    c.file("/etc/kdump/trigger", trigger_script.encode())
    if fill_mib:
        c.file("/etc/kdump/fill-mib", f"{fill_mib}\n".encode())
    if await_go:
        c.file("/etc/kdump/await-go", b"")
    if state:
        c.file("/etc/kdump/state", state.encode() + b"\n")
    Path(path).write_bytes(c.bytes())
