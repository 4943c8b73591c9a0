/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C prototypes of the crash-dump functions implemented in Rust
 * (kernel/kdump/, rust/kdump/). Each keeps the name of its Rust face and the
 * signature of the C function it mirrors.
 */
#ifndef _LINUX_KDUMP_RUST_H
#define _LINUX_KDUMP_RUST_H

#ifdef CONFIG_CRASH_DUMP_RUST

#include <linux/types.h>

/**
 * kdump_rust_memparse() - parse a size with a K/M/G/T/P/E suffix, in Rust
 * @ptr: NUL-terminated string where parsing begins
 * @retptr: if not NULL, set to the first character after the parsed size
 *
 * The Rust core's twin of memparse(): same bases (0x hexadecimal, leading 0
 * octal, decimal), same suffixes in either case, same value for numbers that
 * do not fit in 64 bits (they wrap) and same end position.
 *
 * Context: Any context; does not sleep or allocate.
 * Return: The parsed value, or 0 if @ptr does not start with a number.
 */
unsigned long long kdump_rust_memparse(const char *ptr, char **retptr);

#ifdef CONFIG_CRASH_RESERVE_RUST

/**
 * struct kdump_crash_limits - architecture limits of the crashkernel= reservation
 * @align: alignment of the reservations (CRASH_ALIGN)
 * @low_max: end of low memory, exclusive (CRASH_ADDR_LOW_MAX)
 * @high_max: end of the high search window, exclusive (CRASH_ADDR_HIGH_MAX)
 * @default_low_size: low companion size when none is given
 *	(DEFAULT_CRASH_KERNEL_LOW_SIZE)
 * @iomem_early: the architecture inserts the "Crash kernel" resources into
 *	iomem_resource at reservation time (HAVE_ARCH_ADD_CRASH_RES_TO_IOMEM_EARLY)
 *	rather than from an early initcall
 *
 * Several of these are macros, some computed at boot; C fills them in for the
 * Rust reservation code.
 */
struct kdump_crash_limits {
	u64 align;
	u64 low_max;
	u64 high_max;
	u64 default_low_size;
	bool iomem_early;
};

/**
 * kdump_crash_reserve_limits() - read the architecture's reservation limits
 * @limits: filled in
 *
 * Context: Early boot (setup_arch()) or later.
 */
void kdump_crash_reserve_limits(struct kdump_crash_limits *limits);

/**
 * kdump_memblock_phys_alloc_range() - memblock_phys_alloc_range() for Rust
 * @size: bytes to reserve
 * @align: alignment of the base
 * @start: lowest acceptable base
 * @end: end of the window, exclusive
 *
 * A __ref wrapper: the Rust caller is not in .init.text.
 *
 * Context: setup_arch() only, while memblock is the allocator.
 * Return: the base, or 0 if nothing fits.
 */
phys_addr_t kdump_memblock_phys_alloc_range(phys_addr_t size,
					    phys_addr_t align,
					    phys_addr_t start,
					    phys_addr_t end);

/**
 * kdump_memblock_phys_free() - memblock_phys_free() for Rust
 * @base: base of a block from kdump_memblock_phys_alloc_range()
 * @size: its size
 *
 * Context: setup_arch() only, while memblock is the allocator.
 */
void kdump_memblock_phys_free(phys_addr_t base, phys_addr_t size);

/**
 * kdump_kmemleak_ignore_phys() - kmemleak_ignore_phys(), callable from Rust
 * @phys: physical address of the block kmemleak must not scan
 *
 * kmemleak_ignore_phys() is a static inline when kmemleak is off.
 */
void kdump_kmemleak_ignore_phys(phys_addr_t phys);

/**
 * kdump_crash_log_reserved() - log a reservation as C logs it
 * @base: first byte reserved
 * @size: bytes reserved
 * @low: the low companion reservation rather than the main one
 *
 * Prints "crashkernel reserved: ..." or "crashkernel low memory reserved:
 * ...", the text of kernel/crash_reserve.c, which scripts look for.
 *
 * Context: Any context.
 */
void kdump_crash_log_reserved(u64 base, u64 size, bool low);

/**
 * kdump_crash_log_in_use() - log that a fixed-base reservation failed, as C
 *
 * Prints "crashkernel reservation failed - memory is in use.", the text of
 * kernel/crash_reserve.c for a crashkernel=size@offset that cannot be
 * reserved.
 *
 * Context: Any context.
 */
void kdump_crash_log_in_use(void);

/**
 * kdump_crash_log_no_room() - log that no memory was found, as C logs it
 * @size: bytes that could not be reserved
 * @low: for the low companion reservation rather than the main one
 *
 * Prints "cannot allocate crashkernel (size:...)" or "cannot allocate
 * crashkernel low memory (size:...).", the text of kernel/crash_reserve.c.
 *
 * Context: Any context.
 */
void kdump_crash_log_no_room(u64 size, bool low);

#endif /* CONFIG_CRASH_RESERVE_RUST */

#if defined(CONFIG_CRASH_DUMP_RUST_KUNIT_TEST) && defined(CONFIG_KEXEC_FILE)
struct kexec_sha_region;

/**
 * kdump_rust_purgatory_verify() - check regions against a SHA-256 digest, in Rust
 * @regions: table of @n regions; here @start is a kernel virtual address
 * @n: number of entries, empty ones (len 0) included
 * @digest: the expected SHA-256 (32 bytes)
 *
 * The digest check the Rust purgatory performs before it enters the next
 * kernel (kdump::purgatory in the Rust core), exposed for the KUnit suite
 * kdump_rust_purgatory. Regions are hashed in table order.
 *
 * Context: Any context; does not sleep or allocate.
 * Return: 0 if the regions match, -EBADMSG if not, -EFAULT if a non-empty
 * region starts at address 0, -EINVAL if @regions or @digest is NULL.
 */
int kdump_rust_purgatory_verify(const struct kexec_sha_region *regions,
				size_t n, const u8 *digest);
#endif

#ifdef CONFIG_CRASH_ELFCOREHDR_RUST
/*
 * crash_prepare_elf64_headers() and crash_exclude_mem_range(), declared in
 * <linux/crash_core.h>, are implemented in Rust by kernel/kdump/elfcorehdr.rs.
 */
#include <linux/crash_core.h>
#include <linux/vmalloc.h>

/**
 * struct kdump_elfcorehdr_machine - what the ELF core header describes
 * @machine: e_machine (ELF_ARCH)
 * @osabi: e_ident[EI_OSABI] (ELF_OSABI)
 * @nr_cpus: num_possible_cpus()
 * @cpu_note_size: sizeof(note_buf_t), the size of each CPU's crash note
 * @vmcoreinfo: physical address of the VMCOREINFO note
 * @vmcoreinfo_size: VMCOREINFO_NOTE_SIZE
 * @text: virtual address of _text
 * @text_size: _end - _text
 * @text_pa: __pa_symbol(_text)
 * @direct_map: the offset of the direct map: __va(x) - x for RAM at x
 */
struct kdump_elfcorehdr_machine {
	u16 machine;
	u8 osabi;
	u32 nr_cpus;
	u64 cpu_note_size;
	u64 vmcoreinfo;
	u64 vmcoreinfo_size;
	u64 text;
	u64 text_size;
	u64 text_pa;
	u64 direct_map;
};

/**
 * kdump_elfcorehdr_machine() - fill in &struct kdump_elfcorehdr_machine
 * @m: filled in
 *
 * Context: Process context.
 */
void kdump_elfcorehdr_machine(struct kdump_elfcorehdr_machine *m);

/**
 * kdump_crash_notes_paddr() - physical addresses of the per-CPU crash notes
 * @out: receives one address per possible CPU, in CPU order
 * @max: room in @out
 *
 * Context: Process context.
 * Return: the number of addresses written.
 */
unsigned int kdump_crash_notes_paddr(u64 *out, unsigned int max);

/**
 * kdump_vzalloc() - vzalloc(), which is a macro, for Rust
 * @size: bytes
 *
 * Context: Process context; may sleep.
 * Return: zeroed vmalloc memory, or NULL.
 */
void *kdump_vzalloc(unsigned long size);

#ifdef CONFIG_X86_64
/**
 * kdump_rust_prepare_elf_headers() - the x86 ELF core header, in Rust
 * @addr: receives the vzalloc()ed header
 * @sz: receives its size
 * @nr_mem_ranges: receives the number of RAM ranges it describes
 *
 * The Rust twin of prepare_elf_headers() in arch/x86/kernel/crash.c
 * (arch/x86/kernel/crash_elf_rust.rs): System RAM from the iomem resource
 * tree, minus the low 1 MiB and the crash kernel reservations, then
 * crash_prepare_elf64_headers() with the kernel map.
 *
 * Context: Process context; may sleep.
 * Return: 0, -ENOMEM, or -EINVAL if the resource walk did not give sorted,
 * disjoint ranges.
 */
int kdump_rust_prepare_elf_headers(void **addr, unsigned long *sz,
				   unsigned long *nr_mem_ranges);
#endif

#if defined(CONFIG_ARM64) || defined(CONFIG_RISCV)
/**
 * kdump_rust_prepare_elf_headers() - the arm64 and riscv ELF core header, in Rust
 * @addr: receives the vzalloc()ed header
 * @sz: receives its size
 *
 * The Rust twin of prepare_elf_headers() in
 * arch/{arm64,riscv}/kernel/machine_kexec_file.c
 * (kernel/kdump/elfcorehdr_ram.rs): the RAM ranges of
 * kdump_walk_mem_ranges(), minus crashk_res and, if reserved,
 * crashk_low_res, then crash_prepare_elf64_headers() with the kernel map.
 *
 * Context: Process context; may sleep.
 * Return: 0, -ENOMEM if there is no memory or RAM was added during the
 * call, or -EINVAL if the walk did not give sorted, disjoint ranges.
 */
int kdump_rust_prepare_elf_headers(void **addr, unsigned long *sz);
#endif

#if defined(CONFIG_ARM64) || defined(CONFIG_RISCV)
/**
 * kdump_walk_mem_ranges() - the RAM the architecture's ELF core header describes
 * @fn: called with the start and the exclusive end of each RAM range, in
 *	address order, and @arg; a non-zero return stops the walk
 * @arg: passed to @fn
 *
 * The ranges the C prepare_elf_headers() of the architecture starts from:
 * memblock memory on arm64 (for_each_mem_range(), a macro), the System
 * RAM resources on riscv (walk_system_ram_res()).
 *
 * Context: Process context; may sleep.
 * Return: 0, or the first non-zero value @fn (or the walk) returned.
 */
int kdump_walk_mem_ranges(int (*fn)(u64 start, u64 end, void *arg),
			  void *arg);
#endif

/**
 * kdump_crash_mem_alloc() - a zeroed &struct crash_mem with @nr slots
 * @nr: max_nr_ranges
 *
 * Context: Process context; may sleep.
 * Return: the crash_mem (free with vfree()), or NULL.
 */
struct crash_mem *kdump_crash_mem_alloc(unsigned int nr);
#endif /* CONFIG_CRASH_ELFCOREHDR_RUST */

#ifdef CONFIG_KEXEC_IMAGE_RUST
/**
 * struct kdump_arm64_image_cpu - what the CPUs can run, for the Image checks
 * @big_endian: IS_ENABLED(CONFIG_CPU_BIG_ENDIAN)
 * @mixed_endian: system_supports_mixed_endian()
 * @granule_4k: system_supports_4kb_granule()
 * @granule_16k: system_supports_16kb_granule()
 * @granule_64k: system_supports_64kb_granule()
 */
struct kdump_arm64_image_cpu {
	bool big_endian;
	bool mixed_endian;
	bool granule_4k;
	bool granule_16k;
	bool granule_64k;
};

/**
 * kdump_arm64_image_cpu() - fill in &struct kdump_arm64_image_cpu
 * @cpu: filled in
 *
 * The CPU feature tests are static inlines Rust cannot call.
 *
 * Context: Any context, after the CPU features are finalised.
 */
void kdump_arm64_image_cpu(struct kdump_arm64_image_cpu *cpu);

/**
 * kdump_rust_image_probe() - is this an arm64 Image, in Rust
 * @kernel_buf: the kernel given to kexec_file_load(), or NULL
 * @kernel_len: its length
 *
 * The Rust twin of image_probe() in arch/arm64/kernel/kexec_image.c
 * (arch/arm64/kernel/kexec_image_rust.rs): a whole 64-byte header with the
 * magic "ARM\x64" at offset 56. A refusal is logged once with the field.
 *
 * Context: Process context.
 * Return: 0, or -EINVAL if it is not an arm64 Image.
 */
int kdump_rust_image_probe(const char *kernel_buf, unsigned long kernel_len);

/**
 * kdump_rust_image_check() - can this kernel run the Image, in Rust
 * @kernel: an Image that passed image_probe(), or NULL
 * @kernel_len: its length
 *
 * The checks at the start of image_load() in arch/arm64/kernel/kexec_image.c:
 * image_size is not 0, the Image's endianness is this kernel's unless the
 * CPUs run both, and its page size, if given, is a granule the CPUs support.
 * The magic is not checked again. A refusal is logged once with the field.
 *
 * Context: Process context.
 * Return: 0, or -EINVAL if the Image cannot be loaded here.
 */
int kdump_rust_image_check(const char *kernel, unsigned long kernel_len);
#endif /* CONFIG_KEXEC_IMAGE_RUST */

#if defined(CONFIG_KEXEC_IMAGE_RUST) && defined(CONFIG_KEXEC_ELF)
#include <linux/elf.h>

/**
 * kdump_rust_kexec_elf_read_ehdr() - read and check an ELF image's header, in Rust
 * @buf: the kernel given to kexec_file_load(), or NULL
 * @len: its length
 * @ehdr: filled in on success
 *
 * The Rust twin of elf_read_ehdr() with elf_is_ehdr_sane() in
 * kernel/kexec_elf.c (kernel/kdump/kexec_elf.rs): a whole ELF64 header with
 * the ELF magic, either byte order, e_ehsize 64, e_phentsize and
 * e_shentsize right where there are entries, EV_CURRENT in e_ident and
 * e_version, and the program and section header tables inside @buf without
 * wrapping. @ehdr is left as C leaves it: every field in the CPU's byte
 * order, e_ehsize 0. A refusal is logged once with the field.
 *
 * Context: Process context.
 * Return: 0, or -ENOEXEC if the image is refused.
 */
int kdump_rust_kexec_elf_read_ehdr(const char *buf, size_t len,
				   struct elfhdr *ehdr);

/**
 * kdump_rust_kexec_elf_check() - check an ELF image for kexec_file_load(), in Rust
 * @buf: the kernel given to kexec_file_load(), or NULL
 * @len: its length
 * @ehdr: filled in on success, as by kdump_rust_kexec_elf_read_ehdr()
 * @phdrs: zeroed room for @nr program headers, or NULL; filled in on success
 * @nr: e_phnum if the image has a program header table (e_phoff and e_phnum
 *	not 0), else 0
 *
 * The checks of kexec_build_elf_info() in kernel/kexec_elf.c, in its order:
 * the ELF header's (again), then each program header's (its file bytes in
 * @buf and its physical range without wrapping), then e_type ET_EXEC or
 * ET_DYN, a program header table, and no PT_INTERP. The program headers
 * are copied in the CPU's byte order. A refusal is logged once with the
 * field.
 *
 * Context: Process context.
 * Return: 0, or -ENOEXEC if the image is refused.
 */
int kdump_rust_kexec_elf_check(const char *buf, size_t len,
			       struct elfhdr *ehdr, struct elf_phdr *phdrs,
			       size_t nr);
#endif /* CONFIG_KEXEC_IMAGE_RUST && CONFIG_KEXEC_ELF */

#ifdef CONFIG_KEXEC_PURGATORY_RUST
/*
 * arch_kexec_apply_relocations_add(), declared in <asm/kexec.h>, is
 * implemented in Rust by arch/x86/kernel/purgatory_reloc.rs. Its bindings
 * need struct purgatory_info and Elf64_Shdr.
 */
#include <linux/kexec.h>
#endif /* CONFIG_KEXEC_PURGATORY_RUST */

#ifdef CONFIG_CRASH_HANDOFF_RUST
/*
 * crash_kexec() and __crash_kexec(), declared in <linux/crash_core.h>, are
 * thin C functions in kernel/kdump/handoff_glue.c over the Rust handoff of
 * kernel/kdump/handoff.rs. Its bindings need kexec_crash_image,
 * machine_kexec(), crash_save_vmcoreinfo() and, from <linux/reboot.h>,
 * machine_crash_shutdown(); panic_cpu comes with <linux/panic.h>.
 */
#include <linux/kexec.h>
#include <linux/panic.h>
#include <linux/reboot.h>

struct pt_regs;

/**
 * kdump_rust_crash_kexec_locked() - __crash_kexec() in Rust
 * @regs: the registers the crash dump records: those of the fault (an
 *        oops), or the current ones, captured by the caller
 *
 * Enters the loaded crash kernel if the kexec lock is free. The caller owns
 * the panic path. @regs is copied before anything else runs; the caller
 * captures them in its own frame, which stays live until the jump, so that
 * a debugger unwinding the dump walks live frames (crash_setup_regs() is
 * inline assembly, which Rust cannot inline).
 *
 * Context: The panic path: any context, interrupts off. Does not sleep,
 * allocate or lock.
 */
void kdump_rust_crash_kexec_locked(struct pt_regs *regs);

/**
 * kdump_rust_crash_kexec() - crash_kexec() in Rust
 * @this_cpu: the CPU this runs on
 * @regs: as for kdump_rust_crash_kexec_locked()
 *
 * Claims the panic path for @this_cpu, enters the crash kernel, and gives
 * the panic path back if that returns; does nothing if another CPU, or this
 * one, owns it already.
 *
 * Context: Preemption off, possibly in NMI context. Does not sleep,
 * allocate or lock.
 */
void kdump_rust_crash_kexec(int this_cpu, struct pt_regs *regs);

/**
 * kdump_kexec_lock_word() - the kexec lock (__kexec_lock)
 *
 * The lock that keeps kexec_load() and kexec_file_load() from replacing the
 * crash image during the handoff: an atomic_t, 0 free and 1 held, only ever
 * tried (see kexec_trylock() in kernel/kexec_internal.h, which declares it
 * for kernel/ only).
 *
 * Context: Any context.
 * Return: its address.
 */
atomic_t *kdump_kexec_lock_word(void);

#endif /* CONFIG_CRASH_HANDOFF_RUST */

#ifdef CONFIG_PROC_VMCORE_RUST
/*
 * /proc/vmcore is served by kernel/kdump/vmcore.rs, over the kernel crate's
 * proc_fs, mm and crash_dump modules, whose bindings need these.
 */
#include <linux/cc_platform.h>
#include <linux/crash_dump.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/proc_fs.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>

/**
 * kdump_vmcore_init() - set up /proc/vmcore in a capture kernel
 *
 * Reads and checks the ELF core header at elfcorehdr=, merges its notes and
 * creates /proc/vmcore. Does nothing in a kernel that is not capturing a
 * dump. A header that fails the checks is logged once with the field at
 * fault, and /proc/vmcore is not created.
 *
 * Context: Process context, once, from an fs_initcall; may sleep.
 * Return: 0, or a negative errno if the dump cannot be served.
 */
int kdump_vmcore_init(void);

/**
 * kdump_vmcore_cleanup() - remove /proc/vmcore and free the dump
 *
 * The Rust half of vmcore_cleanup(), which serialises it with
 * kdump_vmcore_add_device_dump().
 *
 * Context: Process context; may sleep.
 */
void kdump_vmcore_cleanup(void);

/**
 * kdump_vmcore_add_device_dump() - add a driver's dump to /proc/vmcore
 * @data: NULL or the dump's name, size and the callback that fills it
 *
 * The Rust half of vmcore_add_device_dump(): allocates a zeroed buffer of
 * the dump's note header and @data->size bytes rounded up to whole pages,
 * lets the callback fill it, and lays /proc/vmcore out again with the dump
 * first in the PT_NOTE segment, after the dumps added before, as the C
 * provider does.
 *
 * Context: Process context; may sleep. Callers serialise calls with each
 * other and with kdump_vmcore_cleanup().
 * Return: 0; -EINVAL if @data is NULL or its name is empty or not
 * terminated, its size 0 or too large, or its callback NULL; -ENODEV if this
 * kernel serves no dump; -ENOMEM; or the callback's non-zero return.
 */
int kdump_vmcore_add_device_dump(struct vmcoredd_data *data);

/**
 * kdump_vmcore_in_own_ram() - whether a range is RAM this kernel may use
 * @paddr: physical address of the first byte
 * @len: bytes in the range
 *
 * The ELF core header and old memory lie outside the capture kernel's
 * RAM, or in RAM set aside for them (reserved pages, as kexec_load's header
 * and backup region are). A range with a page of RAM that is neither is
 * this kernel's own memory: a bogus elfcorehdr= pointing there must be
 * refused before it is mapped (on x86 ioremap() WARNs on such RAM).
 *
 * Context: Any context.
 * Return: true if a page of the range is valid RAM that is not reserved.
 */
bool kdump_vmcore_in_own_ram(u64 paddr, u64 len);

/**
 * vmcore_rust_open() - mark /proc/vmcore as opened
 *
 * Kept with the vmcore_cb registry in fs/proc/vmcore.c: a callback that
 * registers after the first open is warned about, as with the C provider.
 *
 * Context: Process context; takes a spinlock.
 */
void vmcore_rust_open(void);

/**
 * vmcore_rust_has_callbacks() - whether any vmcore_cb is registered
 *
 * Asked on every read() and mmap() of /proc/vmcore, as the C provider asks
 * the registry each time: while one is registered, old memory is read and
 * mapped page by page through vmcore_rust_pfn_is_ram().
 *
 * Context: Process context; may sleep (SRCU read side).
 * Return: true if the registry is not empty.
 */
bool vmcore_rust_has_callbacks(void);

/**
 * vmcore_rust_pfn_is_ram() - ask the vmcore_cb registry about a page
 * @pfn: page frame number of old memory
 *
 * Context: Process context; may sleep (SRCU read side).
 * Return: false if a registered callback says the page is not RAM (its
 * contents must read as zeros), true otherwise.
 */
bool vmcore_rust_pfn_is_ram(unsigned long pfn);
#endif /* CONFIG_PROC_VMCORE_RUST */

#endif /* CONFIG_CRASH_DUMP_RUST */

#endif /* _LINUX_KDUMP_RUST_H */
