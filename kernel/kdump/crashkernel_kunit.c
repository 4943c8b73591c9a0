// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit cases for parse_crashkernel(): the C one of kernel/crash_reserve.c,
 * or its Rust twin (kernel/kdump/reserve.rs) with CONFIG_CRASH_RESERVE_RUST.
 * The same table runs on both kernels, so both are held to the expected
 * values, which follow the C function's documented behaviour; the host
 * differential test (tools/testing/kdump/cref) compares the two on a
 * million generated command lines.
 */
#include <kunit/test.h>
#include <linux/crash_reserve.h>
#include <linux/kernel.h>
#include <linux/sizes.h>
#include <linux/string.h>

struct crashkernel_case {
	const char *cmdline;
	unsigned long long ram;
	int ret;
	unsigned long long size, base, low;
	bool high;
	bool default_low;	/* low == DEFAULT_CRASH_KERNEL_LOW_SIZE */
};

static const struct crashkernel_case cases[] __initconst = {
	{ "crashkernel=256M", SZ_1G, 0, SZ_256M, 0, 0, false },
	{ "ro crashkernel=64M@16M quiet", SZ_1G, 0, SZ_64M, SZ_16M, 0, false },
	{ "crashkernel=512M-2G:64M,2G-:128M", SZ_1G, 0, SZ_64M, 0, 0, false },
	{ "crashkernel=512M-2G:64M,2G-:128M", SZ_4G, 0, SZ_128M, 0, 0, false },
	{ "crashkernel=512M-2G:64M,2G-:128M", SZ_256M, -EINVAL, 0, 0, 0, false },
	{ "crashkernel=1G-:128M@32M", SZ_2G, 0, SZ_128M, SZ_32M, 0, false },
	{ "crashkernel=256M,high crashkernel=64M,low", SZ_8G, 0, SZ_256M, 0,
	  SZ_64M, true },
	{ "crashkernel=256M,high", SZ_8G, 0, SZ_256M, 0, 0, true, true },
	{ "crashkernel=256M,high crashkernel=128M", SZ_8G, 0, SZ_128M, 0, 0,
	  false },
	{ "crashkernel=64M crashkernel=128M", SZ_1G, 0, SZ_128M, 0, 0, false },
	{ "crashkernel=2G", SZ_1G, -EINVAL, SZ_2G, 0, 0, false },
	{ "crashkernel=99999999999999999999G", SZ_1G, -EINVAL,
	  0x58c3ffffc0000000ULL, 0, 0, false },
	{ "crashkernel=1G-:", SZ_2G, -EINVAL, 0, 0, 0, false },
	{ "crashkernel=2G-1G:64M", SZ_4G, -EINVAL, 0, 0, 0, false },
	{ "crashkernel=64Mjunk", SZ_1G, -EINVAL, SZ_64M, 0, 0, false },
	{ "crashkernel=0,high", SZ_8G, -EINVAL, 0, 0, 0, false },
	{ "crashkernel=64M,low", SZ_8G, -EINVAL, 0, 0, 0, false },
	{ "quiet", SZ_1G, -EINVAL, 0, 0, 0, false },
};

static void __init kdump_parse_crashkernel_table(struct kunit *test)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct crashkernel_case *c = &cases[i];
		unsigned long long size = ~0ULL, base = ~0ULL, low = 0;
		unsigned long long want_low = c->default_low ?
			DEFAULT_CRASH_KERNEL_LOW_SIZE : c->low;
		bool high = false;
		char buf[96];
		int ret;

		strscpy(buf, c->cmdline, sizeof(buf));
		ret = parse_crashkernel(buf, c->ram, &size, &base, &low, &high);
		KUNIT_EXPECT_EQ_MSG(test, ret, c->ret, "ret of \"%s\"", c->cmdline);
		KUNIT_EXPECT_EQ_MSG(test, size, c->size, "size of \"%s\"",
				    c->cmdline);
		KUNIT_EXPECT_EQ_MSG(test, base, c->base, "base of \"%s\"",
				    c->cmdline);
		KUNIT_EXPECT_EQ_MSG(test, low, want_low, "low of \"%s\"",
				    c->cmdline);
		KUNIT_EXPECT_EQ_MSG(test, high, c->high, "high of \"%s\"",
				    c->cmdline);
	}
}

static void __init kdump_parse_crashkernel_no_high(struct kunit *test)
{
	unsigned long long size, base;
	char buf[] = "crashkernel=256M,high";

	/* Without the high/low outputs the suffixed forms do not count. */
	KUNIT_EXPECT_EQ(test, parse_crashkernel(buf, SZ_8G, &size, &base,
						NULL, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, size, 0ULL);
}

/* parse_crashkernel() is __init in C: so are the cases, run at boot. */
static struct kunit_case __refdata kdump_crashkernel_cases[] = {
	KUNIT_CASE(kdump_parse_crashkernel_table),
	KUNIT_CASE(kdump_parse_crashkernel_no_high),
	{}
};

static struct kunit_suite kdump_crashkernel_suite = {
	.name = "kdump_crashkernel",
	.test_cases = kdump_crashkernel_cases,
};

kunit_test_init_section_suites(&kdump_crashkernel_suite);

MODULE_DESCRIPTION("KUnit tests for the crashkernel= parser");
MODULE_LICENSE("GPL");
