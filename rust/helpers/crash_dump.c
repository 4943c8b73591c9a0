// SPDX-License-Identifier: GPL-2.0

#include <linux/crash_dump.h>

#ifdef CONFIG_CRASH_DUMP
int rust_helper_is_vmcore_usable(void)
{
	return is_vmcore_usable();
}

void rust_helper_vmcore_unusable(void)
{
	vmcore_unusable();
}

bool rust_helper_is_kdump_kernel(void)
{
	return is_kdump_kernel();
}
#endif /* CONFIG_CRASH_DUMP */
