// SPDX-License-Identifier: GPL-2.0

#include <linux/proc_fs.h>

#ifdef CONFIG_PROC_FS
void *rust_helper_pde_data(const struct inode *inode)
{
	return pde_data(inode);
}
#endif /* CONFIG_PROC_FS */
