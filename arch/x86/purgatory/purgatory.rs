// SPDX-License-Identifier: GPL-2.0

//! x86_64 purgatory in Rust: the part that runs between the old and the new
//! kernel on the kexec_file_load path, after `purgatory_start`
//! (setup-x86_64.S) and before `entry64` (entry64.S).
//!
//! It is the Rust twin of purgatory.c. The loader (kernel/kexec_file.c)
//! writes the table of loaded regions and their SHA-256 digest into the two
//! `.kexec-purgatory` symbols below; [`purgatory`] hashes the regions as they
//! now lie in memory with the `no_std` core's SHA-256 and returns to the
//! assembly, which enters the new kernel, only if the digest matches. On a
//! mismatch it never returns, as in C.
//!
//! The object is built freestanding (see Makefile.rust): position
//! independent, no red zone, no SSE, `panic=abort`. It defines every symbol
//! it uses except `memcpy`/`memset`/`memcmp`, which string.o provides, and
//! `purgatory.chk` fails to link if it ever references anything else: a
//! reachable Rust panic would show up there as an undefined
//! `core::panicking` symbol.

#![no_std]
#![deny(clippy::indexing_slicing)]
#![deny(clippy::unwrap_used)]
#![deny(clippy::expect_used)]
#![deny(clippy::panic)]
#![deny(clippy::arithmetic_side_effects)]

use core::cell::UnsafeCell;

// The core's modules, compiled into this object with purgatory's flags (the
// kernel's `kdump` crate is built for the kernel's code model). Only what
// purgatory calls is used.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../rust/kdump/sha256.rs"]
mod sha256;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../rust/kdump/purgatory.rs"]
mod check;

use check::ShaRegions;
use sha256::DIGEST_SIZE;

/// A purgatory variable the loader writes before purgatory runs.
///
/// The loader patches the bytes of the image (kexec_purgatory_get_set_symbol()),
/// so the compiler must not assume the initial value: the `UnsafeCell`
/// makes the static writable and opaque.
#[repr(transparent)]
pub struct LoaderSet<T>(UnsafeCell<T>);

// SAFETY: purgatory runs on one CPU with interrupts off; nothing else
// touches these variables while it runs.
unsafe impl<T> Sync for LoaderSet<T> {}

impl<T: Copy> LoaderSet<T> {
    /// Reads the value the loader stored.
    fn get(&self) -> T {
        // SAFETY: the cell is only written by the loader, before purgatory
        // starts; there is no concurrent access (see the `Sync` impl).
        unsafe { core::ptr::read(self.0.get()) }
    }
}

/// Digest of the loaded segments, computed by the loader
/// (`u8 purgatory_sha256_digest[SHA256_DIGEST_SIZE]`).
#[no_mangle]
#[link_section = ".kexec-purgatory"]
pub static purgatory_sha256_digest: LoaderSet<[u8; DIGEST_SIZE]> = LoaderSet(UnsafeCell::new([0; DIGEST_SIZE]));

/// The regions the loader hashed, in order (`struct kexec_sha_region
/// purgatory_sha_regions[KEXEC_SEGMENT_MAX]`).
#[no_mangle]
#[link_section = ".kexec-purgatory"]
pub static purgatory_sha_regions: LoaderSet<ShaRegions> =
    LoaderSet(UnsafeCell::new([check::ShaRegion { start: 0, len: 0 }; check::SEGMENT_MAX]));

/// Whether the segments in memory still hash to the loader's digest.
fn segments_intact() -> bool {
    let table = purgatory_sha_regions.get();
    let want = purgatory_sha256_digest.get();
    check::verify(&table, &want, |r| {
        // Purgatory runs with memory identity mapped. A region at address 0
        // cannot be a Rust slice and kexec never loads one there: treat it
        // as unreachable, which refuses the jump.
        let ptr = core::ptr::NonNull::new(usize::try_from(r.start).ok()? as *mut u8)?;
        let len = usize::try_from(r.len).ok()?;
        // SAFETY: the loader placed this segment at [start, start + len)
        // and nothing else runs now; the memory is identity mapped and
        // only read.
        Some(unsafe { core::slice::from_raw_parts(ptr.as_ptr(), len) })
    })
    .is_ok()
}

/// Called by `purgatory_start` before it jumps to `entry64`: returns only if
/// the loaded segments are intact, otherwise spins forever, as purgatory.c
/// does.
#[no_mangle]
pub extern "C" fn purgatory() {
    if !segments_intact() {
        loop {
            core::hint::spin_loop();
        }
    }
}

/// Needed by arch/x86/boot/compressed/string.c (memcpy's overlap warning),
/// which purgatory links for memcpy/memset; there is no console to print on.
#[no_mangle]
pub extern "C" fn warn(_msg: *const core::ffi::c_char) {}
