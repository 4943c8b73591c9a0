// SPDX-License-Identifier: GPL-2.0
/*
 * What the Rust checks of the kexec_file_load() Image header
 * (arch/arm64/kernel/kexec_image_rust.rs) need from C: the CPU feature
 * tests of image_load(), which are static inlines.
 */
#include <linux/cpufeature.h>
#include <linux/kconfig.h>
#include <linux/kdump_rust.h>

void kdump_arm64_image_cpu(struct kdump_arm64_image_cpu *cpu)
{
	cpu->big_endian = IS_ENABLED(CONFIG_CPU_BIG_ENDIAN);
	cpu->mixed_endian = system_supports_mixed_endian();
	cpu->granule_4k = system_supports_4kb_granule();
	cpu->granule_16k = system_supports_16kb_granule();
	cpu->granule_64k = system_supports_64kb_granule();
}
