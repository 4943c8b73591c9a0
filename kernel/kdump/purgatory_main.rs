// SPDX-License-Identifier: GPL-2.0

//! What every architecture's Rust purgatory shares: the two symbols the
//! loader fills in and `purgatory()`, which the assembly entry calls before
//! it enters the new kernel.
//!
//! This file is not built into the kernel. Each purgatory crate
//! (arch/x86/purgatory/purgatory.rs, arch/riscv/purgatory/purgatory.rs)
//! includes it as a module, next to the core's `sha256` and `purgatory`
//! modules, which it must name `crate::sha256` and `crate::check`; it is
//! compiled with that architecture's purgatory flags (see its
//! Makefile.rust).
//!
//! The loader (kernel/kexec_file.c) writes the table of loaded regions and
//! their SHA-256 digest into the two `.kexec-purgatory` symbols below by
//! name (kexec_purgatory_get_set_symbol(), which also checks their sizes);
//! [`purgatory`] hashes the regions as they now lie in memory and returns to
//! the assembly only if the digest matches. On a mismatch it never returns,
//! as the C purgatory does.

use core::cell::UnsafeCell;

use crate::check::{self, ShaRegion, ShaRegions, SEGMENT_MAX};
use crate::sha256::DIGEST_SIZE;

/// A purgatory variable the loader writes before purgatory runs.
///
/// The loader patches the bytes of the image, so the compiler must not
/// assume the initial value: the `UnsafeCell` makes the static writable
/// and opaque.
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
pub static purgatory_sha256_digest: LoaderSet<[u8; DIGEST_SIZE]> =
    LoaderSet(UnsafeCell::new([0; DIGEST_SIZE]));

/// The regions the loader hashed, in order (`struct kexec_sha_region
/// purgatory_sha_regions[KEXEC_SEGMENT_MAX]`).
#[no_mangle]
#[link_section = ".kexec-purgatory"]
pub static purgatory_sha_regions: LoaderSet<ShaRegions> = LoaderSet(UnsafeCell::new(
    [ShaRegion { start: 0, len: 0 }; SEGMENT_MAX],
));

/// Whether the segments in memory still hash to the loader's digest.
fn segments_intact() -> bool {
    let table = purgatory_sha_regions.get();
    let want = purgatory_sha256_digest.get();
    check::verify(&table, &want, |r| {
        // Purgatory runs with memory identity mapped (x86_64) or with the
        // MMU off (riscv64). A region at address 0 cannot be a Rust slice
        // and kexec never loads one there: treat it as unreachable, which
        // refuses the jump.
        let ptr = core::ptr::NonNull::new(usize::try_from(r.start).ok()? as *mut u8)?;
        let len = usize::try_from(r.len).ok()?;
        // SAFETY: the loader placed this segment at [start, start + len)
        // and nothing else runs now; the memory is reachable at its
        // physical address and only read.
        Some(unsafe { core::slice::from_raw_parts(ptr.as_ptr(), len) })
    })
    .is_ok()
}

/// Called by the assembly entry before it jumps to the new kernel: returns
/// only if the loaded segments are intact, otherwise spins forever, as the
/// C purgatory does.
#[no_mangle]
pub extern "C" fn purgatory() {
    if !segments_intact() {
        loop {
            core::hint::spin_loop();
        }
    }
}
