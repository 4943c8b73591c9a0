// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit cases for kexec_build_elf_info(), the checks kexec_file_load() makes
 * on the ELF executable it loads (riscv64, powerpc64): the C one of
 * kernel/kexec_elf.c, or with CONFIG_KEXEC_IMAGE_RUST the C glue around the
 * Rust checks (kernel/kdump/kexec_elf_glue.c, kexec_elf.rs). The same cases
 * run on both kernels, so both are held to the same expected values, which
 * follow the C function; the host differential test (tools/testing/kdump/
 * cref) compares the two on hundreds of thousands of generated images.
 */
#include <kunit/test.h>
#include <linux/elf.h>
#include <linux/kexec.h>
#include <linux/stddef.h>
#include <linux/string.h>

#define IMAGE_LEN	0x1100
#define IMAGE_ENTRY	0xffffffff80000000ULL

/* Writes the low @width bytes of @v at @at, in the image's byte order. */
static void put(u8 *b, size_t at, u64 v, int width, bool big)
{
	int i;

	for (i = 0; i < width; i++)
		b[at + (big ? width - 1 - i : i)] = v >> (8 * i);
}

#define EH(f)	offsetof(struct elf64_hdr, f)
#define PH(f)	(sizeof(struct elf64_hdr) + offsetof(struct elf64_phdr, f))
#define PUT_EH(b, f, v, big) \
	put(b, EH(f), v, sizeof_field(struct elf64_hdr, f), big)
#define PUT_PH(b, f, v, big) \
	put(b, PH(f), v, sizeof_field(struct elf64_phdr, f), big)

/*
 * A kernel as tools/testing/kdump gives it to kexec_file_load(): an
 * ET_EXEC for this machine whose one PT_LOAD (0x100 bytes from 0x1000, to
 * the end of the file) is described right after the ELF header.
 */
static u8 *image(struct kunit *test, bool big)
{
	u8 *b = kunit_kzalloc(test, IMAGE_LEN, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, b);
	memcpy(b, ELFMAG, SELFMAG);
	b[EI_CLASS] = ELFCLASS64;
	b[EI_DATA] = big ? ELFDATA2MSB : ELFDATA2LSB;
	b[EI_VERSION] = EV_CURRENT;
	PUT_EH(b, e_type, ET_EXEC, big);
	PUT_EH(b, e_machine, ELF_ARCH, big);
	PUT_EH(b, e_version, EV_CURRENT, big);
	PUT_EH(b, e_entry, IMAGE_ENTRY, big);
	PUT_EH(b, e_phoff, sizeof(struct elf64_hdr), big);
	PUT_EH(b, e_ehsize, sizeof(struct elf64_hdr), big);
	PUT_EH(b, e_phentsize, sizeof(struct elf64_phdr), big);
	PUT_EH(b, e_phnum, 1, big);
	/* No section headers, and e_shentsize 0: see the refusals. */
	PUT_PH(b, p_type, PT_LOAD, big);
	PUT_PH(b, p_flags, PF_R | PF_W | PF_X, big);
	PUT_PH(b, p_offset, 0x1000, big);
	PUT_PH(b, p_vaddr, IMAGE_ENTRY, big);
	PUT_PH(b, p_paddr, 0, big);
	PUT_PH(b, p_filesz, 0x100, big);
	PUT_PH(b, p_memsz, 0x2000, big);
	PUT_PH(b, p_align, 0x1000, big);
	return b;
}

static void accepted(struct kunit *test, bool big)
{
	const u8 *b = image(test, big);
	struct kexec_elf_info info;
	const struct elf_phdr *p;
	struct elfhdr ehdr;

	/* Callers do not initialise it; C needs it zeroed (stack init). */
	memset(&info, 0, sizeof(info));
	KUNIT_ASSERT_EQ(test, kexec_build_elf_info(b, IMAGE_LEN, &ehdr, &info),
			0);
	KUNIT_EXPECT_EQ(test, ehdr.e_type, ET_EXEC);
	KUNIT_EXPECT_EQ(test, ehdr.e_machine, ELF_ARCH);
	KUNIT_EXPECT_EQ(test, ehdr.e_entry, IMAGE_ENTRY);
	KUNIT_EXPECT_EQ(test, ehdr.e_phoff, sizeof(struct elf64_hdr));
	KUNIT_EXPECT_EQ(test, ehdr.e_phnum, 1);
	KUNIT_EXPECT_EQ(test, ehdr.e_ident[EI_DATA],
			big ? ELFDATA2MSB : ELFDATA2LSB);
	/* elf_read_ehdr() checks e_ehsize but does not copy it. */
	KUNIT_EXPECT_EQ(test, ehdr.e_ehsize, 0);
	KUNIT_EXPECT_PTR_EQ(test, info.buffer, (const char *)b);
	KUNIT_EXPECT_PTR_EQ(test, info.ehdr, (const struct elfhdr *)&ehdr);
	p = info.proghdrs;
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, p->p_type, PT_LOAD);
	KUNIT_EXPECT_EQ(test, p->p_flags, PF_R | PF_W | PF_X);
	KUNIT_EXPECT_EQ(test, p->p_offset, 0x1000);
	KUNIT_EXPECT_EQ(test, p->p_vaddr, IMAGE_ENTRY);
	KUNIT_EXPECT_EQ(test, p->p_paddr, 0);
	KUNIT_EXPECT_EQ(test, p->p_filesz, 0x100);
	KUNIT_EXPECT_EQ(test, p->p_memsz, 0x2000);
	KUNIT_EXPECT_EQ(test, p->p_align, 0x1000);
	kexec_free_elf_info(&info);
	KUNIT_EXPECT_NULL(test, info.proghdrs);
	/* The whole probe: this machine's ELF executable. */
	KUNIT_EXPECT_EQ(test, kexec_elf_probe(b, IMAGE_LEN), 0);
}

static void kdump_kexec_elf_little_endian(struct kunit *test)
{
	accepted(test, false);
}

/* C reads either byte order, swapping: so must Rust. */
static void kdump_kexec_elf_big_endian(struct kunit *test)
{
	accepted(test, true);
}

/* One field of the image set to @value (@width bytes at @at). */
struct refusal {
	const char *what;
	size_t at;
	int width;
	u64 value;
	size_t len;		/* bytes given, 0 for IMAGE_LEN */
};

static const struct refusal refusals[] = {
	{ "shorter than an ELF header", 0, 1, 0x7f, 63 },
	{ "no ELF magic", 1, 1, 'e' },
	{ "ELFCLASS32", EI_CLASS, 1, ELFCLASS32 },
	{ "no byte order", EI_DATA, 1, ELFDATANONE },
	{ "e_ident[EI_VERSION] 0", EI_VERSION, 1, 0 },
	{ "e_version 2", EH(e_version), 4, 2 },
	{ "e_ehsize 52", EH(e_ehsize), 2, 52 },
	{ "e_phentsize 32", EH(e_phentsize), 2, 32 },
	{ "a section header of e_shentsize 0", EH(e_shnum), 2, 1 },
	{ "program headers past the end", EH(e_phoff), 8,
	  IMAGE_LEN - sizeof(struct elf64_phdr) + 1 },
	{ "program headers wrapping", EH(e_phoff), 8, ~0ULL - 8 },
	{ "ET_REL", EH(e_type), 2, ET_REL },
	{ "ET_CORE", EH(e_type), 2, ET_CORE },
	{ "no program header", EH(e_phnum), 2, 0 },
	{ "program headers at 0", EH(e_phoff), 8, 0 },
	{ "segment one byte past the end", PH(p_filesz), 8, 0x101 },
	{ "segment wrapping", PH(p_offset), 8, ~0ULL },
	{ "segment address wrapping", PH(p_paddr), 8, ~0ULL - 0x1000 },
	{ "PT_INTERP", PH(p_type), 4, PT_INTERP },
};

static void kdump_kexec_elf_refusals(struct kunit *test)
{
	const u8 *good = image(test, false);
	u8 *b = kunit_kzalloc(test, IMAGE_LEN, GFP_KERNEL);
	size_t i;

	KUNIT_ASSERT_NOT_NULL(test, b);
	for (i = 0; i < ARRAY_SIZE(refusals); i++) {
		const struct refusal *r = &refusals[i];
		struct kexec_elf_info info;
		struct elfhdr ehdr;
		int ret;

		memcpy(b, good, IMAGE_LEN);
		put(b, r->at, r->value, r->width, false);
		memset(&info, 0, sizeof(info));
		ret = kexec_build_elf_info(b, r->len ?: IMAGE_LEN, &ehdr, &info);
		KUNIT_EXPECT_EQ_MSG(test, ret, -ENOEXEC, "%s", r->what);
		KUNIT_EXPECT_NULL_MSG(test, info.proghdrs, "%s", r->what);
	}
}

static struct kunit_case kdump_kexec_elf_cases[] = {
	KUNIT_CASE(kdump_kexec_elf_little_endian),
	KUNIT_CASE(kdump_kexec_elf_big_endian),
	KUNIT_CASE(kdump_kexec_elf_refusals),
	{}
};

static struct kunit_suite kdump_kexec_elf_suite = {
	.name = "kdump_kexec_elf",
	.test_cases = kdump_kexec_elf_cases,
};

kunit_test_suite(kdump_kexec_elf_suite);

MODULE_DESCRIPTION("KUnit tests for the kexec_file_load ELF image checks");
MODULE_LICENSE("GPL");
