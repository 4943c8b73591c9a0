// SPDX-License-Identifier: GPL-2.0

//! Rust vmcore device dump sample.
//!
//! In a kdump capture kernel, adds a device dump named `rust_sample` to
//! `/proc/vmcore`, as a driver would save its device's state: [`SIZE`]
//! bytes, a line of text and then a pattern ([`byte`]), so that a test can
//! find the note in the dump and check every byte. In any other kernel it
//! only says so.

use kernel::c_str;
use kernel::prelude::*;
use kernel::vmcore;

module! {
    type: RustVmcoreDeviceDump,
    name: "rust_vmcore_device_dump",
    author: "Rust for Linux Contributors",
    description: "Rust vmcore device dump sample",
    license: "GPL",
}

/// Bytes of the dump: more than a page, so that it spans two.
const SIZE: usize = 5000;

/// The dump's first bytes.
const TEXT: &[u8] = b"Rust vmcore device dump sample\n";

/// Byte `i` of the dump: [`TEXT`], then `(7 * i + 3) mod 251`.
fn byte(i: usize) -> u8 {
    match TEXT.get(i) {
        Some(&b) => b,
        None => ((7 * i + 3) % 251) as u8,
    }
}

struct RustVmcoreDeviceDump;

impl kernel::Module for RustVmcoreDeviceDump {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        if !vmcore::is_kdump_kernel() {
            pr_info!("not a capture kernel: no device dump to add\n");
            return Ok(RustVmcoreDeviceDump);
        }
        let collect = |buf: &mut [u8]| {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = byte(i);
            }
            Ok(())
        };
        match vmcore::add_device_dump(c_str!("rust_sample"), SIZE, collect) {
            Ok(()) => pr_info!("added device dump rust_sample, {} bytes\n", SIZE),
            // Nothing to undo: the dump is simply not there.
            Err(e) => pr_err!(
                "cannot add device dump rust_sample: error {}\n",
                e.to_errno()
            ),
        }
        Ok(RustVmcoreDeviceDump)
    }
}
