// SPDX-License-Identifier: GPL-2.0

//! Pure logic of the crash-dump and kexec path.
//!
//! This crate has no kernel dependency: it uses `core` only, never allocates
//! and never calls out. The same source is built into the kernel (as the
//! `kdump` crate of `rust/Makefile`) and on the host by cargo, where its unit
//! tests, property tests and differential tests against the upstream C code
//! run.
//!
//! Modules are named after the kdump concept they implement.

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![deny(clippy::indexing_slicing)]
#![deny(clippy::unwrap_used)]
#![deny(clippy::expect_used)]
#![deny(clippy::panic)]
#![deny(clippy::arithmetic_side_effects)]

// Host tests may use std (Vec and friends); the library itself never does.
#[cfg(test)]
extern crate std;

pub mod cmdline;
pub mod elfcorehdr;
pub mod handoff;
pub mod memparse;
pub mod purgatory;
pub mod reloc;
pub mod reserve;
pub mod sha256;
pub mod vmcore;

/// Writes `fields` one after another at the start of `out`, as far as it
/// reaches: how the ELF writers lay out their little-endian headers.
fn put_fields(out: &mut [u8], fields: &[&[u8]]) {
    let mut rest = out;
    for f in fields {
        let n = f.len().min(rest.len());
        let (head, tail) = rest.split_at_mut(n);
        head.copy_from_slice(f.get(..n).unwrap_or(&[]));
        rest = tail;
    }
}
