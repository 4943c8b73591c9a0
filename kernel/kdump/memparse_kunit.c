// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit cases for the Rust crash-dump core: its memparse() twin must return
 * the same value and end position as the C memparse() for every input.
 */
#include <kunit/test.h>
#include <linux/kdump_rust.h>
#include <linux/kernel.h>
#include <linux/string.h>

static const char *const memparse_inputs[] = {
	"0", "1", "7k", "7K", "64M", "64m", "1G", "1g", "2T", "3P", "15E", "16E",
	"0x10", "0X1f", "0xfM", "0x", "0xg", "0x1e", "017", "08", "010k",
	"1e", "256M@16M", "512M-2G:64M", "1G,high", "128M,low",
	"", "M", "-1", " 1", "+1", "high",
	"18446744073709551615", "18446744073709551616",
	"99999999999999999999G", "0xffffffffffffffffK",
	"0x8000000000000000", "777777777777777777777777",
};

static void kdump_rust_memparse_matches_c(struct kunit *test)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(memparse_inputs); i++) {
		const char *in = memparse_inputs[i];
		char *c_end, *rust_end;
		unsigned long long c_val = memparse(in, &c_end);
		unsigned long long rust_val = kdump_rust_memparse(in, &rust_end);

		KUNIT_EXPECT_EQ_MSG(test, rust_val, c_val, "value of \"%s\"", in);
		KUNIT_EXPECT_PTR_EQ_MSG(test, rust_end, c_end,
					"end of \"%s\"", in);
	}
}

static void kdump_rust_memparse_null_retptr(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, kdump_rust_memparse("4K", NULL), 4096ULL);
}

static struct kunit_case kdump_rust_memparse_cases[] = {
	KUNIT_CASE(kdump_rust_memparse_matches_c),
	KUNIT_CASE(kdump_rust_memparse_null_retptr),
	{}
};

static struct kunit_suite kdump_rust_memparse_suite = {
	.name = "kdump_rust_memparse",
	.test_cases = kdump_rust_memparse_cases,
};

kunit_test_suite(kdump_rust_memparse_suite);

MODULE_DESCRIPTION("KUnit tests for the Rust crash dump core");
MODULE_LICENSE("GPL");
