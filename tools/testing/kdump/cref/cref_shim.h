/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel definitions the upstream functions cut out by build.rs need
 * to compile for the host. Semantics follow the kernel's, not libc's (for
 * instance _tolower() only sets bit 5, and isxdigit() is ASCII-only).
 */
#ifndef CREF_SHIM_H
#define CREF_SHIM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define noinline __attribute__((noinline))
#define fallthrough __attribute__((__fallthrough__))
#define unlikely(x) __builtin_expect(!!(x), 0)
#define likely(x) __builtin_expect(!!(x), 1)

#define KSTRTOX_OVERFLOW (1U << 31)

static inline unsigned char _tolower(const unsigned char c)
{
	return c | 0x20;
}

static inline int isxdigit(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static inline uint64_t div_u64(uint64_t dividend, uint32_t divisor)
{
	return dividend / divisor;
}

/* lib/crypto/sha256.c and its headers */
typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;
typedef uint32_t __u32;
typedef uint32_t __be32;
typedef uint64_t __be64;
#define EXPORT_SYMBOL(s)
static inline u32 ror32(u32 word, unsigned int shift)
{
	return (word >> (shift & 31)) | (word << ((-shift) & 31));
}
static inline u32 get_unaligned_be32(const void *p)
{
	const u8 *b = p;

	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}
static inline void put_unaligned_be32(u32 v, void *p)
{
	u8 *b = p;

	b[0] = v >> 24; b[1] = v >> 16; b[2] = v >> 8; b[3] = v;
}
static inline __be64 cpu_to_be64(u64 v)
{
	return __builtin_bswap64(v);
}
static inline void memzero_explicit(void *s, size_t n)
{
	memset(s, 0, n);
	__asm__ __volatile__("" : : "r"(s) : "memory");
}

/* kernel/crash_reserve.c */
#define __init
#define __initdata
#define pr_warn(...) do { } while (0)
#define pr_info(...) do { } while (0)
#define BUG_ON(c) do { if (c) __builtin_trap(); } while (0)
#define roundup(x, y) ((((x) + ((y) - 1)) / (y)) * (y))
#define SZ_128M 0x08000000
#define EINVAL 22
#define ENOENT 2
#define CONFIG_ARCH_HAS_GENERIC_CRASHKERNEL_RESERVATION 1
/* x86_64 computes it at boot from the swiotlb size; the test sets it. */
static unsigned long long cref_default_low_size;
#define DEFAULT_CRASH_KERNEL_LOW_SIZE cref_default_low_size

/* arch/x86/kernel/machine_kexec_64.c: arch_kexec_apply_relocations_add() */
#include <elf.h>
typedef int32_t s32;
typedef int64_t s64;
typedef Elf64_Ehdr Elf_Ehdr;
typedef Elf64_Shdr Elf_Shdr;
#define ENOEXEC 8
#define pr_debug(...) do { } while (0)
#define pr_err(...) do { } while (0)
/* include/linux/kexec.h */
struct purgatory_info {
	const Elf_Ehdr *ehdr;
	Elf_Shdr *sechdrs;
	void *purgatory_buf;
};

/*
 * arch/riscv/kernel/machine_kexec_file.c: arch_kexec_apply_relocations_add(),
 * renamed riscv_kexec_apply_relocations_add() by build.rs. The R_RISCV_*
 * numbers come from <elf.h>.
 */
typedef uint16_t u16;
typedef Elf64_Sym Elf_Sym;

/* kernel/crash_core.c: crash_prepare_elf64_headers(), crash_exclude_mem_range() */
#include <stdlib.h>
#define ENOMEM 12
#define __counted_by(m)
#define ALIGN(x, a) (((x) + (a) - 1) & ~((typeof(x))(a) - 1))
#define ELF_CORE_HEADER_ALIGN 4096
#define ELF_OSABI ELFOSABI_NONE
/* The machine is the test's: x86_64 or arm64 (see cref_arm64 below). */
static unsigned int cref_elf_arch = EM_X86_64;
#define ELF_ARCH cref_elf_arch
struct range {
	u64 start;
	u64 end;
};
struct crash_mem {
	unsigned int max_nr_ranges;
	unsigned int nr_ranges;
	struct range ranges[] __counted_by(max_nr_ranges);
};
/*
 * sizeof(note_buf_t) = 2 * 12 + 8 ("CORE") + sizeof(struct elf_prstatus):
 * 368 on x86_64 (336), 424 on arm64 (392). A variably sized array type, so
 * that the test can pick the machine.
 */
static unsigned int cref_note_bytes = 368;
#define note_buf_t u32[cref_note_bytes / 4]
/* 2 * 12 + 12 ("VMCOREINFO") + PAGE_SIZE */
#define VMCOREINFO_NOTE_SIZE 4132
/* The machine the header describes, set by cref_elf64_headers(). */
static unsigned int cref_nr_cpus;
static const unsigned long long *cref_cpu_notes;
static unsigned long long cref_vmcoreinfo_paddr;
static unsigned long cref_text, cref_end, cref_text_pa, cref_page_offset;
/* arm64's __va() (arch/arm64/include/asm/memory.h) instead of x86_64's. */
static int cref_arm64;
static unsigned long cref_phys_offset;
#define num_possible_cpus() cref_nr_cpus
#define for_each_possible_cpu(cpu) for ((cpu) = 0; (cpu) < cref_nr_cpus; (cpu)++)
#define per_cpu_ptr(ptr, cpu) (cpu)
#define per_cpu_ptr_to_phys(cpu) cref_cpu_notes[cpu]
#define paddr_vmcoreinfo_note() cref_vmcoreinfo_paddr
#define _text ((char *)cref_text)
#define _end ((char *)cref_end)
#define __pa_symbol(x) cref_text_pa
#define __va(x)                                                               \
	((void *)(cref_arm64 ?                                                \
		  (((unsigned long)(x) - cref_phys_offset) | cref_page_offset) : \
		  ((unsigned long)(x) + cref_page_offset)))
#define vzalloc(n) calloc(1, (n))

/*
 * arch/arm64/kernel/machine_kexec_file.c: prepare_elf_headers(). memblock
 * is the test's array of [start, end) ranges.
 */
typedef u64 phys_addr_t;
struct resource {
	u64 start;
	u64 end;
};
static struct resource crashk_res, crashk_low_res;
static const u64 *cref_memblock;
static unsigned int cref_memblock_nr;
#define for_each_mem_range(i, p_start, p_end)                                 \
	for ((i) = 0; (i) < cref_memblock_nr &&                               \
		      (*(p_start) = cref_memblock[2 * (i)],                    \
		       *(p_end) = cref_memblock[2 * (i) + 1], 1);              \
	     (i)++)
#define struct_size(p, member, n) (sizeof(*(p)) + (n) * sizeof((p)->member[0]))
#define GFP_KERNEL 0
#define kmalloc(n, gfp) malloc(n)
#define kfree(p) free(p)

/*
 * kernel/crash_core.c: __crash_kexec(), crash_kexec(); kernel/kexec_internal.h:
 * kexec_trylock(), kexec_unlock(). The atomics are the compiler's, with the
 * kernel's orderings; the machine steps report to the Rust side
 * (kdump_cref::handoff), which records them and may call back in (a panic
 * inside the handoff, another CPU).
 */
typedef struct {
	int counter;
} atomic_t;
#define PANIC_CPU_INVALID -1
#define __noclone
#define __bpf_kfunc
struct pt_regs {
	unsigned long long id;
};
struct kimage;
extern atomic_t panic_cpu;
extern atomic_t __kexec_lock;
extern struct kimage *kexec_crash_image;
static inline bool atomic_try_cmpxchg(atomic_t *v, int *old, int new)
{
	return __atomic_compare_exchange_n(&v->counter, old, new, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline bool atomic_try_cmpxchg_acquire(atomic_t *v, int *old, int new)
{
	return __atomic_compare_exchange_n(&v->counter, old, new, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}
static inline void atomic_set(atomic_t *v, int i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}
static inline void atomic_set_release(atomic_t *v, int i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELEASE);
}
/* Implemented in Rust (kdump_cref::handoff). */
int cref_this_cpu(void);
void cref_handoff_event(int kind, unsigned long long arg);
void cref_handoff_inside(void);
#define CREF_EV_REGS 1
#define CREF_EV_VMCOREINFO 2
#define CREF_EV_SHUTDOWN 3
#define CREF_EV_KEXEC 4
#define raw_smp_processor_id() cref_this_cpu()
/* What x86's crash_setup_regs() does, as far as the test can see. */
static inline void crash_setup_regs(struct pt_regs *newregs,
				    struct pt_regs *oldregs)
{
	cref_handoff_event(CREF_EV_REGS, oldregs ? oldregs->id : ~0ULL);
	newregs->id = oldregs ? oldregs->id : 0xc0de;
}
static inline void crash_save_vmcoreinfo(void)
{
	cref_handoff_event(CREF_EV_VMCOREINFO, 0);
}
static inline void machine_crash_shutdown(struct pt_regs *regs)
{
	cref_handoff_event(CREF_EV_SHUTDOWN, regs->id);
}
static inline void machine_kexec(struct kimage *image)
{
	cref_handoff_event(CREF_EV_KEXEC, image == kexec_crash_image);
	cref_handoff_inside();
}

/*
 * arch/arm64/kernel/kexec_image.c: image_probe(), image_load(), with the
 * header and flag macros of arch/arm64/include/asm/image.h. The CPU
 * feature tests and IS_ENABLED(CONFIG_CPU_BIG_ENDIAN) read what the test
 * set; kexec_add_buffer() records what the loader asked for and places the
 * kernel at CREF_KERNEL_BASE; the other segments always fit.
 */
typedef uint32_t __le32;
typedef uint64_t __le64;
#define le64_to_cpu(x) ((u64)(x))
#define IS_ENABLED(option) cref_##option
static bool cref_CONFIG_CPU_BIG_ENDIAN, cref_mixed_endian, cref_granule_4k,
	cref_granule_16k, cref_granule_64k;
#define system_supports_mixed_endian() cref_mixed_endian
#define system_supports_4kb_granule() cref_granule_4k
#define system_supports_16kb_granule() cref_granule_16k
#define system_supports_64kb_granule() cref_granule_64k
#define MIN_KIMG_ALIGN 0x200000
#define KEXEC_BUF_MEM_UNKNOWN 0
#define CREF_KERNEL_BASE 0x40200000UL
#define MAX_ERRNO 4095
#define ERR_PTR(e) ((void *)(long)(e))
#define kexec_dprintk(...) do { } while (0)
struct kexec_segment {
	unsigned long mem;
	unsigned long memsz;
};
struct kimage {
	struct kexec_segment segment[4];
	unsigned long nr_segments;
	unsigned long start;
};
struct kexec_buf {
	struct kimage *image;
	void *buffer;
	unsigned long bufsz;
	unsigned long mem;
	unsigned long memsz;
	unsigned long buf_align;
	unsigned long buf_min;
	unsigned long buf_max;
	bool top_down;
};
static struct kexec_buf cref_kbuf;
static inline int kexec_add_buffer(struct kexec_buf *kbuf)
{
	struct kexec_segment *s = &kbuf->image->segment[kbuf->image->nr_segments++];

	kbuf->mem = CREF_KERNEL_BASE;
	cref_kbuf = *kbuf;
	s->mem = kbuf->mem;
	s->memsz = kbuf->memsz;
	return 0;
}
static inline int load_other_segments(struct kimage *image,
				      unsigned long kernel_load_addr,
				      unsigned long kernel_size, char *initrd,
				      unsigned long initrd_len, char *cmdline)
{
	return 0;
}

/*
 * kernel/kexec_elf.c: kexec_build_elf_info() and the readers and checks it
 * calls; arch/riscv/kernel/kexec_elf.c: elf_find_pbase(). The structs are
 * the ELF64 ones of include/uapi/linux/elf.h (the kernel's elfhdr, elf_phdr
 * and elf_shdr on 64-bit), laid out by the gABI; the byte order helpers are
 * a little-endian host's. arch_kexec_locate_mem_hole() finds room at
 * cref_pbase and records what it was asked.
 */
typedef uint16_t __le16;
typedef uint16_t __be16;
#define ELF_CLASS ELFCLASS64
struct elfhdr {
	unsigned char e_ident[EI_NIDENT];
	Elf64_Half e_type;
	Elf64_Half e_machine;
	Elf64_Word e_version;
	Elf64_Addr e_entry;
	Elf64_Off e_phoff;
	Elf64_Off e_shoff;
	Elf64_Word e_flags;
	Elf64_Half e_ehsize;
	Elf64_Half e_phentsize;
	Elf64_Half e_phnum;
	Elf64_Half e_shentsize;
	Elf64_Half e_shnum;
	Elf64_Half e_shstrndx;
};
struct elf_phdr {
	Elf64_Word p_type;
	Elf64_Word p_flags;
	Elf64_Off p_offset;
	Elf64_Addr p_vaddr;
	Elf64_Addr p_paddr;
	Elf64_Xword p_filesz;
	Elf64_Xword p_memsz;
	Elf64_Xword p_align;
};
struct elf_shdr {
	Elf64_Word sh_name;
	Elf64_Word sh_type;
	Elf64_Xword sh_flags;
	Elf64_Addr sh_addr;
	Elf64_Off sh_offset;
	Elf64_Xword sh_size;
	Elf64_Word sh_link;
	Elf64_Word sh_info;
	Elf64_Xword sh_addralign;
	Elf64_Xword sh_entsize;
};
struct kexec_elf_info {
	const char *buffer;
	const struct elfhdr *ehdr;
	const struct elf_phdr *proghdrs;
};
#define le16_to_cpu(x) ((u16)(x))
#define le32_to_cpu(x) ((u32)(x))
#define be16_to_cpu(x) __builtin_bswap16(x)
#define be32_to_cpu(x) __builtin_bswap32(x)
#define be64_to_cpu(x) __builtin_bswap64(x)
#define kzalloc(n, gfp) calloc(1, (n))
#define PAGE_SIZE 4096UL
#define PMD_SIZE 0x200000UL
static unsigned long cref_pbase;
static struct kexec_buf cref_hole_kbuf;
static inline int arch_kexec_locate_mem_hole(struct kexec_buf *kbuf)
{
	cref_hole_kbuf = *kbuf;
	kbuf->mem = cref_pbase;
	return 0;
}

const char *_parse_integer_fixup_radix(const char *s, unsigned int *base);
unsigned int _parse_integer_limit(const char *s, unsigned int base,
				  unsigned long long *p, size_t max_chars);
unsigned long long simple_strtoull(const char *cp, char **endp,
				   unsigned int base);
unsigned long long memparse(const char *ptr, char **retptr);

#endif
