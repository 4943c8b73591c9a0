// SPDX-License-Identifier: GPL-2.0

//! Differential test: the kexec_file_load() ELF image checks of
//! `kdump::kexec_elf` against upstream `kexec_build_elf_info()`
//! (kernel/kexec_elf.c, cut from the base tarball with the readers and
//! checks it calls, and compiled for the host: ELF64, either byte order).
//!
//! Both run on the same bytes: valid images laid out as a `vmlinux` or at
//! random, each field of them corrupted alone (edge values around the
//! buffer's end and the top of the address space), every truncation,
//! flipped bytes and random bytes. They must take the same decision, C
//! must say `-ENOEXEC` when it refuses, and an accepted image must read
//! to the same ELF header and program headers (what the kernel face hands
//! back to C) and to the same base and entry in riscv's `elf_find_pbase()`.

use kdump::kexec_elf::{build, ByteOrder, ElfError, ElfImage};
use kdump_cref::kexec_elf::{c_build_elf_info, c_riscv_find_pbase, CElfHdr, CPhdr};
use kdump_cref::Rng;
use proptest::prelude::*;
use std::collections::BTreeSet;

const ENOEXEC: i32 = 8;

/// The kernel face's copy of an accepted image into C's `struct elfhdr`
/// and program headers, as C leaves them (`e_ehsize` 0).
fn as_c(img: &ElfImage<'_>) -> (CElfHdr, Vec<CPhdr>) {
    let h = img.ehdr();
    let ehdr = CElfHdr {
        e_ident: h.ident,
        e_type: h.kind,
        e_machine: h.machine,
        e_version: h.version,
        e_entry: h.entry,
        e_phoff: h.phoff,
        e_shoff: h.shoff,
        e_flags: h.flags,
        e_ehsize: 0,
        e_phentsize: h.phentsize,
        e_phnum: h.phnum,
        e_shentsize: h.shentsize,
        e_shnum: h.shnum,
        e_shstrndx: h.shstrndx,
    };
    let phdrs = img
        .phdrs()
        .map(|p| CPhdr {
            p_type: p.kind,
            p_flags: p.flags,
            p_offset: p.offset,
            p_vaddr: p.vaddr,
            p_paddr: p.paddr,
            p_filesz: p.filesz,
            p_memsz: p.memsz,
            p_align: p.align,
        })
        .collect();
    (ehdr, phdrs)
}

/// Where riscv's loader puts the kernel in these tests.
const PBASE: u64 = 0x8020_0000;

/// Both sides on `buf`: same decision, same facts. Returns whether C
/// accepted it.
fn compare(buf: &[u8]) -> bool {
    decide(buf).is_ok()
}

/// [`compare`], with Rust's reason when both refuse.
fn decide(buf: &[u8]) -> Result<(), ElfError> {
    let c = c_build_elf_info(buf);
    let rust = build(buf);
    let head = &buf[..buf.len().min(64)];
    match (c, rust) {
        (Err(e), Err(r)) => {
            assert_eq!(e, -ENOEXEC, "C's errno for {r:?}");
            assert!(!r.field().is_empty());
            Err(r)
        }
        (Ok(c), Ok(img)) => {
            assert_eq!(as_c(&img), c, "facts of {head:02x?}");
            let p = c_riscv_find_pbase(buf, PBASE).expect("the hole is always found");
            let low = img.lowest_load();
            assert_eq!(
                p.old_pbase,
                low.map_or(u64::MAX, |l| l.paddr),
                "lowest p_paddr"
            );
            let vaddr = low.map_or(u64::MAX, |l| l.vaddr);
            assert_eq!(
                p.start,
                img.entry().wrapping_sub(vaddr).wrapping_add(PBASE),
                "image->start"
            );
            assert_eq!(p.buf_min, p.old_pbase);
            assert_eq!(p.memsz, (buf.len() as u64 + 4095) & !4095);
            Ok(())
        }
        (c, rust) => panic!(
            "C {c:?}, Rust {rust:?} for {} bytes starting {head:02x?}",
            buf.len()
        ),
    }
}

/// A program header for the encoder.
#[derive(Clone, Copy, Debug)]
struct P {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    paddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
}

/// An ELF64 image, encoded by the test from the gABI offsets.
#[derive(Clone, Debug)]
struct Elf {
    big: bool,
    kind: u16,
    entry: u64,
    phoff: u64,
    shoff: u64,
    shnum: u16,
    phdrs: Vec<P>,
    len: usize,
}

/// Offsets of the fields in `Elf64_Ehdr` and `Elf64_Phdr` and their widths.
const E_TYPE: (usize, usize) = (16, 2);
const E_VERSION: (usize, usize) = (20, 4);
const E_PHOFF: (usize, usize) = (32, 8);
const E_SHOFF: (usize, usize) = (40, 8);
const E_EHSIZE: (usize, usize) = (52, 2);
const E_PHENTSIZE: (usize, usize) = (54, 2);
const E_PHNUM: (usize, usize) = (56, 2);
const E_SHENTSIZE: (usize, usize) = (58, 2);
const E_SHNUM: (usize, usize) = (60, 2);
const P_TYPE: (usize, usize) = (0, 4);
const P_OFFSET: (usize, usize) = (8, 8);
const P_PADDR: (usize, usize) = (24, 8);
const P_FILESZ: (usize, usize) = (32, 8);
const P_MEMSZ: (usize, usize) = (40, 8);

/// Writes the low `width` bytes of `v` at `at` in the image's byte order.
fn put(b: &mut [u8], (at, width): (usize, usize), v: u64, big: bool) {
    let le = v.to_le_bytes();
    for i in 0..width {
        b[at + i] = if big { le[width - 1 - i] } else { le[i] };
    }
}

impl Elf {
    fn bytes(&self, r: &mut Rng) -> Vec<u8> {
        let mut b: Vec<u8> = (0..self.len).map(|_| r.next() as u8).collect();
        let big = self.big;
        b[..16].copy_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        b[5] = if big { 2 } else { 1 };
        let fields = [
            (E_TYPE, u64::from(self.kind)),
            ((18, 2), 243), // e_machine
            (E_VERSION, 1),
            ((24, 8), self.entry),
            (E_PHOFF, self.phoff),
            (E_SHOFF, self.shoff),
            (E_EHSIZE, 64),
            (E_PHENTSIZE, 56),
            (E_PHNUM, self.phdrs.len() as u64),
            (E_SHENTSIZE, 64),
            (E_SHNUM, u64::from(self.shnum)),
        ];
        for (f, v) in fields {
            put(&mut b, f, v, big);
        }
        for (i, p) in self.phdrs.iter().enumerate() {
            let at = self.phoff as usize + 56 * i;
            let e = &mut b[at..at + 56];
            for (f, v) in [
                (P_TYPE, u64::from(p.kind)),
                ((4, 4), u64::from(p.flags)),
                (P_OFFSET, p.offset),
                ((16, 8), p.vaddr),
                (P_PADDR, p.paddr),
                (P_FILESZ, p.filesz),
                (P_MEMSZ, p.memsz),
                ((48, 8), p.align),
            ] {
                put(e, f, v, big);
            }
        }
        b
    }
}

/// `r.pick()` of a set whose elements draw from `r` too.
macro_rules! pick {
    ($r:expr, [$($v:expr),* $(,)?]) => {{
        let set = [$($v),*];
        $r.pick(&set)
    }};
}

/// A valid image: a riscv `vmlinux`-like one (one or a few `PT_LOAD`s and
/// notes, headers after the ELF header) or one with its tables anywhere.
fn valid(r: &mut Rng) -> Elf {
    let n = 1 + r.below(6);
    let len = 64 + 56 * n + 64 * 4 + r.below(4096);
    let phoff = if r.below(2) == 0 {
        64
    } else {
        64 + r.below(len - 64 - 56 * n + 1) as u64
    };
    let shnum = pick!(r, [0u16, 0, 1, 4]);
    let shoff = if shnum == 0 {
        pick!(r, [0, r.next()])
    } else {
        (len - 64 * usize::from(shnum)) as u64
    };
    let phdrs = (0..n)
        .map(|i| {
            let offset = r.below(len + 1) as u64;
            let filesz = r.below(len + 1 - offset as usize) as u64;
            let paddr = pick!(
                r,
                [
                    0x8020_0000u64,
                    0x8000_0000 + 0x20_0000 * i as u64,
                    r.next() >> 1
                ]
            );
            P {
                kind: if i == 0 {
                    1
                } else {
                    pick!(r, [1u32, 1, 4, 6, 0x6474_e551, 0])
                },
                flags: r.next() as u32,
                offset,
                vaddr: pick!(
                    r,
                    [0xffff_ffff_8000_0000u64 + 0x20_0000 * i as u64, r.next()]
                ),
                paddr,
                filesz,
                memsz: pick!(
                    r,
                    [
                        filesz,
                        filesz + 0x1000,
                        r.below(1 << 20) as u64,
                        (u64::MAX - paddr) >> r.below(2)
                    ]
                ),
                align: pick!(r, [0x1000u64, 0x20_0000, 0]),
            }
        })
        .collect();
    Elf {
        big: r.below(4) == 0,
        kind: pick!(r, [2u16, 2, 3]),
        entry: pick!(r, [0xffff_ffff_8000_0000u64, r.next()]),
        phoff,
        shoff,
        shnum,
        phdrs,
        len,
    }
}

/// Values around the edges a field of an image of `len` bytes can cross.
fn edge_values(r: &mut Rng, len: usize, width: usize) -> Vec<u64> {
    let max = if width == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * width)) - 1
    };
    let len = len as u64;
    let mut v = vec![
        0,
        1,
        2,
        3,
        4,
        6,
        52,
        55,
        56,
        57,
        63,
        64,
        65,
        max,
        max - 1,
        max / 2 + 1,
        r.next() & max,
    ];
    for base in [
        len,
        len.wrapping_sub(56),
        len.wrapping_sub(64),
        max - len,
        max - 55,
        max - 63,
    ] {
        for d in [-2i64, -1, 0, 1, 2] {
            v.push(base.wrapping_add(d as u64) & max);
        }
    }
    v
}

#[test]
fn valid_images_are_read_alike() {
    let mut r = Rng::from_env(0xe1f);
    let mut accepted = 0;
    for _ in 0..3_000 {
        let e = valid(&mut r);
        let b = e.bytes(&mut r);
        assert!(compare(&b), "a valid image is refused: {e:?}");
        accepted += 1;
    }
    println!("{accepted} valid images read alike by C and Rust");
}

#[test]
fn one_field_corrupted() {
    let mut r = Rng::from_env(0xc0de);
    let mut verdicts = [0usize; 2];
    let mut reasons = BTreeSet::new();
    let mut count = |b: &[u8]| match decide(b) {
        Ok(()) => verdicts[1] += 1,
        Err(e) => {
            verdicts[0] += 1;
            reasons.insert(
                format!("{e:?}")
                    .split([' ', '('])
                    .next()
                    .unwrap_or("")
                    .to_string(),
            );
        }
    };
    let ehdr_fields = [
        E_TYPE,
        E_VERSION,
        E_PHOFF,
        E_SHOFF,
        E_EHSIZE,
        E_PHENTSIZE,
        E_PHNUM,
        E_SHENTSIZE,
        E_SHNUM,
    ];
    let phdr_fields = [P_TYPE, P_OFFSET, P_PADDR, P_FILESZ, P_MEMSZ];
    for _ in 0..300 {
        let e = valid(&mut r);
        let good = e.bytes(&mut r);
        // e_ident: each byte of magic, class, data and version.
        for (at, v) in [
            (0, 0x7e),
            (1, b'e'),
            (3, b'f'),
            (4, 1),
            (4, 0),
            (4, 3),
            (5, 0),
            (5, 3),
            (6, 0),
            (6, 2),
        ] {
            let mut b = good.clone();
            b[at] = v;
            count(&b);
        }
        for f in ehdr_fields {
            for v in edge_values(&mut r, e.len, f.1) {
                let mut b = good.clone();
                put(&mut b, f, v, e.big);
                count(&b);
            }
        }
        let i = r.below(e.phdrs.len());
        let at = e.phoff as usize + 56 * i;
        for f in phdr_fields {
            let mut vals = edge_values(&mut r, e.len, f.1);
            if f == P_TYPE {
                vals.extend([3, 3, 3]);
            }
            for v in vals {
                let mut b = good.clone();
                put(&mut b[at..at + 56], f, v, e.big);
                count(&b);
            }
        }
    }
    count(&[]);
    println!(
        "{} corrupted images accepted, {} refused, the same in C and Rust",
        verdicts[1], verdicts[0]
    );
    println!("refused for {} reasons: {reasons:?}", reasons.len());
    assert!(
        verdicts[0] > 50_000 && verdicts[1] > 10_000,
        "generator coverage: {verdicts:?}"
    );
    // Every refusal of kexec_build_elf_info() is reached.
    assert_eq!(reasons.len(), 18, "generator coverage: {reasons:?}");
}

#[test]
fn every_truncation_and_flipped_bytes() {
    let mut r = Rng::from_env(0x7a11);
    let mut n = 0;
    for _ in 0..100 {
        let e = valid(&mut r);
        let good = e.bytes(&mut r);
        for len in 0..=good.len() {
            compare(&good[..len]);
            n += 1;
        }
        for _ in 0..200 {
            let mut b = good.clone();
            for _ in 0..1 + r.below(3) {
                let at = r.below(b.len().min(64 + 56 * e.phdrs.len() + e.phoff as usize));
                b[at] = r.next() as u8;
            }
            compare(&b);
            n += 1;
        }
    }
    println!("{n} truncated or flipped images decided alike");
}

#[test]
fn random_bytes() {
    let mut r = Rng::from_env(0xb17e5);
    let mut verdicts = [0usize; 2];
    for _ in 0..200_000 {
        let len = r.below(600);
        let mut b: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
        // Mostly with the ident, version and header size that let the
        // later checks run, in a random byte order.
        if len >= 64 && r.below(8) != 0 {
            let big = r.below(2) == 0;
            b[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
            b[5] = if big { 2 } else { 1 };
            put(&mut b, E_VERSION, 1, big);
            put(&mut b, E_EHSIZE, 64, big);
            put(&mut b, E_PHENTSIZE, 56, big);
            put(&mut b, E_SHNUM, r.below(2) as u64 * r.next(), big);
            put(&mut b, E_TYPE, pick!(r, [2, 3, r.next()]), big);
            // Program headers that are in the file, mostly.
            let phoff = r.below(len - 56);
            put(&mut b, E_PHOFF, phoff as u64, big);
            let phnum = r.below((len - phoff) / 56 + 1).min(3);
            put(&mut b, E_PHNUM, phnum as u64, big);
            for i in 0..phnum {
                if r.below(4) == 0 {
                    continue;
                }
                let e = &mut b[phoff + 56 * i..phoff + 56 * i + 56];
                put(e, P_TYPE, pick!(r, [1, 4, 3, r.next()]), big);
                put(e, P_OFFSET, r.below(len) as u64, big);
                put(e, P_FILESZ, r.below(64) as u64, big);
                put(e, P_PADDR, r.next() >> 2, big);
                put(e, P_MEMSZ, r.next() >> 2, big);
            }
        }
        verdicts[usize::from(compare(&b))] += 1;
    }
    println!(
        "random bytes: {} accepted, {} refused, the same in C and Rust",
        verdicts[1], verdicts[0]
    );
    assert!(verdicts[1] > 100, "generator coverage: {verdicts:?}");
}

#[test]
fn both_byte_orders_of_one_image() {
    let mut r = Rng::new(0xbe);
    for _ in 0..200 {
        let mut e = valid(&mut r);
        e.big = false;
        let le = e.bytes(&mut Rng::new(1));
        e.big = true;
        let be = e.bytes(&mut Rng::new(1));
        assert!(compare(&le) && compare(&be));
        let (l, b) = (build(&le).unwrap(), build(&be).unwrap());
        assert_eq!(
            (l.ehdr().order, b.ehdr().order),
            (ByteOrder::Little, ByteOrder::Big)
        );
        assert!(l.phdrs().eq(b.phdrs()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// A valid image with any value in one 8-byte word of its headers.
    #[test]
    fn any_word_of_the_headers(seed in any::<u64>(), word in 0usize..20, v in any::<u64>()) {
        let mut r = Rng::new(seed);
        let e = valid(&mut r);
        let mut b = e.bytes(&mut r);
        let at = if word < 8 { 8 * word } else { e.phoff as usize + 8 * (word - 8) };
        if at + 8 <= b.len() {
            b[at..at + 8].copy_from_slice(&v.to_ne_bytes());
        }
        compare(&b);
    }
}
