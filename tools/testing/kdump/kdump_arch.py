# SPDX-License-Identifier: GPL-2.0
"""Per-architecture facts of the kdump runner, as data.

Like tools/testing/kunit/qemu_configs/, each architecture is one file in
arch_configs/ that builds an ArchConfig; nothing else in the runner names
an architecture. `--arch` picks one.
"""

import dataclasses
import importlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class ArchConfig:
    """What differs between architectures, from the kernel build to the
    checks on the built objects."""

    name: str                  # --arch value
    kernel_arch: str           # ARCH= for make
    image: str                 # boot image, relative to the build folder
    make_target: str           # make target that builds it
    config: str                # arch fragment, relative to configs/
    qemu: str                  # QEMU binary
    host_packages: tuple       # Debian packages with QEMU and guest_cc
    qemu_args: tuple           # machine, firmware, ... before the rest
    console: str               # console= device
    cmd_tty: str               # the guest's device for a command's output
    elf_machine: int           # e_machine of its cores (EM_*)
    debian_arch: str           # the guest userspace's Debian architecture
    multiarch: str             # its library folder (lib/<multiarch>)
    guest_cc: str              # C compiler for static guest programs
    # Whether the host's makedumpfile (built for the host) reads this
    # architecture's dumps; if not, makedumpfile runs in the capture kernel.
    host_makedumpfile: bool
    # Where the kernel maps all RAM and where its text lives: a vmcore
    # PT_LOAD with a virtual address at or above text_base is the kernel
    # text map.
    direct_map: int
    text_base: int
    # Boot options of the capture kernel beyond the console.
    capture_append: str
    # Where RAM starts (guest physical), and the crashkernel= lines with a
    # fixed address of the crashkernel= table: (append, memory, refused).
    ram_base: int
    # Whether a capture kernel learns elfcorehdr from the device tree
    # (/chosen linux,elfcorehdr, which reserves it) rather than from the
    # command line.
    elfcorehdr_in_dt: bool
    crashkernel_fixed: tuple
    # (guest memory, crashkernel=) of the ,high/,low ELF core header check:
    # memory above 4 GiB, a high and a low range; None to leave it out.
    high_low: tuple | None
    # Broken kernel images kexec_file_load must refuse: (name, shell
    # command that breaks /tmp/img, a copy of the image, the errno
    # kexec_file_load() returns, what the Rust kernel's one log line names).
    image_cases: tuple
    # Physical ranges of old memory the capture kernel reuses or that
    # change after the crash: not compared with /proc/vmcore.
    capture_reuses: tuple
    # purgatory.ro of kexec_file_load, relative to the build folder, the
    # relocation types its loader applies and the symbols (with sizes) it
    # looks up; None when the architecture has no purgatory.
    purgatory_ro: str | None
    purgatory_relocs: frozenset
    purgatory_symbols: dict
    # Call-graph facts for the panic-freedom check, as llvm-objdump prints
    # them: the mnemonics of a direct call or tail jump (a regex
    # alternation), a regex matching an indirect one, the relocation types
    # of a call in an unlinked object, and functions the compiler or the
    # architecture may add to any call graph (return thunks, memset).
    call_insns: str
    lld_emulation: str         # ld.lld -m, to link the self-test object
    indirect_call: str
    call_relocs: tuple
    arch_callees: frozenset
    # The ELF classes (32, 64) of a core header the capture kernel's
    # elf_check_arch() takes: riscv's checks the class, x86_64's and
    # arm64's only e_machine.
    core_classes: tuple = (32, 64)
    # How that check loads the crash kernel through kexec_file_load: "file"
    # (kexec -s -p) or "syscall" (guest/kexec_file_load.c, where
    # kexec-tools refuses two "Crash kernel" ranges).
    high_low_loader: str = "file"
    # Whether calls are instruction pairs whose target llvm-objdump does
    # not print (riscv's auipc/jalr): kdump_disasm resolves them.
    call_pairs: bool = False
    # The guest's Debian release (its packages give the guest's programs),
    # and the libraries kexec and makedumpfile load there, by package.
    debian_suite: str = "bookworm"
    guest_libraries: tuple = ()
    # Packages the release lacks for the architecture: {package: the later
    # Debian release to take it from}.
    guest_package_suites: dict = dataclasses.field(default_factory=dict)
    # The host differential test of the built purgatory.ro's relocation
    # against the upstream C loader: (test file of kdump-cref, ignored test,
    # environment variable listing the objects).
    reloc_diff: tuple | None = None
    # Packages of the guest's release unpacked for QEMU itself (firmware).
    firmware_packages: tuple = ()
    # The kernel image kexec loads when it is not the boot image: "elf",
    # the boot image as the one PT_LOAD of an ELF file (riscv64's
    # kexec_file_load takes ELF only; kdump_build.image_elf()).
    kexec_image: str | None = None
    # Whether `test` (--arch all) runs it; an architecture that does not
    # capture yet is run with --arch only.
    in_test: bool = True

    def smp_args(self, n):
        """QEMU arguments for n CPUs."""
        return ["-smp", str(n)]

    def firmware_args(self):
        """QEMU arguments choosing the firmware. Default: QEMU's own."""
        return []

    def machine_args(self, append):
        """The machine arguments (qemu_args) of a guest booted with kernel
        command line `append`. Default: qemu_args whatever it says."""
        return list(self.qemu_args)

    def cmd_out_args(self, path):
        """QEMU arguments connecting cmd_tty to the file path (None: to
        nothing). Default: the second serial port."""
        return ["-serial", f"file:{path}" if path else "null"]


def virtio_console_args(path):
    """cmd_out_args() of a machine with one UART: a command's output goes
    to a virtio console (hvc0) on virtio-mmio."""
    if not path:
        return []
    return ["-device", "virtio-serial-device",
            "-chardev", f"file,id=kdumpcmd,path={path}",
            "-device", "virtconsole,chardev=kdumpcmd"]


def names():
    """Every architecture with a config, sorted."""
    return sorted(p.stem for p in (HERE / "arch_configs").glob("*.py")
                  if not p.stem.startswith("_"))


# The architecture of every subcommand without --arch, and the first one
# `test` runs.
DEFAULT = "x86_64"


def ordered():
    """Every architecture `test` runs, the default one first."""
    return sorted((n for n in names() if get(n).in_test),
                  key=lambda n: (n != DEFAULT, n))


def get(name):
    """The ArchConfig of `name`; ValueError for an unknown one."""
    if name not in names():
        raise ValueError(f"unknown architecture {name!r}; have "
                         f"{', '.join(names())}")
    return importlib.import_module(f"arch_configs.{name}").ARCH
