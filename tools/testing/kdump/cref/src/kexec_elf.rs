// SPDX-License-Identifier: GPL-2.0

//! Upstream `kexec_build_elf_info()` (kernel/kexec_elf.c) and riscv's
//! `elf_find_pbase()` (arch/riscv/kernel/kexec_elf.c), as compiled by
//! build.rs, for the differential tests of `kdump::kexec_elf`.

use std::ffi::{c_char, c_int, c_ulong};

/// `struct elfhdr` (`Elf64_Ehdr`) as `elf_read_ehdr()` fills it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CElfHdr {
    /// `e_ident`.
    pub e_ident: [u8; 16],
    /// `e_type`.
    pub e_type: u16,
    /// `e_machine`.
    pub e_machine: u16,
    /// `e_version`.
    pub e_version: u32,
    /// `e_entry`.
    pub e_entry: u64,
    /// `e_phoff`.
    pub e_phoff: u64,
    /// `e_shoff`.
    pub e_shoff: u64,
    /// `e_flags`.
    pub e_flags: u32,
    /// `e_ehsize` (C leaves it 0).
    pub e_ehsize: u16,
    /// `e_phentsize`.
    pub e_phentsize: u16,
    /// `e_phnum`.
    pub e_phnum: u16,
    /// `e_shentsize`.
    pub e_shentsize: u16,
    /// `e_shnum`.
    pub e_shnum: u16,
    /// `e_shstrndx`.
    pub e_shstrndx: u16,
}

/// `struct elf_phdr` (`Elf64_Phdr`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CPhdr {
    /// `p_type`.
    pub p_type: u32,
    /// `p_flags`.
    pub p_flags: u32,
    /// `p_offset`.
    pub p_offset: u64,
    /// `p_vaddr`.
    pub p_vaddr: u64,
    /// `p_paddr`.
    pub p_paddr: u64,
    /// `p_filesz`.
    pub p_filesz: u64,
    /// `p_memsz`.
    pub p_memsz: u64,
    /// `p_align`.
    pub p_align: u64,
}

extern "C" {
    fn cref_kexec_build_elf_info(
        buf: *const c_char,
        len: usize,
        ehdr: *mut CElfHdr,
        phdrs: *mut *mut CPhdr,
    ) -> c_int;
    fn cref_free(p: *mut std::ffi::c_void);
    fn cref_riscv_elf_find_pbase(
        buf: *const c_char,
        len: usize,
        pbase: c_ulong,
        old_pbase: *mut c_ulong,
        start: *mut c_ulong,
        buf_min: *mut c_ulong,
        memsz: *mut c_ulong,
    ) -> c_int;
}

/// Upstream `kexec_build_elf_info()` on `buf`: its negative errno, or the
/// ELF header and program headers it read.
pub fn c_build_elf_info(buf: &[u8]) -> Result<(CElfHdr, Vec<CPhdr>), i32> {
    let mut ehdr = CElfHdr::default();
    let mut phdrs: *mut CPhdr = std::ptr::null_mut();
    // SAFETY: `buf` is valid for reads of its length, which C is told; the
    // outputs are valid locals.
    let ret =
        unsafe { cref_kexec_build_elf_info(buf.as_ptr().cast(), buf.len(), &mut ehdr, &mut phdrs) };
    if ret != 0 {
        return Err(ret);
    }
    let n = usize::from(ehdr.e_phnum);
    // SAFETY: on success the wrapper gives a malloc()ed copy of the
    // `e_phnum` program headers, which is freed once copied.
    let v = unsafe {
        let v = std::slice::from_raw_parts(phdrs, n).to_vec();
        cref_free(phdrs.cast());
        v
    };
    Ok((ehdr, v))
}

/// What riscv's `elf_find_pbase()` did with an accepted image, with room
/// for the kernel found at `pbase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CPbase {
    /// `*old_pbase`: the lowest `p_paddr` of the `PT_LOAD`s.
    pub old_pbase: u64,
    /// `image->start`: `e_entry - lowest p_vaddr + pbase`.
    pub start: u64,
    /// The `buf_min` of the hole it looked for.
    pub buf_min: u64,
    /// The `memsz` of the hole it looked for.
    pub memsz: u64,
}

/// The shim's memory hole is a global: one `elf_find_pbase()` at a time.
static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// riscv's `elf_find_pbase()` after `kexec_build_elf_info()` on `buf`.
pub fn c_riscv_find_pbase(buf: &[u8], pbase: u64) -> Result<CPbase, i32> {
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    // `unsigned long` is 64 bits on the hosts this runs on, as on riscv64.
    let (mut old_pbase, mut start, mut buf_min, mut memsz): (c_ulong, c_ulong, c_ulong, c_ulong) =
        (0, 0, 0, 0);
    // SAFETY: `buf` is valid for reads of its length, which C is told; the
    // outputs are valid locals.
    let ret = unsafe {
        cref_riscv_elf_find_pbase(
            buf.as_ptr().cast(),
            buf.len(),
            pbase,
            &mut old_pbase,
            &mut start,
            &mut buf_min,
            &mut memsz,
        )
    };
    if ret != 0 {
        return Err(ret);
    }
    Ok(CPbase {
        old_pbase,
        start,
        buf_min,
        memsz,
    })
}
