// SPDX-License-Identifier: GPL-2.0

//! Differential test: the arm64 `Image` checks of `kdump::arm64_image`, as
//! arch/arm64/kernel/kexec_image_rust.rs calls them, against upstream
//! `image_probe()` and `image_load()` (arch/arm64/kernel/kexec_image.c, cut
//! from the base tarball with `struct arm64_image_header` and the flag
//! macros of arch/arm64/include/asm/image.h, and compiled for the host).
//!
//! `image_load()` runs whole: the shim's `kexec_add_buffer()` records what
//! it asks for, so the test also sees that the facts the Rust check returns
//! (the load size and `text_offset`) are what C loads.

use kdump::arm64_image::{probe, Cpu, Header, HEADER_SIZE, MAGIC, MAGIC_OFFSET};
use kdump_cref::image::{c_image_load, c_image_probe};
use kdump_cref::Rng;
use proptest::prelude::*;

const EINVAL: i32 = 22;

/// The kernel face's `kdump_rust_image_probe()`: 0 or `-EINVAL`.
fn rust_probe(buf: &[u8]) -> i32 {
    probe(buf).map_or(-EINVAL, |_| 0)
}

fn cpu_of(f: [bool; 5]) -> Cpu {
    Cpu {
        big_endian: f[0],
        mixed_endian: f[1],
        granule_4k: f[2],
        granule_16k: f[3],
        granule_64k: f[4],
    }
}

/// Probe and, if the probe passes, load: both sides on the same bytes and
/// CPU, the same errno, and on success the same segment.
fn compare(buf: &[u8], f: [bool; 5]) -> Option<i32> {
    let c = c_image_probe(buf);
    assert_eq!(
        rust_probe(buf),
        c,
        "probe of {:02x?}",
        &buf[..buf.len().min(64)]
    );
    if c != 0 {
        return None;
    }
    let rust = Header::parse(buf).and_then(|h| h.check(&cpu_of(f)));
    match (c_image_load(buf, f), rust) {
        (Err(e), Err(_)) => {
            assert_eq!(e, -EINVAL);
            Some(e)
        }
        (Ok((kbuf, start)), Ok(img)) => {
            assert_eq!(kbuf.bufsz as usize, buf.len());
            assert_eq!(kbuf.buf_align, 0x20_0000, "MIN_KIMG_ALIGN");
            // C adds in unsigned long; the core says when that wraps.
            assert_eq!(
                img.load_size()
                    .unwrap_or(img.image_size.wrapping_add(img.text_offset)),
                kbuf.memsz
            );
            assert_eq!(
                start,
                kbuf.mem.wrapping_add(img.text_offset),
                "entry at text_offset"
            );
            Some(0)
        }
        (c, rust) => panic!(
            "load on {f:?}: C {c:?}, Rust {rust:?} for {:02x?}",
            &buf[..64]
        ),
    }
}

/// An `Image` header with these fields (the rest random) and `extra` bytes
/// after it.
fn image(r: &mut Rng, text_offset: u64, image_size: u64, flags: u64, extra: usize) -> Vec<u8> {
    let mut b: Vec<u8> = (0..HEADER_SIZE + extra).map(|_| r.next() as u8).collect();
    b[8..16].copy_from_slice(&text_offset.to_le_bytes());
    b[16..24].copy_from_slice(&image_size.to_le_bytes());
    b[24..32].copy_from_slice(&flags.to_le_bytes());
    b[MAGIC_OFFSET..MAGIC_OFFSET + 4].copy_from_slice(&MAGIC);
    b
}

#[test]
fn every_flag_and_cpu_combination() {
    let mut r = Rng::from_env(0x1a64);
    let mut verdicts = [0usize; 2];
    // Bits 0-3 of flags (endianness, page size, phys base) and all 32 CPUs.
    for low in 0..16u64 {
        for cpu in 0..32u32 {
            let f = [0, 1, 2, 3, 4].map(|i| cpu & (1 << i) != 0);
            for image_size in [0u64, 1, 0x54_0000] {
                let flags = low | (r.next() & !0xf) * u64::from(r.below(2) as u8);
                let any = r.next();
                let text_offset = r.pick(&[0u64, 0x8_0000, any]);
                let extra = r.below(3) * 100;
                let b = image(&mut r, text_offset, image_size, flags, extra);
                let v = compare(&b, f).expect("the magic is there");
                verdicts[usize::from(v == 0)] += 1;
            }
        }
    }
    println!(
        "{} loads, {} refused, the same in C and Rust",
        verdicts[1], verdicts[0]
    );
    assert!(verdicts[0] > 800 && verdicts[1] > 300, "generator coverage");
}

#[test]
fn probe_lengths_and_magic() {
    let mut r = Rng::new(0x9e);
    let good = image(&mut r, 0, 0x1000, 0xa, 0);
    for len in 0..=HEADER_SIZE {
        compare(&good[..len], [false, false, true, false, false]);
    }
    // One wrong byte of the magic, each, and the magic elsewhere.
    for i in 0..4 {
        let mut b = good.clone();
        b[MAGIC_OFFSET + i] ^= 0x20;
        assert_eq!(compare(&b, [false; 5]), None);
    }
    let mut b = vec![0u8; 128];
    b[0..4].copy_from_slice(&MAGIC);
    b[64 + MAGIC_OFFSET..64 + MAGIC_OFFSET + 4].copy_from_slice(&MAGIC);
    assert_eq!(compare(&b, [false; 5]), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// Any bytes, mostly with the magic planted so that the load checks run.
    #[test]
    fn any_header(mut b in proptest::collection::vec(any::<u8>(), 0..200), plant in any::<bool>(), cpu in any::<[bool; 5]>()) {
        if plant && b.len() >= HEADER_SIZE {
            b[MAGIC_OFFSET..MAGIC_OFFSET + 4].copy_from_slice(&MAGIC);
        }
        compare(&b, cpu);
    }
}
