// SPDX-License-Identifier: GPL-2.0
/*
 * The architecture side of the Rust crashkernel= reservation: values that
 * are macros or inline functions in C, handed to kernel/kdump/reserve.rs.
 */
#include <linux/crash_reserve.h>
#include <linux/kdump_rust.h>
#include <linux/kmemleak.h>
#include <linux/memblock.h>
#include <linux/sizes.h>

/*
 * __ref: on riscv64 CRASH_ADDR_LOW_MAX and CRASH_ADDR_HIGH_MAX are
 * dma32_phys_limit (__initdata) and memblock_end_of_DRAM() (__init). Like
 * the wrappers below, this is only called from setup_arch().
 */
void __ref kdump_crash_reserve_limits(struct kdump_crash_limits *limits)
{
	limits->align = CRASH_ALIGN;
	limits->low_max = CRASH_ADDR_LOW_MAX;
	limits->high_max = CRASH_ADDR_HIGH_MAX;
	limits->default_low_size = DEFAULT_CRASH_KERNEL_LOW_SIZE;
#ifdef HAVE_ARCH_ADD_CRASH_RES_TO_IOMEM_EARLY
	limits->iomem_early = true;
#else
	limits->iomem_early = false;
#endif
}

/*
 * memblock's functions are __init; reserve.rs is ordinary .text (its generic
 * code cannot be placed in .init.text), so it calls them through these __ref
 * wrappers. Like their callers, they are only used from setup_arch().
 */
phys_addr_t __ref kdump_memblock_phys_alloc_range(phys_addr_t size,
						  phys_addr_t align,
						  phys_addr_t start,
						  phys_addr_t end)
{
	return memblock_phys_alloc_range(size, align, start, end);
}

void __ref kdump_memblock_phys_free(phys_addr_t base, phys_addr_t size)
{
	memblock_phys_free(base, size);
}

void kdump_kmemleak_ignore_phys(phys_addr_t phys)
{
	kmemleak_ignore_phys(phys);
}

/*
 * The lines kernel/crash_reserve.c prints, word for word: scripts and
 * distribution tools look for them. reserve.rs prints its own lines, which
 * name the crashkernel= word at fault, beside them.
 */
void kdump_crash_log_reserved(u64 base, u64 size, bool low)
{
	if (low)
		pr_info("crashkernel low memory reserved: 0x%08llx - 0x%08llx (%lld MB)\n",
			base, base + size, size >> 20);
	else
		pr_info("crashkernel reserved: 0x%016llx - 0x%016llx (%lld MB)\n",
			base, base + size, size >> 20);
}

void kdump_crash_log_in_use(void)
{
	pr_warn("crashkernel reservation failed - memory is in use.\n");
}

void kdump_crash_log_no_room(u64 size, bool low)
{
	if (low)
		pr_err("cannot allocate crashkernel low memory (size:0x%llx).\n",
		       size);
	else
		pr_warn("cannot allocate crashkernel (size:0x%llx)\n", size);
}
