// SPDX-License-Identifier: GPL-2.0

//! The purgatory digest check of the `kdump` core, reachable from C inside
//! the running kernel.
//!
//! The x86_64 purgatory (arch/x86/purgatory/purgatory.rs) links the same
//! core code but runs only between two kernels, where nothing can observe
//! it. This face lets the KUnit suite `kdump_rust_purgatory` drive
//! `kdump::purgatory::verify()` over kernel buffers and check that a
//! mismatching segment or digest is refused.

use kdump::purgatory::{verify, ShaRegion, VerifyError};
use kdump::sha256::DIGEST_SIZE;
use kernel::bindings;
use kernel::error::code::{EFAULT, EINVAL};
use kernel::ffi::c_int;

// The core's `ShaRegion` stands for `struct kexec_sha_region`, which the
// bindings only see declared: both sides check the same layout at build
// time (purgatory_kunit.c the C one).
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<ShaRegion>() == 16 && align_of::<ShaRegion>() == 8);
    assert!(offset_of!(ShaRegion, start) == 0 && offset_of!(ShaRegion, len) == 8);
};

/// Checks the `n` regions at `regions` (a `struct kexec_sha_region` array
/// whose `start` fields are kernel virtual addresses here) against the
/// SHA-256 `digest`, as purgatory does before it enters the next kernel.
///
/// Returns 0 if they match, `-EBADMSG` on a mismatch, `-EFAULT` if a
/// non-empty region starts at address 0, `-EINVAL` for a null table or
/// digest.
///
/// # Safety
///
/// `regions` must point to `n` readable entries, and each non-empty region
/// `[start, start + len)` must be readable kernel memory that nothing
/// writes during the call; `digest` must point to 32 readable bytes.
#[no_mangle]
pub unsafe extern "C" fn kdump_rust_purgatory_verify(
    regions: *const ShaRegion,
    n: usize,
    digest: *const [u8; DIGEST_SIZE],
) -> c_int {
    if regions.is_null() || digest.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: the caller guarantees `n` readable entries at `regions`;
    // `ShaRegion` is `#[repr(C)]` with the layout of `struct
    // kexec_sha_region` on 64-bit (two `u64`s; the C side asserts it).
    let table = unsafe { core::slice::from_raw_parts(regions, n) };
    // SAFETY: the caller guarantees 32 readable bytes at `digest`.
    let digest = unsafe { &*digest };
    let res = verify(table, digest, |r| {
        let ptr = usize::try_from(r.start).ok()? as *const u8;
        if ptr.is_null() {
            return None;
        }
        let len = usize::try_from(r.len).ok()?;
        // SAFETY: non-null, and the caller guarantees `len` readable bytes
        // at `start` that nothing writes during the call.
        Some(unsafe { core::slice::from_raw_parts(ptr, len) })
    });
    match res {
        Ok(()) => 0,
        // `kernel::error::code` has no EBADMSG in this base.
        Err(VerifyError::Mismatch) => -(bindings::EBADMSG as c_int),
        Err(VerifyError::Unreachable { .. }) => EFAULT.to_errno(),
    }
}
