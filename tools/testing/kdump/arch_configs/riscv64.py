# SPDX-License-Identifier: GPL-2.0
"""riscv64: QEMU's virt machine under TCG with Debian 13's OpenSBI, the
kernel's Image booted directly (QEMU passes the device tree).
Debian 12 has no riscv64 port: the guest's programs come from Debian 13,
kexec-tools from Debian's testing release (kdump_userspace.py)."""

from kdump_arch import ArchConfig, virtio_console_args


class Riscv64(ArchConfig):
    def firmware_args(self):
        # Debian 13's OpenSBI (1.6). QEMU 7.2's own (1.1) leaves its
        # PMP-protected memory mapped in the device tree: it is then System
        # RAM in the dump, and reading it from /proc/vmcore faults (EFAULT)
        # on C and Rust alike. 1.6 marks it no-map.
        from kdump_userspace import userspace
        return ["-bios", str(userspace(self).root / "usr/lib/riscv64-linux-gnu"
                             "/opensbi/generic/fw_dynamic.bin")]

    def cmd_out_args(self, path):
        # virt has one 16550 UART.
        return virtio_console_args(path)


ARCH = Riscv64(
    name="riscv64",
    kernel_arch="riscv",
    image="arch/riscv/boot/Image",
    make_target="Image",
    config="riscv64.config",
    qemu="qemu-system-riscv64",
    # gdb-multiarch unwinds the crashed thread, which drgn 0.3.0 cannot
    # on riscv64.
    host_packages=("qemu-system-misc", "gcc-riscv64-linux-gnu",
                   "libc6-dev-riscv64-cross", "gdb-multiarch"),
    qemu_args=("-M", "virt", "-cpu", "rv64"),
    console="ttyS0",
    cmd_tty="hvc0",
    elf_machine=243,                   # EM_RISCV
    core_classes=(64,),                # elf_check_arch() checks EI_CLASS
    debian_arch="riscv64",
    multiarch="riscv64-linux-gnu",
    guest_cc="riscv64-linux-gnu-gcc",
    host_makedumpfile=False,
    # The linear map: __va(pa) = pa + PAGE_OFFSET - the start of RAM, with
    # PAGE_OFFSET of the paging mode the kernel picks (Sv57 on QEMU's rv64,
    # 0xff60000000000000). The kernel image is mapped at KERNEL_LINK_ADDR.
    direct_map=(0xff60000000000000 - 0x80000000) % 2**64,
    text_base=0xffffffff80000000,
    ram_base=0x80000000,
    # kexec (both loaders) gives a capture kernel /chosen linux,elfcorehdr,
    # and kexec_file_load elfcorehdr= as well.
    elfcorehdr_in_dt=True,
    # RAM starts at 2G; OpenSBI and then the kernel image sit at its start.
    # ,high on a guest without memory above 4G falls back to low memory.
    crashkernel_fixed=(("crashkernel=64M,high", "1G", False),
                       ("crashkernel=128M,high crashkernel=32M,low", "1G",
                        False),
                       ("crashkernel=64M@16M", "1G", True),
                       ("crashkernel=64M@2G", "1G", True),
                       ("crashkernel=64M@2304M", "1G", False),
                       ("crashkernel=64M@2305M", "1G", True)),
    high_low=("3584M", "256M,high crashkernel=64M,low"),
    # kexec-tools 2.0.32 on riscv64 says "Memory for crashkernel is not
    # reserved" when /proc/iomem has a high and a low range.
    high_low_loader="syscall",
    # The ELF executable the guest loads (kdump_build.image_elf(): the ELF
    # header, then the one PT_LOAD's program header at byte 64): e_type at
    # byte 16, p_type at 64, p_filesz at 96 (its top byte at 103). Each is
    # refused by kexec_build_elf_info() with ENOEXEC.
    image_cases=(
        ("e-type-rel", "printf '\\001' | dd of=/tmp/img bs=1 seek=16 count=1 "
         "conv=notrunc 2>/dev/null", "ENOEXEC", "e_type: not an executable"),
        ("pt-interp", "printf '\\003' | dd of=/tmp/img bs=1 seek=64 count=1 "
         "conv=notrunc 2>/dev/null", "ENOEXEC",
         "p_type: requires an ELF interpreter"),
        ("segment-past-end", "printf '\\377' | dd of=/tmp/img bs=1 seek=103 "
         "count=1 conv=notrunc 2>/dev/null", "ENOEXEC",
         "p_filesz: segment not in the file"),
    ),
    capture_append="reset_devices",
    capture_reuses=(),
    purgatory_ro="arch/riscv/purgatory/purgatory.ro",
    # What arch_kexec_apply_relocations_add() (machine_kexec_file.c)
    # applies, as far as purgatory carries it.
    purgatory_relocs=frozenset({"R_RISCV_64", "R_RISCV_CALL",
                                "R_RISCV_CALL_PLT", "R_RISCV_JAL",
                                "R_RISCV_BRANCH", "R_RISCV_RVC_BRANCH",
                                "R_RISCV_RVC_JUMP", "R_RISCV_PCREL_HI20",
                                "R_RISCV_PCREL_LO12_I", "R_RISCV_ADD16",
                                "R_RISCV_ADD32", "R_RISCV_SUB16",
                                "R_RISCV_SUB32", "R_RISCV_ALIGN",
                                "R_RISCV_RELAX"}),
    # kexec_file.c looks up the first three; riscv's load_extra_segments()
    # sets riscv_kernel_entry.
    purgatory_symbols={"purgatory_start": None,
                       "purgatory_sha_regions": 256,
                       "purgatory_sha256_digest": 32,
                       "riscv_kernel_entry": 8},
    reloc_diff=("riscv_reloc_diff",
                "built_riscv_purgatory_objects_relocate_identically",
                "KDUMP_RISCV_PURGATORY_RO"),
    # Calls and tail calls (jal/j after linker relaxation, call/tail
    # pseudo-instructions), and conditional branches that may leave the
    # function.
    call_insns=r"jal|j|call|tail|beqz?|bnez?|bltu?|bgeu?|blez|bgez|bltz|bgtz",
    lld_emulation="elf64lriscv",
    indirect_call=r"\sjalr\s|\sjr\s",
    call_relocs=("R_RISCV_CALL_PLT", "R_RISCV_CALL", "R_RISCV_JAL"),
    arch_callees=frozenset({"memset", "memcpy", "memmove"}),
    call_pairs=True,
    debian_suite="trixie",
    guest_libraries=("libc6", "zlib1g", "liblzma5", "libbz2-1.0",
                     "liblzo2-2", "libdw1t64", "libelf1t64", "libzstd1"),
    # kexec-tools has a riscv64 port since 2.0.31 (Debian 13 has 2.0.29).
    guest_package_suites={"kexec-tools": "forky"},
    firmware_packages=("opensbi",),
    kexec_image="elf",
)
