// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for the kernel crate's proc_fs, mm and crash_dump modules, which
 * the Rust /proc/vmcore provider (kernel/kdump/vmcore.rs) uses.
 */

#ifdef CONFIG_PROC_VMCORE_RUST

#include <linux/cc_platform.h>
#include <linux/crash_dump.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/vmalloc.h>

bool rust_helper_cc_platform_has(enum cc_attr attr)
{
	return cc_platform_has(attr);
}

void *rust_helper_pde_data(const struct inode *inode)
{
	return pde_data(inode);
}

struct inode *rust_helper_file_inode(const struct file *f)
{
	return file_inode(f);
}

void *rust_helper_vmalloc_user(unsigned long size)
{
	return vmalloc_user(size);
}

void rust_helper_vm_flags_mod(struct vm_area_struct *vma, vm_flags_t set,
			      vm_flags_t clear)
{
	vm_flags_mod(vma, set, clear);
}

unsigned long rust_helper_my_zero_pfn(unsigned long addr)
{
	return my_zero_pfn(addr);
}

int rust_helper_is_vmcore_usable(void)
{
	return is_vmcore_usable();
}

void rust_helper_vmcore_unusable(void)
{
	vmcore_unusable();
}

void rust_helper_cond_resched(void)
{
	cond_resched();
}

#endif /* CONFIG_PROC_VMCORE_RUST */
