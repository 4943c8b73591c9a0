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

pub mod arm64_image;
pub mod cmdline;
pub mod elf;
pub mod elfcorehdr;
pub mod handoff;
pub mod kexec_elf;
pub mod memparse;
pub mod purgatory;
pub mod reloc;
pub mod reserve;
pub mod sha256;
pub mod vmcore;

/// Reads `N` bytes at `off`, if they are all inside `b`.
fn bytes_at<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}

/// The little-endian `u16` at `off`, if it is inside `b`.
fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    bytes_at(b, off).map(u16::from_le_bytes)
}

/// The little-endian `u32` at `off`, if it is inside `b`.
fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    bytes_at(b, off).map(u32::from_le_bytes)
}

/// The little-endian `u64` at `off`, if it is inside `b`.
fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    bytes_at(b, off).map(u64::from_le_bytes)
}

/// Copies the first `min(dst.len(), src.len())` bytes of `src` to `dst` and
/// returns how many.
///
/// What `copy_from_slice()` does, but with no length check that could
/// panic: the code the kernel's C faces reach must not contain one, even
/// one that cannot fail (the faces check reads the compiled kernel).
///
/// # Examples
///
/// ```
/// let mut dst = [0u8; 4];
/// assert_eq!(kdump::copy_bytes(&mut dst, b"ab"), 2);
/// assert_eq!(kdump::copy_bytes(&mut dst[1..], b"xyzzy"), 3);
/// assert_eq!(&dst, b"axyz");
/// ```
pub fn copy_bytes(dst: &mut [u8], src: &[u8]) -> usize {
    let mut n = 0usize;
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
        n = n.wrapping_add(1);
    }
    n
}

/// Writes `fields` one after another at the start of `out`, as far as it
/// reaches: how the ELF writers lay out their little-endian headers.
fn put_fields(out: &mut [u8], fields: &[&[u8]]) {
    let mut at = 0usize;
    for f in fields {
        let Some(rest) = out.get_mut(at..) else {
            return;
        };
        at = at.wrapping_add(copy_bytes(rest, f));
    }
}
