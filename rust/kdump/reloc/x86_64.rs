// SPDX-License-Identifier: GPL-2.0

//! x86_64 purgatory relocation: the twin of `arch_kexec_apply_relocations_add()`
//! in arch/x86/kernel/machine_kexec_64.c.
//!
//! The arithmetic is the psABI's: `S + A` for the absolute types, `S + A - P`
//! for the PC-relative ones, where `P` is the final address of the place.
//! Unlike the C version, `R_X86_64_PC32`/`PLT32` results that do not fit in
//! 32 signed bits are refused instead of truncated.

use super::{place, Purgatory, Rela, RelocError, Shdr, Tables};

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
            RelocType::Pc32 | RelocType::Plt32 => {
                i32::try_from(sa.wrapping_sub(place) as i64).ok()? as u32 as u64
            }
        };
        Some(v.to_le_bytes())
    }
}

impl<'a> Purgatory<'a, '_> {
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
        let t = self.tables(relsec, symtab)?;
        // Check all, then write all: the second pass cannot fail where the
        // first did not, since RELA results do not depend on the buffer.
        for i in 0..t.rels {
            self.one_x86_64(buf.len(), section, relsec, symtab, &t, i)?;
        }
        let mut applied = 0usize;
        for i in 0..t.rels {
            if let Some((at, bytes, width)) =
                self.one_x86_64(buf.len(), section, relsec, symtab, &t, i)?
            {
                let dst = buf
                    .get_mut(at..at.saturating_add(width))
                    .ok_or(RelocError::Image("buffer"))?;
                // Not copy_from_slice(): its length check could panic.
                for (d, b) in dst.iter_mut().zip(bytes) {
                    *d = b;
                }
                applied = applied.saturating_add(1);
            }
        }
        Ok(applied)
    }

    /// Checks relocation `i` and returns where to write what (buffer offset,
    /// little-endian value, width), or `None` for `R_X86_64_NONE`.
    fn one_x86_64(
        &self,
        buf_len: usize,
        section: &Shdr,
        relsec: &Shdr,
        symtab: &Shdr,
        t: &Tables,
        i: u64,
    ) -> Result<Option<(usize, [u8; 8], usize)>, RelocError<'a>> {
        let Rela {
            rel,
            offset,
            rtype,
            sa,
        } = self.rela(t, relsec, symtab, i)?;
        let ty = RelocType::from_raw(rtype).ok_or(RelocError::UnknownType { rel, rtype })?;
        if ty == RelocType::None {
            return Ok(None);
        }
        let width = ty.width();
        let off = place(section, buf_len, rel, offset, width)?;
        let at = section.addr.wrapping_add(offset);
        let value = match ty {
            RelocType::Pc32 | RelocType::Plt32 => sa.wrapping_sub(at),
            _ => sa,
        };
        let bytes = ty
            .encode(sa, at)
            .ok_or(RelocError::Overflow { rel, rtype, value })?;
        Ok(Some((off, bytes, width)))
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
mod tests {
    use super::*;
    use crate::reloc::testobj::{info, obj, Obj, RELA, SYMTAB, TEXT};
    use crate::reloc::{buffer_len, SHN_ABS, SHN_COMMON, SHN_UNDEF};

    #[test]
    fn encode_follows_the_psabi() {
        use RelocType::{Abs32, Abs32S, Abs64, Pc32, Plt32};
        assert_eq!(
            Abs64.encode(0x1122_3344_5566_7788, 0),
            Some(0x1122_3344_5566_7788u64.to_le_bytes())
        );
        assert_eq!(
            Abs32.encode(0xffff_ffff, 0),
            Some(0xffff_ffffu64.to_le_bytes())
        );
        assert_eq!(Abs32.encode(0x1_0000_0000, 0), Option::None);
        assert_eq!(
            Abs32S.encode(0x7fff_ffff, 0),
            Some(0x7fff_ffffu64.to_le_bytes())
        );
        assert_eq!(
            Abs32S.encode(0xffff_ffff_8000_0000, 0),
            Some(0x8000_0000u64.to_le_bytes())
        );
        assert_eq!(Abs32S.encode(0x8000_0000, 0), Option::None);
        assert_eq!(Abs32S.encode(0xffff_ffff_7fff_ffff, 0), Option::None);
        // S + A - P, backwards and forwards, and the signed 32-bit edges.
        assert_eq!(
            Pc32.encode(0x1000, 0x1010),
            Some(0xffff_fff0u64.to_le_bytes())
        );
        assert_eq!(Plt32.encode(0x2000, 0x1000), Some(0x1000u64.to_le_bytes()));
        assert_eq!(
            Pc32.encode(0x8000_0000 + 0x7fff_ffff, 0x8000_0000),
            Some(0x7fff_ffffu64.to_le_bytes())
        );
        assert_eq!(Pc32.encode(0x1_0000_0000, 0x8000_0000), Option::None);
        assert_eq!(
            Pc32.encode(0, 0x8000_0000),
            Some(0x8000_0000u64.to_le_bytes())
        );
        assert_eq!(Pc32.encode(0, 0x8000_0001), Option::None);
        assert_eq!(RelocType::None.width(), 0);
        assert_eq!(RelocType::from_raw(9), Option::None); // GOTPCREL
        assert_eq!(RelocType::from_raw(42), Option::None); // REX_GOTPCRELX
    }

    #[test]
    fn shdr_round_trips() {
        let h = Shdr {
            name: 1,
            kind: 2,
            flags: 3,
            addr: 4,
            offset: 5,
            size: 6,
            link: 7,
            info: 8,
            addralign: 9,
            entsize: 10,
        };
        assert_eq!(Shdr::parse(&h.to_bytes()), Some(h));
        assert_eq!(Shdr::parse(&h.to_bytes()[..63]), Option::None);
    }

    fn apply<'a>(o: &'a Obj, buf: &mut [u8]) -> Result<usize, RelocError<'a>> {
        let p = Purgatory::new(&o.image, &o.loaded)?;
        let sec = p.loaded_shdr(TEXT).unwrap();
        p.apply_rela_x86_64(buf, &sec, &p.shdr(RELA).unwrap(), &p.shdr(SYMTAB).unwrap())
    }

    #[test]
    fn applies_each_type_at_its_place() {
        // sym 1 "entry" in .text at 0x20, sym 2 "data" absolute 0x1234.
        let o = obj(
            &[(0, 0, 0), (1, 1, 0x20), (7, SHN_ABS, 0x1234)],
            &[
                (0x00, info(1, 1), 8),                    // 64: 0x10028
                (0x08, info(2, 10), 1),                   // 32: 0x1235
                (0x0c, info(1, 2), (-4i64) as u64),       // PC32: 0x10020 - 4 - 0x1000c = 0x10
                (0x10, info(2, 11), (-0x2234i64) as u64), // 32S: -0x1000
                (0x14, info(1, 4), 0),                    // PLT32: 0x10020 - 0x10014 = 0xc
                (0x18, info(1, 0), 0),                    // NONE
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
        let syms = [
            (0, 0, 0),
            (1, 1, 0x20),
            (7, SHN_ABS, 0x1_0000_0000),
            (1, SHN_UNDEF, 0),
            (7, SHN_COMMON, 0),
            (1, 99, 0),
        ];
        let good = (0x00, info(1, 1), 0);
        type Case = ((u64, u64, u64), fn(&RelocError<'_>) -> bool);
        let cases: [Case; 8] = [
            ((0x08, info(1, 9), 0), |e| {
                matches!(e, RelocError::UnknownType { rel: 1, rtype: 9 })
            }),
            ((0x08, info(2, 10), 0), |e| {
                matches!(
                    e,
                    RelocError::Overflow {
                        rel: 1,
                        rtype: 10,
                        ..
                    }
                )
            }),
            ((0x08, info(2, 2), 0), |e| {
                matches!(
                    e,
                    RelocError::Overflow {
                        rel: 1,
                        rtype: 2,
                        ..
                    }
                )
            }),
            ((0x08, info(3, 1), 0), |e| {
                matches!(
                    e,
                    RelocError::Undefined {
                        rel: 1,
                        name: b"entry"
                    }
                )
            }),
            ((0x08, info(4, 1), 0), |e| {
                matches!(
                    e,
                    RelocError::Common {
                        rel: 1,
                        name: b"data"
                    }
                )
            }),
            ((0x08, info(5, 1), 0), |e| {
                matches!(
                    e,
                    RelocError::SymbolSection {
                        rel: 1,
                        shndx: 99,
                        ..
                    }
                )
            }),
            ((0x08, info(6, 1), 0), |e| {
                matches!(e, RelocError::SymbolIndex { rel: 1, index: 6 })
            }),
            ((0x3d, info(1, 10), 0), |e| {
                matches!(
                    e,
                    RelocError::Place {
                        rel: 1,
                        offset: 0x3d
                    }
                )
            }),
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
        assert_eq!(
            apply(&o, &mut short),
            Err(RelocError::Place {
                rel: 0,
                offset: 0x38
            })
        );
    }

    #[test]
    fn corrupt_images_are_refused() {
        let o = obj(&[(0, 0, 0)], &[]);
        for cut in [0, 10, 63, o.image.len() - 1] {
            assert!(
                Purgatory::new(&o.image[..cut], &o.loaded).is_err(),
                "cut at {cut}"
            );
        }
        assert!(Purgatory::new(&o.image, &o.loaded[..64]).is_err());
        let mut bad = o.image.clone();
        bad[0x3a] = 40;
        assert_eq!(
            Purgatory::new(&bad, &o.loaded).err(),
            Some(RelocError::Image("section header size"))
        );
        let p = Purgatory::new(&o.image, &o.loaded).unwrap();
        let sec = p.loaded_shdr(TEXT).unwrap();
        let sym = p.shdr(SYMTAB).unwrap();
        let mut buf = [0u8; 64];
        let huge = Shdr {
            offset: u64::MAX - 10,
            size: 48,
            ..p.shdr(RELA).unwrap()
        };
        assert_eq!(
            p.apply_rela_x86_64(&mut buf, &sec, &huge, &sym),
            Err(RelocError::Image("relocations"))
        );
        let far = Shdr {
            offset: 1 << 40,
            ..sym
        };
        assert_eq!(
            p.apply_rela_x86_64(&mut buf, &sec, &p.shdr(RELA).unwrap(), &far),
            Err(RelocError::Image("symbol table"))
        );
        let nolink = Shdr { link: 77, ..sym };
        assert_eq!(
            p.apply_rela_x86_64(&mut buf, &sec, &p.shdr(RELA).unwrap(), &nolink),
            Err(RelocError::SectionIndex {
                what: "string table",
                index: 77
            })
        );
    }

    #[test]
    fn buffer_len_is_the_end_of_the_last_loaded_section() {
        let o = obj(&[(0, 0, 0)], &[]);
        // Every test section is flagged SHF_ALLOC; the furthest end wins.
        let p = Purgatory::new(&o.image, &o.loaded).unwrap();
        let want = (1..6)
            .map(|i| {
                let h = p.loaded_shdr(i).unwrap();
                h.offset + h.size
            })
            .max()
            .unwrap();
        assert_eq!(buffer_len(&o.loaded, 6), Some(want as usize));
        assert_eq!(buffer_len(&o.loaded, 7), Option::None);
    }
}
