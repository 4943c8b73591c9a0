// SPDX-License-Identifier: GPL-2.0

//! Fuzz target: the kexec_file_load() ELF image checks (`kdump::kexec_elf`)
//! never panic on any input and take the decision of the upstream C
//! `kexec_build_elf_info()` (compiled for the host from the base tarball):
//! the same refusals, and for an image both accept, the same ELF header
//! and program headers, and riscv's `elf_find_pbase()` finding the same
//! lowest address and entry point.

#![no_main]

use kdump::kexec_elf::build;
use kdump_cref::kexec_elf::{c_build_elf_info, c_riscv_find_pbase};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let c = c_build_elf_info(data);
    let rust = build(data);
    let img = match (c, rust) {
        (Err(e), Err(r)) => {
            assert_eq!(e, -8, "C refuses with -ENOEXEC ({r})");
            return;
        }
        (Ok((ehdr, phdrs)), Ok(img)) => {
            let h = img.ehdr();
            assert_eq!(ehdr.e_ident, h.ident);
            assert_eq!(
                (ehdr.e_type, ehdr.e_machine, ehdr.e_version, ehdr.e_flags),
                (h.kind, h.machine, h.version, h.flags)
            );
            assert_eq!(
                (ehdr.e_entry, ehdr.e_phoff, ehdr.e_shoff),
                (h.entry, h.phoff, h.shoff)
            );
            assert_eq!((ehdr.e_phentsize, ehdr.e_phnum), (h.phentsize, h.phnum));
            assert_eq!(
                (ehdr.e_shentsize, ehdr.e_shnum, ehdr.e_shstrndx),
                (h.shentsize, h.shnum, h.shstrndx)
            );
            assert_eq!(phdrs.len(), img.phdrs().len());
            for (c, r) in phdrs.iter().zip(img.phdrs()) {
                assert_eq!(
                    (c.p_type, c.p_flags, c.p_offset, c.p_vaddr),
                    (r.kind, r.flags, r.offset, r.vaddr)
                );
                assert_eq!(
                    (c.p_paddr, c.p_filesz, c.p_memsz, c.p_align),
                    (r.paddr, r.filesz, r.memsz, r.align)
                );
            }
            img
        }
        (c, rust) => panic!("C {:?}, Rust {rust:?}", c.map(|(h, _)| h)),
    };
    let pbase = 0x8020_0000;
    let p = c_riscv_find_pbase(data, pbase).expect("the shim always finds room");
    let low = img.lowest_load();
    assert_eq!(p.old_pbase, low.map_or(u64::MAX, |l| l.paddr));
    let vaddr = low.map_or(u64::MAX, |l| l.vaddr);
    assert_eq!(p.start, img.entry().wrapping_sub(vaddr).wrapping_add(pbase));
});
