// SPDX-License-Identifier: GPL-2.0

//! Rust vs upstream C `crashkernel=` parsing time per command line.
//!
//! Both run in the same process on the same inputs, interleaved round by
//! round; the median of the rounds is printed with the Rust/C ratio. A
//! benchmark, not a test: it asserts nothing about speed.

use kdump::cmdline::{parse_crashkernel, Arch};
use kdump::memparse::memparse;
use kdump_cref::{c_memparse, c_parse_crashkernel};
use std::hint::black_box;
use std::time::Instant;

const ROUNDS: usize = 15;
const ITERS: usize = 20_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn time(f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..ITERS {
        f();
    }
    t.elapsed().as_nanos() as f64 / ITERS as f64
}

fn main() {
    let x86 = Arch {
        high_low: true,
        default_low_size: 256 << 20,
    };
    let ram = 8u64 << 30;
    let lines: &[(&str, &str)] = &[
        (
            "simple",
            "BOOT_IMAGE=/vmlinuz root=/dev/vda ro quiet crashkernel=256M",
        ),
        ("offset", "root=/dev/vda crashkernel=64M@16M console=ttyS0"),
        (
            "ranges",
            "root=/dev/vda crashkernel=512M-2G:64M,2G-8G:128M,8G-:256M quiet",
        ),
        (
            "high+low",
            "root=/dev/vda crashkernel=256M,high crashkernel=64M,low quiet",
        ),
        ("malformed", "root=/dev/vda crashkernel=64Mjunk quiet"),
        (
            "absent",
            "BOOT_IMAGE=/vmlinuz root=/dev/vda ro quiet splash console=tty0",
        ),
    ];
    println!(
        "{:<12} {:>12} {:>12} {:>10}",
        "cmdline", "C ns/op", "Rust ns/op", "Rust/C"
    );
    for (name, line) in lines {
        let line = line.as_bytes();
        // The C wrapper copies the string into a CString; give the Rust side
        // the same copy so only the parsers differ.
        let (mut c, mut r) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            c.push(time(&mut || {
                black_box(c_parse_crashkernel(black_box(line), ram, true, 256 << 20));
            }));
            r.push(time(&mut || {
                let owned = std::ffi::CString::new(black_box(line)).unwrap();
                black_box(parse_crashkernel(owned.as_bytes(), ram, x86));
            }));
        }
        let (c, r) = (median(c), median(r));
        println!("{name:<12} {c:>12.1} {r:>12.1} {:>10.2}", r / c);
    }
    let sizes = b"0x12345678M";
    let (mut c, mut r) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        c.push(time(&mut || {
            black_box(c_memparse(black_box(sizes)));
        }));
        r.push(time(&mut || {
            let owned = std::ffi::CString::new(black_box(&sizes[..])).unwrap();
            black_box(memparse(owned.as_bytes()));
        }));
    }
    let (c, r) = (median(c), median(r));
    println!("{:<12} {c:>12.1} {r:>12.1} {:>10.2}", "memparse", r / c);
}
