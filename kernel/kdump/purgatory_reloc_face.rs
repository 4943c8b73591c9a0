// SPDX-License-Identifier: GPL-2.0

//! What every architecture's Rust `arch_kexec_apply_relocations_add()`
//! (arch/x86/kernel/purgatory_reloc.rs, arch/riscv/kernel/purgatory_reloc.rs)
//! does before its core call: turn the loader's C pointers into bounded
//! slices and section headers. Each face includes this file as a module
//! and keeps its own core call and error wording.

use core::ptr::addr_of;
use kdump::reloc::{self, Shdr, SHDR_SIZE};
use kernel::bindings;
use kernel::prelude::*;

extern "C" {
    /// Start of the embedded purgatory.ro (arch/*/purgatory/kexec-purgatory.S).
    static kexec_purgatory: [u8; 0];
    /// Its size in bytes.
    static kexec_purgatory_size: usize;
}

/// One relocation call's inputs, as slices the core bounds-checks.
pub(crate) struct Parts<'a> {
    /// The embedded purgatory.ro.
    pub(crate) image: &'a [u8],
    /// The loader's copy of its section headers (`pi->sechdrs`).
    pub(crate) loaded: &'a [u8],
    /// The allocated sections (`pi->purgatory_buf`).
    pub(crate) buf: &'a mut [u8],
    /// The section relocated, its `SHT_RELA` section and the symbol table.
    pub(crate) section: Shdr,
    pub(crate) relsec: Shdr,
    pub(crate) symtab: Shdr,
}

/// Decodes the section header at `p`.
///
/// # Safety
///
/// `p` must point to a readable `Elf64_Shdr`.
unsafe fn shdr(p: *const bindings::Elf64_Shdr) -> Option<Shdr> {
    // SAFETY: the caller guarantees `SHDR_SIZE` readable bytes at `p`.
    Shdr::parse(unsafe { core::slice::from_raw_parts(p.cast::<u8>(), SHDR_SIZE) })
}

/// The inputs of `arch_kexec_apply_relocations_add()`, or `None` after one
/// `pr_err` (none for a header the core cannot decode, as before).
///
/// # Safety
///
/// The contract of `arch_kexec_apply_relocations_add()`: `pi` describes the
/// embedded purgatory being loaded (`ehdr` is `kexec_purgatory`, `sechdrs`
/// holds `e_shnum` headers, `purgatory_buf` the allocated sections at the
/// offsets those headers give) and nothing else uses them during the call;
/// `section` points into `pi->sechdrs`, `relsec` and `symtabsec` into the
/// image's section headers.
pub(crate) unsafe fn parts<'a>(
    pi: *mut bindings::purgatory_info,
    section: *const bindings::Elf64_Shdr,
    relsec: *const bindings::Elf64_Shdr,
    symtabsec: *const bindings::Elf64_Shdr,
) -> Option<Parts<'a>> {
    // SAFETY: `kexec_purgatory` and `kexec_purgatory_size` are defined by
    // kexec-purgatory.S and never written; the size is the image's.
    let image: &[u8] = unsafe {
        core::slice::from_raw_parts(addr_of!(kexec_purgatory).cast::<u8>(), kexec_purgatory_size)
    };
    // SAFETY: `pi` is valid for reads (see the function's safety section).
    let pi = unsafe { &*pi };
    if pi.ehdr.cast::<u8>() != image.as_ptr() {
        pr_err!("purgatory: not the embedded image\n");
        return None;
    }
    let Some(shnum) = reloc::shnum(image) else {
        pr_err!("purgatory: malformed ELF header\n");
        return None;
    };
    let loaded_len = usize::from(shnum).saturating_mul(SHDR_SIZE);
    // SAFETY: `pi->sechdrs` is the loader's copy of the `e_shnum` section
    // headers (kexec_purgatory_setup_sechdrs()); nothing writes it while
    // relocations are applied.
    let loaded: &[u8] = unsafe { core::slice::from_raw_parts(pi.sechdrs.cast::<u8>(), loaded_len) };
    let buf_len = match reloc::buffer_len(loaded, shnum) {
        Some(n) if n > 0 && !pi.purgatory_buf.is_null() => n,
        _ => {
            pr_err!("purgatory: no buffer for the allocated sections\n");
            return None;
        }
    };
    // SAFETY: `purgatory_buf` holds each allocated section at the offset
    // `pi->sechdrs` gives it, so it is at least `buf_len` long, and only the
    // loader uses it during the call (kexec_purgatory_setup_sechdrs()).
    let buf: &mut [u8] =
        unsafe { core::slice::from_raw_parts_mut(pi.purgatory_buf.cast::<u8>(), buf_len) };
    // SAFETY: the three pointers point to section headers (see above).
    let (section, relsec, symtab) = unsafe { (shdr(section)?, shdr(relsec)?, shdr(symtabsec)?) };
    Some(Parts {
        image,
        loaded,
        buf,
        section,
        relsec,
        symtab,
    })
}
