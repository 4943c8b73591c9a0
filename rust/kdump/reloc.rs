// SPDX-License-Identifier: GPL-2.0

//! Relocation of the purgatory image for kexec_file_load (RELA).
//!
//! The kernel embeds purgatory as a relocatable ELF object (`purgatory.ro`).
//! kexec_file_load() copies its allocated sections into a buffer, gives each
//! a final physical address, then applies every `SHT_RELA` section to that
//! buffer (`arch_kexec_apply_relocations_add()`). This module is that last
//! step with every offset, index and value checked first: a relocation whose
//! symbol, place or result is out of range, or whose type is unknown, is
//! returned as an error and nothing of its section is written.
//!
//! This file holds what every architecture shares: the section headers, the
//! loader's view of the image ([`Purgatory`]), reading a relocation and
//! resolving its symbol to `S + A`, where `S` is the symbol's value plus the
//! final address of its section and `A` the addend, and the check that a
//! place lies in its section and the buffer. The types and their arithmetic
//! are per architecture, each documenting where it differs from its C
//! twin: [`Purgatory::apply_rela_x86_64`] (x86_64) and [`riscv`] (riscv64).

pub use crate::elf::EHDR64_SIZE as EHDR_SIZE;
/// Size of `Elf64_Shdr`.
pub const SHDR_SIZE: usize = 64;
/// Size of `Elf64_Sym`.
pub const SYM_SIZE: usize = 24;
/// Size of `Elf64_Rela`.
pub const RELA_SIZE: usize = 24;

/// `SHT_NOBITS`: a section with no bytes in the file (`.bss`).
pub const SHT_NOBITS: u32 = 8;
/// `SHN_UNDEF`: undefined symbol.
pub const SHN_UNDEF: u16 = 0;
/// `SHN_ABS`: absolute symbol, not relative to a section.
pub const SHN_ABS: u16 = 0xfff1;
/// `SHN_COMMON`: common (unallocated) symbol.
pub const SHN_COMMON: u16 = 0xfff2;

use crate::{u16_at, u32_at, u64_at};

pub mod riscv;
mod x86_64;
pub use x86_64::RelocType;

/// Longest symbol name an error carries; longer names are cut.
const NAME_MAX: usize = 64;

/// Whole entries of `each` bytes in a table of `size` bytes.
fn entries(size: u64, each: usize) -> u64 {
    size.checked_div(each as u64).unwrap_or(0)
}

/// `base + index * size` as a `usize`, if it fits.
fn entry(base: u64, index: u64, size: usize) -> Option<usize> {
    let off = index.checked_mul(size as u64)?.checked_add(base)?;
    usize::try_from(off).ok()
}

/// An ELF64 section header (`Elf64_Shdr`), decoded from little-endian bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shdr {
    /// `sh_name`: offset of the name in the section name string table.
    pub name: u32,
    /// `sh_type`.
    pub kind: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// `sh_addr`: final address once loaded.
    pub addr: u64,
    /// `sh_offset`: offset in the file, or in the purgatory buffer for the
    /// loader's copy of an allocated section.
    pub offset: u64,
    /// `sh_size`.
    pub size: u64,
    /// `sh_link`.
    pub link: u32,
    /// `sh_info`.
    pub info: u32,
    /// `sh_addralign`.
    pub addralign: u64,
    /// `sh_entsize`.
    pub entsize: u64,
}

impl Shdr {
    /// Decodes the header in the first [`SHDR_SIZE`] bytes of `b`.
    pub fn parse(b: &[u8]) -> Option<Self> {
        Some(Shdr {
            name: u32_at(b, 0)?,
            kind: u32_at(b, 4)?,
            flags: u64_at(b, 8)?,
            addr: u64_at(b, 16)?,
            offset: u64_at(b, 24)?,
            size: u64_at(b, 32)?,
            link: u32_at(b, 40)?,
            info: u32_at(b, 44)?,
            addralign: u64_at(b, 48)?,
            entsize: u64_at(b, 56)?,
        })
    }

    /// Encodes the header as `Elf64_Shdr` bytes.
    pub fn to_bytes(&self) -> [u8; SHDR_SIZE] {
        let mut out = [0u8; SHDR_SIZE];
        let fields: [&[u8]; 10] = [
            &self.name.to_le_bytes(),
            &self.kind.to_le_bytes(),
            &self.flags.to_le_bytes(),
            &self.addr.to_le_bytes(),
            &self.offset.to_le_bytes(),
            &self.size.to_le_bytes(),
            &self.link.to_le_bytes(),
            &self.info.to_le_bytes(),
            &self.addralign.to_le_bytes(),
            &self.entsize.to_le_bytes(),
        ];
        crate::put_fields(&mut out, &fields);
        out
    }
}

/// Why a relocation section was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelocError<'a> {
    /// A header or table lies outside the image, or has the wrong entry
    /// size; names which.
    Image(&'static str),
    /// A section index (`what`) is not below `e_shnum`.
    SectionIndex {
        /// Which index.
        what: &'static str,
        /// Its value.
        index: u64,
    },
    /// Relocation `rel` names a symbol past the end of the symbol table.
    SymbolIndex {
        /// Index of the relocation in its section.
        rel: usize,
        /// The symbol index.
        index: u64,
    },
    /// Relocation `rel` refers to an undefined symbol.
    Undefined {
        /// Index of the relocation in its section.
        rel: usize,
        /// Symbol name (cut at 64 bytes).
        name: &'a [u8],
    },
    /// Relocation `rel` refers to a common symbol.
    Common {
        /// Index of the relocation in its section.
        rel: usize,
        /// Symbol name.
        name: &'a [u8],
    },
    /// Relocation `rel` refers to a symbol in a section that does not exist.
    SymbolSection {
        /// Index of the relocation in its section.
        rel: usize,
        /// The symbol's `st_shndx`.
        shndx: u16,
        /// Symbol name.
        name: &'a [u8],
    },
    /// Relocation `rel` has a type the loader does not know.
    UnknownType {
        /// Index of the relocation in its section.
        rel: usize,
        /// `ELF64_R_TYPE()`.
        rtype: u32,
    },
    /// Relocation `rel` would write outside its section or the buffer.
    Place {
        /// Index of the relocation in its section.
        rel: usize,
        /// Its `r_offset`.
        offset: u64,
    },
    /// Relocation `rel` computes a value that does not fit its field.
    Overflow {
        /// Index of the relocation in its section.
        rel: usize,
        /// `ELF64_R_TYPE()`.
        rtype: u32,
        /// `S + A`, or `S + A - P` for the PC-relative types.
        value: u64,
    },
}

/// The purgatory image and the loader's state for it.
pub struct Purgatory<'a, 'b> {
    image: &'a [u8],
    shoff: u64,
    shnum: u16,
    shstrndx: u16,
    /// The loader's copy of the section headers (final `sh_addr`s).
    loaded: &'b [u8],
}

impl<'a, 'b> Purgatory<'a, 'b> {
    /// Checks the ELF header of `image` and that its section header table
    /// and `loaded`, the loader's modified copy of it, both hold `e_shnum`
    /// headers.
    pub fn new(image: &'a [u8], loaded: &'b [u8]) -> Result<Self, RelocError<'a>> {
        if image.get(..4) != Some(b"\x7fELF".as_slice())
            || image.get(4) != Some(&2)
            || image.get(5) != Some(&1)
        {
            return Err(RelocError::Image("ELF header (not ELF64 little-endian)"));
        }
        let bad = RelocError::Image("ELF header");
        let shoff = u64_at(image, 0x28).ok_or(bad)?;
        let shentsize = u16_at(image, 0x3a).ok_or(bad)?;
        let shnum = u16_at(image, 0x3c).ok_or(bad)?;
        let shstrndx = u16_at(image, 0x3e).ok_or(bad)?;
        if usize::from(shentsize) != SHDR_SIZE {
            return Err(RelocError::Image("section header size"));
        }
        let end =
            entry(shoff, shnum.into(), SHDR_SIZE).ok_or(RelocError::Image("section headers"))?;
        if end > image.len() {
            return Err(RelocError::Image("section headers"));
        }
        if usize::from(shnum)
            .checked_mul(SHDR_SIZE)
            .map_or(true, |n| n > loaded.len())
        {
            return Err(RelocError::Image("loaded section headers"));
        }
        Ok(Purgatory {
            image,
            shoff,
            shnum,
            shstrndx,
            loaded,
        })
    }

    /// Section header `i` of the image.
    pub fn shdr(&self, i: u64) -> Option<Shdr> {
        if i >= u64::from(self.shnum) {
            return None;
        }
        Shdr::parse(self.image.get(entry(self.shoff, i, SHDR_SIZE)?..)?)
    }

    /// The loader's copy of section header `i`.
    pub fn loaded_shdr(&self, i: u64) -> Option<Shdr> {
        if i >= u64::from(self.shnum) {
            return None;
        }
        Shdr::parse(self.loaded.get(entry(0, i, SHDR_SIZE)?..)?)
    }

    /// `e_shnum`.
    pub fn shnum(&self) -> u16 {
        self.shnum
    }

    /// The NUL-terminated string at `off` in string table section `tab`,
    /// cut at [`NAME_MAX`] bytes; empty if it is not in the image.
    fn string(&self, tab: Option<Shdr>, off: u32) -> &'a [u8] {
        let image: &'a [u8] = self.image;
        let s = tab
            .and_then(|t| usize::try_from(t.offset.checked_add(off.into())?).ok())
            .and_then(|start| image.get(start..))
            .unwrap_or(&[]);
        let s = s.get(..NAME_MAX).unwrap_or(s);
        let nul = s.iter().position(|&c| c == 0).unwrap_or(s.len());
        s.get(..nul).unwrap_or(&[])
    }

    /// Checks the tables relocation section `relsec` uses with symbol table
    /// `symtab`: the string table exists, and the relocation and symbol
    /// tables lie inside the image.
    pub(crate) fn tables(&self, relsec: &Shdr, symtab: &Shdr) -> Result<Tables, RelocError<'a>> {
        let strtab = self.shdr(symtab.link.into());
        if strtab.is_none() {
            return Err(RelocError::SectionIndex {
                what: "string table",
                index: symtab.link.into(),
            });
        }
        let rels = entries(relsec.size, RELA_SIZE);
        let table_end =
            entry(relsec.offset, rels, RELA_SIZE).ok_or(RelocError::Image("relocations"))?;
        if table_end > self.image.len() {
            return Err(RelocError::Image("relocations"));
        }
        let nsyms = entries(symtab.size, SYM_SIZE);
        let sym_end =
            entry(symtab.offset, nsyms, SYM_SIZE).ok_or(RelocError::Image("symbol table"))?;
        if sym_end > self.image.len() {
            return Err(RelocError::Image("symbol table"));
        }
        Ok(Tables { rels, strtab })
    }

    /// Reads relocation `i` of `relsec` and resolves its symbol in `symtab`
    /// to `S + A` (wrapping, as the machine's address arithmetic does).
    ///
    /// Refuses a symbol index past the table, and undefined, common and
    /// unknown-section symbols.
    pub(crate) fn rela(
        &self,
        t: &Tables,
        relsec: &Shdr,
        symtab: &Shdr,
        i: u64,
    ) -> Result<Rela, RelocError<'a>> {
        self.rela_with(t, relsec, symtab, i, |_| false)
    }

    /// [`Self::rela`], but an undefined symbol counts as 0 for the types
    /// `no_symbol` accepts (those that write nothing and name the null
    /// symbol).
    pub(crate) fn rela_with(
        &self,
        t: &Tables,
        relsec: &Shdr,
        symtab: &Shdr,
        i: u64,
        no_symbol: impl Fn(u32) -> bool,
    ) -> Result<Rela, RelocError<'a>> {
        let rel = usize::try_from(i).unwrap_or(usize::MAX);
        let at = entry(relsec.offset, i, RELA_SIZE).ok_or(RelocError::Image("relocations"))?;
        let r_offset = u64_at(self.image, at).ok_or(RelocError::Image("relocations"))?;
        let r_info =
            u64_at(self.image, at.saturating_add(8)).ok_or(RelocError::Image("relocations"))?;
        let r_addend =
            u64_at(self.image, at.saturating_add(16)).ok_or(RelocError::Image("relocations"))?;
        let sym_index = r_info >> 32;
        let rtype = (r_info & 0xffff_ffff) as u32;

        if sym_index >= entries(symtab.size, SYM_SIZE) {
            return Err(RelocError::SymbolIndex {
                rel,
                index: sym_index,
            });
        }
        let s =
            entry(symtab.offset, sym_index, SYM_SIZE).ok_or(RelocError::Image("symbol table"))?;
        let st_name = u32_at(self.image, s).ok_or(RelocError::Image("symbol table"))?;
        let st_shndx =
            u16_at(self.image, s.saturating_add(6)).ok_or(RelocError::Image("symbol table"))?;
        let st_value =
            u64_at(self.image, s.saturating_add(8)).ok_or(RelocError::Image("symbol table"))?;
        let name = || {
            if st_name != 0 {
                self.string(t.strtab, st_name)
            } else {
                let sec = self.shdr(st_shndx.into()).map_or(0, |h| h.name);
                self.string(self.shdr(self.shstrndx.into()), sec)
            }
        };

        let sec_base = match st_shndx {
            SHN_UNDEF if no_symbol(rtype) => 0,
            SHN_UNDEF => return Err(RelocError::Undefined { rel, name: name() }),
            SHN_COMMON => return Err(RelocError::Common { rel, name: name() }),
            SHN_ABS => 0,
            n => match self.loaded_shdr(n.into()) {
                Some(h) => h.addr,
                None => {
                    return Err(RelocError::SymbolSection {
                        rel,
                        shndx: n,
                        name: name(),
                    })
                }
            },
        };
        let sa = st_value.wrapping_add(sec_base).wrapping_add(r_addend);
        Ok(Rela {
            rel,
            offset: r_offset,
            rtype,
            sa,
        })
    }
}

/// The tables of one relocation section, checked by [`Purgatory::tables`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tables {
    /// Number of whole relocation entries.
    pub(crate) rels: u64,
    /// The symbol table's string table.
    strtab: Option<Shdr>,
}

/// One relocation, read and with its symbol resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rela {
    /// Index of the relocation in its section.
    pub(crate) rel: usize,
    /// `r_offset`.
    pub(crate) offset: u64,
    /// `ELF64_R_TYPE()`.
    pub(crate) rtype: u32,
    /// `S + A`.
    pub(crate) sa: u64,
}

/// The buffer offset of the `width` bytes at `r_offset` in `section`, if
/// they lie inside the section (which must have bytes) and inside a buffer
/// of `buf_len` bytes.
pub(crate) fn place<'a>(
    section: &Shdr,
    buf_len: usize,
    rel: usize,
    r_offset: u64,
    width: usize,
) -> Result<usize, RelocError<'a>> {
    let place_err = RelocError::Place {
        rel,
        offset: r_offset,
    };
    if section.kind == SHT_NOBITS
        || r_offset
            .checked_add(width as u64)
            .map_or(true, |e| e > section.size)
    {
        return Err(place_err);
    }
    let off = section
        .offset
        .checked_add(r_offset)
        .and_then(|o| usize::try_from(o).ok())
        .ok_or(place_err)?;
    if off.checked_add(width).map_or(true, |e| e > buf_len) {
        return Err(place_err);
    }
    Ok(off)
}

/// `e_shnum` of an ELF64 image, if the header is there.
pub fn shnum(image: &[u8]) -> Option<u16> {
    u16_at(image.get(..EHDR_SIZE)?, 0x3c)
}

/// Length of the purgatory buffer described by the loader's section
/// headers: the end of the last allocated section that has bytes.
///
/// `struct purgatory_info` does not record the buffer size; every offset
/// the loader gave an allocated section lies below this bound.
pub fn buffer_len(loaded: &[u8], shnum: u16) -> Option<usize> {
    const SHF_ALLOC: u64 = 2;
    let mut end = 0u64;
    for i in 0..u64::from(shnum) {
        let h = Shdr::parse(loaded.get(entry(0, i, SHDR_SIZE)?..)?)?;
        if h.flags & SHF_ALLOC != 0 && h.kind != SHT_NOBITS {
            end = end.max(h.offset.checked_add(h.size)?);
        }
    }
    usize::try_from(end).ok()
}

/// Relocatable objects for the unit tests of every architecture.
#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
pub(crate) mod testobj {
    use super::Shdr;
    use std::vec::Vec;

    /// A tiny relocatable object: sections null, .text (64 bytes at
    /// 0x10000), .symtab, .strtab, .rela.text, .shstrtab.
    pub(crate) struct Obj {
        pub(crate) image: Vec<u8>,
        pub(crate) loaded: Vec<u8>,
    }

    pub(crate) const TEXT: u64 = 1;
    pub(crate) const SYMTAB: u64 = 2;
    pub(crate) const RELA: u64 = 4;

    /// The object with .text filled with x86 `nop`s.
    pub(crate) fn obj(syms: &[(u32, u16, u64)], relas: &[(u64, u64, u64)]) -> Obj {
        obj_with_text(&[0x90; 64], syms, relas)
    }

    /// [`obj`] with the given bytes of .text.
    pub(crate) fn obj_with_text(
        text: &[u8; 64],
        syms: &[(u32, u16, u64)],
        relas: &[(u64, u64, u64)],
    ) -> Obj {
        let mut img = std::vec![0u8; 64];
        img[..4].copy_from_slice(b"\x7fELF");
        img[4] = 2;
        img[5] = 1;
        let text_off = img.len() as u64;
        img.extend(text);
        let sym_off = img.len() as u64;
        for &(name, shndx, value) in syms {
            let mut s = [0u8; 24];
            s[..4].copy_from_slice(&name.to_le_bytes());
            s[6..8].copy_from_slice(&shndx.to_le_bytes());
            s[8..16].copy_from_slice(&value.to_le_bytes());
            img.extend(s);
        }
        let str_off = img.len() as u64;
        img.extend(b"\0entry\0data\0");
        let rela_off = img.len() as u64;
        for &(off, info, addend) in relas {
            img.extend(off.to_le_bytes());
            img.extend(info.to_le_bytes());
            img.extend(addend.to_le_bytes());
        }
        let shstr_off = img.len() as u64;
        img.extend(b"\0.text\0");
        let shoff = img.len() as u64;
        let sh = |kind, off, size, link, info| Shdr {
            kind,
            offset: off,
            size,
            link,
            info,
            flags: 6,
            ..Default::default()
        };
        let hdrs = [
            Shdr::default(),
            Shdr {
                name: 1,
                addr: 0,
                ..sh(1, text_off, 64, 0, 0)
            },
            sh(2, sym_off, 24 * syms.len() as u64, 3, 0),
            sh(3, str_off, 12, 0, 0),
            sh(4, rela_off, 24 * relas.len() as u64, 2, 1),
            sh(3, shstr_off, 7, 0, 0),
        ];
        for h in &hdrs {
            img.extend(h.to_bytes());
        }
        img[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        img[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        img[0x3c..0x3e].copy_from_slice(&(hdrs.len() as u16).to_le_bytes());
        img[0x3e..0x40].copy_from_slice(&5u16.to_le_bytes());
        // The loader put .text at buffer offset 0, address 0x10000.
        let mut loaded = Vec::new();
        for (i, h) in hdrs.iter().enumerate() {
            let h = if i == 1 {
                Shdr {
                    addr: 0x10000,
                    offset: 0,
                    ..*h
                }
            } else {
                *h
            };
            loaded.extend(h.to_bytes());
        }
        Obj { image: img, loaded }
    }

    /// `r_info` of symbol `sym`, type `ty`.
    pub(crate) fn info(sym: u64, ty: u64) -> u64 {
        (sym << 32) | ty
    }
}
