// SPDX-License-Identifier: GPL-2.0

#include <linux/cc_platform.h>

bool rust_helper_cc_platform_has(enum cc_attr attr)
{
	return cc_platform_has(attr);
}
