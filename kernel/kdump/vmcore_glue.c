// SPDX-License-Identifier: GPL-2.0
/*
 * Starts the Rust /proc/vmcore (kernel/kdump/vmcore.rs) at the same point
 * of boot as the C provider it replaces.
 */

#include <linux/init.h>
#include <linux/kdump_rust.h>

static int __init kdump_vmcore_initcall(void)
{
	return kdump_vmcore_init();
}
fs_initcall(kdump_vmcore_initcall);
