// SPDX-License-Identifier: GPL-2.0

//! Relocation of the purgatory image for kexec_file_load (x86_64, RELA).
//!
//! The kernel embeds purgatory as a relocatable ELF object (`purgatory.ro`).
//! kexec_file_load() copies its allocated sections into a buffer, gives each
//! a final physical address, then applies every `SHT_RELA` section to that
//! buffer (`arch_kexec_apply_relocations_add()`). This module is that last
//! step with every offset, index and value checked first: a relocation whose
//! symbol, place or result is out of range, or whose type is unknown, is
//! returned as an error and nothing of its section is written.
//!
//! The arithmetic is the psABI's: `S + A` for the absolute types, `S + A - P`
//! for the PC-relative ones, where `S` is the symbol's value plus the final
//! address of its section, `A` the addend and `P` the final address of the
//! place. Unlike the C version, `R_X86_64_PC32`/`PLT32` results that do not
//! fit in 32 signed bits are refused instead of truncated.

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

/// x86_64 relocation types the purgatory loader applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelocType {
    /// `R_X86_64_NONE` (0): nothing to do.
    None,
    /// `R_X86_64_64` (1): `S + A`, 64 bits.
    Abs64,
    /// `R_X86_64_PC32` (2): `S + A - P`, 32 bits signed.
    Pc32,
    /// `R_X86_64_PLT32` (4): as `PC32` (purgatory has no PLT).
    Plt32,
    /// `R_X86_64_32` (10): `S + A`, 32 bits zero-extended.
    Abs32,
    /// `R_X86_64_32S` (11): `S + A`, 32 bits sign-extended.
    Abs32S,
}

impl RelocType {
    /// The type for an `ELF64_R_TYPE()` value, if the loader knows it.
    pub fn from_raw(t: u32) -> Option<Self> {
        Some(match t {
            0 => RelocType::None,
            1 => RelocType::Abs64,
            2 => RelocType::Pc32,
            4 => RelocType::Plt32,
            10 => RelocType::Abs32,
            11 => RelocType::Abs32S,
            _ => return None,
        })
    }

    /// Bytes written at the place.
    pub fn width(self) -> usize {
        match self {
            RelocType::None => 0,
            RelocType::Abs64 => 8,
            _ => 4,
        }
    }

    /// The bytes to store for symbol value plus addend `sa` at final address
    /// `place`, or `None` if the result does not fit the field.
    pub fn encode(self, sa: u64, place: u64) -> Option<[u8; 8]> {
        let v: u64 = match self {
            RelocType::None => 0,
            RelocType::Abs64 => sa,
            RelocType::Abs32 => u32::try_from(sa).ok()?.into(),
            RelocType::Abs32S => i32::try_from(sa as i64).ok()? as u32 as u64,
            RelocType::Pc32 | RelocType::Plt32 => i32::try_from(sa.wrapping_sub(place) as i64).ok()? as u32 as u64,
        };
        Some(v.to_le_bytes())
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
        if image.get(..4) != Some(b"\x7fELF".as_slice()) || image.get(4) != Some(&2) || image.get(5) != Some(&1) {
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
        let end = entry(shoff, shnum.into(), SHDR_SIZE).ok_or(RelocError::Image("section headers"))?;
        if end > image.len() {
            return Err(RelocError::Image("section headers"));
        }
        if usize::from(shnum).checked_mul(SHDR_SIZE).map_or(true, |n| n > loaded.len()) {
            return Err(RelocError::Image("loaded section headers"));
        }
        Ok(Purgatory { image, shoff, shnum, shstrndx, loaded })
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

    /// Applies relocation section `relsec` (an image header, `SHT_RELA`)
    /// with symbol table `symtab` (an image header) to `section` (the
    /// loader's header of the target) in `buf`, the purgatory buffer whose
    /// offsets the loader's headers use.
    ///
    /// Every relocation is checked before any is written: on error `buf` is
    /// unchanged. Returns the number of relocations applied.
    pub fn apply_rela_x86_64(
        &self,
        buf: &mut [u8],
        section: &Shdr,
        relsec: &Shdr,
        symtab: &Shdr,
    ) -> Result<usize, RelocError<'a>> {
        let strtab = self.shdr(symtab.link.into());
        if strtab.is_none() {
            return Err(RelocError::SectionIndex { what: "string table", index: symtab.link.into() });
        }
        let rels = entries(relsec.size, RELA_SIZE);
        let table_end = entry(relsec.offset, rels, RELA_SIZE).ok_or(RelocError::Image("relocations"))?;
        if table_end > self.image.len() {
            return Err(RelocError::Image("relocations"));
        }
        let nsyms = entries(symtab.size, SYM_SIZE);
        let sym_end = entry(symtab.offset, nsyms, SYM_SIZE).ok_or(RelocError::Image("symbol table"))?;
        if sym_end > self.image.len() {
            return Err(RelocError::Image("symbol table"));
        }
        // Check all, then write all: the second pass cannot fail where the
        // first did not, since RELA results do not depend on the buffer.
        for i in 0..rels {
            self.one(&*buf, section, relsec, symtab, strtab, i)?;
        }
        let mut applied = 0usize;
        for i in 0..rels {
            if let Some((at, bytes, width)) = self.one(&*buf, section, relsec, symtab, strtab, i)? {
                let dst = buf.get_mut(at..at.saturating_add(width)).ok_or(RelocError::Image("buffer"))?;
                dst.copy_from_slice(bytes.get(..width).unwrap_or(&[]));
                applied = applied.saturating_add(1);
            }
        }
        Ok(applied)
    }

    /// Checks relocation `i` and returns where to write what (buffer offset,
    /// little-endian value, width), or `None` for `R_X86_64_NONE`.
    fn one(
        &self,
        buf: &[u8],
        section: &Shdr,
        relsec: &Shdr,
        symtab: &Shdr,
        strtab: Option<Shdr>,
        i: u64,
    ) -> Result<Option<(usize, [u8; 8], usize)>, RelocError<'a>> {
        let rel = usize::try_from(i).unwrap_or(usize::MAX);
        let at = entry(relsec.offset, i, RELA_SIZE).ok_or(RelocError::Image("relocations"))?;
        let r_offset = u64_at(self.image, at).ok_or(RelocError::Image("relocations"))?;
        let r_info = u64_at(self.image, at.saturating_add(8)).ok_or(RelocError::Image("relocations"))?;
        let r_addend = u64_at(self.image, at.saturating_add(16)).ok_or(RelocError::Image("relocations"))?;
        let sym_index = r_info >> 32;
        let rtype = (r_info & 0xffff_ffff) as u32;

        if sym_index >= entries(symtab.size, SYM_SIZE) {
            return Err(RelocError::SymbolIndex { rel, index: sym_index });
        }
        let s = entry(symtab.offset, sym_index, SYM_SIZE).ok_or(RelocError::Image("symbol table"))?;
        let st_name = u32_at(self.image, s).ok_or(RelocError::Image("symbol table"))?;
        let st_shndx = u16_at(self.image, s.saturating_add(6)).ok_or(RelocError::Image("symbol table"))?;
        let st_value = u64_at(self.image, s.saturating_add(8)).ok_or(RelocError::Image("symbol table"))?;
        let name = || {
            if st_name != 0 {
                self.string(strtab, st_name)
            } else {
                let sec = self.shdr(st_shndx.into()).map_or(0, |h| h.name);
                self.string(self.shdr(self.shstrndx.into()), sec)
            }
        };

        let sec_base = match st_shndx {
            SHN_UNDEF => return Err(RelocError::Undefined { rel, name: name() }),
            SHN_COMMON => return Err(RelocError::Common { rel, name: name() }),
            SHN_ABS => 0,
            n => match self.loaded_shdr(n.into()) {
                Some(h) => h.addr,
                None => return Err(RelocError::SymbolSection { rel, shndx: n, name: name() }),
            },
        };
        let sa = st_value.wrapping_add(sec_base).wrapping_add(r_addend);

        let ty = RelocType::from_raw(rtype).ok_or(RelocError::UnknownType { rel, rtype })?;
        if ty == RelocType::None {
            return Ok(None);
        }
        let width = ty.width();
        let place_err = RelocError::Place { rel, offset: r_offset };
        if section.kind == SHT_NOBITS || r_offset.checked_add(width as u64).map_or(true, |e| e > section.size) {
            return Err(place_err);
        }
        let off = section.offset.checked_add(r_offset).and_then(|o| usize::try_from(o).ok()).ok_or(place_err)?;
        if off.checked_add(width).map_or(true, |e| e > buf.len()) {
            return Err(place_err);
        }
        let place = section.addr.wrapping_add(r_offset);
        let value = match ty {
            RelocType::Pc32 | RelocType::Plt32 => sa.wrapping_sub(place),
            _ => sa,
        };
        let bytes = ty.encode(sa, place).ok_or(RelocError::Overflow { rel, rtype, value })?;
        Ok(Some((off, bytes, width)))
    }
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

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn encode_follows_the_psabi() {
        use RelocType::{Abs32, Abs32S, Abs64, Pc32, Plt32};
        assert_eq!(Abs64.encode(0x1122_3344_5566_7788, 0), Some(0x1122_3344_5566_7788u64.to_le_bytes()));
        assert_eq!(Abs32.encode(0xffff_ffff, 0), Some(0xffff_ffffu64.to_le_bytes()));
        assert_eq!(Abs32.encode(0x1_0000_0000, 0), Option::None);
        assert_eq!(Abs32S.encode(0x7fff_ffff, 0), Some(0x7fff_ffffu64.to_le_bytes()));
        assert_eq!(Abs32S.encode(0xffff_ffff_8000_0000, 0), Some(0x8000_0000u64.to_le_bytes()));
        assert_eq!(Abs32S.encode(0x8000_0000, 0), Option::None);
        assert_eq!(Abs32S.encode(0xffff_ffff_7fff_ffff, 0), Option::None);
        // S + A - P, backwards and forwards, and the signed 32-bit edges.
        assert_eq!(Pc32.encode(0x1000, 0x1010), Some(0xffff_fff0u64.to_le_bytes()));
        assert_eq!(Plt32.encode(0x2000, 0x1000), Some(0x1000u64.to_le_bytes()));
        assert_eq!(Pc32.encode(0x8000_0000 + 0x7fff_ffff, 0x8000_0000), Some(0x7fff_ffffu64.to_le_bytes()));
        assert_eq!(Pc32.encode(0x1_0000_0000, 0x8000_0000), Option::None);
        assert_eq!(Pc32.encode(0, 0x8000_0000), Some(0x8000_0000u64.to_le_bytes()));
        assert_eq!(Pc32.encode(0, 0x8000_0001), Option::None);
        assert_eq!(RelocType::None.width(), 0);
        assert_eq!(RelocType::from_raw(9), Option::None); // GOTPCREL
        assert_eq!(RelocType::from_raw(42), Option::None); // REX_GOTPCRELX
    }

    #[test]
    fn shdr_round_trips() {
        let h = Shdr { name: 1, kind: 2, flags: 3, addr: 4, offset: 5, size: 6, link: 7, info: 8, addralign: 9, entsize: 10 };
        assert_eq!(Shdr::parse(&h.to_bytes()), Some(h));
        assert_eq!(Shdr::parse(&h.to_bytes()[..63]), Option::None);
    }

    /// A tiny relocatable object: sections null, .text (64 bytes at
    /// 0x10000), .symtab, .strtab, .rela.text, .shstrtab.
    struct Obj {
        image: Vec<u8>,
        loaded: Vec<u8>,
    }

    const TEXT: u64 = 1;
    const SYMTAB: u64 = 2;
    const RELA: u64 = 4;

    fn obj(syms: &[(u32, u16, u64)], relas: &[(u64, u64, u64)]) -> Obj {
        let mut img = std::vec![0u8; 64];
        img[..4].copy_from_slice(b"\x7fELF");
        img[4] = 2;
        img[5] = 1;
        let text_off = img.len() as u64;
        img.extend([0x90u8; 64]);
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
        let sh = |kind, off, size, link, info| Shdr { kind, offset: off, size, link, info, flags: 6, ..Default::default() };
        let hdrs = [
            Shdr::default(),
            Shdr { name: 1, addr: 0, ..sh(1, text_off, 64, 0, 0) },
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
            let h = if i == 1 { Shdr { addr: 0x10000, offset: 0, ..*h } } else { *h };
            loaded.extend(h.to_bytes());
        }
        Obj { image: img, loaded }
    }

    fn apply<'a>(o: &'a Obj, buf: &mut [u8]) -> Result<usize, RelocError<'a>> {
        let p = Purgatory::new(&o.image, &o.loaded)?;
        let sec = p.loaded_shdr(TEXT).unwrap();
        p.apply_rela_x86_64(buf, &sec, &p.shdr(RELA).unwrap(), &p.shdr(SYMTAB).unwrap())
    }

    fn info(sym: u64, ty: u64) -> u64 {
        (sym << 32) | ty
    }

    #[test]
    fn applies_each_type_at_its_place() {
        // sym 1 "entry" in .text at 0x20, sym 2 "data" absolute 0x1234.
        let o = obj(
            &[(0, 0, 0), (1, 1, 0x20), (7, SHN_ABS, 0x1234)],
            &[
                (0x00, info(1, 1), 8),         // 64: 0x10028
                (0x08, info(2, 10), 1),        // 32: 0x1235
                (0x0c, info(1, 2), (-4i64) as u64), // PC32: 0x10020 - 4 - 0x1000c = 0x10
                (0x10, info(2, 11), (-0x2234i64) as u64), // 32S: -0x1000
                (0x14, info(1, 4), 0),         // PLT32: 0x10020 - 0x10014 = 0xc
                (0x18, info(1, 0), 0),         // NONE
            ],
        );
        let mut buf = std::vec![0u8; 64];
        assert_eq!(apply(&o, &mut buf), Ok(5));
        assert_eq!(&buf[0..8], &0x10028u64.to_le_bytes());
        assert_eq!(&buf[8..12], &0x1235u32.to_le_bytes());
        assert_eq!(&buf[12..16], &0x10u32.to_le_bytes());
        assert_eq!(&buf[16..20], &(-0x1000i32).to_le_bytes());
        assert_eq!(&buf[20..24], &0xcu32.to_le_bytes());
        assert_eq!(&buf[24..], &[0u8; 40][..]);
    }

    /// Every refusal leaves the buffer as it was, even when earlier
    /// relocations of the section were fine.
    #[test]
    fn bad_relocations_are_refused_and_nothing_is_written() {
        let syms = [(0, 0, 0), (1, 1, 0x20), (7, SHN_ABS, 0x1_0000_0000), (1, SHN_UNDEF, 0), (7, SHN_COMMON, 0), (1, 99, 0)];
        let good = (0x00, info(1, 1), 0);
        type Case = ((u64, u64, u64), fn(&RelocError<'_>) -> bool);
        let cases: [Case; 8] = [
            ((0x08, info(1, 9), 0), |e| matches!(e, RelocError::UnknownType { rel: 1, rtype: 9 })),
            ((0x08, info(2, 10), 0), |e| matches!(e, RelocError::Overflow { rel: 1, rtype: 10, .. })),
            ((0x08, info(2, 2), 0), |e| matches!(e, RelocError::Overflow { rel: 1, rtype: 2, .. })),
            ((0x08, info(3, 1), 0), |e| matches!(e, RelocError::Undefined { rel: 1, name: b"entry" })),
            ((0x08, info(4, 1), 0), |e| matches!(e, RelocError::Common { rel: 1, name: b"data" })),
            ((0x08, info(5, 1), 0), |e| matches!(e, RelocError::SymbolSection { rel: 1, shndx: 99, .. })),
            ((0x08, info(6, 1), 0), |e| matches!(e, RelocError::SymbolIndex { rel: 1, index: 6 })),
            ((0x3d, info(1, 10), 0), |e| matches!(e, RelocError::Place { rel: 1, offset: 0x3d })),
        ];
        for (bad, want) in cases {
            let o = obj(&syms, &[good, bad]);
            let mut buf = std::vec![0xaau8; 64];
            let got = apply(&o, &mut buf);
            assert!(got.as_ref().is_err_and(want), "{bad:x?}: {got:?}");
            assert_eq!(buf, std::vec![0xaau8; 64], "{bad:x?} wrote to the buffer");
        }
        // A place past the end of the buffer (section bigger than buffer).
        let o = obj(&syms, &[(0x38, info(1, 1), 0)]);
        let mut short = std::vec![0u8; 60];
        assert_eq!(apply(&o, &mut short), Err(RelocError::Place { rel: 0, offset: 0x38 }));
    }

    #[test]
    fn corrupt_images_are_refused() {
        let o = obj(&[(0, 0, 0)], &[]);
        for cut in [0, 10, 63, o.image.len() - 1] {
            assert!(Purgatory::new(&o.image[..cut], &o.loaded).is_err(), "cut at {cut}");
        }
        assert!(Purgatory::new(&o.image, &o.loaded[..64]).is_err());
        let mut bad = o.image.clone();
        bad[0x3a] = 40;
        assert_eq!(Purgatory::new(&bad, &o.loaded).err(), Some(RelocError::Image("section header size")));
        let p = Purgatory::new(&o.image, &o.loaded).unwrap();
        let sec = p.loaded_shdr(TEXT).unwrap();
        let sym = p.shdr(SYMTAB).unwrap();
        let mut buf = [0u8; 64];
        let huge = Shdr { offset: u64::MAX - 10, size: 48, ..p.shdr(RELA).unwrap() };
        assert_eq!(p.apply_rela_x86_64(&mut buf, &sec, &huge, &sym), Err(RelocError::Image("relocations")));
        let far = Shdr { offset: 1 << 40, ..sym };
        assert_eq!(p.apply_rela_x86_64(&mut buf, &sec, &p.shdr(RELA).unwrap(), &far), Err(RelocError::Image("symbol table")));
        let nolink = Shdr { link: 77, ..sym };
        assert_eq!(
            p.apply_rela_x86_64(&mut buf, &sec, &p.shdr(RELA).unwrap(), &nolink),
            Err(RelocError::SectionIndex { what: "string table", index: 77 })
        );
    }

    #[test]
    fn buffer_len_is_the_end_of_the_last_loaded_section() {
        let o = obj(&[(0, 0, 0)], &[]);
        // Every test section is flagged SHF_ALLOC; the furthest end wins.
        let p = Purgatory::new(&o.image, &o.loaded).unwrap();
        let want = (1..6).map(|i| { let h = p.loaded_shdr(i).unwrap(); h.offset + h.size }).max().unwrap();
        assert_eq!(buffer_len(&o.loaded, 6), Some(want as usize));
        assert_eq!(buffer_len(&o.loaded, 7), Option::None);
    }
}
