// SPDX-License-Identifier: GPL-2.0

//! Rust vs the kernel's C ELF core header construction: exclusion of the
//! x86 ranges (low 1 MiB, crash kernel) and the header itself, for 64, 4,096
//! and 65,536 RAM ranges and 8 CPUs, allocation of the header included on
//! both sides. Interleaved rounds in one process; medians and the Rust/C
//! time ratio are printed. Not a test.

use kdump::elfcorehdr::{build, header_size, CoreInfo, CrashMem, Range, EM_X86_64};
use kdump_cref::{c_elf64_headers, CCore, CCrashMem, CRange};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let notes: Vec<u64> = (0..8u64).map(|i| 0x7f00_0000 + i * 0x1000).collect();
    println!(
        "{:<8} {:>12} {:>12} {:>8}",
        "ranges", "C us", "Rust us", "Rust/C"
    );
    for n in [64usize, 4096, 65536] {
        // 1 MiB ranges with 4 KiB holes; the crash kernel sits in the middle.
        let rs: Vec<Range> = (0..n as u64)
            .map(|i| Range {
                start: i * 0x10_1000,
                end: i * 0x10_1000 + 0xf_ffff,
            })
            .collect();
        let crs: Vec<CRange> = rs
            .iter()
            .map(|r| CRange {
                start: r.start,
                end: r.end,
            })
            .collect();
        let mid = rs[n / 2].start + 0x8_0000;
        let crash = (mid, mid + 0x1000_0000);
        let core = CCore {
            notes: &notes,
            vmcoreinfo: 0x7e00_0000,
            kernel_map: Some((0xffff_ffff_8100_0000, 0xffff_ffff_8300_0000, 0x100_0000)),
            page_offset: 0xffff_8880_0000_0000,
        };
        let info = CoreInfo {
            machine: EM_X86_64,
            osabi: 0,
            cpu_notes: &notes,
            cpu_note_size: 368,
            vmcoreinfo: 0x7e00_0000,
            vmcoreinfo_size: 4132,
            kernel_map: Some(kdump::elfcorehdr::KernelMap {
                vaddr: 0xffff_ffff_8100_0000,
                paddr: 0x100_0000,
                size: 0x200_0000,
            }),
            direct_map: 0xffff_8880_0000_0000,
        };
        let c_run = || {
            let mut m = CCrashMem::new(&crs, n + 2);
            assert_eq!(m.exclude(0, 0xf_ffff), 0);
            assert_eq!(m.exclude(crash.0, crash.1), 0);
            c_elf64_headers(&core, &mut m).1
        };
        let rust_run = || {
            let mut slots = vec![Range::default(); n + 2];
            let mut m = CrashMem::new(&mut slots);
            for &r in &rs {
                m.push(r).unwrap();
            }
            m.exclude(0, 0xf_ffff).unwrap();
            m.exclude(crash.0, crash.1).unwrap();
            let mut buf = vec![0u8; header_size(notes.len(), m.len()).unwrap()];
            build(&mut buf, &info, m.ranges()).unwrap();
            buf
        };
        assert_eq!(c_run(), rust_run(), "{n} ranges: headers differ");
        let rounds = if n > 10_000 { 15 } else { 101 };
        let (mut c, mut rust) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            black_box(c_run());
            c.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            black_box(rust_run());
            rust.push(t.elapsed().as_secs_f64());
        }
        let med = |mut v: Vec<f64>| {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            v[v.len() / 2]
        };
        let (c, rust) = (med(c), med(rust));
        println!(
            "{:<8} {:>12.1} {:>12.1} {:>8.2}",
            n,
            c * 1e6,
            rust * 1e6,
            rust / c
        );
    }
}
