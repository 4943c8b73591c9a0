// SPDX-License-Identifier: GPL-2.0

//! Fuzz target: the Rust `crashkernel=` parser never panics or overflows on
//! any input, agrees with the upstream C `parse_crashkernel()` (compiled for
//! the host from the base tarball), and its error always names a word of the
//! input.

#![no_main]

use kdump::cmdline::{parse_crashkernel, Arch};
use kdump_cref::c_parse_crashkernel;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First 8 bytes: the RAM size; the rest: the command line.
    let (ram, cmd) = match data.split_first_chunk::<8>() {
        Some((r, rest)) => (u64::from_le_bytes(*r), rest),
        None => (1 << 30, data),
    };
    for high_low in [true, false] {
        let arch = Arch {
            high_low,
            default_low_size: 256 << 20,
        };
        let p = parse_crashkernel(cmd, ram, arch);
        let c = c_parse_crashkernel(cmd, ram, high_low, 256 << 20);
        assert_eq!(
            (
                p.ret(),
                p.request.size,
                p.request.base,
                p.request.low_size,
                p.request.high
            ),
            (c.ret, c.size, c.base, c.low_size, c.high),
            "input {:?} ram {ram:#x}",
            String::from_utf8_lossy(cmd)
        );
        if let Err(e) = p.result {
            assert!(e.word.0 <= e.word.1 && e.word.1 <= cmd.len());
            assert!(e.at <= cmd.len());
        }
    }
});
