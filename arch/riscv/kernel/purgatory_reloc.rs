// SPDX-License-Identifier: GPL-2.0

//! Rust twin of riscv64 `arch_kexec_apply_relocations_add()`
//! (arch/riscv/kernel/machine_kexec_file.c, compiled out by the hook patch
//! when `CONFIG_KEXEC_PURGATORY_RUST` is set).
//!
//! kexec_file_load() calls it once per `SHT_RELA` section of the embedded
//! purgatory (kernel/kexec_file.c, `kexec_apply_relocations()`). This face
//! only turns the C pointers into bounded slices; the bounds checks and the
//! arithmetic are in the `kdump` core (`kdump::reloc::riscv`), which checks
//! every relocation of the section before it writes any, refuses unknown
//! types and values that do not fit their field instead of truncating
//! them, and requires each `R_RISCV_PCREL_HI20` to be followed by its
//! `R_RISCV_PCREL_LO12_I`, the one instruction the loader writes the low
//! part into.

use core::ptr::addr_of;
use kdump::reloc::riscv::RiscvError;
use kdump::reloc::{self, Purgatory, RelocError, Shdr, SHDR_SIZE};
use kernel::bindings;
use kernel::error::code::ENOEXEC;
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::str::BStr;

const __LOG_PREFIX: &[u8] = b"kexec_file\0";

extern "C" {
    /// Start of the embedded purgatory.ro (arch/riscv/purgatory/kexec-purgatory.S).
    static kexec_purgatory: [u8; 0];
    /// Its size in bytes.
    static kexec_purgatory_size: usize;
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

/// Logs why a relocation section was refused, once.
fn report(e: &RiscvError<'_>) {
    let e = match *e {
        RiscvError::LoneHi20 { rel, offset } => {
            pr_err!("purgatory: relocation {}: PCREL_HI20 at {:#x} without its PCREL_LO12_I after it\n", rel, offset);
            return;
        }
        RiscvError::LoneLo12 { rel, offset } => {
            pr_err!("purgatory: relocation {}: PCREL_LO12_I at {:#x} not right after its PCREL_HI20\n", rel, offset);
            return;
        }
        RiscvError::Reloc(e) => e,
    };
    match e {
        RelocError::Image(what) => pr_err!("purgatory: malformed {}\n", what),
        RelocError::SectionIndex { what, index } => pr_err!("purgatory: {} index {} out of range\n", what, index),
        RelocError::SymbolIndex { rel, index } => {
            pr_err!("purgatory: relocation {}: symbol index {} past the symbol table\n", rel, index)
        }
        RelocError::Undefined { name, .. } => pr_err!("Undefined symbol: {}\n", BStr::from_bytes(name)),
        RelocError::Common { name, .. } => pr_err!("symbol '{}' in common section\n", BStr::from_bytes(name)),
        RelocError::SymbolSection { shndx, name, .. } => {
            pr_err!("Invalid section {} for symbol {}\n", shndx, BStr::from_bytes(name))
        }
        RelocError::UnknownType { rel, rtype } => {
            pr_err!("purgatory: relocation {}: Unknown rela relocation: {}\n", rel, rtype)
        }
        RelocError::Place { rel, offset } => {
            pr_err!("purgatory: relocation {}: offset {:#x} is outside its section\n", rel, offset)
        }
        RelocError::Overflow { rel, rtype, value } => {
            pr_err!("purgatory: relocation {}: type {} value {:#x} does not fit its field\n", rel, rtype, value)
        }
    }
}

/// Applies the `SHT_RELA` section `relsec` (with symbol table `symtabsec`)
/// to `section` of the purgatory being loaded in `pi`.
///
/// Returns 0, or `-ENOEXEC` with one `pr_err` naming the relocation and
/// what is wrong with it; then nothing of `section` has been changed.
///
/// # Safety
///
/// Called by `kexec_apply_relocations()` only: `pi` describes the embedded
/// purgatory being loaded (`ehdr` is `kexec_purgatory`, `sechdrs` holds
/// `e_shnum` headers, `purgatory_buf` the allocated sections at the offsets
/// those headers give), `section` points into `pi->sechdrs`, `relsec` and
/// `symtabsec` into the image's section headers.
#[no_mangle]
pub unsafe extern "C" fn arch_kexec_apply_relocations_add(
    pi: *mut bindings::purgatory_info,
    section: *mut bindings::Elf64_Shdr,
    relsec: *const bindings::Elf64_Shdr,
    symtabsec: *const bindings::Elf64_Shdr,
) -> c_int {
    // SAFETY: `kexec_purgatory` and `kexec_purgatory_size` are defined by
    // kexec-purgatory.S and never written; the size is the image's.
    let image: &[u8] =
        unsafe { core::slice::from_raw_parts(addr_of!(kexec_purgatory).cast::<u8>(), kexec_purgatory_size) };
    // SAFETY: `pi` is valid for reads (see the function's safety section).
    let pi = unsafe { &*pi };
    if pi.ehdr.cast::<u8>() != image.as_ptr() {
        pr_err!("purgatory: not the embedded image\n");
        return ENOEXEC.to_errno();
    }
    let Some(shnum) = reloc::shnum(image) else {
        pr_err!("purgatory: malformed ELF header\n");
        return ENOEXEC.to_errno();
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
            return ENOEXEC.to_errno();
        }
    };
    // SAFETY: `purgatory_buf` holds each allocated section at the offset
    // `pi->sechdrs` gives it, so it is at least `buf_len` long, and only the
    // loader uses it during the call (kexec_purgatory_setup_sechdrs()).
    let buf: &mut [u8] = unsafe { core::slice::from_raw_parts_mut(pi.purgatory_buf.cast::<u8>(), buf_len) };
    // SAFETY: the three pointers point to section headers (see above).
    let headers = unsafe { (shdr(section), shdr(relsec), shdr(symtabsec)) };
    let (Some(section), Some(relsec), Some(symtab)) = headers else {
        return ENOEXEC.to_errno();
    };
    let applied = Purgatory::new(image, loaded)
        .map_err(RiscvError::from)
        .and_then(|p| p.apply_rela_riscv(buf, &section, &relsec, &symtab));
    match applied {
        Ok(_) => 0,
        Err(e) => {
            report(&e);
            ENOEXEC.to_errno()
        }
    }
}
