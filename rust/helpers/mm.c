// SPDX-License-Identifier: GPL-2.0

#include <linux/mm.h>

#ifdef CONFIG_MMU
void rust_helper_vm_flags_mod(struct vm_area_struct *vma, vm_flags_t set,
			      vm_flags_t clear)
{
	vm_flags_mod(vma, set, clear);
}

unsigned long rust_helper_my_zero_pfn(unsigned long addr)
{
	return my_zero_pfn(addr);
}
#endif /* CONFIG_MMU */
