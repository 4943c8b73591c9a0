// SPDX-License-Identifier: GPL-2.0

//! Host tests of the vmcore module: headers encoded by hand from the ELF
//! specification, checked against the C arithmetic of fs/proc/vmcore.c.

#![allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::panic
)]

use super::header::page_range;
use super::*;
use proptest::prelude::*;
use std::vec::Vec;

const X86: Expect = Expect {
    machine: EM_X86_64,
    class: None,
    max_size: 1 << 20,
};

/// One program header for the test's own encoder.
#[derive(Clone, Copy, Debug)]
struct P {
    kind: u32,
    offset: u64,
    vaddr: u64,
    memsz: u64,
}

fn note(offset: u64, memsz: u64) -> P {
    P {
        kind: PT_NOTE,
        offset,
        vaddr: 0,
        memsz,
    }
}

fn load(offset: u64, memsz: u64) -> P {
    P {
        kind: PT_LOAD,
        offset,
        vaddr: offset | 0xffff_8880_0000_0000,
        memsz,
    }
}

/// An ELF core header as the crashed kernel writes it, encoded by hand
/// from the ELF specification (independently of the code under test).
fn core64(machine: u16, ps: &[P]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&4u16.to_le_bytes()); // e_type = ET_CORE
    b.extend_from_slice(&machine.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes()); // e_version
    b.extend_from_slice(&0u64.to_le_bytes()); // e_entry
    b.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    b.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    b.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    b.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    b.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    b.extend_from_slice(&(ps.len() as u16).to_le_bytes());
    b.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
    assert_eq!(b.len(), 64);
    for p in ps {
        let flags = if p.kind == PT_LOAD { 7u32 } else { 0 };
        for f in [p.kind, flags] {
            b.extend_from_slice(&f.to_le_bytes());
        }
        for f in [p.offset, p.vaddr, p.offset, p.memsz, p.memsz, 0] {
            b.extend_from_slice(&f.to_le_bytes());
        }
    }
    b
}

fn core32(machine: u16, ps: &[P]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"\x7fELF\x01\x01\x01\x00");
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&machine.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    for f in [0u32, 52, 0, 0] {
        // e_entry, e_phoff, e_shoff, e_flags
        b.extend_from_slice(&f.to_le_bytes());
    }
    for f in [52u16, 32, ps.len() as u16, 0, 0, 0] {
        b.extend_from_slice(&f.to_le_bytes());
    }
    assert_eq!(b.len(), 52);
    for p in ps {
        let flags = if p.kind == PT_LOAD { 7u32 } else { 0 };
        for f in [
            p.kind,
            p.offset as u32,
            p.vaddr as u32,
            p.offset as u32,
            p.memsz as u32,
            p.memsz as u32,
            flags,
            0,
        ] {
            b.extend_from_slice(&f.to_le_bytes());
        }
    }
    b
}

fn le(b: &[u8], at: usize, n: usize) -> u64 {
    let mut v = [0u8; 8];
    v[..n].copy_from_slice(&b[at..at + n]);
    u64::from_le_bytes(v)
}

fn put(b: &mut [u8], at: usize, v: u64, n: usize) {
    b[at..at + n].copy_from_slice(&v.to_le_bytes()[..n]);
}

/// A note encoded by hand: header, name + NUL padded, desc padded.
fn enc_note(name: &str, kind: u32, desc: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    let namesz = name.len() as u32 + 1;
    b.extend_from_slice(&namesz.to_le_bytes());
    b.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    b.extend_from_slice(&kind.to_le_bytes());
    b.extend_from_slice(name.as_bytes());
    b.resize(b.len() + (4 - name.len() % 4), 0); // NUL and padding
    b.extend_from_slice(desc);
    while b.len() % 4 != 0 {
        b.push(0);
    }
    b
}

fn parse(b: &[u8]) -> Result<CoreHeader<'_>, HeaderError> {
    CoreHeader::parse(b, &X86)
}

#[test]
fn every_header_error_is_reachable() {
    let good = core64(EM_X86_64, &[note(0x1000, 0x100), load(0x10_0000, 0x1000)]);
    assert!(parse(&good).is_ok());
    let bad = |at: usize, v: u64, n: usize| {
        let mut b = good.clone();
        put(&mut b, at, v, n);
        parse(&b).err()
    };
    assert_eq!(
        parse(&good[..10]).err(),
        Some(HeaderError::Truncated {
            needed: 16,
            have: 10
        })
    );
    assert_eq!(
        parse(&good[..40]).err(),
        Some(HeaderError::Truncated {
            needed: 64,
            have: 40
        })
    );
    assert_eq!(
        parse(&good[..64 + 56]).err(),
        Some(HeaderError::Truncated {
            needed: 64 + 112,
            have: 120
        })
    );
    assert_eq!(bad(1, b'e' as u64, 1), Some(HeaderError::Magic));
    assert_eq!(bad(4, 3, 1), Some(HeaderError::Class(3)));
    assert_eq!(bad(5, 2, 1), Some(HeaderError::Data(2)));
    assert_eq!(bad(6, 0, 1), Some(HeaderError::IdentVersion(0)));
    assert_eq!(bad(16, 2, 2), Some(HeaderError::Type(2)));
    assert_eq!(
        bad(18, 3, 2),
        Some(HeaderError::Machine {
            found: 3,
            expected: 62
        })
    );
    assert_eq!(bad(20, 2, 4), Some(HeaderError::Version(2)));
    assert_eq!(bad(52, 52, 2), Some(HeaderError::EhSize(52)));
    assert_eq!(bad(54, 32, 2), Some(HeaderError::PhEntSize(32)));
    assert_eq!(bad(32, 128, 8), Some(HeaderError::PhOff(128)));
    assert_eq!(bad(56, 0, 2), Some(HeaderError::PhNum(0)));
    assert_eq!(bad(56, 0xffff, 2), Some(HeaderError::PhNum(0xffff)));
    let small = Expect {
        max_size: 64 + 56,
        ..X86
    };
    assert_eq!(
        CoreHeader::parse(&good, &small).err(),
        Some(HeaderError::TooBig {
            needed: 176,
            limit: 120
        })
    );
    // p_type of the only PT_NOTE -> PT_NULL.
    assert_eq!(bad(64, 0, 4), Some(HeaderError::NoNotes));
    // PT_NOTE p_offset + p_memsz wraps.
    assert_eq!(
        bad(64 + 40, u64::MAX - 0xfff, 8),
        Some(HeaderError::NoteRange { index: 0 })
    );
    // PT_LOAD end wraps, or only its page-rounded end does.
    assert_eq!(
        bad(120 + 8, u64::MAX, 8),
        Some(HeaderError::LoadRange { index: 1 })
    );
    assert_eq!(
        bad(120 + 8, u64::MAX - 0x1000, 8),
        Some(HeaderError::LoadRange { index: 1 })
    );
    assert_eq!(bad(120 + 8, u64::MAX - 0x1fff, 8), None); // ends on the last page

    // The same through ELF32, whose fields sit elsewhere.
    let good32 = core32(EM_X86_64, &[note(0x1000, 0x100), load(0x10_0000, 0x1000)]);
    assert_eq!(parse(&good32).map(|h| h.class()).ok(), Some(Class::Elf32));
    let bad32 = |at: usize, v: u64, n: usize| {
        let mut b = good32.clone();
        put(&mut b, at, v, n);
        parse(&b).err()
    };
    assert_eq!(
        parse(&good32[..60]).err(),
        Some(HeaderError::Truncated {
            needed: 52 + 64,
            have: 60
        })
    );
    assert_eq!(bad32(28, 64, 4), Some(HeaderError::PhOff(64)));
    assert_eq!(bad32(40, 64, 2), Some(HeaderError::EhSize(64)));
    assert_eq!(bad32(42, 56, 2), Some(HeaderError::PhEntSize(56)));
    assert_eq!(bad32(44, 0, 2), Some(HeaderError::PhNum(0)));
    assert_eq!(
        bad32(18, 3, 2),
        Some(HeaderError::Machine {
            found: 3,
            expected: 62
        })
    );
    let i386 = Expect {
        machine: EM_386,
        class: None,
        max_size: 4096,
    };
    assert!(CoreHeader::parse(&core32(EM_386, &[note(0, 0)]), &i386).is_ok());
    // arm64: EM_AARCH64 (183) for both classes; an x86_64 core is refused.
    let arm64 = Expect {
        machine: EM_AARCH64,
        class: None,
        max_size: 4096,
    };
    assert!(CoreHeader::parse(&core64(183, &[note(0, 0)]), &arm64).is_ok());
    assert!(CoreHeader::parse(&core32(183, &[note(0, 0)]), &arm64).is_ok());
    assert_eq!(
        CoreHeader::parse(&core64(EM_X86_64, &[note(0, 0)]), &arm64).err(),
        Some(HeaderError::Machine {
            found: 62,
            expected: 183
        })
    );
    // riscv64: EM_RISCV (243), ELF64 only (its elf_check_arch() checks the
    // class too); an arm64 core is refused.
    let riscv = Expect {
        machine: EM_RISCV,
        class: Some(Class::Elf64),
        max_size: 4096,
    };
    assert!(CoreHeader::parse(&core64(243, &[note(0, 0)]), &riscv).is_ok());
    assert_eq!(
        CoreHeader::parse(&core32(243, &[note(0, 0)]), &riscv).err(),
        Some(HeaderError::ClassNotAccepted(1))
    );
    assert_eq!(
        CoreHeader::parse(&core64(EM_AARCH64, &[note(0, 0)]), &riscv).err(),
        Some(HeaderError::Machine {
            found: 183,
            expected: 243
        })
    );
}

#[test]
fn errors_name_their_field() {
    let all = [
        HeaderError::Truncated { needed: 1, have: 0 },
        HeaderError::Magic,
        HeaderError::Class(0),
        HeaderError::ClassNotAccepted(1),
        HeaderError::Data(2),
        HeaderError::IdentVersion(0),
        HeaderError::Type(1),
        HeaderError::Machine {
            found: 3,
            expected: 62,
        },
        HeaderError::Version(0),
        HeaderError::EhSize(0),
        HeaderError::PhEntSize(0),
        HeaderError::PhOff(0),
        HeaderError::PhNum(0),
        HeaderError::TooBig {
            needed: 2,
            limit: 1,
        },
        HeaderError::NoNotes,
        HeaderError::NoteRange { index: 0 },
        HeaderError::LoadRange { index: 0 },
        HeaderError::FileSize,
        HeaderError::NoRoom { needed: 1, have: 0 },
    ];
    for e in all {
        let s = std::format!("{e}");
        assert!(s.starts_with(e.field()) && s.contains(e.message()), "{s}");
    }
    assert_eq!(
        std::format!("{}", HeaderError::Data(2)),
        "e_ident[EI_DATA]: not little endian (2)"
    );
    assert_eq!(
        std::format!(
            "{}",
            HeaderError::Machine {
                found: 3,
                expected: 62
            }
        ),
        "e_machine: wrong machine (3, expected 62)"
    );
    assert_eq!(
        std::format!("{}", NoteError::Desc { at: 16, descsz: 9 }),
        "n_descsz=0x9 past the segment at 0x10"
    );
}

#[test]
fn header_len_needs_only_the_elf_header() {
    let b = core64(EM_X86_64, &[note(0, 0); 3]);
    assert_eq!(header_len(&b[..EHDR_MAX], &X86), Ok(64 + 3 * 56));
    let b = core32(EM_X86_64, &[note(0, 0); 3]);
    assert_eq!(header_len(&b[..52], &X86), Ok(52 + 3 * 32));
}

#[test]
fn note_walk_stops_where_upstream_does() {
    let a = enc_note("CORE", 1, &[0xaa; 336]); // NT_PRSTATUS-sized
    let v = enc_note("VMCOREINFO", 0, b"OSRELEASE=6.12.0\nPAGESIZE=4096\n");
    assert_eq!(a.len(), 12 + 8 + 336);
    assert_eq!(v.len(), 12 + 12 + 32);
    // Notes, then zeros up to p_memsz: the walk ends at n_namesz == 0.
    let mut seg = [a.clone(), v.clone()].concat();
    seg.resize(1024, 0);
    assert_eq!(
        scan_notes(&seg),
        NoteScan {
            size: 356 + 56,
            count: 2,
            error: None
        }
    );
    let names: Vec<_> = Notes::new(&seg)
        .map(|n| (n.name, n.kind, n.desc.len()))
        .collect();
    assert_eq!(names, [(&b"CORE"[..], 1, 336), (&b"VMCOREINFO"[..], 0, 31)]);
    // Exactly full, and nothing at all.
    assert_eq!(
        scan_notes(&a),
        NoteScan {
            size: 356,
            count: 1,
            error: None
        }
    );
    assert_eq!(
        scan_notes(&[]),
        NoteScan {
            size: 0,
            count: 0,
            error: None
        }
    );
    assert_eq!(
        scan_notes(&[0; 3]),
        NoteScan {
            size: 0,
            count: 0,
            error: None
        }
    );
    // A note header cut short after a good note.
    let mut cut = a.clone();
    cut.extend_from_slice(&[5, 0, 0, 0, 0, 0]);
    assert_eq!(
        scan_notes(&cut),
        NoteScan {
            size: 356,
            count: 1,
            error: Some(NoteError::Header { at: 356 })
        }
    );
    // The padded name, then the padded descriptor, one byte too long.
    let mut name = v.clone();
    name[0..4].copy_from_slice(&(v.len() as u32 - 12 + 1).to_le_bytes());
    assert_eq!(
        scan_notes(&name).error,
        Some(NoteError::Name { at: 0, namesz: 45 })
    );
    let mut desc = v.clone();
    desc[4..8].copy_from_slice(&33u32.to_le_bytes());
    assert_eq!(
        scan_notes(&desc),
        NoteScan {
            size: 0,
            count: 0,
            error: Some(NoteError::Desc { at: 0, descsz: 33 })
        }
    );
    // Sizes near 2^32 neither overflow nor read out of bounds.
    let mut huge = v.clone();
    huge[0..8].copy_from_slice(&[0xff; 8]);
    assert_eq!(
        scan_notes(&huge).error,
        Some(NoteError::Name {
            at: 0,
            namesz: u32::MAX
        })
    );
    huge[0..4].copy_from_slice(&4u32.to_le_bytes());
    assert_eq!(
        scan_notes(&huge).error,
        Some(NoteError::Desc {
            at: 0,
            descsz: u32::MAX
        })
    );
    assert_eq!(
        find_note(&seg, b"VMCOREINFO").map(|n| n.desc),
        Some(&b"OSRELEASE=6.12.0\nPAGESIZE=4096\n"[..])
    );
    assert_eq!(find_note(&seg, b"VMCORE"), None);
}

/// Old memory for the tests: `(paddr, bytes)` pieces.
fn reader<'m>(mem: &'m [(u64, Vec<u8>)]) -> impl FnMut(u64, &mut [u8]) -> Result<(), u64> + 'm {
    move |paddr, buf| {
        for (base, bytes) in mem {
            if paddr >= *base && paddr + buf.len() as u64 <= base + bytes.len() as u64 {
                let at = (paddr - base) as usize;
                buf.copy_from_slice(&bytes[at..at + buf.len()]);
                return Ok(());
            }
        }
        Err(paddr)
    }
}

#[test]
fn merge_packs_real_sizes_in_table_order() {
    let cpu0 = enc_note("CORE", 1, &[1; 20]);
    let cpu1 = enc_note("CORE", 1, &[2; 20]);
    let info = enc_note("VMCOREINFO", 0, b"OSRELEASE=x\n");
    let pad = |n: &Vec<u8>, to: usize| {
        let mut v = n.clone();
        v.resize(to, 0);
        v
    };
    // CPU 1 was offline: its buffer is all zeros.
    let mem = [
        (0x1000, pad(&cpu0, 64)),
        (0x2000, std::vec![0; 64]),
        (0x3000, pad(&info, 100)),
        (0x4000, pad(&cpu1, 64)),
    ];
    let b = core64(
        EM_X86_64,
        &[
            note(0x1000, 64),
            load(0x10_0000, 0x1000),
            note(0x2000, 64),
            note(0x3000, 100),
            note(0x4000, 64),
        ],
    );
    let h = parse(&b).unwrap();
    assert_eq!((h.note_count(), h.load_count(), h.notes_max()), (4, 1, 292));
    let mut out = std::vec![0xee; 300];
    let m = h.merge_notes(&mut out, reader(&mem)).unwrap();
    let want = [cpu0.clone(), info.clone(), cpu1.clone()].concat();
    assert_eq!(
        m,
        MergedNotes {
            size: want.len(),
            empty: 1,
            dropped: 0,
            first_drop: None
        }
    );
    assert_eq!(&out[..want.len()], &want[..]);
    assert!(out[want.len()..].iter().all(|&b| b == 0));
    assert_eq!(
        find_note(&out[..m.size], b"VMCOREINFO").map(|n| n.desc),
        Some(&b"OSRELEASE=x\n"[..])
    );
    // Too small a buffer, and a read that fails on the third PT_NOTE.
    assert_eq!(
        h.merge_notes(&mut out[..291], reader(&mem)),
        Err(MergeError::NoRoom {
            needed: 292,
            have: 291
        })
    );
    assert_eq!(
        h.merge_notes(&mut out, reader(&mem[..2])),
        Err(MergeError::Read {
            index: 3,
            error: 0x3000
        })
    );
    // A descriptor too long for its segment: that segment's tail goes.
    let mut broken = pad(&cpu0, 64);
    broken[4..8].copy_from_slice(&200u32.to_le_bytes());
    let mem = [
        (0x1000, broken),
        (0x2000, std::vec![0; 64]),
        (0x3000, pad(&info, 100)),
        (0x4000, pad(&cpu1, 64)),
    ];
    let m = h.merge_notes(&mut out, reader(&mem)).unwrap();
    assert_eq!(m.size, info.len() + cpu1.len());
    assert_eq!((m.empty, m.dropped), (2, 1));
    assert_eq!(
        m.first_drop,
        Some(NoteDrop {
            index: 0,
            error: NoteError::Desc { at: 0, descsz: 200 }
        })
    );
}

#[test]
fn layout_matches_upstream_arithmetic() {
    // 3 PT_NOTEs, a PT_NULL, 3 PT_LOADs: the kernel text aliases RAM.
    let ps = [
        note(0x7000, 0x400),
        note(0x8000, 0x400),
        // Kernel text, with an unaligned end.
        load(0x100_0000, 0x20_0800),
        // A PT_NULL, kept as it is.
        P {
            kind: 0,
            offset: 0xdead,
            vaddr: 0,
            memsz: 0x10,
        },
        // Unaligned start and end.
        load(0x0010_0800, 0x3000),
        note(0x9000, 0x1000),
        // RAM that holds the kernel text too.
        load(0x0000_0000, 0x4000_0000),
    ];
    let b = core64(EM_X86_64, &ps);
    let h = parse(&b).unwrap();
    let notes = 5000;
    let mut slots = [Load::default(); 3];
    let l = Layout::new(h, notes, &mut slots).unwrap();
    // ELF header + (1 note + 4 others) * 56 = 344 -> one page; the notes
    // 5000 -> two pages; data at 3 pages.
    assert_eq!(
        (l.phnum(), l.header_size(), l.notes_size(), l.data_offset()),
        (5, 4096, 5000, 0x3000)
    );
    let want = [
        // start 0x100_0000, end 0x120_1000.
        Load {
            paddr: 0x100_0000,
            size: 0x20_1000,
            offset: 0x3000,
        },
        // start 0x10_0000, end 0x10_3800 -> 0x10_4000.
        Load {
            paddr: 0x10_0000,
            size: 0x4000,
            offset: 0x3000 + 0x20_1000,
        },
        Load {
            paddr: 0,
            size: 0x4000_0000,
            offset: 0x3000 + 0x20_1000 + 0x4000,
        },
    ];
    assert_eq!(l.loads(), &want);
    assert_eq!(l.size(), 0x3000 + 0x20_1000 + 0x4000 + 0x4000_0000);

    let mut buf = std::vec![0xffu8; 8192];
    assert_eq!(
        l.write_header(&mut buf[..4095]),
        Err(HeaderError::NoRoom {
            needed: 4096,
            have: 4095
        })
    );
    assert_eq!(l.write_header(&mut buf), Ok(4096));
    assert_eq!(&buf[..56], &b[..56]); // ELF header up to e_phnum unchanged
    assert_eq!(le(&buf, 56, 2), 5);
    assert_eq!(&buf[58..64], &b[58..64]);
    let ph = |i: usize| 64 + 56 * i;
    // Merged PT_NOTE: type, flags, offset, vaddr, paddr, filesz, memsz, align.
    let fields = |i: usize| -> Vec<u64> {
        let o = ph(i);
        [
            (0, 4),
            (4, 4),
            (8, 8),
            (16, 8),
            (24, 8),
            (32, 8),
            (40, 8),
            (48, 8),
        ]
        .iter()
        .map(|&(a, n)| le(&buf, o + a, n))
        .collect()
    };
    assert_eq!(fields(0), [4, 0, 4096, 0, 0, 5000, 5000, 4]);
    // The others in order; only the PT_LOADs' p_offset changed.
    let src = |i: usize| &b[ph(i)..ph(i) + 56];
    assert_eq!(fields(1)[2], 0x3000);
    assert_eq!(&buf[ph(1)..ph(1) + 8], &src(2)[..8]);
    assert_eq!(&buf[ph(1) + 16..ph(1) + 56], &src(2)[16..]);
    assert_eq!(&buf[ph(2)..ph(3)], src(3));
    assert_eq!(fields(3)[2], 0x3000 + 0x20_1000 + 0x800);
    assert_eq!(fields(4)[2], 0x3000 + 0x20_1000 + 0x4000);
    assert!(buf[ph(5)..4096].iter().all(|&b| b == 0));
    assert!(buf[4096..].iter().all(|&b| b == 0xff));

    // What each offset is backed by, at the edges.
    assert_eq!(l.locate(0), Region::Header { at: 0, len: 4096 });
    assert_eq!(l.locate(4095), Region::Header { at: 4095, len: 1 });
    assert_eq!(l.locate(4096), Region::Notes { at: 0, len: 5000 });
    assert_eq!(l.locate(4096 + 4999), Region::Notes { at: 4999, len: 1 });
    assert_eq!(l.locate(4096 + 5000), Region::Zero { len: 0x3000 - 9096 });
    assert_eq!(l.locate(0x2fff), Region::Zero { len: 1 });
    assert_eq!(
        l.locate(0x3000),
        Region::OldMem {
            paddr: 0x100_0000,
            len: 0x20_1000
        }
    );
    assert_eq!(
        l.locate(0x3000 + 0x20_0fff),
        Region::OldMem {
            paddr: 0x120_0fff,
            len: 1
        }
    );
    assert_eq!(
        l.locate(0x3000 + 0x20_1000),
        Region::OldMem {
            paddr: 0x10_0000,
            len: 0x4000
        }
    );
    assert_eq!(
        l.locate(0x3000 + 0x20_5000 + 0x123),
        Region::OldMem {
            paddr: 0x123,
            len: 0x4000_0000 - 0x123
        }
    );
    assert_eq!(
        l.locate(l.size() - 1),
        Region::OldMem {
            paddr: 0x3fff_ffff,
            len: 1
        }
    );
    assert_eq!(l.locate(l.size()), Region::End);
    assert_eq!(l.locate(u64::MAX), Region::End);

    // Too few slots.
    let mut two = [Load::default(); 2];
    assert_eq!(
        Layout::new(h, notes, &mut two).err(),
        Some(HeaderError::NoRoom { needed: 3, have: 2 })
    );
}

#[test]
fn device_dumps_go_first_in_the_note_segment() {
    // As fs/proc/vmcore.c's vmcoredd_update_size(): the PT_NOTE's sizes
    // grow by the dumps, which sit right after the header; the notes and
    // their padding follow; every PT_LOAD moves down by the dumps' bytes.
    let ps = [
        note(0x9000, 0x1000),
        load(0x10_0800, 0x3000),
        load(0, 0x10_0000),
    ];
    let b = core64(EM_X86_64, &ps);
    let h = parse(&b).unwrap();
    let mut slots = [Load::default(); 2];
    assert_eq!(
        Layout::with_device_dumps(h, 100, 4095, &mut slots).err(),
        Some(HeaderError::FileSize)
    );
    let dumps = 3 * 4096;
    let l = Layout::with_device_dumps(h, 5000, dumps, &mut slots).unwrap();
    assert_eq!(
        (l.header_size(), l.device_dumps(), l.data_offset()),
        (4096, dumps, 4096 + 2 * 4096 + dumps as u64)
    );
    let data = l.data_offset();
    assert_eq!(l.loads()[0].offset, data);
    assert_eq!(l.loads()[1].offset, data + 0x4000);
    let mut buf = std::vec![0u8; 4096];
    l.write_header(&mut buf).unwrap();
    // PT_NOTE: offset 4096, filesz = memsz = 5000 + dumps.
    assert_eq!(
        (
            le(&buf, 64 + 8, 8),
            le(&buf, 64 + 32, 8),
            le(&buf, 64 + 40, 8)
        ),
        (4096, 5000 + dumps as u64, 5000 + dumps as u64)
    );
    assert_eq!(le(&buf, 64 + 56 + 8, 8), data + 0x800);
    assert_eq!(l.locate(4096), Region::DeviceDumps { at: 0, len: dumps });
    assert_eq!(
        l.locate(4096 + dumps as u64 - 1),
        Region::DeviceDumps {
            at: dumps - 1,
            len: 1
        }
    );
    assert_eq!(
        l.locate(4096 + dumps as u64),
        Region::Notes { at: 0, len: 5000 }
    );
    assert_eq!(
        l.locate(4096 + dumps as u64 + 5000),
        Region::Zero { len: 8192 - 5000 }
    );
    assert_eq!(
        l.locate(data),
        Region::OldMem {
            paddr: 0x10_0000,
            len: 0x4000
        }
    );
    // No dumps: the same as Layout::new().
    let mut again = [Load::default(); 2];
    let l0 = Layout::with_device_dumps(h, 5000, 0, &mut again).unwrap();
    assert_eq!(l0.data_offset(), 3 * 4096);
    assert_eq!(l0.locate(4096), Region::Notes { at: 0, len: 5000 });
}

#[test]
fn elf32_layout_and_its_limits() {
    let ps = [
        note(0x5000, 0x200),
        load(0x1800, 0x1000),
        load(0xffff_f000, 0x1000),
    ];
    let b = core32(EM_X86_64, &ps);
    let h = parse(&b).unwrap();
    let mut slots = [Load::default(); 2];
    let l = Layout::new(h, 0x100, &mut slots).unwrap();
    // 52 + 3 * 32 -> one page; 0x100 of notes -> one page.
    assert_eq!((l.header_size(), l.data_offset()), (4096, 0x2000));
    assert_eq!(
        l.loads(),
        &[
            Load {
                paddr: 0x1000,
                size: 0x2000,
                offset: 0x2000
            },
            Load {
                paddr: 0xffff_f000,
                size: 0x1000,
                offset: 0x4000
            }
        ]
    );
    let mut buf = std::vec![0u8; 4096];
    l.write_header(&mut buf).unwrap();
    assert_eq!(le(&buf, 44, 2), 3);
    // PT_NOTE: type, offset, vaddr, paddr, filesz, memsz, flags, align.
    let fields =
        |i: usize| -> Vec<u64> { (0..8).map(|k| le(&buf, 52 + 32 * i + 4 * k, 4)).collect() };
    assert_eq!(fields(0), [4, 4096, 0, 0, 0x100, 0x100, 0, 4]);
    assert_eq!(fields(1), [1, 0x2800, 0x1800, 0x1800, 0x1000, 0x1000, 7, 0]);
    assert_eq!(
        fields(2),
        [1, 0x4000, 0xffff_f000, 0xffff_f000, 0x1000, 0x1000, 7, 0]
    );
    // 4 GiB of RAM does not leave room for the headers in 32-bit offsets.
    let b = core32(
        EM_X86_64,
        &[note(0, 0), load(0, 0xffff_f000), load(0xffff_f000, 0x1000)],
    );
    let h = parse(&b).unwrap();
    assert_eq!(
        Layout::new(h, 0, &mut slots).err(),
        Some(HeaderError::FileSize)
    );
    assert_eq!(
        Layout::new(h, 1 << 32, &mut slots).err(),
        Some(HeaderError::FileSize)
    );
}

#[test]
fn file_larger_than_loff_t_is_refused() {
    let b = core64(EM_X86_64, &[note(0, 0), load(0, 1 << 62), load(0, 1 << 62)]);
    let h = parse(&b).unwrap();
    let mut slots = [Load::default(); 2];
    assert_eq!(
        Layout::new(h, 0, &mut slots).err(),
        Some(HeaderError::FileSize)
    );
    let b = core64(
        EM_X86_64,
        &[note(0, 0), load(0, 1 << 62), load(0, (1 << 62) - 0x2000)],
    );
    let l = Layout::new(parse(&b).unwrap(), 0, &mut slots).unwrap();
    assert_eq!(l.size(), 0x1000 + (1 << 63) - 0x2000);
}

/// Walks the file region by region from 0 and checks that they tile it:
/// each starts where the previous ended, none is empty, old memory is
/// inside the page range of the `PT_LOAD` at that offset, and any
/// offset inside a region is that region, moved on.
fn check_tiling(l: &Layout<'_>, h: &CoreHeader<'_>, probes: &[u64]) {
    let mut off = 0u64;
    let mut starts = Vec::new();
    let mut loads = h.phdrs().filter(|p| p.kind == PT_LOAD);
    let mut regions = 0;
    let mut header_bytes = 0u64;
    let mut dump_bytes = 0u64;
    let mut note_bytes = 0u64;
    while off < l.size() {
        let r = l.locate(off);
        assert!(!r.is_empty(), "empty region at {off:#x}");
        match r {
            Region::Header { at, .. } => {
                assert_eq!(at as u64, off);
                header_bytes += r.len();
            }
            Region::DeviceDumps { at, .. } => {
                assert_eq!(at as u64, off - l.header_size() as u64);
                dump_bytes += r.len();
            }
            Region::Notes { at, .. } => {
                assert_eq!(at as u64, off - (l.header_size() + l.device_dumps()) as u64);
                note_bytes += r.len();
            }
            Region::Zero { .. } => assert_eq!(off + r.len(), l.data_offset()),
            Region::OldMem { paddr, len } => {
                // The next non-empty PT_LOAD, in table order.
                let p = loads
                    .by_ref()
                    .find(|p| page_range(p).unwrap().1 > p.offset & !0xfff)
                    .unwrap();
                let (start, end) = (p.offset & !0xfff, (p.offset + p.memsz + 0xfff) & !0xfff);
                assert_eq!((paddr, len), (start, end - start));
            }
            Region::End => unreachable!(),
        }
        starts.push((off, r));
        off += r.len();
        regions += 1;
        assert!(regions <= 4 + usize::from(h.load_count()));
    }
    assert_eq!(off, l.size());
    assert_eq!(header_bytes, l.header_size() as u64);
    assert_eq!(dump_bytes, l.device_dumps() as u64);
    assert_eq!(note_bytes, l.notes_size() as u64);
    assert_eq!(l.locate(off), Region::End);
    for &p in probes {
        let p = p % (l.size() + 1);
        let got = l.locate(p);
        let Some(&(s, r)) = starts.iter().rev().find(|(s, _)| *s <= p) else {
            assert_eq!(got, Region::End);
            continue;
        };
        let d = p - s;
        let want = match r {
            _ if d >= r.len() => Region::End,
            Region::Header { at, len } => Region::Header {
                at: at + d as usize,
                len: len - d as usize,
            },
            Region::DeviceDumps { at, len } => Region::DeviceDumps {
                at: at + d as usize,
                len: len - d as usize,
            },
            Region::Notes { at, len } => Region::Notes {
                at: at + d as usize,
                len: len - d as usize,
            },
            Region::Zero { len } => Region::Zero {
                len: len - d as usize,
            },
            Region::OldMem { paddr, len } => Region::OldMem {
                paddr: paddr + d,
                len: len - d,
            },
            Region::End => Region::End,
        };
        assert_eq!(got, want, "offset {p:#x}");
    }
}

fn arb_phdr() -> impl Strategy<Value = P> {
    prop_oneof![
        (0u64..1 << 40, 0u64..0x1_0000).prop_map(|(o, m)| note(o, m)),
        (0u64..1 << 40, 0u64..1 << 30).prop_map(|(o, m)| load(o, m)),
        (0u64..0x10_0000, 0u64..0x10_0000).prop_map(|(o, m)| load(o, m)),
        (any::<u32>(), any::<u64>(), any::<u64>()).prop_map(|(kind, offset, memsz)| P {
            kind,
            offset,
            vaddr: 1,
            memsz
        }),
    ]
}

proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = header_len(&bytes, &X86);
        if let Ok(h) = parse(&bytes) {
            let mut slots = std::vec![Load::default(); h.load_count().into()];
            let _ = Layout::new(h, 0, &mut slots).map(|l| l.locate(0));
        }
        let _ = scan_notes(&bytes);
    }

    #[test]
    fn mutated_headers_never_panic(
        ps in proptest::collection::vec(arb_phdr(), 1..8),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        elf32 in any::<bool>(),
    ) {
        let mut b = if elf32 { core32(EM_X86_64, &ps) } else { core64(EM_X86_64, &ps) };
        for (at, v) in flips {
            let n = b.len();
            b[at % n] = v;
        }
        if let Ok(h) = parse(&b) {
            let mut slots = std::vec![Load::default(); h.load_count().into()];
            if let Ok(l) = Layout::new(h, 100, &mut slots) {
                let mut buf = std::vec![0; l.header_size()];
                prop_assert_eq!(l.write_header(&mut buf), Ok(l.header_size()));
                prop_assert!(parse(&buf).is_ok());
            }
        }
    }

    #[test]
    fn locate_tiles_the_file(
        ps in proptest::collection::vec(arb_phdr(), 0..24),
        notes in 0usize..20_000,
        dump_pages in 0usize..4,
        probes in proptest::collection::vec(any::<u64>(), 64),
        elf32 in any::<bool>(),
    ) {
        let mut ps = ps;
        ps.insert(0, note(0x1000, 0x100));
        let b = if elf32 { core32(EM_X86_64, &ps) } else { core64(EM_X86_64, &ps) };
        let Ok(h) = parse(&b) else { return Ok(()) };
        let mut slots = std::vec![Load::default(); h.load_count().into()];
        let Ok(l) = Layout::with_device_dumps(h, notes, dump_pages * 4096, &mut slots) else {
            return Ok(());
        };
        check_tiling(&l, &h, &probes);
        // The new header is itself a valid core header whose PT_LOADs
        // point at the pages locate() maps to their p_offset.
        let mut buf = std::vec![0; l.header_size()];
        l.write_header(&mut buf).unwrap();
        let out = parse(&buf).unwrap();
        prop_assert_eq!(out.note_count(), 1);
        prop_assert_eq!(out.load_count(), h.load_count());
        let new_loads = out.phdrs().filter(|p| p.kind == PT_LOAD);
        for (new, old) in new_loads.zip(h.phdrs().filter(|p| p.kind == PT_LOAD)) {
            if old.memsz > 0 {
                prop_assert_eq!(l.locate(new.offset), Region::OldMem {
                    paddr: old.offset,
                    len: ((old.offset + old.memsz + 0xfff) & !0xfff) - old.offset,
                });
            }
        }
    }
}

/// Differential test against `fs/proc/vmcore.c`: the C kernel's vmcore
/// header is what it made of the crashed kernel's elfcorehdr. Taking
/// that header back to an elfcorehdr (`p_offset = p_paddr` for the
/// `PT_LOAD`s; its one `PT_NOTE` read from the file) and laying it out
/// again must give the same header, byte for byte, and the same size.
/// `KDUMP_C_VMCORE` names the capture; run with `--ignored`.
#[test]
#[ignore = "needs KDUMP_C_VMCORE (kdump.py test sets it after the C capture)"]
fn c_vmcore_header_is_reproduced() {
    use std::io::Read;
    let path = std::env::var("KDUMP_C_VMCORE").unwrap_or_else(|_| {
        panic!("KDUMP_C_VMCORE is not set: it must name the C kernel's vmcore")
    });
    let mut f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file_size = f.metadata().unwrap().len();
    let mut head = std::vec![0u8; 64 << 10];
    let n = f.read(&mut head).unwrap();
    head.truncate(n);

    // The architecture the C kernel ran on, one the runner captures.
    let machine = u16::from_le_bytes([head[18], head[19]]);
    assert!(
        [EM_X86_64, EM_AARCH64, EM_RISCV].contains(&machine),
        "e_machine {machine}"
    );
    let expect = Expect { machine, ..X86 };
    let h = CoreHeader::parse(&head, &expect).unwrap();
    assert_eq!(h.class(), Class::Elf64);
    assert_eq!(h.note_count(), 1);
    let mut input = head[..header_len(&head, &expect).unwrap()].to_vec();
    let mut prev_end = 0;
    for (i, p) in h.phdrs().enumerate() {
        let at = 64 + 56 * i;
        if p.kind == PT_LOAD {
            // Upstream: p_offset keeps p_paddr's offset in its page, and
            // the PT_LOADs follow each other page by page.
            assert_eq!(p.offset % 4096, p.paddr % 4096);
            if prev_end != 0 {
                assert_eq!(p.offset - p.offset % 4096, prev_end);
            }
            prev_end = (p.offset + p.memsz + 4095) & !4095;
            put(&mut input, at + 8, p.paddr, 8);
        }
    }
    assert_eq!(prev_end, file_size);

    let h = CoreHeader::parse(&input, &expect).unwrap();
    let file = &head;
    let read = |off: u64, buf: &mut [u8]| -> Result<(), ()> {
        let at = usize::try_from(off).map_err(|_| ())?;
        buf.copy_from_slice(file.get(at..at + buf.len()).ok_or(())?);
        Ok(())
    };
    let mut notes = std::vec![0u8; h.notes_max()];
    let m = h.merge_notes(&mut notes, read).unwrap();
    assert_eq!((m.size, m.dropped), (h.notes_max(), 0));
    let info = find_note(&notes[..m.size], b"VMCOREINFO").unwrap();
    let text = std::str::from_utf8(info.desc).unwrap();
    assert!(text.contains("OSRELEASE="), "{text}");
    assert!(Notes::new(&notes[..m.size]).any(|n| n.name == b"CORE"));

    let mut slots = std::vec![Load::default(); h.load_count().into()];
    let l = Layout::new(h, m.size, &mut slots).unwrap();
    let mut ours = std::vec![0u8; l.header_size()];
    l.write_header(&mut ours).unwrap();
    assert_eq!(&ours[..], &head[..l.header_size()]);
    assert_eq!(l.size(), file_size);
}
