// SPDX-License-Identifier: GPL-2.0
/*
 * Starts the Rust /proc/vmcore (kernel/kdump/vmcore.rs) at the same point
 * of boot as the C provider it replaces, tells it which memory is this
 * kernel's own, and gives drivers the C entry points of linux/crash_dump.h
 * that reach it: vmcore_add_device_dump() and vmcore_cleanup().
 */

#include <linux/crash_dump.h>
#include <linux/init.h>
#include <linux/kdump_rust.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pfn.h>
#include <linux/printk.h>

/* Serialises adding device dumps with each other and with the cleanup. */
static DEFINE_MUTEX(kdump_vmcore_lock);

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

/**
 * vmcore_cleanup() - remove /proc/vmcore and free the dump
 *
 * Context: Process context; may sleep.
 */
void vmcore_cleanup(void)
{
	mutex_lock(&kdump_vmcore_lock);
	kdump_vmcore_cleanup();
	mutex_unlock(&kdump_vmcore_lock);
}

#ifdef CONFIG_PROC_VMCORE_DEVICE_DUMP
/* "novmcoredd" on the command line turns device dumps off, as with C. */
static bool vmcoredd_disabled;
core_param(novmcoredd, vmcoredd_disabled, bool, 0);

/**
 * vmcore_add_device_dump() - add a driver's dump to /proc/vmcore
 * @data: the dump's name, size and the callback that fills it
 *
 * The Rust provider's twin of the C function: see
 * kdump_vmcore_add_device_dump().
 *
 * Context: Process context; may sleep. Calls @data's callback.
 * Return: 0, -EINVAL if device dumps are disabled or @data is bad,
 * -ENODEV if this kernel serves no dump, -ENOMEM, or the callback's error.
 */
int vmcore_add_device_dump(struct vmcoredd_data *data)
{
	int ret;

	if (vmcoredd_disabled) {
		pr_err_once("Device dump is disabled\n");
		return -EINVAL;
	}
	mutex_lock(&kdump_vmcore_lock);
	ret = kdump_vmcore_add_device_dump(data);
	mutex_unlock(&kdump_vmcore_lock);
	return ret;
}
EXPORT_SYMBOL(vmcore_add_device_dump);
#endif /* CONFIG_PROC_VMCORE_DEVICE_DUMP */
