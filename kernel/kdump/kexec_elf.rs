// SPDX-License-Identifier: GPL-2.0

//! C face of the Rust checks of the ELF executable given to
//! `kexec_file_load()` (riscv64 and powerpc64 load a `vmlinux`).
//!
//! `kexec_build_elf_info()` of kernel/kexec_elf.c (compiled out by the hook
//! patch when `CONFIG_KEXEC_IMAGE_RUST` is set) is C glue in
//! kernel/kdump/kexec_elf_glue.c that calls the two functions here, around
//! the allocation of the program headers as C makes it:
//! [`kdump_rust_kexec_elf_read_ehdr`] (`elf_read_ehdr()`) before it and
//! [`kdump_rust_kexec_elf_check`] (the program headers, `e_type` and
//! `PT_INTERP`) after it. The checks are the `kdump` core's
//! [`kdump::kexec_elf`]; this file copies what they read into C's
//! `struct elfhdr` and `struct elf_phdr`, in the CPU's byte order.
//!
//! Each refusal is `-ENOEXEC`, as in C, and is logged once with the ELF
//! field at fault (C says it with `pr_debug()`, or `pr_err()` for the last
//! three checks).

use kdump::elf::Phdr;
use kdump::kexec_elf::{build, Ehdr, ElfError};
use kernel::bindings;
use kernel::error::code::ENOEXEC;
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;

const __LOG_PREFIX: &[u8] = b"kexec_elf\0";

/// The image at `buf`.
///
/// # Safety
///
/// `buf` must be NULL or valid for reads of `len` bytes for `'a`.
unsafe fn image<'a>(buf: *const c_char, len: usize) -> &'a [u8] {
    if buf.is_null() {
        return &[];
    }
    // SAFETY: `buf` is valid for `len` bytes (function safety section).
    unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len) }
}

fn refuse(e: ElfError) -> c_int {
    pr_warn!("kexec_file_load: ELF image refused: {}\n", e);
    ENOEXEC.to_errno()
}

/// `struct elfhdr` as `elf_read_ehdr()` leaves it: every field in the CPU's
/// byte order but `e_ehsize`, which C does not copy (0).
fn c_ehdr(h: &Ehdr) -> bindings::elf64_hdr {
    bindings::elf64_hdr {
        e_ident: h.ident,
        e_type: h.kind,
        e_machine: h.machine,
        e_version: h.version,
        e_entry: h.entry,
        e_phoff: h.phoff,
        e_shoff: h.shoff,
        e_flags: h.flags,
        e_ehsize: 0,
        e_phentsize: h.phentsize,
        e_phnum: h.phnum,
        e_shentsize: h.shentsize,
        e_shnum: h.shnum,
        e_shstrndx: h.shstrndx,
    }
}

fn c_phdr(p: &Phdr) -> bindings::elf64_phdr {
    bindings::elf64_phdr {
        p_type: p.kind,
        p_flags: p.flags,
        p_offset: p.offset,
        p_vaddr: p.vaddr,
        p_paddr: p.paddr,
        p_filesz: p.filesz,
        p_memsz: p.memsz,
        p_align: p.align,
    }
}

/// See `kdump_rust_kexec_elf_read_ehdr()` in include/linux/kdump_rust.h.
///
/// # Safety
///
/// `buf` must be NULL or valid for reads of `len` bytes, and `ehdr` valid
/// for a write of a `struct elfhdr`.
#[no_mangle]
pub unsafe extern "C" fn kdump_rust_kexec_elf_read_ehdr(
    buf: *const c_char,
    len: usize,
    ehdr: *mut bindings::elf64_hdr,
) -> c_int {
    // SAFETY: forwarded from this function's safety section.
    match Ehdr::read(unsafe { image(buf, len) }) {
        Ok(h) => {
            // SAFETY: `ehdr` is valid for a write (function safety section).
            unsafe { ehdr.write(c_ehdr(&h)) };
            0
        }
        Err(e) => refuse(e),
    }
}

/// See `kdump_rust_kexec_elf_check()` in include/linux/kdump_rust.h.
///
/// # Safety
///
/// `buf` must be NULL or valid for reads of `len` bytes, `ehdr` valid for a
/// write of a `struct elfhdr`, and `phdrs` NULL or valid for reads and
/// writes of `nr` initialised `struct elf_phdr`s, none of them used by
/// anyone else during the call.
#[no_mangle]
pub unsafe extern "C" fn kdump_rust_kexec_elf_check(
    buf: *const c_char,
    len: usize,
    ehdr: *mut bindings::elf64_hdr,
    phdrs: *mut bindings::elf64_phdr,
    nr: usize,
) -> c_int {
    // SAFETY: forwarded from this function's safety section.
    let img = match build(unsafe { image(buf, len) }) {
        Ok(img) => img,
        Err(e) => return refuse(e),
    };
    // SAFETY: `ehdr` is valid for a write (function safety section).
    unsafe { ehdr.write(c_ehdr(img.ehdr())) };
    if phdrs.is_null() {
        // An accepted image has a program header table: C allocated it.
        return 0;
    }
    // SAFETY: `phdrs` holds `nr` initialised program headers no one else
    // uses (function safety section).
    let out = unsafe { core::slice::from_raw_parts_mut(phdrs, nr) };
    for (slot, p) in out.iter_mut().zip(img.phdrs()) {
        *slot = c_phdr(&p);
    }
    0
}
