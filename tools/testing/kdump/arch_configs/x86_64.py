# SPDX-License-Identifier: GPL-2.0
"""x86_64: QEMU's default PC machine under TCG, SeaBIOS, bzImage."""

from kdump_arch import ArchConfig


class X86_64(ArchConfig):
    def smp_args(self, n):
        # One socket per CPU: SeaBIOS's MP table (no ACPI in these kernels)
        # lists sockets, so "-smp 2" alone boots one CPU.
        return ["-smp", f"{n},sockets={n}"]


ARCH = X86_64(
    name="x86_64",
    kernel_arch="x86",
    image="arch/x86/boot/bzImage",
    make_target="bzImage",
    config="x86_64.config",
    qemu="qemu-system-x86_64",
    host_packages=("qemu-system-x86",),
    qemu_args=(),
    console="ttyS0",
    cmd_tty="ttyS1",
    elf_machine=62,                    # EM_X86_64
    debian_arch="amd64",
    multiarch="x86_64-linux-gnu",
    guest_cc="gcc",
    host_makedumpfile=True,
    direct_map=0xffff888000000000,
    text_base=0xffffffff80000000,
    ram_base=0,
    # With nokaslr the kernel image sits at 16M, so @16M is in use.
    elfcorehdr_in_dt=False,
    crashkernel_fixed=(("crashkernel=64M@16M", "1G", True),
                       ("crashkernel=64M@512M", "1G", False),
                       ("crashkernel=64M@513M", "1G", True)),
    high_low=("4608M", "256M,high crashkernel=64M,low"),
    image_cases=(),
    capture_append="irqpoll reset_devices",
    # The first MiB, reserved in the first kernel, is RAM of the capture
    # kernel's (crash_setup_memmap_entries()).
    capture_reuses=((0, 1 << 20),),
    purgatory_ro="arch/x86/purgatory/purgatory.ro",
    # What arch_kexec_apply_relocations_add() (machine_kexec_64.c) applies.
    purgatory_relocs=frozenset({"R_X86_64_NONE", "R_X86_64_64",
                                "R_X86_64_PC32", "R_X86_64_PLT32",
                                "R_X86_64_32", "R_X86_64_32S"}),
    purgatory_symbols={"purgatory_start": None, "purgatory": None,
                       "purgatory_sha_regions": 256,
                       "purgatory_sha256_digest": 32},
    reloc_diff=("reloc_diff", "built_purgatory_objects_relocate_identically",
                "KDUMP_PURGATORY_RO"),
    call_insns=r"callq?|jmpq?",
    lld_emulation="elf_x86_64",
    indirect_call=r"\s(?:callq?|jmpq?)\s+\*",
    call_relocs=("R_X86_64_PLT32", "R_X86_64_PC32"),
    arch_callees=frozenset({"memset", "memcpy", "__x86_return_thunk"}),
)
