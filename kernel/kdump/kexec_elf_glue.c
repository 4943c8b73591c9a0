// SPDX-License-Identifier: GPL-2.0
/*
 * kexec_build_elf_info() with CONFIG_KEXEC_IMAGE_RUST: the checks of the ELF
 * executable given to kexec_file_load() are Rust's (kernel/kdump/kexec_elf.rs
 * over the kdump core's kexec_elf). C allocates the program headers, as
 * kernel/kexec_elf.c does, so that kexec_free_elf_info() frees them: between
 * the ELF header's checks and the program headers', so that the same image
 * gets the same errno as from C, -ENOMEM included.
 */
#include <linux/build_bug.h>
#include <linux/elf.h>
#include <linux/kdump_rust.h>
#include <linux/kexec.h>
#include <linux/slab.h>
#include <linux/string.h>

int kexec_build_elf_info(const char *buf, size_t len, struct elfhdr *ehdr,
			 struct kexec_elf_info *elf_info)
{
	struct elf_phdr *phdrs = NULL;
	size_t nr = 0;
	int ret;

	/* The Rust checks read ELF64, the class of the kernels that use them. */
	BUILD_BUG_ON(ELF_CLASS != ELFCLASS64);

	ret = kdump_rust_kexec_elf_read_ehdr(buf, len, ehdr);
	if (ret)
		return ret;

	if (ehdr->e_phoff > 0 && ehdr->e_phnum > 0) {
		nr = ehdr->e_phnum;
		phdrs = kcalloc(nr, sizeof(*phdrs), GFP_KERNEL);
		if (!phdrs)
			return -ENOMEM;
	}

	ret = kdump_rust_kexec_elf_check(buf, len, ehdr, phdrs, nr);
	if (ret) {
		kfree(phdrs);
		memset(elf_info, 0, sizeof(*elf_info));
		return ret;
	}

	elf_info->buffer = buf;
	elf_info->ehdr = ehdr;
	elf_info->proghdrs = phdrs;
	return 0;
}
