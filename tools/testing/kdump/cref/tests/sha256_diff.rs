// SPDX-License-Identifier: GPL-2.0

//! Differential test: the Rust SHA-256 against the kernel's C SHA-256.

use kdump::sha256::{digest_regions, sha256, Sha256};
use kdump_cref::{c_sha256, CSha256, Rng};

fn bytes(r: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| (r.next() >> 56) as u8).collect()
}

#[test]
fn every_length_up_to_four_blocks_and_around_edges() {
    let mut r = Rng::new(0x5a256);
    let mut lengths: Vec<usize> = (0..=260).collect();
    for edge in [511, 512, 4095, 4096, 65535, 65536, 1 << 20] {
        lengths.extend([
            edge - 9,
            edge - 8,
            edge - 1,
            edge,
            edge + 1,
            edge + 55,
            edge + 56,
        ]);
    }
    for n in lengths {
        let data = bytes(&mut r, n);
        assert_eq!(sha256(&data), c_sha256(&data), "length {n}");
    }
}

#[test]
fn random_inputs_and_update_splits() {
    let mut r = Rng::from_env(0x0073_6861_32);
    for _ in 0..3000 {
        let n = r.below(5000);
        let data = bytes(&mut r, n);
        // The same message fed in random pieces to both.
        let (mut rust, mut c) = (Sha256::new(), CSha256::new());
        let mut at = 0;
        while at < n {
            let take = 1 + r.below(200).min(n - at - 1);
            rust.update(&data[at..at + take]);
            c.update(&data[at..at + take]);
            at += take;
        }
        let (rust, c) = (rust.finalize(), c.finalize());
        assert_eq!(rust, c, "length {n}");
        assert_eq!(rust, sha256(&data));
    }
}

#[test]
fn regions_hash_like_one_c_stream() {
    let mut r = Rng::new(7);
    let segs: Vec<Vec<u8>> = (0..5).map(|i| bytes(&mut r, 1000 * i + 13)).collect();
    let mut c = CSha256::new();
    for s in &segs {
        c.update(s);
    }
    assert_eq!(digest_regions(segs.iter().map(|s| &s[..])), c.finalize());
}
