// SPDX-License-Identifier: GPL-2.0

//! Differential test: the Rust `memparse` twin against upstream C.

use kdump::memparse::memparse;
use kdump_cref::{c_memparse, Rng};
use proptest::prelude::*;

/// A size-like string: optional radix prefix, digits (sometimes of the wrong
/// base), an optional suffix, then what follows a size on a command line.
fn grammar_case(r: &mut Rng) -> Vec<u8> {
    const PREFIX: &[&[u8]] = &[b"", b"", b"0", b"0x", b"0X", b"00", b"0x0"];
    const DIGITS: &[u8] = b"0123456789abcdefABCDEFxX";
    const SUFFIX: &[u8] = b"kKmMgGtTpPeEbBxZ";
    const TAIL: &[&[u8]] = &[
        b"", b"@16M", b",high", b",low", b"-2G:64M", b":", b" ", b"\0junk", b"-",
    ];
    let mut s = PREFIX[r.below(PREFIX.len())].to_vec();
    let n = match r.below(4) {
        0 => r.below(3),
        1 => r.below(25),
        _ => r.below(8),
    };
    for _ in 0..n {
        s.push(if r.below(3) == 0 {
            r.pick(DIGITS)
        } else {
            r.pick(b"0123456789")
        });
    }
    if r.below(2) == 0 {
        s.push(r.pick(SUFFIX));
    }
    s.extend_from_slice(TAIL[r.below(TAIL.len())]);
    s
}

fn random_case(r: &mut Rng) -> Vec<u8> {
    let n = r.below(12);
    (0..n).map(|_| (r.next() >> 56) as u8).collect()
}

fn check(s: &[u8]) {
    let rust = memparse(s);
    let c = c_memparse(s);
    assert_eq!(
        (rust.value, rust.len),
        c,
        "input {:?}",
        String::from_utf8_lossy(s)
    );
}

#[test]
fn one_million_generated_inputs_match_c() {
    let mut r = Rng::from_env(0x6b64_756d_70);
    let mut overflowed = 0usize;
    for i in 0..1_000_000 {
        let s = if i % 4 == 3 {
            random_case(&mut r)
        } else {
            grammar_case(&mut r)
        };
        check(&s);
        overflowed += usize::from(memparse(&s).overflow);
    }
    // The generator must reach the wrapping paths, or the test proves less
    // than it claims.
    assert!(
        overflowed > 1000,
        "only {overflowed} overflowing inputs generated"
    );
}

#[test]
fn edge_values_match_c() {
    for s in [
        "",
        "0",
        "0x",
        "0xg",
        "0X1F",
        "08",
        "09k",
        "M",
        "k@1",
        "18446744073709551615",
        "18446744073709551616",
        "0xffffffffffffffff",
        "0x10000000000000000",
        "16E",
        "15E",
        "1777777777777777777777",
        "2000000000000000000000",
        "99999999999999999999G",
    ] {
        check(s.as_bytes());
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_match_c(s in proptest::collection::vec(any::<u8>(), 0..32)) {
        check(&s);
    }

    #[test]
    fn overflow_flag_means_the_exact_value_does_not_fit(digits in "[1-9][0-9]{0,24}", suffix in "[kmgtpe]?") {
        let s = format!("{digits}{suffix}");
        let r = memparse(s.as_bytes());
        let shift = match suffix.as_str() { "k" => 10, "m" => 20, "g" => 30, "t" => 40, "p" => 50, "e" => 60, _ => 0 };
        let exact = digits.parse::<u128>().ok().and_then(|v| v.checked_shl(shift)).filter(|v| v >> shift == digits.parse::<u128>().unwrap());
        let fits = exact.is_some_and(|v| v <= u128::from(u64::MAX));
        prop_assert_eq!(r.overflow, !fits);
    }
}
