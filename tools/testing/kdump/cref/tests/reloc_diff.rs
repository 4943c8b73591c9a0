// SPDX-License-Identifier: GPL-2.0

//! Differential test: purgatory relocation in Rust (`kdump::reloc`) against
//! the kernel's x86_64 `arch_kexec_apply_relocations_add()`.
//!
//! Both relocate the same generated relocatable objects, laid out by the
//! loader's rules at many load addresses; the C function trusts its input,
//! so the generator keeps every table and place in bounds (the Rust checks
//! for the rest are unit-tested in rust/kdump/reloc.rs). The ignored
//! `built_purgatory_objects_relocate_identically` relocates the real
//! objects with both as well: `KDUMP_PURGATORY_RO` lists the built
//! `purgatory.ro` files, colon-separated.

use kdump::reloc::{Purgatory, RelocError, Shdr};
use kdump_cref::{c_apply_relocations_add, load_purgatory, Rng};

const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_RELA: u32 = 4;
const SHT_NOBITS: u32 = 8;
const SHF_WRITE: u64 = 1;
const SHF_ALLOC: u64 = 2;
const SHF_EXEC: u64 = 4;
const ENOEXEC: i32 = 8;

/// How one relocation section came out in both implementations.
#[derive(Debug, PartialEq)]
enum Outcome {
    Same,
    BothRefused,
    /// Rust refused a PC-relative value that C truncated.
    RustStricterPc32,
}

/// Applies every RELA section of `image` (as kexec_apply_relocations()
/// walks them) with C and with Rust, on copies of one loaded layout, and
/// compares.
fn compare(image: &[u8], mem: u64, what: &str) -> Vec<Outcome> {
    let loaded = load_purgatory(image, mem);
    let p = Purgatory::new(image, &loaded.sechdrs).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let mut out = Vec::new();
    for i in 0..p.shnum() as usize {
        let rel = p.shdr(i as u64).unwrap();
        if rel.kind != SHT_RELA {
            continue;
        }
        let target = p.loaded_shdr(rel.info.into()).unwrap();
        if target.flags & SHF_ALLOC == 0 {
            continue;
        }
        let symtab = p.shdr(rel.link.into()).unwrap();
        let (mut c_hdrs, mut c_buf) = (loaded.sechdrs.clone(), loaded.buf.clone());
        let c = c_apply_relocations_add(
            image,
            &mut c_hdrs,
            &mut c_buf,
            rel.info as usize,
            i,
            rel.link as usize,
        );
        let mut r_buf = loaded.buf.clone();
        let r = p.apply_rela_x86_64(&mut r_buf, &target, &rel, &symtab);
        let outcome = match (c, &r) {
            (0, Ok(_)) => {
                assert!(
                    c_buf == r_buf,
                    "{what}: section {i} at {mem:#x}: buffers differ"
                );
                Outcome::Same
            }
            (e, Err(_)) if e == -ENOEXEC => {
                assert!(
                    r_buf == loaded.buf,
                    "{what}: section {i}: Rust refused but wrote"
                );
                Outcome::BothRefused
            }
            (
                0,
                Err(RelocError::Overflow {
                    rtype: 2 | 4,
                    value,
                    ..
                }),
            ) => {
                assert!(
                    i32::try_from(*value as i64).is_err(),
                    "{what}: {value:#x} fits"
                );
                Outcome::RustStricterPc32
            }
            (c, r) => panic!("{what}: section {i} at {mem:#x}: C returned {c}, Rust {r:?}"),
        };
        out.push(outcome);
    }
    out
}

/// A generated relocatable object: .text, .data, .bss, .symtab, .strtab,
/// .rela.text, .rela.data, .shstrtab.
fn object(r: &mut Rng, allow_overflow: bool) -> Vec<u8> {
    let text = 64 + r.below(4096) as u64;
    let data = 16 + r.below(512) as u64;
    let bss = r.below(8192) as u64;
    let names = b"\0purgatory\0purgatory_sha_regions\0purgatory_sha256_digest\0entry64\0";
    let name_offs = [1u32, 11, 33, 57];
    // Symbols: null, three section symbols, then named ones.
    let mut syms: Vec<(u32, u16, u64)> = vec![(0, 0, 0), (0, 1, 0), (0, 2, 0), (0, 3, 0)];
    for _ in 0..1 + r.below(12) {
        let shndx = r.pick(&[1u16, 2, 3, 0xfff1]);
        let value = match shndx {
            1 => r.below(text as usize) as u64,
            2 => r.below(data as usize) as u64,
            3 => r.below(bss.max(1) as usize) as u64,
            _ if allow_overflow && r.below(3) == 0 => r.next(),
            _ => r.below(1 << 20) as u64,
        };
        syms.push((r.pick(&name_offs), shndx, value));
    }
    let relas = |r: &mut Rng, size: u64| -> Vec<(u64, u64, u64)> {
        (0..r.below(40))
            .map(|_| {
                let ty = r.pick(&[0u64, 1, 2, 4, 10, 11, 2, 4]);
                let width = if ty == 1 { 8 } else { 4 };
                let off = r.below((size - width + 1) as usize) as u64;
                // Rarely the null symbol: undefined, refused by both.
                let sym = if r.below(100) == 0 {
                    0
                } else {
                    1 + r.below(syms.len() - 1) as u64
                };
                let addend = if allow_overflow && r.below(8) == 0 {
                    r.next()
                } else {
                    (r.below(256) as i64 - 128) as u64
                };
                (off, (sym << 32) | ty, addend)
            })
            .collect()
    };
    let rt = relas(r, text);
    let rd = relas(r, data);

    let mut img = vec![0u8; 64];
    let place = |img: &mut Vec<u8>, bytes: &[u8], align: usize| -> u64 {
        while img.len() % align != 0 {
            img.push(0);
        }
        let at = img.len() as u64;
        img.extend_from_slice(bytes);
        at
    };
    let text_off = place(&mut img, &vec![0xcc; text as usize], 16);
    let data_off = place(&mut img, &(0..data).map(|b| b as u8).collect::<Vec<_>>(), 8);
    let mut symbytes = Vec::new();
    for &(name, shndx, value) in &syms {
        let mut s = [0u8; 24];
        s[..4].copy_from_slice(&name.to_le_bytes());
        s[4] = if name == 0 { 3 } else { 0x10 };
        s[6..8].copy_from_slice(&shndx.to_le_bytes());
        s[8..16].copy_from_slice(&value.to_le_bytes());
        symbytes.extend(s);
    }
    let sym_off = place(&mut img, &symbytes, 8);
    let str_off = place(&mut img, names, 1);
    let relbytes = |v: &[(u64, u64, u64)]| {
        v.iter()
            .flat_map(|&(o, i, a)| [o, i, a])
            .flat_map(u64::to_le_bytes)
            .collect::<Vec<u8>>()
    };
    let rt_off = place(&mut img, &relbytes(&rt), 8);
    let rd_off = place(&mut img, &relbytes(&rd), 8);
    let shstr = b"\0.text\0.data\0.bss\0.symtab\0.strtab\0.rela.text\0.rela.data\0.shstrtab\0";
    let shstr_off = place(&mut img, shstr, 1);
    let h = |name, kind, flags, offset, size, link, info, addralign, entsize| Shdr {
        name,
        kind,
        flags,
        addr: 0,
        offset,
        size,
        link,
        info,
        addralign,
        entsize,
    };
    let hdrs = [
        Shdr::default(),
        h(
            1,
            SHT_PROGBITS,
            SHF_ALLOC | SHF_EXEC,
            text_off,
            text,
            0,
            0,
            16,
            0,
        ),
        h(
            7,
            SHT_PROGBITS,
            SHF_ALLOC | SHF_WRITE,
            data_off,
            data,
            0,
            0,
            8,
            0,
        ),
        h(13, SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 0, bss, 0, 0, 4096, 0),
        h(
            18,
            SHT_SYMTAB,
            0,
            sym_off,
            symbytes.len() as u64,
            5,
            4,
            8,
            24,
        ),
        h(26, SHT_STRTAB, 0, str_off, names.len() as u64, 0, 0, 1, 0),
        h(
            34,
            SHT_RELA,
            0x40,
            rt_off,
            24 * rt.len() as u64,
            4,
            1,
            8,
            24,
        ),
        h(
            45,
            SHT_RELA,
            0x40,
            rd_off,
            24 * rd.len() as u64,
            4,
            2,
            8,
            24,
        ),
        h(56, SHT_STRTAB, 0, shstr_off, shstr.len() as u64, 0, 0, 1, 0),
    ];
    let shoff = place(&mut img, &[], 8);
    for hd in &hdrs {
        img.extend(hd.to_bytes());
    }
    img[..4].copy_from_slice(b"\x7fELF");
    img[4] = 2; // ELFCLASS64
    img[5] = 1; // ELFDATA2LSB
    img[6] = 1;
    img[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    img[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    img[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    img[0x34..0x36].copy_from_slice(&64u16.to_le_bytes());
    img[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    img[0x3c..0x3e].copy_from_slice(&(hdrs.len() as u16).to_le_bytes());
    img[0x3e..0x40].copy_from_slice(&8u16.to_le_bytes());
    img
}

/// Load addresses: low (all types fit), just under 2 GiB and 4 GiB (32S and
/// 32 start to overflow), and high memory.
fn load_address(r: &mut Rng) -> u64 {
    let page = r.below(1 << 16) as u64 * 4096;
    match r.below(8) {
        0..=3 => 0x100_0000 + page,
        4 => 0x7fff_0000 + page % 0x10_0000,
        5 => 0xfff0_0000 + page % 0x20_0000,
        6 => 0x1_0000_0000 + page,
        _ => 0x3f_0000_0000 + page,
    }
}

#[test]
fn generated_objects_relocate_identically() {
    let mut r = Rng::from_env(0x7e10c);
    let (mut same, mut refused, mut stricter) = (0, 0, 0);
    for n in 0..4000 {
        let img = object(&mut r, false);
        let mem = load_address(&mut r);
        for o in compare(&img, mem, &format!("object {n}")) {
            match o {
                Outcome::Same => same += 1,
                Outcome::BothRefused => refused += 1,
                // A PC32 to an absolute symbol from a high load address:
                // `compare` checked that the value really does not fit.
                Outcome::RustStricterPc32 => stricter += 1,
            }
        }
    }
    println!("sections: {same} relocated identically, {refused} refused by both, {stricter} refused by Rust only (PC32 out of range)");
    // Low load addresses relocate; high ones overflow 32/32S: both happen.
    assert!(
        same > 1000 && refused > 1000,
        "generator coverage: {same} same, {refused} refused"
    );
}

/// Random 64-bit symbol values and addends: overflows of every kind. C and
/// Rust refuse the same sections, except where C silently truncates a
/// PC-relative value; Rust refuses those.
#[test]
fn overflowing_values_are_refused_like_c_or_stricter() {
    let mut r = Rng::from_env(0x0f10);
    let mut stricter = 0;
    for n in 0..3000 {
        let img = object(&mut r, true);
        let mem = load_address(&mut r);
        stricter += compare(&img, mem, &format!("object {n}"))
            .iter()
            .filter(|o| **o == Outcome::RustStricterPc32)
            .count();
    }
    println!("{stricter} sections with a truncated PC32/PLT32 in C, refused in Rust");
    assert!(stricter > 0);
}

/// The real purgatory.ro of the built kernels, named by the runner.
#[test]
#[ignore = "needs KDUMP_PURGATORY_RO (kdump.py test sets it to the built kernels' purgatory.ro)"]
fn built_purgatory_objects_relocate_identically() {
    let list = std::env::var("KDUMP_PURGATORY_RO").unwrap_or_else(|_| {
        panic!("KDUMP_PURGATORY_RO is not set: it must list built purgatory.ro files")
    });
    let paths: Vec<&str> = list.split(':').filter(|p| !p.is_empty()).collect();
    assert!(
        !paths.is_empty(),
        "KDUMP_PURGATORY_RO names no purgatory.ro"
    );
    for path in paths {
        let img = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut sections = 0;
        for mem in [
            0x100_0000u64,
            0x2f00_0000,
            0x7fe0_0000,
            0x1_2345_6000,
            0x3f_fff0_0000,
        ] {
            let outcomes = compare(&img, mem, path);
            assert!(!outcomes.is_empty(), "{path}: no relocation section");
            assert!(
                outcomes.iter().all(|o| *o == Outcome::Same),
                "{path} at {mem:#x}: {outcomes:?}"
            );
            sections += outcomes.len();
        }
        println!("{path}: {sections} relocation sections identical at 5 load addresses");
    }
}
