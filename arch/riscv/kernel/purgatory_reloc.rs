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

use kdump::reloc::riscv::RiscvError;
use kdump::reloc::{Purgatory, RelocError};
use kernel::bindings;
use kernel::error::code::ENOEXEC;
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::str::BStr;

const __LOG_PREFIX: &[u8] = b"kexec_file\0";

#[path = "../../../kernel/kdump/purgatory_reloc_face.rs"]
mod face;

/// Logs why a relocation section was refused, once.
fn report(e: &RiscvError<'_>) {
    let e = match *e {
        RiscvError::LoneHi20 { rel, offset } => {
            pr_err!(
                "purgatory: relocation {}: PCREL_HI20 at {:#x} without its PCREL_LO12_I after it\n",
                rel,
                offset
            );
            return;
        }
        RiscvError::LoneLo12 { rel, offset } => {
            pr_err!(
                "purgatory: relocation {}: PCREL_LO12_I at {:#x} not right after its PCREL_HI20\n",
                rel,
                offset
            );
            return;
        }
        RiscvError::Reloc(e) => e,
    };
    match e {
        RelocError::Image(what) => pr_err!("purgatory: malformed {}\n", what),
        RelocError::SectionIndex { what, index } => {
            pr_err!("purgatory: {} index {} out of range\n", what, index)
        }
        RelocError::SymbolIndex { rel, index } => {
            pr_err!(
                "purgatory: relocation {}: symbol index {} past the symbol table\n",
                rel,
                index
            )
        }
        RelocError::Undefined { name, .. } => {
            pr_err!("Undefined symbol: {}\n", BStr::from_bytes(name))
        }
        RelocError::Common { name, .. } => {
            pr_err!("symbol '{}' in common section\n", BStr::from_bytes(name))
        }
        RelocError::SymbolSection { shndx, name, .. } => {
            pr_err!(
                "Invalid section {} for symbol {}\n",
                shndx,
                BStr::from_bytes(name)
            )
        }
        RelocError::UnknownType { rel, rtype } => {
            pr_err!(
                "purgatory: relocation {}: Unknown rela relocation: {}\n",
                rel,
                rtype
            )
        }
        RelocError::Place { rel, offset } => {
            pr_err!(
                "purgatory: relocation {}: offset {:#x} is outside its section\n",
                rel,
                offset
            )
        }
        RelocError::Overflow { rel, rtype, value } => {
            pr_err!(
                "purgatory: relocation {}: type {} value {:#x} does not fit its field\n",
                rel,
                rtype,
                value
            )
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
    // SAFETY: the function's safety section is `face::parts()`'s.
    let Some(p) = (unsafe { face::parts(pi, section, relsec, symtabsec) }) else {
        return ENOEXEC.to_errno();
    };
    let applied = Purgatory::new(p.image, p.loaded)
        .map_err(RiscvError::from)
        .and_then(|q| q.apply_rela_riscv(p.buf, &p.section, &p.relsec, &p.symtab));
    match applied {
        Ok(_) => 0,
        Err(e) => {
            report(&e);
            ENOEXEC.to_errno()
        }
    }
}
