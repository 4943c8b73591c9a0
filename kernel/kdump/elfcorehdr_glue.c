// SPDX-License-Identifier: GPL-2.0
/*
 * What the Rust ELF core header builder (kernel/kdump/elfcorehdr.rs) needs
 * from C: values that are macros, per-CPU pointers or linker symbols,
 * vzalloc(), which is a macro too, and the walk over RAM of arm64's and
 * riscv's prepare_elf_headers().
 */
#include <linux/crash_core.h>
#include <linux/elf.h>
#include <linux/kdump_rust.h>
#include <linux/kexec.h>
#include <linux/memblock.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/ioport.h>
#include <linux/vmalloc.h>
#include <linux/vmcore_info.h>
#include <asm/sections.h>

void kdump_elfcorehdr_machine(struct kdump_elfcorehdr_machine *m)
{
	m->machine = ELF_ARCH;
	m->osabi = ELF_OSABI;
	m->nr_cpus = num_possible_cpus();
	m->cpu_note_size = sizeof(note_buf_t);
	m->vmcoreinfo = paddr_vmcoreinfo_note();
	m->vmcoreinfo_size = VMCOREINFO_NOTE_SIZE;
	m->text = (unsigned long)_text;
	m->text_size = _end - _text;
	m->text_pa = __pa_symbol(_text);
#ifdef CONFIG_ARM64
	/*
	 * arm64's __va(x) is (x - PHYS_OFFSET) | PAGE_OFFSET; for RAM in the
	 * linear map (x - PHYS_OFFSET is below 2^(VA_BITS - 1)) the "|" is an
	 * addition, so __va() adds this constant.
	 */
	m->direct_map = PAGE_OFFSET - PHYS_OFFSET;
#else
	/*
	 * __va() is a constant offset on x86_64 (PAGE_OFFSET) and on riscv64
	 * (kernel_map.va_pa_offset).
	 */
	m->direct_map = (unsigned long)__va(0);
#endif
}

unsigned int kdump_crash_notes_paddr(u64 *out, unsigned int max)
{
	unsigned int cpu, n = 0;

	for_each_possible_cpu(cpu) {
		if (n == max)
			break;
		out[n++] = per_cpu_ptr_to_phys(per_cpu_ptr(crash_notes, cpu));
	}
	return n;
}

void *kdump_vzalloc(unsigned long size)
{
	return vzalloc(size);
}

struct crash_mem *kdump_crash_mem_alloc(unsigned int nr)
{
	struct crash_mem *cmem = vzalloc(struct_size(cmem, ranges, nr));

	if (cmem)
		cmem->max_nr_ranges = nr;
	return cmem;
}

#if defined(CONFIG_ARM64)
/* arm64's prepare_elf_headers() describes memblock memory. */
int kdump_walk_mem_ranges(int (*fn)(u64 start, u64 end, void *arg),
			  void *arg)
{
	phys_addr_t start, end;
	u64 i;
	int ret;

	for_each_mem_range(i, &start, &end) {
		ret = fn(start, end, arg);
		if (ret)
			return ret;
	}
	return 0;
}
#elif defined(CONFIG_RISCV)
/* riscv's prepare_elf_headers() describes the System RAM resources. */
struct kdump_ram_walk {
	int (*fn)(u64 start, u64 end, void *arg);
	void *arg;
};

static int kdump_ram_res(struct resource *res, void *arg)
{
	struct kdump_ram_walk *walk = arg;

	/* Resource ends are inclusive; a range's end here is exclusive. */
	return walk->fn(res->start, res->end + 1, walk->arg);
}

int kdump_walk_mem_ranges(int (*fn)(u64 start, u64 end, void *arg),
			  void *arg)
{
	struct kdump_ram_walk walk = { .fn = fn, .arg = arg };

	return walk_system_ram_res(0, -1, &walk, kdump_ram_res);
}
#endif
