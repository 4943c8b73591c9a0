// SPDX-License-Identifier: GPL-2.0

//! Differential test: riscv64 purgatory relocation in Rust
//! (`kdump::reloc::riscv`) against the kernel's riscv
//! `arch_kexec_apply_relocations_add()` (arch/riscv/kernel/machine_kexec_file.c).
//!
//! Both relocate the same generated relocatable objects, laid out by the
//! loader's rules at many load addresses. The generator keeps every table,
//! symbol name and place in bounds for C (which checks none of them; the
//! Rust checks for the rest are unit-tested in rust/kdump/reloc/riscv.rs),
//! fills the instructions with random bits (only the immediates may change)
//! and puts branch, jump and `auipc` distances on both sides of each field's
//! limit. Each section must come out one of these ways:
//!
//! - C and Rust succeed with the same bytes;
//! - both refuse (an unknown type, a symbol in no section), Rust writing
//!   nothing;
//! - C succeeds and Rust refuses where C silently gets it wrong, and only
//!   there: a distance its field cannot hold (checked here against the
//!   psABI ranges), a `PCREL_HI20` without its `PCREL_LO12_I` right after it
//!   or the reverse (planted by the generator), an undefined symbol
//!   (planted). When the generator planted one of these, Rust must refuse.

use kdump::reloc::riscv::RiscvError;
use kdump::reloc::{Purgatory, RelocError, Shdr};
use kdump_cref::{c_riscv_apply_relocations_add, load_purgatory, Rng};
use std::collections::BTreeSet;

const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_RELA: u32 = 4;
const SHT_NOBITS: u32 = 8;
const SHF_WRITE: u64 = 1;
const SHF_ALLOC: u64 = 2;
const SHF_EXEC: u64 = 4;
const ENOEXEC: i32 = 8;

// R_RISCV_* numbers from the psABI.
const R_64: u64 = 2;
const BRANCH: u64 = 16;
const JAL: u64 = 17;
const CALL: u64 = 18;
const CALL_PLT: u64 = 19;
const PCREL_HI20: u64 = 23;
const PCREL_LO12_I: u64 = 24;
const ADD16: u64 = 34;
const ADD32: u64 = 35;
const SUB16: u64 = 38;
const SUB32: u64 = 39;
const ALIGN: u64 = 43;
const RVC_BRANCH: u64 = 44;
const RVC_JUMP: u64 = 45;
const RELAX: u64 = 51;
const ALL_TYPES: [u64; 15] = [
    R_64,
    BRANCH,
    JAL,
    CALL,
    CALL_PLT,
    PCREL_HI20,
    PCREL_LO12_I,
    ADD16,
    ADD32,
    SUB16,
    SUB32,
    ALIGN,
    RVC_BRANCH,
    RVC_JUMP,
    RELAX,
];
/// Types neither knows (NONE, 32, GOT_HI20, PCREL_LO12_S, HI20, LO12_I,
/// ADD64, SUB64, RVC_LUI, SUB6, SET8, SET32, 32_PCREL, beyond).
const UNKNOWN: [u64; 14] = [0, 1, 20, 25, 26, 27, 36, 40, 46, 52, 54, 56, 57, 200];

/// The PC-relative range of each type's field, from the psABI: the
/// distances (`S + A - P`) it can encode.
fn reach(rtype: u32) -> Option<(i64, i64)> {
    Some(match u64::from(rtype) {
        BRANCH => (-(1 << 12), (1 << 12) - 2),
        JAL => (-(1 << 20), (1 << 20) - 2),
        RVC_BRANCH => (-(1 << 8), (1 << 8) - 2),
        RVC_JUMP => (-(1 << 11), (1 << 11) - 2),
        // auipc's rounded high part plus the sign-extended low 12 bits.
        CALL | CALL_PLT | PCREL_HI20 => (-(1 << 31) - 0x800, (1 << 31) - 0x801),
        _ => return None,
    })
}

/// Whether a distance fits its field: in reach and, for the single
/// instructions, even (their fields have no bit 0).
fn fits(rtype: u32, value: u64) -> bool {
    let v = value as i64;
    let pair = matches!(u64::from(rtype), CALL | CALL_PLT | PCREL_HI20);
    reach(rtype).is_some_and(|(lo, hi)| v >= lo && v <= hi && (pair || v & 1 == 0))
}

/// What the generator put in a section on purpose.
#[derive(Clone, Copy, Debug, Default)]
struct Plan {
    /// A relocation both must refuse (unknown type, common symbol).
    c_refuses: bool,
    /// A lone `PCREL_HI20` or `PCREL_LO12_I`.
    lone: bool,
    /// A relocation against an undefined symbol.
    undefined: bool,
    /// A distance outside its field.
    overflow: bool,
}

/// How one relocation section came out in both implementations.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Outcome {
    Same,
    BothRefused,
    /// Rust refused a distance C truncated.
    RustOverflow,
    /// Rust refused a pair C patched at the wrong place.
    RustLonePair,
    /// Rust refused an undefined symbol C relocated against 0.
    RustUndefined,
}

/// Symbols: null; section symbols of .text, .data, .bss; then named ones.
struct Syms {
    list: Vec<(u32, u16, u64)>,
}

const TEXT_SYM: u64 = 1;
const UNDEF_SYM: u64 = 4;
const COMMON_SYM: u64 = 5;
const NAMES: &[u8] = b"\0purgatory\0purgatory_sha_regions\0entry\0.L0\0";
const LABEL_NAME: u32 = 39;

impl Syms {
    fn new(r: &mut Rng, text: u64, data: u64, bss: u64, overflow: bool) -> Self {
        let mut list = vec![
            (0, 0, 0),
            (0, 1, 0),
            (0, 2, 0),
            (0, 3, 0),
            (1, 0, 0),
            (11, 0xfff2, 16),
        ];
        for _ in 0..1 + r.below(10) {
            let shndx = r.pick(&[1u16, 1, 2, 3, 0xfff1]);
            let value = match shndx {
                1 => r.below(text as usize) as u64 & !1,
                2 => r.below(data as usize) as u64,
                3 => r.below(bss.max(1) as usize) as u64,
                _ if overflow && r.below(3) == 0 => r.next(),
                _ => r.below(1 << 20) as u64,
            };
            list.push((r.pick(&[1u32, 11, 33]), shndx, value));
        }
        Syms { list }
    }

    /// A symbol a relocation may name: defined, or rarely the undefined
    /// or common one (recorded in `plan`).
    fn target(&self, r: &mut Rng, plan: &mut Plan) -> u64 {
        match r.below(200) {
            0 => {
                plan.undefined = true;
                UNDEF_SYM
            }
            1 => {
                plan.c_refuses = true;
                COMMON_SYM
            }
            _ => r.pick(
                &[1u64, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15][..(self.list.len() - 3).min(13)],
            ),
        }
    }

    /// A new label at .text+`off`.
    fn label(&mut self, off: u64) -> u64 {
        self.list.push((LABEL_NAME, 1, off));
        (self.list.len() - 1) as u64
    }
}

fn rela(off: u64, sym: u64, ty: u64, addend: u64) -> (u64, u64, u64) {
    (off, (sym << 32) | ty, addend)
}

/// A distance for a PC-relative type: small, or on either side of the
/// field's limit (recorded in `plan` when outside).
fn distance(r: &mut Rng, ty: u64, plan: &mut Plan) -> i64 {
    let (lo, hi) = reach(ty as u32).unwrap();
    let d = match r.below(6) {
        0 => lo - r.below(3) as i64 * 2,
        1 => hi + r.below(3) as i64 * 2,
        2 => lo + r.below(3) as i64 * 2,
        3 => hi - r.below(3) as i64 * 2,
        4 if r.below(4) == 0 => (r.below(64) as i64 - 32) | 1,
        _ => (r.below(512) as i64 - 256) & !1,
    };
    if !fits(ty as u32, d as u64) {
        plan.overflow = true;
    }
    d
}

/// Relocations for .text (`size` bytes of random instructions).
fn text_relas(r: &mut Rng, size: u64, syms: &mut Syms, plan: &mut Plan) -> Vec<(u64, u64, u64)> {
    let mut out = Vec::new();
    // One auipc per place: a second pair at the same place would be the
    // partner of a planted lone one.
    let mut auipcs = BTreeSet::new();
    for _ in 0..r.below(30) {
        let ty = if r.below(80) == 0 {
            0 // an unknown type, below
        } else {
            r.pick(&[
                BRANCH, JAL, CALL, CALL_PLT, PCREL_HI20, PCREL_HI20, RVC_BRANCH, RVC_JUMP, ALIGN,
                RELAX,
            ])
        };
        // Every place is in bounds for C, which touches 4 bytes for RVC.
        let width = if matches!(ty, CALL | CALL_PLT | PCREL_HI20) {
            8
        } else {
            4
        };
        let off = r.below((size - width) as usize / 2 + 1) as u64 * 2;
        if ty == PCREL_HI20 && !auipcs.insert(off) {
            continue;
        }
        match ty {
            0 => {
                plan.c_refuses = true;
                out.push(rela(off, TEXT_SYM, r.pick(&UNKNOWN), 0));
            }
            ALIGN | RELAX => out.push(rela(off, 0, ty, r.below(8) as u64)),
            _ => {
                // Against a symbol, or against .text itself at a chosen
                // distance: S + A - P = A - off.
                let (sym, addend) = if r.below(2) == 0 {
                    (syms.target(r, plan), (r.below(64) as i64 - 32) as u64 & !1)
                } else {
                    (TEXT_SYM, (off as i64 + distance(r, ty, plan)) as u64)
                };
                out.push(rela(off, sym, ty, addend));
                if ty == PCREL_HI20 {
                    let label = syms.label(off);
                    match r.below(12) {
                        0 => plan.lone = true,
                        1 => {
                            plan.lone = true;
                            out.push(rela(off + 4, label, PCREL_LO12_I, 2));
                        }
                        2 if off + 12 <= size => {
                            plan.lone = true;
                            out.push(rela(off + 8, label, PCREL_LO12_I, 0));
                        }
                        _ => {
                            out.push(rela(off + 4, label, PCREL_LO12_I, 0));
                            if r.below(2) == 0 {
                                out.push(rela(off + 4, 0, RELAX, 0));
                            }
                        }
                    }
                }
            }
        }
    }
    // Rarely a PCREL_LO12_I on its own.
    if r.below(40) == 0 {
        plan.lone = true;
        let label = syms.label(0);
        out.push(rela(8, label, PCREL_LO12_I, 0));
    }
    out
}

/// Relocations for .data: label differences and addresses.
fn data_relas(r: &mut Rng, size: u64, syms: &Syms, plan: &mut Plan) -> Vec<(u64, u64, u64)> {
    (0..r.below(30))
        .map(|_| {
            let ty = r.pick(&[R_64, ADD16, ADD32, SUB16, SUB32, ADD32, SUB32]);
            let width = match ty {
                R_64 => 8,
                ADD16 | SUB16 => 2,
                _ => 4,
            };
            let off = r.below((size - width + 1) as usize) as u64;
            let addend = if r.below(4) == 0 {
                r.next()
            } else {
                r.below(256) as u64
            };
            rela(off, syms.target(r, plan), ty, addend)
        })
        .collect()
}

/// A generated relocatable riscv64 object: .text, .data, .bss, .symtab,
/// .strtab, .rela.text, .rela.data, .shstrtab; and what it plants.
fn object(r: &mut Rng, overflow: bool) -> (Vec<u8>, Plan, Plan) {
    let text = 64 + r.below(2048) as u64 / 4 * 4;
    let data = 16 + r.below(256) as u64;
    let bss = r.below(8192) as u64;
    let mut syms = Syms::new(r, text, data, bss, overflow);
    let (mut pt, mut pd) = (Plan::default(), Plan::default());
    let rt = text_relas(r, text, &mut syms, &mut pt);
    let rd = data_relas(r, data, &syms, &mut pd);

    let mut img = vec![0u8; 64];
    let place = |img: &mut Vec<u8>, bytes: &[u8], align: usize| -> u64 {
        while img.len() % align != 0 {
            img.push(0);
        }
        let at = img.len() as u64;
        img.extend_from_slice(bytes);
        at
    };
    let code: Vec<u8> = (0..text).map(|_| r.next() as u8).collect();
    let text_off = place(&mut img, &code, 4);
    let data_off = place(
        &mut img,
        &(0..data).map(|_| r.next() as u8).collect::<Vec<_>>(),
        8,
    );
    let mut symbytes = Vec::new();
    for &(name, shndx, value) in &syms.list {
        let mut s = [0u8; 24];
        s[..4].copy_from_slice(&name.to_le_bytes());
        s[4] = if name == 0 { 3 } else { 0x10 };
        s[6..8].copy_from_slice(&shndx.to_le_bytes());
        s[8..16].copy_from_slice(&value.to_le_bytes());
        symbytes.extend(s);
    }
    let sym_off = place(&mut img, &symbytes, 8);
    let str_off = place(&mut img, NAMES, 1);
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
            4,
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
        h(26, SHT_STRTAB, 0, str_off, NAMES.len() as u64, 0, 0, 1, 0),
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
    img[18..20].copy_from_slice(&243u16.to_le_bytes()); // EM_RISCV
    img[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    img[0x34..0x36].copy_from_slice(&64u16.to_le_bytes());
    img[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    img[0x3c..0x3e].copy_from_slice(&(hdrs.len() as u16).to_le_bytes());
    img[0x3e..0x40].copy_from_slice(&8u16.to_le_bytes());
    (img, pt, pd)
}

/// Applies both RELA sections of `image` with C and with Rust on copies of
/// one loaded layout at `mem`, checks the outcome against `plans` (for
/// .rela.text and .rela.data), and returns it with the types of each
/// section.
fn compare(image: &[u8], mem: u64, plans: [Plan; 2], what: &str) -> Vec<(Outcome, BTreeSet<u32>)> {
    let loaded = load_purgatory(image, mem);
    let p = Purgatory::new(image, &loaded.sechdrs).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let mut out = Vec::new();
    for (i, plan) in [(6usize, plans[0]), (7, plans[1])] {
        let rel = p.shdr(i as u64).unwrap();
        assert_eq!(rel.kind, SHT_RELA);
        let target = p.loaded_shdr(rel.info.into()).unwrap();
        let symtab = p.shdr(rel.link.into()).unwrap();
        let types: BTreeSet<u32> = (0..rel.size / 24)
            .map(|k| {
                u32::from_le_bytes(
                    image[(rel.offset + 24 * k + 8) as usize..][..4]
                        .try_into()
                        .unwrap(),
                )
            })
            .collect();
        let (mut c_hdrs, mut c_buf) = (loaded.sechdrs.clone(), loaded.buf.clone());
        let c = c_riscv_apply_relocations_add(
            image,
            &mut c_hdrs,
            &mut c_buf,
            rel.info as usize,
            i,
            rel.link as usize,
        );
        let mut r_buf = loaded.buf.clone();
        let r = p.apply_rela_riscv(&mut r_buf, &target, &rel, &symtab);
        let ctx =
            || format!("{what}: section {i} at {mem:#x}, {plan:?}: C returned {c}, Rust {r:?}");
        if r.is_err() {
            assert!(r_buf == loaded.buf, "{}: Rust refused but wrote", ctx());
        }
        let outcome = match (c, &r) {
            (e, Err(_)) if e == -ENOEXEC && plan.c_refuses => Outcome::BothRefused,
            (0, Ok(_)) if !plan.c_refuses && !plan.lone && !plan.undefined && !plan.overflow => {
                assert!(c_buf == r_buf, "{}: buffers differ", ctx());
                Outcome::Same
            }
            (0, Err(RiscvError::Reloc(RelocError::Overflow { rtype, value, .. })))
                if !plan.c_refuses =>
            {
                assert!(!fits(*rtype, *value), "{}: the value fits", ctx());
                Outcome::RustOverflow
            }
            (0, Err(RiscvError::LoneHi20 { .. } | RiscvError::LoneLo12 { .. }))
                if plan.lone && !plan.c_refuses =>
            {
                Outcome::RustLonePair
            }
            (0, Err(RiscvError::Reloc(RelocError::Undefined { .. })))
                if plan.undefined && !plan.c_refuses =>
            {
                Outcome::RustUndefined
            }
            _ => panic!("{}: not an expected outcome", ctx()),
        };
        out.push((outcome, types));
    }
    out
}

/// Load addresses: low, riscv's usual 0x8020_0000 region, around 2 GiB and
/// 4 GiB, and high memory.
fn load_address(r: &mut Rng) -> u64 {
    let page = r.below(1 << 16) as u64 * 4096;
    match r.below(8) {
        0..=1 => 0x100_0000 + page,
        2..=3 => 0x8020_0000 + page,
        4 => 0x7fff_0000 + page % 0x10_0000,
        5 => 0xfff0_0000 + page % 0x20_0000,
        6 => 0x1_0000_0000 + page,
        _ => 0x3f_0000_0000 + page,
    }
}

fn run(seed: u64, n: usize, overflow: bool) -> std::collections::BTreeMap<Outcome, usize> {
    let mut r = Rng::from_env(seed);
    let mut counts = std::collections::BTreeMap::new();
    let mut same_types = BTreeSet::new();
    for k in 0..n {
        let (img, pt, pd) = object(&mut r, overflow);
        let mem = load_address(&mut r);
        for (o, types) in compare(&img, mem, [pt, pd], &format!("object {k}")) {
            *counts.entry(o).or_insert(0) += 1;
            if o == Outcome::Same {
                same_types.extend(types);
            }
        }
    }
    println!("sections: {counts:?}");
    let missing: Vec<u64> = ALL_TYPES
        .iter()
        .copied()
        .filter(|t| !same_types.contains(&(*t as u32)))
        .collect();
    assert!(
        missing.is_empty(),
        "types never applied identically: {missing:?}"
    );
    counts
}

#[test]
fn generated_objects_relocate_identically_or_as_documented() {
    let counts = run(0x5c_0de, 4000, false);
    for o in [
        Outcome::Same,
        Outcome::BothRefused,
        Outcome::RustOverflow,
        Outcome::RustLonePair,
        Outcome::RustUndefined,
    ] {
        assert!(
            counts.get(&o).copied().unwrap_or(0) > 20,
            "generator coverage of {o:?}: {counts:?}"
        );
    }
    assert!(
        counts[&Outcome::Same] > 1000,
        "generator coverage: {counts:?}"
    );
}

/// Random 64-bit absolute symbols and addends: `R_RISCV_64` and `ADD`/`SUB`
/// wrap alike in both, and far `CALL`s overflow.
#[test]
fn random_values_relocate_identically_or_as_documented() {
    let counts = run(0xadd5, 2000, true);
    assert!(
        counts.get(&Outcome::Same).copied().unwrap_or(0) > 500,
        "{counts:?}"
    );
}

/// Applies every RELA section of a real object (that targets an allocated
/// section) with C and Rust: both must succeed with the same bytes.
/// Returns the number of sections.
fn compare_object(image: &[u8], mem: u64, what: &str) -> usize {
    let loaded = load_purgatory(image, mem);
    let p = Purgatory::new(image, &loaded.sechdrs).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let mut sections = 0;
    for i in 0..p.shnum() as usize {
        let rel = p.shdr(i as u64).unwrap();
        let target = p.loaded_shdr(rel.info.into());
        if rel.kind != SHT_RELA || target.is_none_or(|t| t.flags & SHF_ALLOC == 0) {
            continue;
        }
        let symtab = p.shdr(rel.link.into()).unwrap();
        let (mut c_hdrs, mut c_buf) = (loaded.sechdrs.clone(), loaded.buf.clone());
        let c = c_riscv_apply_relocations_add(
            image,
            &mut c_hdrs,
            &mut c_buf,
            rel.info as usize,
            i,
            rel.link as usize,
        );
        let mut r_buf = loaded.buf.clone();
        let r = p.apply_rela_riscv(&mut r_buf, &target.unwrap(), &rel, &symtab);
        assert!(
            c == 0 && r.is_ok(),
            "{what}: section {i} at {mem:#x}: C returned {c}, Rust {r:?}"
        );
        assert!(
            c_buf == r_buf,
            "{what}: section {i} at {mem:#x}: buffers differ"
        );
        sections += 1;
    }
    sections
}

/// Real riscv64 purgatory objects: `KDUMP_RISCV_PURGATORY_RO` lists them,
/// colon-separated (a riscv kernel build's arch/riscv/purgatory/purgatory.ro,
/// or any `ld -r` of riscv64 objects built with `-mcmodel=medany`).
#[test]
#[ignore = "needs KDUMP_RISCV_PURGATORY_RO (riscv64 purgatory.ro files)"]
fn built_riscv_purgatory_objects_relocate_identically() {
    let list = std::env::var("KDUMP_RISCV_PURGATORY_RO").unwrap_or_else(|_| {
        panic!("KDUMP_RISCV_PURGATORY_RO is not set: it must list riscv64 purgatory.ro files")
    });
    let paths: Vec<&str> = list.split(':').filter(|p| !p.is_empty()).collect();
    assert!(
        !paths.is_empty(),
        "KDUMP_RISCV_PURGATORY_RO names no object"
    );
    for path in paths {
        let img = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            u16::from_le_bytes([img[18], img[19]]),
            243,
            "{path}: not EM_RISCV"
        );
        let mut sections = 0;
        for mem in [
            0x100_0000u64,
            0x8020_0000,
            0xbff0_0000,
            0x1_2345_6000,
            0x3f_fff0_0000,
        ] {
            let n = compare_object(&img, mem, path);
            assert!(n > 0, "{path}: no relocation section");
            sections += n;
        }
        println!("{path}: {sections} relocation sections identical at 5 load addresses");
    }
}
