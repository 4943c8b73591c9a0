// SPDX-License-Identifier: GPL-2.0

//! Differential test: the ELF core header builder and range exclusion of
//! `kdump::elfcorehdr` against the kernel's `crash_prepare_elf64_headers()`
//! and `crash_exclude_mem_range()` (kernel/crash_core.c, cut from the base
//! tarball and compiled for the host), on x86_64 machines, and on arm64
//! machines through arm64's `prepare_elf_headers()`
//! (arch/arm64/kernel/machine_kexec_file.c, cut the same way).

use kdump::elfcorehdr::{
    build, header_size, CoreInfo, CrashMem, ElfError, KernelMap, Range, EM_AARCH64, EM_X86_64,
};
use kdump_cref::{
    c_arm64_prepare_elf_headers, c_elf64_headers, CArm64, CCore, CCrashMem, CRange, Rng,
};

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
        out.push(Range {
            start: at,
            end: at + size - 1,
        });
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
    rs.iter()
        .map(|r| CRange {
            start: r.start,
            end: r.end,
        })
        .collect()
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
            (0, Ok(())) => assert_eq!(
                to_c(mem.ranges()),
                c_mem.ranges(),
                "case {case}: exclude {s:#x}-{e:#x}"
            ),
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
        KernelMap {
            vaddr: text,
            paddr: (r.below(1 << 10) as u64) << 21,
            size: 1 + r.below(1 << 26) as u64,
        }
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
    assert_eq!(
        build(&mut buf, &info, mem.ranges()),
        Ok(size),
        "case {case}"
    );
    assert_eq!(c_hdr.len(), size, "case {case}: size");
    if c_hdr[..] != buf[..size] {
        let at = c_hdr.iter().zip(&buf).position(|(a, b)| a != b).unwrap();
        panic!("case {case}: headers differ first at byte {at}");
    }
    assert!(
        buf[size..].iter().all(|&b| b == 0xa5),
        "case {case}: wrote past the header"
    );
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
    assert!(
        built > 2000 && refused > 10,
        "generator coverage: {built} built, {refused} refused"
    );
}

#[test]
fn sixty_five_thousand_ranges() {
    let mut r = Rng::new(0x6_5536);
    for case in 0..3 {
        assert!(!compare(&mut r, 65536, case).1 || case > 0);
    }
}

/// arm64: `sizeof(note_buf_t)` with its 392-byte `struct elf_prstatus`.
const ARM64_NOTE_BYTES: u64 = 424;

/// What arch/arm64/kernel/crash_elf_rust.rs does, on the core: memblock's
/// `[start, end)` ranges in `count + 2` slots, minus `crashk_res` and, if
/// reserved, `crashk_low_res`, then the header with the kernel map and
/// `__va(x) = x + (PAGE_OFFSET - PHYS_OFFSET)`.
fn rust_arm64(core: &CCore<'_>, m: &CArm64<'_>) -> Result<Vec<u8>, ElfError> {
    let mut slots = vec![Range::default(); m.memblock.len() + 2];
    let mut mem = CrashMem::new(&mut slots);
    for &(start, end) in m.memblock {
        mem.push(Range {
            start,
            end: end - 1,
        })?;
    }
    mem.exclude(m.crashk.0, m.crashk.1)?;
    if m.crashk_low.1 != 0 {
        mem.exclude(m.crashk_low.0, m.crashk_low.1)?;
    }
    let (vaddr, end, paddr) = core.kernel_map.expect("arm64 always maps the kernel");
    let info = CoreInfo {
        machine: EM_AARCH64,
        osabi: 0,
        cpu_notes: core.notes,
        cpu_note_size: ARM64_NOTE_BYTES,
        vmcoreinfo: core.vmcoreinfo,
        vmcoreinfo_size: VMCOREINFO_NOTE_SIZE,
        kernel_map: Some(KernelMap {
            vaddr,
            paddr,
            size: end - vaddr,
        }),
        direct_map: core.page_offset.wrapping_sub(m.phys_offset),
    };
    let mut buf = vec![0u8; header_size(core.notes.len(), mem.len())?];
    let n = build(&mut buf, &info, mem.ranges())?;
    buf.truncate(n);
    Ok(buf)
}

/// A QEMU-virt-like or server-like arm64 machine: memblock ranges from
/// `PHYS_OFFSET` up (some adjacent, as nomap splits leave them), a crash
/// kernel in one of them and, on some, a low one below 4 GiB.
fn arm64_machine(r: &mut Rng) -> (u64, Vec<(u64, u64)>, (u64, u64), (u64, u64)) {
    let phys_offset = r.pick(&[0u64, 0x4000_0000, 0x8000_0000, 0x80_0000_0000]);
    let mut at = phys_offset + r.pick(&[0u64, 0x20_0000, 0x3fe0_0000]);
    let mut mem = Vec::new();
    let most = if r.below(8) == 0 { 300 } else { 12 };
    for _ in 0..1 + r.below(most) {
        let size = match r.below(4) {
            0 => (1 + r.below(64) as u64) << 12,
            1 | 2 => (1 + r.below(2048) as u64) << 20,
            _ => (1 + r.below(16) as u64) << 30,
        };
        mem.push((at, at + size));
        at += size + r.pick(&[0u64, 0, 0x1000, 0x20_0000, 0x4000_0000]);
    }
    // A point inside the memory, 2 MiB aligned or not, or at a range edge.
    let point = |r: &mut Rng, below: u64| -> u64 {
        let (s, e) = mem[r.below(mem.len())];
        let p = match r.below(5) {
            0 => s,
            1 => e - 1,
            2 => (s + r.next() % (e - s)) & !0x1f_ffff,
            _ => s + r.next() % (e - s),
        };
        p.min(below.saturating_sub(1))
            .max(s.min(below.saturating_sub(1)))
    };
    let size =
        |r: &mut Rng| -> u64 { r.pick(&[1u64, 0x1000, 32 << 20, 64 << 20, 256 << 20, 1 << 30]) };
    let cs = point(r, u64::MAX);
    let crashk = (cs, cs + size(r) - 1);
    let crashk_low = if r.below(3) == 0 {
        let ls = point(r, 1 << 32);
        (ls, ls + size(r) - 1)
    } else {
        (0, 0)
    };
    (phys_offset, mem, crashk, crashk_low)
}

#[test]
fn arm64_machines_give_identical_headers() {
    let mut r = Rng::from_env(0xa64_c04e);
    let (mut split, mut low) = (0, 0);
    for case in 0..3000 {
        let (phys_offset, memblock, crashk, crashk_low) = arm64_machine(&mut r);
        let any = 1 + r.below(512);
        let cpus = r.pick(&[1usize, 2, 4, 8, 64, any]);
        let notes: Vec<u64> = (0..cpus)
            .map(|_| phys_offset + ((r.next() >> 40) & !7))
            .collect();
        let vmcoreinfo = phys_offset + ((r.next() >> 40) & !7);
        // VA_BITS 48 or 52; KIMAGE_VADDR plus a KASLR offset.
        let page_offset = r.pick(&[0xffff_0000_0000_0000u64, 0xfff0_0000_0000_0000]);
        let text = 0xffff_8000_8000_0000 + ((r.below(1 << 12) as u64) << 21);
        let text_pa = memblock[0].0 + ((r.below(64) as u64) << 21);
        let core = CCore {
            notes: &notes,
            vmcoreinfo,
            kernel_map: Some((text, text + 1 + r.below(1 << 26) as u64, text_pa)),
            page_offset,
        };
        let m = CArm64 {
            memblock: &memblock,
            crashk,
            crashk_low,
            phys_offset,
        };
        let (ret, c_hdr) = c_arm64_prepare_elf_headers(&core, &m);
        let rust = rust_arm64(&core, &m);
        let (rust_ret, rust_hdr) = match rust {
            Ok(h) => (0, h),
            Err(ElfError::NoRoom) => (-ENOMEM, Vec::new()),
            Err(e) => panic!("case {case}: Rust {e:?}, C {ret}"),
        };
        assert_eq!(rust_ret, ret, "case {case}: return values");
        assert_eq!(
            ret, 0,
            "case {case}: count + 2 slots are always enough for two exclusions"
        );
        if c_hdr != rust_hdr {
            let at = c_hdr.iter().zip(&rust_hdr).position(|(a, b)| a != b);
            panic!(
                "case {case}: headers differ ({} vs {} bytes), first at {at:?}",
                c_hdr.len(),
                rust_hdr.len()
            );
        }
        // e_phnum: CPUs, VMCOREINFO, the kernel map, then the ranges left.
        let phnum = u16::from_le_bytes([c_hdr[56], c_hdr[57]]) as usize;
        split += usize::from(phnum > cpus + 2 + memblock.len());
        low += usize::from(crashk_low.1 != 0);
    }
    println!("3000 arm64 headers byte-identical; {split} with more ranges than memblock, {low} with a low crash kernel");
    assert!(
        split > 500 && low > 500,
        "generator coverage: {split} split, {low} low"
    );
}

/// The machine of the measurements: QEMU virt, 1 GiB at 1 GiB,
/// crashkernel=256M (reserved at the top of the low 4 GiB), with and
/// without crashkernel=...,low; values from arm64's C, checked by hand.
#[test]
fn arm64_qemu_virt_header() {
    let memblock = [(0x4000_0000u64, 0x8000_0000u64)];
    let notes = [0x7fd0_0000u64, 0x7fd1_0000];
    let core = CCore {
        notes: &notes,
        vmcoreinfo: 0x7fe0_0000,
        kernel_map: Some((0xffff_8000_8000_0000, 0xffff_8000_8200_0000, 0x4020_0000)),
        page_offset: 0xffff_0000_0000_0000,
    };
    let crashk = (0x6000_0000, 0x6fff_ffff);
    for (crashk_low, ranges) in [
        (
            (0, 0),
            vec![(0x4000_0000u64, 0x5fff_ffffu64), (0x7000_0000, 0x7fff_ffff)],
        ),
        (
            (0x4800_0000, 0x49ff_ffff),
            vec![
                (0x4000_0000, 0x47ff_ffff),
                (0x4a00_0000, 0x5fff_ffff),
                (0x7000_0000, 0x7fff_ffff),
            ],
        ),
    ] {
        let m = CArm64 {
            memblock: &memblock,
            crashk,
            crashk_low,
            phys_offset: 0x4000_0000,
        };
        let (ret, c_hdr) = c_arm64_prepare_elf_headers(&core, &m);
        assert_eq!((ret, rust_arm64(&core, &m).as_ref()), (0, Ok(&c_hdr)));
        let le = |at: usize| u64::from_le_bytes(c_hdr[at..at + 8].try_into().unwrap());
        assert_eq!(
            u16::from_le_bytes([c_hdr[18], c_hdr[19]]),
            183,
            "e_machine EM_AARCH64"
        );
        assert_eq!(le(64 + 32), 424, "p_filesz of a CPU note");
        let first = 64 + 56 * 4; // two CPU notes, VMCOREINFO, kernel map
        for (i, &(s, e)) in ranges.iter().enumerate() {
            let ph = first + 56 * i;
            // p_offset, p_vaddr = (s - PHYS_OFFSET) | PAGE_OFFSET, p_filesz.
            assert_eq!(
                (le(ph + 8), le(ph + 16), le(ph + 32)),
                (s, 0xffff_0000_0000_0000 | (s - 0x4000_0000), e - s + 1)
            );
        }
        assert_eq!(
            u16::from_le_bytes([c_hdr[56], c_hdr[57]]) as usize,
            4 + ranges.len()
        );
    }
}
