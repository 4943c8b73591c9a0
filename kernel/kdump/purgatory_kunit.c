// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit cases for the purgatory digest check of the Rust crash-dump core:
 * the regions purgatory hashes must match the digest computed by the
 * kernel's own SHA-256 (lib/crypto), and one changed byte anywhere, in a
 * segment or in the digest, must be refused.
 */
#include <crypto/sha2.h>
#include <kunit/test.h>
#include <linux/build_bug.h>
#include <linux/kdump_rust.h>
#include <linux/kexec.h>
#include <linux/purgatory.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/string.h>

/* The layout kernel/kdump/purgatory.rs checks its ShaRegion against. */
static_assert(sizeof(struct kexec_sha_region) == 16);
static_assert(offsetof(struct kexec_sha_region, start) == 0);
static_assert(offsetof(struct kexec_sha_region, len) == 8);

/* Three segments of odd sizes, spread over the table like kexec does. */
static const size_t seg_len[] = { 100, 4096, 5003 };

struct purgatory_fixture {
	u8 *seg[ARRAY_SIZE(seg_len)];
	struct kexec_sha_region regions[KEXEC_SEGMENT_MAX];
	u8 digest[SHA256_DIGEST_SIZE];
};

static void fixture_init(struct kunit *test, struct purgatory_fixture *f)
{
	struct sha256_state sctx;
	size_t i, j;

	memset(f, 0, sizeof(*f));
	sha256_init(&sctx);
	for (i = 0; i < ARRAY_SIZE(seg_len); i++) {
		f->seg[i] = kunit_kmalloc(test, seg_len[i], GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, f->seg[i]);
		for (j = 0; j < seg_len[i]; j++)
			f->seg[i][j] = (u8)(j * 7 + i);
		/* Entries 0, 2, 4 used, the others left empty. */
		f->regions[2 * i].start = (unsigned long)f->seg[i];
		f->regions[2 * i].len = seg_len[i];
		sha256_update(&sctx, f->seg[i], seg_len[i]);
	}
	sha256_final(&sctx, f->digest);
}

static int verify(struct purgatory_fixture *f)
{
	return kdump_rust_purgatory_verify(f->regions, KEXEC_SEGMENT_MAX,
					   f->digest);
}

static void kdump_rust_purgatory_intact(struct kunit *test)
{
	struct purgatory_fixture f;

	fixture_init(test, &f);
	KUNIT_EXPECT_EQ(test, verify(&f), 0);
}

static void kdump_rust_purgatory_flipped_segment_byte(struct kunit *test)
{
	struct purgatory_fixture f;
	size_t i, k;

	fixture_init(test, &f);
	for (i = 0; i < ARRAY_SIZE(seg_len); i++) {
		size_t pos[] = { 0, seg_len[i] / 2, seg_len[i] - 1 };

		for (k = 0; k < ARRAY_SIZE(pos); k++) {
			f.seg[i][pos[k]] ^= 0x01;
			KUNIT_EXPECT_EQ_MSG(test, verify(&f), -EBADMSG,
					    "segment %zu byte %zu", i, pos[k]);
			f.seg[i][pos[k]] ^= 0x01;
		}
	}
	KUNIT_EXPECT_EQ(test, verify(&f), 0);
}

static void kdump_rust_purgatory_flipped_digest_byte(struct kunit *test)
{
	struct purgatory_fixture f;
	size_t i;

	fixture_init(test, &f);
	for (i = 0; i < SHA256_DIGEST_SIZE; i++) {
		f.digest[i] ^= 0x80;
		KUNIT_EXPECT_EQ_MSG(test, verify(&f), -EBADMSG, "digest byte %zu",
				    i);
		f.digest[i] ^= 0x80;
	}
}

static void kdump_rust_purgatory_order_and_reach(struct kunit *test)
{
	struct purgatory_fixture f;
	struct kexec_sha_region tmp;

	fixture_init(test, &f);
	/* Hashing order is table order: swapping two segments mismatches. */
	tmp = f.regions[0];
	f.regions[0] = f.regions[2];
	f.regions[2] = tmp;
	KUNIT_EXPECT_EQ(test, verify(&f), -EBADMSG);
	f.regions[2] = f.regions[0];
	f.regions[0] = tmp;
	/* A non-empty region at address 0 is never read, only refused. */
	f.regions[7].start = 0;
	f.regions[7].len = 5;
	KUNIT_EXPECT_EQ(test, verify(&f), -EFAULT);
	KUNIT_EXPECT_EQ(test, kdump_rust_purgatory_verify(NULL, 0, f.digest),
			-EINVAL);
}

static struct kunit_case kdump_rust_purgatory_cases[] = {
	KUNIT_CASE(kdump_rust_purgatory_intact),
	KUNIT_CASE(kdump_rust_purgatory_flipped_segment_byte),
	KUNIT_CASE(kdump_rust_purgatory_flipped_digest_byte),
	KUNIT_CASE(kdump_rust_purgatory_order_and_reach),
	{}
};

static struct kunit_suite kdump_rust_purgatory_suite = {
	.name = "kdump_rust_purgatory",
	.test_cases = kdump_rust_purgatory_cases,
};

kunit_test_suite(kdump_rust_purgatory_suite);

MODULE_DESCRIPTION("KUnit tests for the Rust purgatory digest check");
MODULE_LICENSE("GPL");
