// SPDX-License-Identifier: GPL-2.0

//! Host tests of the kexec_file_load() ELF image checks: images encoded by
//! hand from the ELF specification (gABI `Elf64_Ehdr` and `Elf64_Phdr`
//! offsets), in either byte order, and the refusals of
//! kernel/kexec_elf.c read off its source.

#![allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::panic
)]

use super::*;
use proptest::prelude::*;
use std::format;
use std::vec;
use std::vec::Vec;

/// One program header for the test's encoder.
#[derive(Clone, Copy, Debug)]
struct P {
    kind: u32,
    offset: u64,
    paddr: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

const LOAD: P = P {
    kind: 1,
    offset: 0x1000,
    paddr: 0x8020_0000,
    vaddr: 0xffff_ffff_8000_0000,
    filesz: 0x800,
    memsz: 0x2000,
};

/// The fields of an `Elf64_Ehdr` the test sets, and the program headers
/// written at `phoff`.
#[derive(Clone, Debug)]
struct Image {
    big: bool,
    ident: [u8; 16],
    kind: u16,
    machine: u16,
    version: u32,
    entry: u64,
    phoff: u64,
    shoff: u64,
    flags: u32,
    ehsize: u16,
    phentsize: u16,
    phnum: u16,
    shentsize: u16,
    shnum: u16,
    shstrndx: u16,
    phdrs: Vec<P>,
    len: usize,
}

/// A riscv64 `vmlinux` as the runner gives it to the guest: `Image` as the
/// one `PT_LOAD` of an `ET_EXEC`, program headers right after the ELF
/// header, no section headers.
fn riscv() -> Image {
    Image {
        big: false,
        ident: *b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0",
        kind: 2,
        machine: 243,
        version: 1,
        entry: 0xffff_ffff_8000_0000,
        phoff: 64,
        shoff: 0,
        flags: 5,
        ehsize: 64,
        phentsize: 56,
        phnum: 1,
        shentsize: 0,
        shnum: 0,
        shstrndx: 0,
        phdrs: vec![LOAD],
        len: 0x1800,
    }
}

fn put(b: &mut [u8], at: usize, v: &[u8], big: bool) {
    let mut v = v.to_vec();
    if big {
        v.reverse();
    }
    b[at..at + v.len()].copy_from_slice(&v);
}

impl Image {
    fn bytes(&self) -> Vec<u8> {
        let mut b = vec![0xa5u8; self.len];
        let big = self.big;
        let n = self.len.min(64);
        let mut h = [0u8; 64];
        h[..16].copy_from_slice(&self.ident);
        put(&mut h, 16, &self.kind.to_le_bytes(), big);
        put(&mut h, 18, &self.machine.to_le_bytes(), big);
        put(&mut h, 20, &self.version.to_le_bytes(), big);
        put(&mut h, 24, &self.entry.to_le_bytes(), big);
        put(&mut h, 32, &self.phoff.to_le_bytes(), big);
        put(&mut h, 40, &self.shoff.to_le_bytes(), big);
        put(&mut h, 48, &self.flags.to_le_bytes(), big);
        put(&mut h, 52, &self.ehsize.to_le_bytes(), big);
        put(&mut h, 54, &self.phentsize.to_le_bytes(), big);
        put(&mut h, 56, &self.phnum.to_le_bytes(), big);
        put(&mut h, 58, &self.shentsize.to_le_bytes(), big);
        put(&mut h, 60, &self.shnum.to_le_bytes(), big);
        put(&mut h, 62, &self.shstrndx.to_le_bytes(), big);
        b[..n].copy_from_slice(&h[..n]);
        // A table at offset 0 (or inside the ELF header) is not written.
        let phdrs = if self.phoff < 64 {
            &[][..]
        } else {
            &self.phdrs[..]
        };
        for (i, p) in phdrs.iter().enumerate() {
            let Some(at) = (self.phoff as usize)
                .checked_add(56 * i)
                .filter(|at| *at <= self.len.saturating_sub(56))
            else {
                break;
            };
            let mut e = [0u8; 56];
            put(&mut e, 0, &p.kind.to_le_bytes(), big);
            put(&mut e, 4, &7u32.to_le_bytes(), big); // p_flags RWX
            put(&mut e, 8, &p.offset.to_le_bytes(), big);
            put(&mut e, 16, &p.vaddr.to_le_bytes(), big);
            put(&mut e, 24, &p.paddr.to_le_bytes(), big);
            put(&mut e, 32, &p.filesz.to_le_bytes(), big);
            put(&mut e, 40, &p.memsz.to_le_bytes(), big);
            put(&mut e, 48, &0x1000u64.to_le_bytes(), big); // p_align
            b[at..at + 56].copy_from_slice(&e);
        }
        b
    }

    fn check(&self) -> Result<(), ElfError> {
        build(&self.bytes()).map(|_| ())
    }
}

fn with(f: impl FnOnce(&mut Image)) -> Image {
    let mut i = riscv();
    f(&mut i);
    i
}

#[test]
fn a_riscv_vmlinux_passes_with_its_facts() {
    let b = riscv().bytes();
    let img = build(&b).unwrap();
    let h = img.ehdr();
    assert_eq!((h.kind, h.machine, h.version, h.flags), (2, 243, 1, 5));
    assert_eq!(
        (h.phoff, h.phnum, h.phentsize, h.shoff, h.shnum),
        (64, 1, 56, 0, 0)
    );
    assert_eq!(h.order, ByteOrder::Little);
    assert_eq!(img.entry(), 0xffff_ffff_8000_0000);
    let p: Vec<Phdr> = img.phdrs().collect();
    assert_eq!(
        p,
        [Phdr {
            kind: 1,
            flags: 7,
            offset: 0x1000,
            vaddr: LOAD.vaddr,
            paddr: LOAD.paddr,
            filesz: 0x800,
            memsz: 0x2000,
            align: 0x1000
        }]
    );
    assert_eq!(img.phdrs().len(), 1);
    assert_eq!(
        img.lowest_load(),
        Some(LowestLoad {
            paddr: 0x8020_0000,
            vaddr: LOAD.vaddr
        })
    );
}

#[test]
fn big_endian_images_are_read_swapped() {
    let le = riscv();
    let be = with(|i| {
        i.big = true;
        i.ident[5] = 2;
    });
    let (lb, bb) = (le.bytes(), be.bytes());
    assert_ne!(lb, bb);
    assert_eq!(&bb[16..18], &[0, 2], "e_type big-endian");
    let (l, b) = (build(&lb).unwrap(), build(&bb).unwrap());
    assert_eq!(b.ehdr().order, ByteOrder::Big);
    assert_eq!(
        Ehdr {
            ident: l.ehdr().ident,
            order: ByteOrder::Little,
            ..*b.ehdr()
        },
        *l.ehdr()
    );
    assert!(b.phdrs().eq(l.phdrs()));
    // The same bytes read in the wrong order are refused: e_ehsize 0x4000.
    let mut wrong = bb.clone();
    wrong[5] = 1;
    assert_eq!(build(&wrong).unwrap_err(), ElfError::EhSize(0x4000));
}

#[test]
fn the_elf_header_checks_in_order() {
    assert_eq!(build(&[]).unwrap_err(), ElfError::TooShort { len: 0 });
    let b = riscv().bytes();
    assert_eq!(build(&b[..63]).unwrap_err(), ElfError::TooShort { len: 63 });
    assert_eq!(with(|i| i.ident[0] = 0x7e).check(), Err(ElfError::Magic));
    assert_eq!(with(|i| i.ident[3] = b'f').check(), Err(ElfError::Magic));
    // ELF32 and unknown classes: the kernels this serves are 64-bit.
    assert_eq!(with(|i| i.ident[4] = 1).check(), Err(ElfError::Class(1)));
    assert_eq!(with(|i| i.ident[4] = 0).check(), Err(ElfError::Class(0)));
    for d in [0u8, 3, 0xff] {
        assert_eq!(with(|i| i.ident[5] = d).check(), Err(ElfError::Data(d)));
    }
    assert_eq!(with(|i| i.ehsize = 52).check(), Err(ElfError::EhSize(52)));
    assert_eq!(
        with(|i| i.phentsize = 32).check(),
        Err(ElfError::PhEntSize(32))
    );
    assert_eq!(with(|i| i.shnum = 1).check(), Err(ElfError::ShEntSize(0)));
    assert_eq!(
        with(|i| i.ident[6] = 0).check(),
        Err(ElfError::Version {
            ident: 0,
            version: 1
        })
    );
    assert_eq!(
        with(|i| i.version = 2).check(),
        Err(ElfError::Version {
            ident: 1,
            version: 2
        })
    );
    // The first failing check is the one reported.
    let all = with(|i| {
        i.phentsize = 1;
        i.shnum = 1;
        i.version = 0;
    });
    assert_eq!(all.check(), Err(ElfError::PhEntSize(1)));
    assert_eq!(
        with(|i| {
            i.shnum = 1;
            i.version = 0
        })
        .check(),
        Err(ElfError::ShEntSize(0))
    );
    // e_ident's padding, e_machine, e_flags and e_shstrndx are not checked.
    let free = with(|i| {
        i.ident[7..].fill(0xee);
        i.machine = 0;
        i.flags = !0;
        i.shstrndx = 0xffff;
    });
    assert_eq!(free.check(), Ok(()));
}

#[test]
fn entry_sizes_are_checked_only_for_tables_with_entries() {
    // No section headers: any e_shentsize.
    assert_eq!(with(|i| i.shentsize = 3).check(), Ok(()));
    // No program headers: e_phentsize is not looked at, the image is
    // refused later for having none.
    let none = with(|i| {
        i.phnum = 0;
        i.phentsize = 3;
    });
    assert_eq!(
        none.check(),
        Err(ElfError::NoProgramHeaders {
            phoff: 64,
            phnum: 0
        })
    );
    // e_phoff 0 is "no table" too, but e_phentsize is checked.
    assert_eq!(
        with(|i| i.phoff = 0).check(),
        Err(ElfError::NoProgramHeaders { phoff: 0, phnum: 1 })
    );
    assert_eq!(
        with(|i| {
            i.phoff = 0;
            i.phentsize = 0
        })
        .check(),
        Err(ElfError::PhEntSize(0))
    );
}

#[test]
fn header_tables_must_be_inside_the_buffer() {
    // The program header table ends exactly at the end: accepted.
    let tight = with(|i| {
        i.phoff = 0x1800 - 56;
        i.phdrs[0].filesz = 0;
    });
    assert_eq!(tight.check(), Ok(()));
    assert_eq!(
        with(|i| i.phoff = 0x1800 - 55).check(),
        Err(ElfError::PhTableTruncated { phoff: 0x1800 - 55 })
    );
    // Ends at 2^64 - 1: past the buffer. One more byte wraps to 0.
    assert_eq!(
        with(|i| i.phoff = u64::MAX - 56).check(),
        Err(ElfError::PhTableTruncated {
            phoff: u64::MAX - 56
        })
    );
    assert_eq!(
        with(|i| i.phoff = u64::MAX - 55).check(),
        Err(ElfError::PhTableWraps {
            phoff: u64::MAX - 55
        })
    );
    // 65535 entries of 56 bytes from offset 64 do not fit in 6 KiB.
    assert_eq!(
        with(|i| i.phnum = 0xffff).check(),
        Err(ElfError::PhTableTruncated { phoff: 64 })
    );
    // Section headers: 64 bytes each, same rules, checked after the
    // program headers' table.
    let sh = |shoff: u64, shnum: u16| {
        with(|i| {
            i.shoff = shoff;
            i.shnum = shnum;
            i.shentsize = 64;
        })
        .check()
    };
    assert_eq!(sh(0x1800 - 128, 2), Ok(()));
    assert_eq!(
        sh(0x1800 - 127, 2),
        Err(ElfError::ShTableTruncated {
            shoff: 0x1800 - 127
        })
    );
    assert_eq!(
        sh(u64::MAX - 128, 2),
        Err(ElfError::ShTableTruncated {
            shoff: u64::MAX - 128
        })
    );
    assert_eq!(
        sh(u64::MAX - 127, 2),
        Err(ElfError::ShTableWraps {
            shoff: u64::MAX - 127
        })
    );
    assert_eq!(sh(0, 2), Ok(()), "e_shoff 0: no table");
    assert_eq!(
        with(|i| i.shoff = u64::MAX).check(),
        Ok(()),
        "e_shnum 0: no table"
    );
    let both = with(|i| {
        i.phoff = u64::MAX;
        i.shoff = u64::MAX;
        i.shnum = 1;
        i.shentsize = 64;
    });
    assert_eq!(
        both.check(),
        Err(ElfError::PhTableWraps { phoff: u64::MAX })
    );
}

#[test]
fn segments_must_be_in_the_file_and_not_wrap() {
    let seg = |offset: u64, filesz: u64, paddr: u64, memsz: u64| {
        with(|i| {
            i.phdrs[0] = P {
                offset,
                filesz,
                paddr,
                memsz,
                ..LOAD
            }
        })
        .check()
    };
    assert_eq!(
        seg(0x1000, 0x800, 0, 0),
        Ok(()),
        "ends at the end of the file"
    );
    assert_eq!(
        seg(0x1000, 0x801, 0, 0),
        Err(ElfError::SegmentNotInFile { index: 0 })
    );
    assert_eq!(
        seg(0x1801, 0, 0, 0),
        Err(ElfError::SegmentNotInFile { index: 0 })
    );
    assert_eq!(
        seg(1, u64::MAX, 0, 0),
        Err(ElfError::SegmentWraps { index: 0 })
    );
    assert_eq!(
        seg(0, u64::MAX, 0, 0),
        Err(ElfError::SegmentNotInFile { index: 0 })
    );
    assert_eq!(
        seg(0, 0, u64::MAX - 9, 9),
        Ok(()),
        "ends at the top of the address space"
    );
    assert_eq!(
        seg(0, 0, u64::MAX - 9, 10),
        Err(ElfError::AddressWraps { index: 0 })
    );
    // p_filesz past p_memsz is not a refusal (the loader copies the lesser).
    assert_eq!(seg(0, 0x100, 0, 1), Ok(()));
    // The file range is checked first.
    assert_eq!(
        seg(0x2000, 0, u64::MAX, 2),
        Err(ElfError::SegmentNotInFile { index: 0 })
    );
    // The first bad header is named, and a bad header is found before a
    // bad e_type.
    let third = with(|i| {
        i.kind = 1;
        i.phnum = 3;
        i.phdrs = vec![
            LOAD,
            P { kind: 4, ..LOAD },
            P {
                paddr: u64::MAX,
                ..LOAD
            },
        ];
    });
    assert_eq!(third.check(), Err(ElfError::AddressWraps { index: 2 }));
}

#[test]
fn only_executables_without_interpreter() {
    for t in [0u16, 1, 4, 0xfe00, 0xffff] {
        assert_eq!(
            with(|i| i.kind = t).check(),
            Err(ElfError::Type(t)),
            "e_type {t}"
        );
    }
    assert_eq!(
        with(|i| i.kind = 3).check(),
        Ok(()),
        "ET_DYN, as a big-endian powerpc vmlinux"
    );
    let interp = with(|i| {
        i.phnum = 3;
        i.phdrs = vec![LOAD, P { kind: 6, ..LOAD }, P { kind: 3, ..LOAD }];
    });
    assert_eq!(interp.check(), Err(ElfError::Interpreter { index: 2 }));
    // e_type is checked before the missing table and the interpreter.
    assert_eq!(
        with(|i| {
            i.kind = 4;
            i.phnum = 0
        })
        .check(),
        Err(ElfError::Type(4))
    );
}

#[test]
fn lowest_load_is_over_pt_load_only() {
    let i = with(|i| {
        i.phnum = 4;
        i.phdrs = vec![
            P {
                paddr: 0x9000_0000,
                vaddr: 0x1000,
                ..LOAD
            },
            P {
                kind: 4,
                paddr: 0,
                vaddr: 0,
                ..LOAD
            },
            P {
                paddr: 0x8000_0000,
                vaddr: 0x2000,
                ..LOAD
            },
            P {
                kind: 0,
                paddr: 1,
                vaddr: 1,
                ..LOAD
            },
        ];
    });
    let b = i.bytes();
    let img = build(&b).unwrap();
    assert_eq!(img.phdrs().count(), 4);
    assert_eq!(
        img.lowest_load(),
        Some(LowestLoad {
            paddr: 0x8000_0000,
            vaddr: 0x1000
        })
    );
    let notes = with(|i| i.phdrs[0].kind = 4).bytes();
    assert_eq!(build(&notes).unwrap().lowest_load(), None);
}

#[test]
fn errors_name_their_field() {
    let cases: [(ElfError, &str, &str); 8] = [
        (
            ElfError::TooShort { len: 3 },
            "buffer",
            "buffer: shorter than an ELF64 header (3 bytes, 64 needed)",
        ),
        (
            ElfError::Magic,
            "e_ident[EI_MAG]",
            "e_ident[EI_MAG]: not an ELF file",
        ),
        (
            ElfError::Version {
                ident: 1,
                version: 0,
            },
            "e_version",
            "e_version: not EV_CURRENT (1, 0)",
        ),
        (
            ElfError::Version {
                ident: 2,
                version: 1,
            },
            "e_ident[EI_VERSION]",
            "e_ident[EI_VERSION]: not EV_CURRENT (2, 1)",
        ),
        (
            ElfError::PhTableWraps { phoff: 0x10 },
            "e_phoff",
            "e_phoff: program headers wrap around (0x10)",
        ),
        (
            ElfError::SegmentNotInFile { index: 4 },
            "p_filesz",
            "p_filesz: segment not in the file (program header 4)",
        ),
        (
            ElfError::NoProgramHeaders {
                phoff: 64,
                phnum: 0,
            },
            "e_phnum",
            "e_phnum: no program header (0 at 0x40)",
        ),
        (
            ElfError::NoProgramHeaders { phoff: 0, phnum: 2 },
            "e_phoff",
            "e_phoff: no program header (2 at 0x0)",
        ),
    ];
    for (e, field, text) in cases {
        assert_eq!(e.field(), field);
        assert_eq!(format!("{e}"), text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    /// Any bytes: no panic, and what is accepted is inside the buffer.
    #[test]
    fn any_bytes(mut b in proptest::collection::vec(any::<u8>(), 0..400), plant in any::<bool>()) {
        if plant && b.len() >= 64 {
            b[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
            b[20..24].copy_from_slice(&1u32.to_le_bytes());
            b[52..54].copy_from_slice(&64u16.to_le_bytes());
        }
        if let Ok(img) = build(&b) {
            let h = img.ehdr();
            prop_assert!(h.phoff as usize + 56 * usize::from(h.phnum) <= b.len());
            prop_assert_eq!(img.phdrs().count(), usize::from(h.phnum));
            for p in img.phdrs() {
                prop_assert!(p.offset.checked_add(p.filesz).unwrap() <= b.len() as u64);
                prop_assert!(p.paddr.checked_add(p.memsz).is_some());
                prop_assert!(p.kind != 3);
            }
        }
    }

    /// One byte of the riscv image changed: refused exactly when the byte
    /// is one of the checked fields and its new value fails.
    #[test]
    fn one_byte_changed(at in 0usize..120, v in any::<u8>()) {
        let mut b = riscv().bytes();
        let old = b[at];
        b[at] = v;
        let r = build(&b);
        if v == old {
            prop_assert!(r.is_ok());
        }
        // Bytes nobody checks: e_ident padding, e_machine, e_entry,
        // e_flags, e_shstrndx, p_flags, p_vaddr, p_align.
        let free = matches!(
            at,
            7..=15 | 18..=19 | 24..=31 | 48..=51 | 62..=63 | 68..=71 | 80..=87 | 112..=119
        );
        if free {
            prop_assert!(r.is_ok(), "byte {} to {:#x}: {:?}", at, v, r);
        }
    }
}
