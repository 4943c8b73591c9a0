// SPDX-License-Identifier: GPL-2.0

//! The ELF definitions the crash path reads and writes: constants, the two
//! classes, and program headers.
//!
//! The ELF core header is written by [`crate::elfcorehdr`] in the crashed
//! kernel, read and written again by [`crate::vmcore`] in the capture
//! kernel; purgatory is an ELF object that [`crate::reloc`] relocates. They
//! share the encoding here, from the System V gABI (`include/uapi/linux/elf.h`
//! names the same values). Everything is little-endian: every architecture
//! this crate serves is. The one reader of either byte order is
//! [`crate::kexec_elf`], which checks the kernel image given to
//! `kexec_file_load()` as the generic C loader does.

use crate::{u32_at, u64_at};

/// Bytes of `e_ident`.
pub const EI_NIDENT: usize = 16;
/// `ELFMAG`: the first four bytes of every ELF file.
pub const ELFMAG: &[u8; 4] = b"\x7fELF";
/// `ELFCLASS32`.
pub const ELFCLASS32: u8 = 1;
/// `ELFCLASS64`.
pub const ELFCLASS64: u8 = 2;
/// `ELFDATA2LSB`: little-endian.
pub const ELFDATA2LSB: u8 = 1;
/// `ELFDATA2MSB`: big-endian (read only by [`crate::kexec_elf`]).
pub const ELFDATA2MSB: u8 = 2;
/// `EV_CURRENT`, in `e_ident[EI_VERSION]` and `e_version`.
pub const EV_CURRENT: u8 = 1;
/// `ET_EXEC`: an executable.
pub const ET_EXEC: u16 = 2;
/// `ET_DYN`: a shared object (a position-independent executable, or a
/// big-endian powerpc vmlinux).
pub const ET_DYN: u16 = 3;
/// `ET_CORE`.
pub const ET_CORE: u16 = 4;

/// `EM_386`.
pub const EM_386: u16 = 3;
/// `EM_X86_64`.
pub const EM_X86_64: u16 = 62;
/// `EM_AARCH64`.
pub const EM_AARCH64: u16 = 183;
/// `EM_RISCV`.
pub const EM_RISCV: u16 = 243;

/// `PT_LOAD`.
pub const PT_LOAD: u32 = 1;
/// `PT_INTERP`: the program wants an interpreter.
pub const PT_INTERP: u32 = 3;
/// `PT_NOTE`.
pub const PT_NOTE: u32 = 4;
/// `PF_R | PF_W | PF_X`.
pub const PF_RWX: u32 = 7;
/// `PN_XNUM`: `e_phnum` value that means extended numbering.
pub const PN_XNUM: u16 = 0xffff;

/// Size of `Elf64_Ehdr`.
pub const EHDR64_SIZE: usize = 64;
/// Size of `Elf64_Phdr`.
pub const PHDR64_SIZE: usize = 56;
/// Size of `Elf64_Shdr`.
pub const SHDR64_SIZE: usize = 64;
/// Size of `Elf64_Nhdr`, and of `Elf32_Nhdr`, which is the same.
pub const NHDR_SIZE: usize = 12;

/// ELF class (`e_ident[EI_CLASS]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// `ELFCLASS32`.
    Elf32,
    /// `ELFCLASS64`.
    Elf64,
}

impl Class {
    /// `sizeof(Elf32_Ehdr)` or `sizeof(Elf64_Ehdr)`.
    pub const fn ehdr_size(self) -> usize {
        match self {
            Class::Elf32 => 52,
            Class::Elf64 => EHDR64_SIZE,
        }
    }

    /// `sizeof(Elf32_Phdr)` or `sizeof(Elf64_Phdr)`.
    pub const fn phdr_size(self) -> usize {
        match self {
            Class::Elf32 => 32,
            Class::Elf64 => PHDR64_SIZE,
        }
    }

    /// Offset of `e_phoff` in the ELF header.
    pub const fn phoff_at(self) -> usize {
        match self {
            Class::Elf32 => 28,
            Class::Elf64 => 32,
        }
    }

    /// Offset of `e_ehsize` in the ELF header; `e_phentsize` and `e_phnum`
    /// follow it.
    pub const fn ehsize_at(self) -> usize {
        match self {
            Class::Elf32 => 40,
            Class::Elf64 => 52,
        }
    }

    /// Offset of `e_phnum` in the ELF header.
    pub const fn phnum_at(self) -> usize {
        self.ehsize_at().wrapping_add(4)
    }

    /// Offset and width of `p_offset` in a program header.
    pub const fn p_offset_field(self) -> (usize, usize) {
        match self {
            Class::Elf32 => (4, 4),
            Class::Elf64 => (8, 8),
        }
    }

    /// Reads an address-sized field (`Elf32_Off` or `Elf64_Off`) at `off`.
    pub fn word_at(self, b: &[u8], off: usize) -> Option<u64> {
        match self {
            Class::Elf32 => u32_at(b, off).map(u64::from),
            Class::Elf64 => u64_at(b, off),
        }
    }

    /// Largest value an address-sized field holds.
    pub const fn word_max(self) -> u64 {
        match self {
            Class::Elf32 => u32::MAX as u64,
            Class::Elf64 => u64::MAX,
        }
    }
}

/// Writes the whole `ET_CORE` ELF64 header of a core file whose `phnum`
/// program headers follow it, at the start of `out` (as far as it
/// reaches): no entry point, no section headers.
pub fn write_core_ehdr64(out: &mut [u8], machine: u16, osabi: u8, phnum: u16) {
    let ident = [
        ELFMAG[0],
        ELFMAG[1],
        ELFMAG[2],
        ELFMAG[3],
        ELFCLASS64,
        ELFDATA2LSB,
        EV_CURRENT,
        osabi,
    ];
    crate::put_fields(
        out,
        &[
            &ident,
            &[0u8; 8], // the rest of e_ident
            &ET_CORE.to_le_bytes(),
            &machine.to_le_bytes(),
            &u32::from(EV_CURRENT).to_le_bytes(),
            &0u64.to_le_bytes(),                 // e_entry
            &(EHDR64_SIZE as u64).to_le_bytes(), // e_phoff
            &0u64.to_le_bytes(),                 // e_shoff
            &0u32.to_le_bytes(),                 // e_flags
            &(EHDR64_SIZE as u16).to_le_bytes(), // e_ehsize
            &(PHDR64_SIZE as u16).to_le_bytes(), // e_phentsize
            &phnum.to_le_bytes(),
            &[0u8; 6], // e_shentsize, e_shnum, e_shstrndx
        ],
    );
}

/// A program header, either class, widened to 64 bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Phdr {
    /// `p_type`.
    pub kind: u32,
    /// `p_flags`.
    pub flags: u32,
    /// `p_offset`: in an ELF core header, the physical address of the
    /// segment in old memory.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_paddr`.
    pub paddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`: the segment's size in old memory.
    pub memsz: u64,
    /// `p_align`.
    pub align: u64,
}

impl Phdr {
    /// Decodes a program header of class `class` from the start of `b`.
    pub fn parse(class: Class, b: &[u8]) -> Option<Self> {
        Some(match class {
            Class::Elf64 => Phdr {
                kind: u32_at(b, 0)?,
                flags: u32_at(b, 4)?,
                offset: u64_at(b, 8)?,
                vaddr: u64_at(b, 16)?,
                paddr: u64_at(b, 24)?,
                filesz: u64_at(b, 32)?,
                memsz: u64_at(b, 40)?,
                align: u64_at(b, 48)?,
            },
            Class::Elf32 => Phdr {
                kind: u32_at(b, 0)?,
                offset: u32_at(b, 4)?.into(),
                vaddr: u32_at(b, 8)?.into(),
                paddr: u32_at(b, 12)?.into(),
                filesz: u32_at(b, 16)?.into(),
                memsz: u32_at(b, 20)?.into(),
                flags: u32_at(b, 24)?,
                align: u32_at(b, 28)?.into(),
            },
        })
    }

    /// Encodes the header as class `class` at the start of `out` (as far as
    /// it reaches). For ELF32 the address-sized fields are cut to 32 bits;
    /// callers only pass values that fit.
    pub fn write(&self, class: Class, out: &mut [u8]) {
        match class {
            Class::Elf64 => crate::put_fields(
                out,
                &[
                    &self.kind.to_le_bytes(),
                    &self.flags.to_le_bytes(),
                    &self.offset.to_le_bytes(),
                    &self.vaddr.to_le_bytes(),
                    &self.paddr.to_le_bytes(),
                    &self.filesz.to_le_bytes(),
                    &self.memsz.to_le_bytes(),
                    &self.align.to_le_bytes(),
                ],
            ),
            Class::Elf32 => crate::put_fields(
                out,
                &[
                    &self.kind.to_le_bytes(),
                    &(self.offset as u32).to_le_bytes(),
                    &(self.vaddr as u32).to_le_bytes(),
                    &(self.paddr as u32).to_le_bytes(),
                    &(self.filesz as u32).to_le_bytes(),
                    &(self.memsz as u32).to_le_bytes(),
                    &self.flags.to_le_bytes(),
                    &(self.align as u32).to_le_bytes(),
                ],
            ),
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Field offsets from the gABI's `Elf64_Phdr` and `Elf32_Phdr`
    /// (`p_flags` moves to after `p_memsz` in ELF32).
    #[test]
    fn phdr_fields_sit_where_the_gabi_puts_them() {
        let p = Phdr {
            kind: 1,
            flags: 2,
            offset: 3,
            vaddr: 4,
            paddr: 5,
            filesz: 6,
            memsz: 7,
            align: 8,
        };
        let mut b = [0u8; PHDR64_SIZE];
        p.write(Class::Elf64, &mut b);
        for (at, v) in [
            (0, 1u8),
            (4, 2),
            (8, 3),
            (16, 4),
            (24, 5),
            (32, 6),
            (40, 7),
            (48, 8),
        ] {
            assert_eq!(b[at], v, "Elf64_Phdr byte {at}");
        }
        assert_eq!(Phdr::parse(Class::Elf64, &b), Some(p));
        let mut b = [0u8; 32];
        p.write(Class::Elf32, &mut b);
        for (at, v) in [
            (0, 1u8),
            (4, 3),
            (8, 4),
            (12, 5),
            (16, 6),
            (20, 7),
            (24, 2),
            (28, 8),
        ] {
            assert_eq!(b[at], v, "Elf32_Phdr byte {at}");
        }
        assert_eq!(Phdr::parse(Class::Elf32, &b), Some(p));
        assert_eq!(
            Phdr::parse(Class::Elf64, &b),
            None,
            "32 bytes are no Elf64_Phdr"
        );
    }

    #[test]
    fn core_ehdr64_fields() {
        let mut b = [0xaau8; EHDR64_SIZE];
        write_core_ehdr64(&mut b, EM_AARCH64, 0, 9);
        assert_eq!(&b[..8], b"\x7fELF\x02\x01\x01\x00");
        assert_eq!(&b[8..16], &[0; 8]);
        assert_eq!(u16::from_le_bytes([b[16], b[17]]), 4, "e_type");
        assert_eq!(u16::from_le_bytes([b[18], b[19]]), 183, "e_machine");
        assert_eq!(
            u64::from_le_bytes(b[32..40].try_into().unwrap()),
            64,
            "e_phoff"
        );
        assert_eq!(u16::from_le_bytes([b[52], b[53]]), 64, "e_ehsize");
        assert_eq!(u16::from_le_bytes([b[54], b[55]]), 56, "e_phentsize");
        assert_eq!(u16::from_le_bytes([b[56], b[57]]), 9, "e_phnum");
        assert_eq!(&b[58..64], &[0; 6], "e_shentsize, e_shnum, e_shstrndx");
    }
}
