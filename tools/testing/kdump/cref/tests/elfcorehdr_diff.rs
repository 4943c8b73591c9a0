// SPDX-License-Identifier: GPL-2.0

//! Differential test: the ELF core header builder and range exclusion of
//! `kdump::elfcorehdr` against the kernel's `crash_prepare_elf64_headers()`
//! and `crash_exclude_mem_range()` (kernel/crash_core.c, cut from the base
//! tarball and compiled for the host).

use kdump::elfcorehdr::{build, header_size, CoreInfo, CrashMem, ElfError, KernelMap, Range, EM_X86_64};
use kdump_cref::{c_elf64_headers, CCore, CCrashMem, CRange, Rng};

const NOTE_BYTES: u64 = 368; // the shim's sizeof(note_buf_t)
const VMCOREINFO_NOTE_SIZE: u64 = 4132;
const ENOMEM: i32 = 12;

/// `n` sorted, disjoint ranges with gaps of at least one byte.
fn ranges(r: &mut Rng, n: usize) -> Vec<Range> {
    let mut out = Vec::with_capacity(n);
    let mut at = r.pick(&[0u64, 0x1000, 0x9_f000]);
    for _ in 0..n {
        let size = match r.below(4) {
            0 => 1 + r.below(0x1000) as u64,
            1 => (1 + r.below(64) as u64) << 12,
            _ => (1 + r.below(4096) as u64) << 20,
        };
        out.push(Range { start: at, end: at + size - 1 });
        at += size + 1 + r.below(4) as u64 * (r.below(1 << 20) as u64 + 1);
    }
    out
}

/// Exclusions as x86 makes them (low 1 MiB, the crash kernel, maybe a low
/// one) plus ones at the edges of existing ranges.
fn exclusions(r: &mut Rng, rs: &[Range]) -> Vec<(u64, u64)> {
    let mut ex = vec![(0, (1 << 20) - 1)];
    let top = rs.last().map_or(1 << 30, |l| l.end);
    let pick_point = |r: &mut Rng| -> u64 {
        if rs.is_empty() || r.below(4) == 0 {
            return r.next() % (top + 2);
        }
        let x = rs[r.below(rs.len())];
        match r.below(6) {
            0 => x.start,
            1 => x.end,
            2 => x.start.saturating_sub(1),
            3 => x.end.saturating_add(1),
            _ => x.start + r.next() % (x.end - x.start + 1),
        }
    };
    for _ in 0..1 + r.below(4) {
        let a = pick_point(r);
        let b = if r.below(3) == 0 { a } else { pick_point(r) };
        ex.push((a.min(b), a.max(b)));
    }
    ex
}

fn to_c(rs: &[Range]) -> Vec<CRange> {
    rs.iter().map(|r| CRange { start: r.start, end: r.end }).collect()
}

/// One machine: both sides exclude the same ranges and build the header.
fn compare(r: &mut Rng, n: usize, case: usize) -> (usize, bool) {
    let rs = ranges(r, n);
    let extra = r.pick(&[0usize, 1, 2, 2, 2]);
    let mut c_mem = CCrashMem::new(&to_c(&rs), n + extra);
    let mut slots = vec![Range::default(); n + extra];
    let mut mem = CrashMem::new(&mut slots);
    for &x in &rs {
        mem.push(x).unwrap();
    }
    let mut refused = false;
    for (s, e) in exclusions(r, &rs) {
        let c = c_mem.exclude(s, e);
        let rust = mem.exclude(s, e);
        match (c, rust) {
            (0, Ok(())) => assert_eq!(to_c(mem.ranges()), c_mem.ranges(), "case {case}: exclude {s:#x}-{e:#x}"),
            (c, Err(ElfError::NoRoom)) if c == -ENOMEM => {
                refused = true;
                break;
            }
            (c, rust) => panic!("case {case}: exclude {s:#x}-{e:#x}: C {c}, Rust {rust:?}"),
        }
    }
    if refused {
        return (0, true);
    }
    let any = 1 + r.below(512);
    let cpus = r.pick(&[1usize, 2, 4, 8, 64, any]);
    let notes: Vec<u64> = (0..cpus).map(|_| (r.next() >> 20) & !7).collect();
    let vmcoreinfo = (r.next() >> 20) & !7;
    let randomized = 0xffff_8000_0000_0000 + ((r.next() >> 48) << 30);
    let page_offset = r.pick(&[0xffff_8880_0000_0000u64, randomized]);
    let kmap = (r.below(2) == 0).then(|| {
        let text = 0xffff_ffff_8000_0000 + ((r.below(512) as u64) << 21);
        KernelMap { vaddr: text, paddr: (r.below(1 << 10) as u64) << 21, size: 1 + r.below(1 << 26) as u64 }
    });
    let info = CoreInfo {
        machine: EM_X86_64,
        osabi: 0,
        cpu_notes: &notes,
        cpu_note_size: NOTE_BYTES,
        vmcoreinfo,
        vmcoreinfo_size: VMCOREINFO_NOTE_SIZE,
        kernel_map: kmap,
        direct_map: page_offset,
    };
    let core = CCore {
        notes: &notes,
        vmcoreinfo,
        kernel_map: kmap.map(|k| (k.vaddr, k.vaddr + k.size, k.paddr)),
        page_offset,
    };
    let (ret, c_hdr) = c_elf64_headers(&core, &mut c_mem);
    assert_eq!(ret, 0, "case {case}");
    let size = header_size(cpus, mem.len()).unwrap();
    let mut buf = vec![0xa5u8; size + 64];
    assert_eq!(build(&mut buf, &info, mem.ranges()), Ok(size), "case {case}");
    assert_eq!(c_hdr.len(), size, "case {case}: size");
    if c_hdr[..] != buf[..size] {
        let at = c_hdr.iter().zip(&buf).position(|(a, b)| a != b).unwrap();
        panic!("case {case}: headers differ first at byte {at}");
    }
    assert!(buf[size..].iter().all(|&b| b == 0xa5), "case {case}: wrote past the header");
    (mem.len(), false)
}

#[test]
fn generated_machines_give_identical_headers() {
    let mut r = Rng::from_env(0xe1f_c04e);
    let (mut built, mut refused, mut ranges) = (0, 0, 0);
    for case in 0..3000 {
        let n = match r.below(10) {
            0 => 0,
            1..=6 => 1 + r.below(64),
            7 | 8 => 64 + r.below(1000),
            _ => 4096,
        };
        let (len, no_room) = compare(&mut r, n, case);
        if no_room {
            refused += 1;
        } else {
            built += 1;
            ranges += len;
        }
    }
    println!("{built} headers byte-identical ({ranges} PT_LOAD ranges in all), {refused} machines out of slots in both");
    assert!(built > 2000 && refused > 10, "generator coverage: {built} built, {refused} refused");
}

#[test]
fn sixty_five_thousand_ranges() {
    let mut r = Rng::new(0x6_5536);
    for case in 0..3 {
        assert!(!compare(&mut r, 65536, case).1 || case > 0);
    }
}
