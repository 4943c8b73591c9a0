// SPDX-License-Identifier: GPL-2.0

#include <linux/fs.h>

struct inode *rust_helper_file_inode(const struct file *f)
{
	return file_inode(f);
}
