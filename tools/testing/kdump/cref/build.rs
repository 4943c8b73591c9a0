// SPDX-License-Identifier: GPL-2.0

//! Compiles pristine upstream C functions for the host.
//!
//! The functions are cut out of the base kernel's sources at build time: from
//! `$KDUMP_KERNEL_TARBALL` (default: Debian's linux-source-6.12 tarball) or,
//! if `$KDUMP_KERNEL_SRC` names an unpacked tree, from there. Only the listed
//! function bodies are taken, verbatim; `cref_shim.h` supplies the few kernel
//! definitions they use. Nothing upstream is stored in this repository.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A piece of an upstream file to take verbatim.
enum Cut {
    /// A function definition, by name.
    Func(&'static str),
    /// From the first line starting with the first string to the next line
    /// starting with the second, both included (macros, tables).
    Lines(&'static str, &'static str),
    /// Our own text between the cuts (a rename around a cut, for instance).
    Text(&'static str),
}
use Cut::{Func, Lines, Text};

/// (file in the kernel tree, pieces to take from it, in order)
const SOURCES: &[(&str, &[Cut])] = &[
    (
        "lib/kstrtox.c",
        &[
            Func("_parse_integer_fixup_radix"),
            Func("_parse_integer_limit"),
        ],
    ),
    (
        "lib/vsprintf.c",
        &[Func("simple_strntoull"), Func("simple_strtoull")],
    ),
    ("lib/cmdline.c", &[Func("memparse")]),
    (
        "include/crypto/sha2.h",
        &[
            Lines("#define SHA256_DIGEST_SIZE", "#define SHA256_BLOCK_SIZE"),
            Lines("#define SHA256_H0", "#define SHA256_H7"),
            Lines("struct sha256_state {", "};"),
            Func("sha256_init"),
        ],
    ),
    (
        "include/crypto/sha256_base.h",
        &[
            Lines(
                "typedef void (sha256_block_fn)",
                "\t\t\t       int blocks);",
            ),
            Func("lib_sha256_base_do_update"),
            Func("lib_sha256_base_do_finalize"),
            Func("lib_sha256_base_finish"),
        ],
    ),
    (
        "lib/crypto/sha256.c",
        &[
            Lines("static const u32 SHA256_K[]", "};"),
            Func("Ch"),
            Func("Maj"),
            Lines("#define e0(x)", "#define s1(x)"),
            Func("LOAD_OP"),
            Func("BLEND_OP"),
            Lines("#define SHA256_ROUND", "} while (0)"),
            Func("sha256_transform"),
            Func("sha256_transform_blocks"),
            Func("sha256_update"),
            Func("__sha256_final"),
            Func("sha256_final"),
        ],
    ),
    (
        "kernel/crash_reserve.c",
        &[
            Func("parse_crashkernel_mem"),
            Func("parse_crashkernel_simple"),
            Lines("#define SUFFIX_HIGH", "#define SUFFIX_NULL"),
            Lines("static __initdata char *suffix_tbl[]", "};"),
            Func("parse_crashkernel_suffix"),
            Func("get_last_crashkernel"),
            Func("__parse_crashkernel"),
            Func("parse_crashkernel"),
        ],
    ),
    (
        "arch/x86/kernel/machine_kexec_64.c",
        &[Func("arch_kexec_apply_relocations_add")],
    ),
    (
        "kernel/crash_core.c",
        &[
            Func("crash_prepare_elf64_headers"),
            Func("crash_exclude_mem_range"),
        ],
    ),
    (
        "arch/arm64/kernel/machine_kexec_file.c",
        &[Func("prepare_elf_headers")],
    ),
    (
        "arch/arm64/include/asm/image.h",
        &[
            Lines(
                "#define ARM64_IMAGE_MAGIC",
                "#define ARM64_IMAGE_FLAG_PHYS_BASE\t",
            ),
            Lines("#define arm64_image_flag_field", "\t\t\t\t(((flags)"),
            Lines("struct arm64_image_header {", "};"),
        ],
    ),
    (
        "arch/arm64/kernel/kexec_image.c",
        &[Func("image_probe"), Func("image_load")],
    ),
    (
        "kernel/kexec_internal.h",
        &[Func("kexec_trylock"), Func("kexec_unlock")],
    ),
    (
        "kernel/crash_core.c",
        &[Func("__crash_kexec"), Func("crash_kexec")],
    ),
    (
        "arch/riscv/kernel/machine_kexec_file.c",
        &[
            // x86_64's function of the same name is cut above.
            Text("#define arch_kexec_apply_relocations_add riscv_kexec_apply_relocations_add\n"),
            Lines("#define RV_X", "\t((~ENCODE_##type##_IMM"),
            Func("arch_kexec_apply_relocations_add"),
            Text("#undef arch_kexec_apply_relocations_add\n"),
        ],
    ),
    (
        "kernel/kexec_elf.c",
        &[
            Func("elf_is_elf_file"),
            Func("elf64_to_cpu"),
            Func("elf32_to_cpu"),
            Func("elf16_to_cpu"),
            Func("elf_is_ehdr_sane"),
            Func("elf_read_ehdr"),
            Func("elf_is_phdr_sane"),
            Func("elf_read_phdr"),
            Func("elf_read_phdrs"),
            Func("elf_read_from_buffer"),
            Func("kexec_free_elf_info"),
            Func("kexec_build_elf_info"),
        ],
    ),
    ("arch/riscv/kernel/kexec_elf.c", &[Func("elf_find_pbase")]),
];

fn cut_lines(src: &str, first: &str, last: &str, file: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for l in src.lines() {
        if !inside && l.starts_with(first) {
            inside = true;
        }
        if inside {
            out.push_str(l);
            out.push('\n');
            if l.starts_with(last) && !l.starts_with(first) {
                return out;
            }
        }
    }
    panic!("lines from {first:?} to {last:?} not found in {file}");
}

const DEFAULT_TARBALL: &str = "/usr/src/linux-source-6.12.tar.xz";

/// The kernel tree to read `files` from: `$KDUMP_KERNEL_SRC`, or the
/// tarball's members extracted into `out` with one `tar` run (decompressing
/// the tarball takes most of the time, so it is done once for all files).
fn kernel_tree(files: &[&str], out: &Path) -> PathBuf {
    if let Ok(src) = env::var("KDUMP_KERNEL_SRC") {
        return PathBuf::from(src);
    }
    let tarball = env::var("KDUMP_KERNEL_TARBALL").unwrap_or_else(|_| DEFAULT_TARBALL.into());
    let members: Vec<String> = files
        .iter()
        .map(|f| format!("linux-source-6.12/{f}"))
        .collect();
    let status = Command::new("tar")
        .args(["-C", out.to_str().unwrap(), "-xf", &tarball])
        .args(&members)
        .status()
        .expect("tar");
    assert!(
        status.success(),
        "cannot extract {members:?} from {tarball}: install linux-source-6.12 \
         (kdump.py does) or set KDUMP_KERNEL_SRC"
    );
    out.join("linux-source-6.12")
}

/// Returns the definition of `name` in `src`: from the start of the line
/// holding `name(` at top level to the matching closing brace.
fn cut_function(src: &str, name: &str, file: &str) -> String {
    let lines: Vec<&str> = src.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let is_def = !line.starts_with(char::is_whitespace)
            && !line.trim_end().ends_with(';')
            && line
                .match_indices(&format!("{name}("))
                .any(|(at, _)| at == 0 || matches!(line.as_bytes()[at - 1], b' ' | b'*'));
        if !is_def {
            continue;
        }
        // Find the body: the first '{' at column 0 after the signature.
        let mut depth = 0i32;
        let mut started = false;
        let mut out = String::new();
        for l in &lines[i..] {
            out.push_str(l);
            out.push('\n');
            for c in l.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        started = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if started && depth == 0 {
                return out;
            }
        }
    }
    panic!("function {name} not found in {file}");
}

/// Entry points with plain types for the Rust side.
const WRAPPERS: &str = r#"
/* The state __crash_kexec() and crash_kexec() work on. */
atomic_t panic_cpu = { PANIC_CPU_INVALID };
atomic_t __kexec_lock;
struct kimage *kexec_crash_image;

/* sha256_init() is a header inline: give the Rust side a symbol. */
void cref_sha256_init(struct sha256_state *sctx)
{
	sha256_init(sctx);
}

/* The machine: x86_64, or arm64 if phys_offset is not ~0UL. */
static void cref_machine(unsigned int nr_cpus, const unsigned long long *notes,
			 unsigned long long vmcoreinfo, unsigned long text,
			 unsigned long end, unsigned long text_pa,
			 unsigned long page_offset, unsigned long phys_offset)
{
	cref_nr_cpus = nr_cpus;
	cref_cpu_notes = notes;
	cref_vmcoreinfo_paddr = vmcoreinfo;
	cref_text = text;
	cref_end = end;
	cref_text_pa = text_pa;
	cref_page_offset = page_offset;
	cref_arm64 = phys_offset != ~0UL;
	cref_phys_offset = phys_offset;
	cref_elf_arch = cref_arm64 ? EM_AARCH64 : EM_X86_64;
	cref_note_bytes = cref_arm64 ? 424 : 368;
}

int cref_elf64_headers(unsigned int nr_cpus, const unsigned long long *notes,
		       unsigned long long vmcoreinfo, int need_kernel_map,
		       unsigned long text, unsigned long end,
		       unsigned long text_pa, unsigned long page_offset,
		       struct crash_mem *mem, void **addr, unsigned long *sz)
{
	cref_machine(nr_cpus, notes, vmcoreinfo, text, end, text_pa,
		     page_offset, ~0UL);
	return crash_prepare_elf64_headers(mem, need_kernel_map, addr, sz);
}

/* arm64's prepare_elf_headers() on memblock and crash reservations. */
int cref_arm64_elf_headers(unsigned int nr_cpus,
			   const unsigned long long *notes,
			   unsigned long long vmcoreinfo, unsigned long text,
			   unsigned long end, unsigned long text_pa,
			   unsigned long page_offset, unsigned long phys_offset,
			   const u64 *memblock, unsigned int nr_memblock,
			   const u64 *crashk, void **addr, unsigned long *sz)
{
	cref_machine(nr_cpus, notes, vmcoreinfo, text, end, text_pa,
		     page_offset, phys_offset);
	cref_memblock = memblock;
	cref_memblock_nr = nr_memblock;
	crashk_res.start = crashk[0];
	crashk_res.end = crashk[1];
	crashk_low_res.start = crashk[2];
	crashk_low_res.end = crashk[3];
	return prepare_elf_headers(addr, sz);
}

int cref_image_probe(const char *buf, unsigned long len)
{
	return image_probe(buf, len);
}

/*
 * image_load() on a CPU with these features: 0 or its negative errno; on
 * success the kexec_buf it passed to kexec_add_buffer() and image->start.
 */
long cref_image_load(char *kernel, unsigned long len, const bool *cpu,
		     struct kexec_buf *kbuf, unsigned long *start)
{
	struct kimage image = { .nr_segments = 0 };
	void *ret;

	cref_CONFIG_CPU_BIG_ENDIAN = cpu[0];
	cref_mixed_endian = cpu[1];
	cref_granule_4k = cpu[2];
	cref_granule_16k = cpu[3];
	cref_granule_64k = cpu[4];
	ret = image_load(&image, kernel, len, NULL, 0, NULL, 0);
	if ((unsigned long)ret >= (unsigned long)-MAX_ERRNO)
		return (long)ret;
	*kbuf = cref_kbuf;
	*start = image.start;
	return 0;
}

/*
 * kexec_build_elf_info() as riscv's elf_kexec_load() calls it, with its
 * kexec_elf_info on the stack: 0 or its negative errno; on success *ehdr
 * as it left it and a copy of its program headers in *phdrs (for
 * cref_free()). The kernel does not initialise elf_info, and C reads and
 * frees elf_info->proghdrs, which it only sets when there is a program
 * header table: it relies on the zeroed stack of INIT_STACK_ALL_ZERO
 * (the default with clang and recent gcc), which is what the tests give it.
 */
int cref_kexec_build_elf_info(const char *buf, size_t len,
			      struct elfhdr *ehdr, struct elf_phdr **phdrs)
{
	struct kexec_elf_info elf_info;
	size_t n;
	int ret;

	memset(&elf_info, 0, sizeof(elf_info));
	ret = kexec_build_elf_info(buf, len, ehdr, &elf_info);
	if (ret)
		return ret;
	n = (size_t)ehdr->e_phnum * sizeof(struct elf_phdr);
	*phdrs = malloc(n);
	memcpy(*phdrs, elf_info.proghdrs, n);
	kexec_free_elf_info(&elf_info);
	return 0;
}

void cref_free(void *p)
{
	free(p);
}

/*
 * riscv's elf_find_pbase() on an image kexec_build_elf_info() accepted,
 * with room for the kernel at pbase: the old base it found, the entry
 * point and the lowest address it asked arch_kexec_locate_mem_hole() for.
 */
int cref_riscv_elf_find_pbase(const char *buf, size_t len, unsigned long pbase,
			      unsigned long *old_pbase, unsigned long *start,
			      unsigned long *buf_min, unsigned long *memsz)
{
	struct kimage image = { .nr_segments = 0 };
	struct kexec_elf_info elf_info = { 0 };
	struct elfhdr ehdr;
	unsigned long new_pbase = 0;
	int ret;

	ret = kexec_build_elf_info(buf, len, &ehdr, &elf_info);
	if (ret)
		return ret;
	cref_pbase = pbase;
	*old_pbase = ~0UL;
	ret = elf_find_pbase(&image, len, &ehdr, &elf_info, old_pbase,
			     &new_pbase);
	kexec_free_elf_info(&elf_info);
	*start = image.start;
	*buf_min = cref_hole_kbuf.buf_min;
	*memsz = cref_hole_kbuf.memsz;
	return ret;
}

int cref_parse_crashkernel(char *cmdline, unsigned long long system_ram,
			   unsigned long long default_low,
			   unsigned long long *crash_size,
			   unsigned long long *crash_base,
			   unsigned long long *low_size, bool *high,
			   int high_low)
{
	cref_default_low_size = default_low;
	return parse_crashkernel(cmdline, system_ram, crash_size, crash_base,
				 high_low ? low_size : NULL,
				 high_low ? high : NULL);
}
"#;

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let mut c = String::from("/* Generated from the base kernel sources; see build.rs. */\n");
    c.push_str("#include \"cref_shim.h\"\n");
    let mut files: Vec<&str> = SOURCES.iter().map(|(f, _)| *f).collect();
    files.sort_unstable();
    files.dedup();
    let tree = kernel_tree(&files, &out);
    for (file, cuts) in SOURCES {
        let path = tree.join(file);
        let src = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for cut in *cuts {
            match cut {
                Func(f) => {
                    c.push_str(&format!("\n/* {file}: {f}() */\n"));
                    c.push_str(&cut_function(&src, f, file));
                }
                Lines(first, last) => {
                    c.push_str(&format!("\n/* {file}: {first} ... */\n"));
                    c.push_str(&cut_lines(&src, first, last, file));
                }
                Text(t) => c.push_str(t),
            }
        }
    }
    c.push_str(WRAPPERS);
    let gen = out.join("cref.c");
    fs::write(&gen, c).unwrap();
    cc::Build::new()
        .file(&gen)
        .include(env::var("CARGO_MANIFEST_DIR").unwrap())
        // The kernel is built with -funsigned-char: keep its semantics.
        .flag("-funsigned-char")
        .flag("-fno-strict-aliasing")
        .warnings(false)
        .compile("cref");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=cref_shim.h");
    println!("cargo:rerun-if-env-changed=KDUMP_KERNEL_SRC");
    println!("cargo:rerun-if-env-changed=KDUMP_KERNEL_TARBALL");
}
