// SPDX-License-Identifier: GPL-2.0

//! Fuzz target: the `/proc/vmcore` core (`kdump::vmcore`) on arbitrary
//! crashed-kernel ELF core headers.
//!
//! The input is the header at `elfcorehdr=` and old memory at once: a
//! `PT_NOTE` at `p_offset` reads the input from there (zeros past its end),
//! so a real vmcore's first pages make a seed whose notes are found. Nothing
//! may panic; the merged notes must walk back to exactly their size; the
//! header written for the vmcore must itself parse, with one `PT_NOTE` and
//! the same `PT_LOAD`s; and `locate()` must tile the file: every region
//! starts where the previous one ended, the `PT_LOAD` regions are the
//! page-rounded ranges in table order, and any offset inside a region is
//! that region moved on.

#![no_main]

use kdump::vmcore::{
    header_len, scan_notes, Class, CoreHeader, Expect, Layout, Load, Region, EM_RISCV, PAGE_SIZE,
    PT_LOAD,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = scan_notes(data);
    // Accept the input's own e_machine: that check is tested elsewhere, and
    // the fuzzer's time is better spent past it. The class rule is riscv64's
    // when the input says EM_RISCV.
    let machine = data
        .get(18..20)
        .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
    let class = (machine == EM_RISCV).then_some(Class::Elf64);
    let expect = Expect {
        machine,
        class,
        max_size: 1 << 16,
    };
    let len = header_len(data, &expect);
    let Ok(h) = CoreHeader::parse(data, &expect) else {
        return;
    };
    assert_eq!(len, Ok(h.as_bytes().len()));
    if h.notes_max() > 1 << 20 {
        return;
    }

    let mut notes = vec![0xa5u8; h.notes_max()];
    let read = |paddr: u64, buf: &mut [u8]| -> Result<(), ()> {
        buf.fill(0);
        if let Some(src) = usize::try_from(paddr).ok().and_then(|p| data.get(p..)) {
            let n = src.len().min(buf.len());
            buf[..n].copy_from_slice(&src[..n]);
        }
        Ok(())
    };
    let m = h.merge_notes(&mut notes, read).unwrap();
    assert!(m.size <= h.notes_max() && m.empty <= usize::from(h.note_count()));
    assert!(
        notes[m.size..].iter().all(|&b| b == 0),
        "bytes past the merged notes are not zero"
    );
    let again = scan_notes(&notes[..m.size]);
    assert_eq!(
        (again.size, again.error),
        (m.size, None),
        "merged notes do not walk back to their size"
    );

    let mut slots = vec![Load::default(); h.load_count().into()];
    // Device dumps (whole pages) ahead of the notes, as many as the input says.
    let dumps = data.first().map_or(0, |&b| usize::from(b % 3)) * PAGE_SIZE as usize;
    let Ok(l) = Layout::with_device_dumps(h, m.size, dumps, &mut slots) else {
        return;
    };
    let mut buf = vec![0u8; l.header_size()];
    assert_eq!(l.write_header(&mut buf), Ok(l.header_size()));
    let out = CoreHeader::parse(&buf, &expect).expect("the vmcore header does not parse");
    assert_eq!(
        (out.phnum(), out.note_count(), out.load_count()),
        (l.phnum(), 1, h.load_count())
    );

    // Walk the file region by region.
    let mut starts = Vec::new();
    let mut loads = h.phdrs().filter(|p| p.kind == PT_LOAD);
    let mut off = 0u64;
    while off < l.size() {
        let r = l.locate(off);
        assert!(!r.is_empty(), "empty region at {off:#x}");
        if let Region::OldMem { paddr, len } = r {
            // The next PT_LOAD with at least one page, in table order.
            let p = loads
                .by_ref()
                .find(|p| {
                    (p.offset + p.memsz).next_multiple_of(PAGE_SIZE) > p.offset & !(PAGE_SIZE - 1)
                })
                .expect("more old-memory regions than PT_LOADs");
            let start = p.offset & !(PAGE_SIZE - 1);
            assert_eq!(
                (paddr, len),
                (
                    start,
                    (p.offset + p.memsz).next_multiple_of(PAGE_SIZE) - start
                )
            );
        }
        starts.push((off, r));
        off += r.len();
        assert!(
            starts.len() <= usize::from(h.load_count()) + 4,
            "too many regions"
        );
    }
    assert_eq!(off, l.size());
    assert_eq!(l.locate(off), Region::End);

    // Offsets inside regions, around their edges and from the input.
    let seed = data
        .get(data.len().saturating_sub(8)..)
        .map_or(0, |b| b.iter().fold(0u64, |a, &x| a << 8 | u64::from(x)));
    let mut probes: Vec<u64> = starts
        .iter()
        .flat_map(|&(s, r)| [s, s + r.len() - 1, s + r.len() / 2])
        .collect();
    probes.push(seed % (l.size() + 1));
    for p in probes {
        let (s, r) = *starts.iter().rev().find(|(s, _)| *s <= p).unwrap();
        let d = p - s;
        let want = match r {
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
        let want = if d >= r.len() { Region::End } else { want };
        assert_eq!(l.locate(p), want, "offset {p:#x}");
    }
});
