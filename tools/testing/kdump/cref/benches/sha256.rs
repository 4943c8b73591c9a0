// SPDX-License-Identifier: GPL-2.0

//! Rust vs the kernel's C SHA-256 throughput over 64 MiB, as purgatory hashes
//! the loaded segments on the panic-to-capture path. Interleaved rounds in
//! one process; medians and the Rust/C ratio are printed. Not a test.

use kdump::sha256::sha256;
use kdump_cref::{c_sha256, Rng};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let mut r = Rng::new(64);
    let data: Vec<u8> = (0..64 << 20).map(|_| (r.next() >> 56) as u8).collect();
    assert_eq!(sha256(&data), c_sha256(&data));
    let (mut c, mut rust) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let t = Instant::now();
        black_box(c_sha256(black_box(&data)));
        c.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        black_box(sha256(black_box(&data)));
        rust.push(t.elapsed().as_secs_f64());
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let (c, rust) = (med(c), med(rust));
    let mib = (data.len() >> 20) as f64;
    println!("{:<10} {:>10} {:>10}", "sha256", "MiB/s", "ms");
    println!("{:<10} {:>10.1} {:>10.1}", "C", mib / c, c * 1e3);
    println!("{:<10} {:>10.1} {:>10.1}", "Rust", mib / rust, rust * 1e3);
    println!("Rust/C throughput ratio: {:.2}", c / rust);
}
