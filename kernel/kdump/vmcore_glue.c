// SPDX-License-Identifier: GPL-2.0
/*
 * Starts the Rust /proc/vmcore (kernel/kdump/vmcore.rs) at the same point
 * of boot as the C provider it replaces, and tells it which memory is this
 * kernel's own.
 */

#include <linux/init.h>
#include <linux/kdump_rust.h>
#include <linux/mm.h>
#include <linux/pfn.h>

bool kdump_vmcore_in_own_ram(u64 paddr, u64 len)
{
	unsigned long pfn, end;

	if (!len || paddr + len < paddr)
		return false;
	end = PFN_UP(paddr + len);
	for (pfn = PFN_DOWN(paddr); pfn < end; pfn++)
		if (pfn_valid(pfn) && !PageReserved(pfn_to_page(pfn)))
			return true;
	return false;
}

static int __init kdump_vmcore_initcall(void)
{
	return kdump_vmcore_init();
}
fs_initcall(kdump_vmcore_initcall);
