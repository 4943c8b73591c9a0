// SPDX-License-Identifier: GPL-2.0

//! The arm64 kernel `Image` header that `kexec_file_load()` checks before it
//! loads a kernel (`kexec -s` on arm64).
//!
//! An arm64 `Image` starts with a 64-byte header (Documentation/arch/arm64/
//! booting.rst, `struct arm64_image_header` of arch/arm64/include/asm/
//! image.h): two code words, the load offset `text_offset`, the effective
//! `image_size`, the `flags` (endianness, page size, physical placement),
//! three reserved words, the magic `"ARM\x64"` and the PE header offset. All
//! fields are little-endian.
//!
//! This module is the Rust twin of the checks of arch/arm64/kernel/
//! kexec_image.c, in the same two steps:
//!
//! - [`probe`] is `image_probe()`: the buffer holds a whole header and the
//!   magic is there. A kernel that fails it is not an `Image`.
//! - [`Header::check`] is the check part of `image_load()`, run on an
//!   `Image` that passed [`probe`]: `image_size` is not zero (an `Image` from
//!   before v3.17, whose header is ambiguous), the kernel's endianness is the
//!   running kernel's or the CPUs can run both, and the page size the kernel
//!   was built for, if it says, is a granule the CPUs support. It does not
//!   look at the magic, as `image_load()` does not.
//!
//! Every failure is one [`ImageError`] naming the field at fault; in the
//! kernel each is `-EINVAL`, as in C. What the loader then uses, the load
//! size and offset, comes out of a successful check as an [`Image`].

use crate::{u32_at, u64_at};

/// Bytes of `struct arm64_image_header`.
pub const HEADER_SIZE: usize = 64;
/// `ARM64_IMAGE_MAGIC`, `"ARM\x64"`, at [`MAGIC_OFFSET`].
pub const MAGIC: [u8; 4] = *b"ARM\x64";
/// Offset of the `magic` field.
pub const MAGIC_OFFSET: usize = 56;

/// `ARM64_IMAGE_FLAG_BE_SHIFT` and `_MASK`: bit 0, 1 if big-endian.
const FLAG_BE_SHIFT: u32 = 0;
/// `ARM64_IMAGE_FLAG_PAGE_SIZE_SHIFT` and `_MASK`: bits 1-2.
const FLAG_PAGE_SIZE_SHIFT: u32 = 1;
/// `ARM64_IMAGE_FLAG_PHYS_BASE_SHIFT` and `_MASK`: bit 3.
const FLAG_PHYS_BASE_SHIFT: u32 = 3;

/// The page size an `Image` was built for (`flags` bits 1-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSize {
    /// 0: not said (the loader does not check).
    Unspecified,
    /// 1: `ARM64_IMAGE_FLAG_PAGE_SIZE_4K`.
    K4,
    /// 2: `ARM64_IMAGE_FLAG_PAGE_SIZE_16K`.
    K16,
    /// 3: `ARM64_IMAGE_FLAG_PAGE_SIZE_64K`.
    K64,
}

/// The header's `flags`, decoded as `arm64_image_flag_field()` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags(pub u64);

impl Flags {
    /// Bit 0: the kernel is big-endian (`ARM64_IMAGE_FLAG_BE`).
    pub fn big_endian(self) -> bool {
        (self.0 >> FLAG_BE_SHIFT) & 1 == 1
    }

    /// Bits 1-2: the page size the kernel was built for.
    pub fn page_size(self) -> PageSize {
        match (self.0 >> FLAG_PAGE_SIZE_SHIFT) & 3 {
            1 => PageSize::K4,
            2 => PageSize::K16,
            3 => PageSize::K64,
            _ => PageSize::Unspecified,
        }
    }

    /// Bit 3: the kernel may be placed anywhere in the 48-bit physical
    /// space (`ARM64_IMAGE_FLAG_PHYS_BASE`), not only near the start of
    /// DRAM. Informational: the loader does not check it.
    pub fn phys_base(self) -> bool {
        (self.0 >> FLAG_PHYS_BASE_SHIFT) & 1 == 1
    }
}

/// What the running system supports, for [`Header::check`]: the values of
/// `IS_ENABLED(CONFIG_CPU_BIG_ENDIAN)`, `system_supports_mixed_endian()` and
/// `system_supports_{4,16,64}kb_granule()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cpu {
    /// The running kernel is big-endian.
    pub big_endian: bool,
    /// Every CPU can run at EL1 in either endianness.
    pub mixed_endian: bool,
    /// Every CPU supports the 4 KiB translation granule.
    pub granule_4k: bool,
    /// Every CPU supports the 16 KiB translation granule.
    pub granule_16k: bool,
    /// Every CPU supports the 64 KiB translation granule.
    pub granule_64k: bool,
}

impl Cpu {
    /// Whether the CPUs can run a kernel built for `p`.
    pub fn supports(&self, p: PageSize) -> bool {
        match p {
            PageSize::Unspecified => true,
            PageSize::K4 => self.granule_4k,
            PageSize::K16 => self.granule_16k,
            PageSize::K64 => self.granule_64k,
        }
    }
}

/// Why an `Image` is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The buffer is shorter than the 64-byte header.
    TooShort {
        /// Bytes given.
        len: usize,
    },
    /// The `magic` field is not `"ARM\x64"`: not an arm64 `Image`.
    Magic {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// `image_size` is 0: an `Image` from before v3.17, whose load offset
    /// and endianness are ambiguous.
    NoImageSize,
    /// The `Image` is big-endian and the running kernel little-endian, or
    /// the other way round, and the CPUs cannot run both.
    Endianness {
        /// The `Image`'s endianness flag.
        image_big_endian: bool,
    },
    /// The `Image` was built for a page size the CPUs do not support.
    PageSize(PageSize),
}

impl ImageError {
    /// The header field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            ImageError::TooShort { .. } => "header",
            ImageError::Magic { .. } => "magic",
            ImageError::NoImageSize => "image_size",
            ImageError::Endianness { .. } | ImageError::PageSize(_) => "flags",
        }
    }
}

/// The fields of `struct arm64_image_header` that mean something to the
/// loader, read little-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// `text_offset`: where the `Image` goes above a 2 MiB aligned base.
    pub text_offset: u64,
    /// `image_size`: bytes the kernel occupies from its start, bss included.
    pub image_size: u64,
    /// `flags`.
    pub flags: Flags,
    /// The `magic` field's bytes.
    pub magic: [u8; 4],
}

/// What the loader uses from an `Image` that passed [`Header::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Image {
    /// `text_offset`.
    pub text_offset: u64,
    /// `image_size`, never 0.
    pub image_size: u64,
    /// `flags`.
    pub flags: Flags,
}

impl Image {
    /// Bytes of the kernel segment as `image_load()` asks for it:
    /// `image_size + text_offset`, or `None` where C's `unsigned long`
    /// would wrap.
    pub fn load_size(&self) -> Option<u64> {
        self.image_size.checked_add(self.text_offset)
    }
}

impl Header {
    /// Reads the header at the start of `buf` (no check but its length).
    pub fn parse(buf: &[u8]) -> Result<Self, ImageError> {
        let too_short = ImageError::TooShort { len: buf.len() };
        let head = buf.get(..HEADER_SIZE).ok_or(too_short)?;
        Ok(Header {
            text_offset: u64_at(head, 8).ok_or(too_short)?,
            image_size: u64_at(head, 16).ok_or(too_short)?,
            flags: Flags(u64_at(head, 24).ok_or(too_short)?),
            magic: u32_at(head, MAGIC_OFFSET).ok_or(too_short)?.to_le_bytes(),
        })
    }

    /// The checks of `image_load()`, in its order: `image_size`, then the
    /// endianness, then the page size.
    pub fn check(&self, cpu: &Cpu) -> Result<Image, ImageError> {
        if self.image_size == 0 {
            return Err(ImageError::NoImageSize);
        }
        let image_big_endian = self.flags.big_endian();
        if image_big_endian != cpu.big_endian && !cpu.mixed_endian {
            return Err(ImageError::Endianness { image_big_endian });
        }
        let page_size = self.flags.page_size();
        if !cpu.supports(page_size) {
            return Err(ImageError::PageSize(page_size));
        }
        Ok(Image {
            text_offset: self.text_offset,
            image_size: self.image_size,
            flags: self.flags,
        })
    }
}

/// `image_probe()`: the header of the `Image` in `buf`, if `buf` holds a
/// whole header with the arm64 magic.
pub fn probe(buf: &[u8]) -> Result<Header, ImageError> {
    let h = Header::parse(buf)?;
    if h.magic != MAGIC {
        return Err(ImageError::Magic { found: h.magic });
    }
    Ok(h)
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The first 64 bytes of the arm64 `Image` this tree builds (6.12,
    /// tinyconfig plus the kdump fragments: 4K pages, little-endian, no
    /// EFI stub, `text_offset` 0 since v5.8), as
    /// `od -A d -t x1 -N 64 arch/arm64/boot/Image` shows them.
    const REAL: [u8; 64] = [
        0x1f, 0x20, 0x03, 0xd5, 0x3b, 0x78, 0x0f, 0x14, // nop; b primary_entry
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // text_offset 0
        0x00, 0x00, 0x54, 0x00, 0x00, 0x00, 0x00, 0x00, // image_size 0x540000
        0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // flags: LE, 4K, phys base
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
        0x41, 0x52, 0x4d, 0x64, 0x00, 0x00, 0x00, 0x00, // "ARM\x64", no PE header
    ];

    /// A little-endian, 4K-only machine like QEMU virt's cortex-a57.
    const LE_4K: Cpu = Cpu {
        big_endian: false,
        mixed_endian: false,
        granule_4k: true,
        granule_16k: false,
        granule_64k: true,
    };

    fn header(text_offset: u64, image_size: u64, flags: u64) -> [u8; 64] {
        let mut b = REAL;
        b[8..16].copy_from_slice(&text_offset.to_le_bytes());
        b[16..24].copy_from_slice(&image_size.to_le_bytes());
        b[24..32].copy_from_slice(&flags.to_le_bytes());
        b
    }

    #[test]
    fn a_real_image_passes() {
        let h = probe(&REAL).unwrap();
        assert_eq!(h.magic, *b"ARM\x64");
        let img = h.check(&LE_4K).unwrap();
        assert_eq!((img.text_offset, img.image_size), (0, 0x54_0000));
        assert_eq!(
            (
                img.flags.big_endian(),
                img.flags.page_size(),
                img.flags.phys_base()
            ),
            (false, PageSize::K4, true)
        );
        assert_eq!(img.load_size(), Some(0x54_0000));
        // A longer buffer (the whole Image) is the same header.
        let mut long = REAL.to_vec();
        long.extend_from_slice(&[0xff; 4096]);
        assert_eq!(probe(&long), Ok(h));
    }

    #[test]
    fn probe_wants_a_whole_header_and_the_magic() {
        assert_eq!(probe(&[]), Err(ImageError::TooShort { len: 0 }));
        assert_eq!(probe(&REAL[..63]), Err(ImageError::TooShort { len: 63 }));
        let mut b = REAL;
        b[59] = 0x65;
        assert_eq!(probe(&b), Err(ImageError::Magic { found: *b"ARMe" }));
        // An ELF vmlinux is not an Image.
        let mut elf = [0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        assert_eq!(probe(&elf).unwrap_err().field(), "magic");
        // The magic in the other byte order (a big-endian read) is wrong.
        b[56..60].copy_from_slice(b"d\x4dRA");
        assert!(matches!(probe(&b), Err(ImageError::Magic { .. })));
    }

    #[test]
    fn load_checks_in_order() {
        // Pre-3.17 Image: image_size 0, whatever else.
        assert_eq!(
            Header::parse(&header(0x8_0000, 0, 0xf))
                .unwrap()
                .check(&LE_4K),
            Err(ImageError::NoImageSize)
        );
        // Big-endian Image on a little-endian kernel: refused unless mixed.
        let be = Header::parse(&header(0, 0x1000, 0b011)).unwrap();
        assert_eq!(
            be.check(&LE_4K),
            Err(ImageError::Endianness {
                image_big_endian: true
            })
        );
        assert!(be
            .check(&Cpu {
                mixed_endian: true,
                ..LE_4K
            })
            .is_ok());
        assert!(be
            .check(&Cpu {
                big_endian: true,
                ..LE_4K
            })
            .is_ok());
        let le = Header::parse(&header(0, 0x1000, 0b010)).unwrap();
        assert_eq!(
            le.check(&Cpu {
                big_endian: true,
                ..LE_4K
            }),
            Err(ImageError::Endianness {
                image_big_endian: false
            })
        );
        // Page sizes: 1 4K, 2 16K, 3 64K, 0 unchecked.
        let ps = |v: u64| Header::parse(&header(0, 1, v << 1)).unwrap();
        assert_eq!(
            ps(2).check(&LE_4K),
            Err(ImageError::PageSize(PageSize::K16))
        );
        assert!(ps(1).check(&LE_4K).is_ok() && ps(3).check(&LE_4K).is_ok());
        assert!(ps(0).check(&Cpu::default()).is_ok());
        assert_eq!(
            ps(1).check(&Cpu::default()),
            Err(ImageError::PageSize(PageSize::K4))
        );
        // Endianness is checked before the page size.
        let both = Header::parse(&header(0, 1, 0b101)).unwrap();
        assert_eq!(
            both.check(&LE_4K),
            Err(ImageError::Endianness {
                image_big_endian: true
            })
        );
        // Reserved bits 4-63 and the magic are not looked at.
        let mut b = header(0, 1, !0b111);
        b[56] = 0;
        assert!(Header::parse(&b).unwrap().check(&LE_4K).is_ok());
    }

    #[test]
    fn load_size_is_image_size_plus_text_offset() {
        let img = Header::parse(&header(0x8_0000, 0x100_0000, 2))
            .unwrap()
            .check(&LE_4K)
            .unwrap();
        assert_eq!(img.load_size(), Some(0x108_0000));
        let img = Header::parse(&header(u64::MAX, 1, 2))
            .unwrap()
            .check(&LE_4K)
            .unwrap();
        assert_eq!(img.load_size(), None);
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_on_length(b in proptest::collection::vec(any::<u8>(), 0..130)) {
            match Header::parse(&b) {
                Ok(h) => {
                    prop_assert!(b.len() >= HEADER_SIZE);
                    let size = u64::from_le_bytes(b[16..24].try_into().unwrap());
                    prop_assert_eq!(h.image_size, size);
                    prop_assert_eq!(&h.magic[..], &b[56..60]);
                }
                Err(e) => prop_assert_eq!(e, ImageError::TooShort { len: b.len() }),
            }
        }

        #[test]
        fn check_is_the_three_rules(
            image_size in prop_oneof![Just(0u64), any::<u64>()],
            flags in any::<u64>(),
            cpu in any::<[bool; 5]>(),
        ) {
            let cpu = Cpu {
                big_endian: cpu[0],
                mixed_endian: cpu[1],
                granule_4k: cpu[2],
                granule_16k: cpu[3],
                granule_64k: cpu[4],
            };
            let h = Header::parse(&header(0, image_size, flags)).unwrap();
            let endian_ok = (flags & 1 == 1) == cpu.big_endian || cpu.mixed_endian;
            let granule_ok = match (flags >> 1) & 3 {
                0 => true,
                1 => cpu.granule_4k,
                2 => cpu.granule_16k,
                _ => cpu.granule_64k,
            };
            prop_assert_eq!(h.check(&cpu).is_ok(), image_size != 0 && endian_ok && granule_ok);
        }
    }
}
