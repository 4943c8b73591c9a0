# SPDX-License-Identifier: GPL-2.0
"""arm64: QEMU's virt machine with a Cortex-A57 under TCG, the kernel's
Image booted directly (QEMU passes the device tree), Debian's arm64
userspace."""

from kdump_arch import ArchConfig, virtio_console_args


class Arm64(ArchConfig):
    def machine_args(self, append):
        # QEMU's virt puts a random /chosen/kaslr-seed in the device tree.
        # A kernel booted with nokaslr leaves it there (one with KASLR
        # zeroes it once used), and kexec-tools' arm64 kexec_load path
        # (setup_2nd_dtb(), 2.0.25) then refuses to load, on C and Rust
        # kernels alike: "kexec: setup_2nd_dtb failed." So a nokaslr guest
        # gets a device tree without random nodes, as from firmware that
        # provides no seed; a KASLR one keeps them (its randomness).
        if "nokaslr" not in append.split():
            return list(self.qemu_args)
        return [a.replace("virt", "virt,dtb-randomness=off")
                if a == "virt" else a for a in self.qemu_args]

    def cmd_out_args(self, path):
        # virt has one PL011.
        return virtio_console_args(path)


ARCH = Arm64(
    name="arm64",
    kernel_arch="arm64",
    image="arch/arm64/boot/Image",
    make_target="Image",
    config="arm64.config",
    qemu="qemu-system-aarch64",
    host_packages=("qemu-system-arm", "gcc-aarch64-linux-gnu",
                   "libc6-dev-arm64-cross"),
    qemu_args=("-M", "virt", "-cpu", "cortex-a57"),
    console="ttyAMA0",
    cmd_tty="hvc0",
    elf_machine=183,                   # EM_AARCH64
    debian_arch="arm64",
    multiarch="aarch64-linux-gnu",
    guest_cc="aarch64-linux-gnu-gcc",
    host_makedumpfile=False,
    # 48-bit VA, 4 KiB pages: the linear map starts at the bottom of the
    # kernel half, the kernel image lives above it (vmalloc area, KASLR or
    # not) from 0xffff800000000000.
    direct_map=0xffff000000000000,
    text_base=0xffff800000000000,
    ram_base=0x40000000,
    # RAM starts at 1G; the kernel image is loaded at its start. ,high on
    # a guest without memory above 4G falls back to low memory.
    elfcorehdr_in_dt=True,
    crashkernel_fixed=(("crashkernel=64M,high", "1G", False),
                       ("crashkernel=128M,high crashkernel=32M,low", "1G",
                        False),
                       ("crashkernel=64M@16M", "1G", True),
                       ("crashkernel=64M@1G", "1G", True),
                       ("crashkernel=64M@1280M", "1G", False),
                       ("crashkernel=64M@1281M", "1G", True)),
    # The Image header (Documentation/arch/arm64/booting.rst): image_size
    # at byte 16, flags at 24 (bits 1-2 the page size: 1 4K, 2 16K, 3
    # 64K; bit 3 placement): both pass image_probe() and are refused by
    # image_load(). A Cortex-A57 has no 16K granule.
    high_low=("3584M", "256M,high crashkernel=64M,low"),
    image_cases=(
        ("image-size-0", "dd if=/dev/zero of=/tmp/img bs=1 seek=16 count=8 "
         "conv=notrunc 2>/dev/null", "EINVAL",
         "image_size: NoImageSize"),
        ("granule-16k", "printf '\\014' | dd of=/tmp/img bs=1 seek=24 "
         "count=1 conv=notrunc 2>/dev/null", "EINVAL",
         "flags: PageSize"),
    ),
    capture_append="reset_devices",
    # The capture kernel runs in the crash kernel reservation only
    # (linux,usable-memory-range), which the comparison leaves out anyway.
    capture_reuses=(),
    purgatory_ro=None,
    purgatory_relocs=frozenset(),
    purgatory_symbols={},
    # Calls, tail jumps, and conditional branches that may leave the
    # function.
    call_insns=r"bl|b|b\.\w+|cbn?z\s+\w+,|tbn?z\s+\w+,\s+#\d+,",
    lld_emulation="aarch64linux",
    indirect_call=r"\s(?:blr|br)\s",
    call_relocs=("R_AARCH64_CALL26", "R_AARCH64_JUMP26"),
    arch_callees=frozenset({"memset", "memmove"}),
)
