// SPDX-License-Identifier: GPL-2.0

#include <linux/uio.h>

size_t rust_helper_iov_iter_count(const struct iov_iter *i)
{
	return iov_iter_count(i);
}
