// SPDX-License-Identifier: GPL-2.0

//! Differential test: the Rust `crashkernel=` parser against upstream
//! `parse_crashkernel()` on generated command lines and several RAM sizes.

use kdump::cmdline::{parse_crashkernel, Arch};
use kdump_cref::{c_parse_crashkernel, CParse, Rng};
use proptest::prelude::*;

const M: u64 = 1 << 20;
const G: u64 = 1 << 30;
/// RAM sizes as memblock_phys_mem_size() reports them: exact, just below and
/// above the 128 MiB rounding, and at the edges of the ranges generated.
const RAM_SIZES: &[u64] = &[
    0,
    512 * M,
    G - 4096,
    2 * G,
    4 * G + 12345,
    64 * G + 128 * M,
    u64::MAX,
];
const DEFAULT_LOW: u64 = 256 * M;

fn size(r: &mut Rng) -> String {
    match r.below(10) {
        0 => String::new(),
        1 => format!("0x{:x}", r.next() >> r.below(64)),
        2 => format!("{}", r.next()),
        3 => "99999999999999999999G".into(),
        4 => format!("0{}", r.below(100)),
        _ => format!(
            "{}{}",
            r.below(5000),
            r.pick(&["", "K", "M", "G", "T", "m", "g", "E", "P", "x"])
        ),
    }
}

fn range(r: &mut Rng) -> String {
    let end = if r.below(4) == 0 {
        String::new()
    } else {
        size(r)
    };
    let sep = r.pick(&["-", "-", "-", "", "+"]);
    let colon = r.pick(&[":", ":", ":", "", ";"]);
    format!("{}{sep}{end}{colon}{}", size(r), size(r))
}

fn crashkernel_word(r: &mut Rng) -> String {
    let body = match r.below(8) {
        0 | 1 => {
            let at = if r.below(3) == 0 {
                format!("@{}", size(r))
            } else {
                String::new()
            };
            format!("{}{at}", size(r))
        }
        2 | 3 => {
            let n = 1 + r.below(4);
            let ranges: Vec<String> = (0..n).map(|_| range(r)).collect();
            let at = if r.below(3) == 0 {
                format!("@{}", size(r))
            } else {
                String::new()
            };
            format!("{}{at}", ranges.join(r.pick(&[",", ",", ",", ";"])))
        }
        4 | 5 => format!(
            "{}{}",
            size(r),
            r.pick(&[
                ",high",
                ",high",
                ",low",
                ",hig",
                ",highx",
                ",low,high",
                ",HIGH"
            ])
        ),
        6 => format!(
            "{}{}",
            size(r),
            r.pick(&["x", "@", "-", ":", ",", ",high ", "@0x"])
        ),
        _ => String::from_utf8_lossy(
            &(0..r.below(12))
                .map(|_| (r.next() >> 57) as u8 | 0x20)
                .collect::<Vec<_>>(),
        )
        .into(),
    };
    format!(
        "{}{body}",
        r.pick(&[
            "crashkernel=",
            "crashkernel=",
            "crashkernel=",
            "xcrashkernel=",
            "crashkernel",
            "crashkernel=="
        ])
    )
}

fn cmdline(r: &mut Rng) -> Vec<u8> {
    let words = 1 + r.below(5);
    let mut parts: Vec<String> = Vec::new();
    for _ in 0..words {
        parts.push(match r.below(5) {
            0 => r
                .pick(&["quiet", "root=/dev/vda", "console=ttyS0", "a:b", "x-y:z@1"])
                .into(),
            _ => crashkernel_word(r),
        });
    }
    let mut s = parts.join(r.pick(&[" ", " ", "  ", "\t"])).into_bytes();
    if r.below(50) == 0 {
        let at = r.below(s.len() + 1);
        s.insert(at, 0);
    }
    s
}

fn check(cmd: &[u8], ram: u64, high_low: bool) {
    let arch = Arch {
        high_low,
        default_low_size: DEFAULT_LOW,
    };
    let p = parse_crashkernel(cmd, ram, arch);
    let rust = CParse {
        ret: p.ret(),
        size: p.request.size,
        base: p.request.base,
        low_size: p.request.low_size,
        high: p.request.high,
    };
    let c = c_parse_crashkernel(cmd, ram, high_low, DEFAULT_LOW);
    assert_eq!(
        rust,
        c,
        "cmdline {:?}, ram {ram:#x}, high_low {high_low}",
        String::from_utf8_lossy(cmd)
    );
}

#[test]
fn one_million_generated_cmdlines_match_c() {
    let mut r = Rng::from_env(0x63_726173_68);
    let (mut accepted, mut high) = (0usize, 0usize);
    for i in 0..1_000_000usize {
        let cmd = cmdline(&mut r);
        let ram = RAM_SIZES[i % RAM_SIZES.len()];
        check(&cmd, ram, i % 5 != 0);
        let p = parse_crashkernel(
            &cmd,
            ram,
            Arch {
                high_low: true,
                default_low_size: DEFAULT_LOW,
            },
        );
        accepted += usize::from(p.result.is_ok());
        high += usize::from(p.request.high && p.result.is_ok());
    }
    // The generator must reach the accepting paths, not only errors.
    assert!(accepted > 50_000, "only {accepted} accepted command lines");
    assert!(high > 5_000, "only {high} accepted ,high command lines");
}

#[test]
fn random_bytes_match_c() {
    let mut r = Rng::new(0x5eed);
    for i in 0..200_000usize {
        let n = r.below(40);
        let mut s: Vec<u8> = (0..n).map(|_| (r.next() >> 56) as u8).collect();
        if i % 2 == 0 {
            s.splice(0..0, b"crashkernel=".iter().copied());
        }
        check(&s, RAM_SIZES[i % RAM_SIZES.len()], true);
    }
}

#[test]
fn issue_table_matches_c() {
    for cmd in [
        "crashkernel=512M-2G:64M,2G-:128M",
        "crashkernel=64M@16M",
        "crashkernel=256M,high crashkernel=64M,low",
        "crashkernel=256M,high",
        "crashkernel=99999999999999999999G",
        "crashkernel=1G-:",
        "crashkernel=2G-1G:64M",
        "crashkernel=64Mjunk",
        "crashkernel=64G",
        "crashkernel=64M@16M crashkernel=128M",
        "crashkernel=128M crashkernel=256M,high",
        "crashkernel=0M",
        "crashkernel=",
        "crashkernel=1M-:0",
        "crashkernel=512M-2G:64M,2G-:128M@0x1000000",
    ] {
        for &ram in RAM_SIZES {
            check(cmd.as_bytes(), ram, true);
            check(cmd.as_bytes(), ram, false);
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_text_after_crashkernel_matches_c(body in "[0-9a-fxKMGTPE@:,\\- highlow]{0,40}", ram in any::<u64>()) {
        check(format!("crashkernel={body}").as_bytes(), ram, true);
    }
}
