// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the Image header checks of arch/arm64/kernel/kexec_image.c,
//! the loader `kexec_file_load()` uses on arm64: `image_probe()` (replaced
//! by the hook patch when `CONFIG_KEXEC_IMAGE_RUST` is set) and the checks
//! at the start of `image_load()` (which call [`kdump_rust_image_check`]
//! instead). The checks are the `kdump` core's [`kdump::arm64_image`];
//! placing the segments stays in C.
//!
//! Each refusal is `-EINVAL`, as in C, and is logged once with the header
//! field at fault (C says nothing).

use kdump::arm64_image::{probe, Cpu, Header, ImageError, HEADER_SIZE};
use kernel::bindings;
use kernel::error::code::EINVAL;
use kernel::ffi::{c_char, c_int, c_ulong};
use kernel::prelude::*;

const __LOG_PREFIX: &[u8] = b"kexec_file(Image)\0";

/// The header bytes of the kernel at `buf`: its first
/// [`HEADER_SIZE`] bytes, or all of them if it is shorter.
///
/// # Safety
///
/// `buf` must be NULL or valid for reads of `len` bytes for `'a`.
unsafe fn head<'a>(buf: *const c_char, len: usize) -> &'a [u8] {
    if buf.is_null() {
        return &[];
    }
    let n = len.min(HEADER_SIZE);
    // SAFETY: `buf` is valid for `len >= n` bytes (function safety section).
    unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), n) }
}

/// What the CPUs of this system support.
fn cpu() -> Cpu {
    let mut c = bindings::kdump_arm64_image_cpu {
        big_endian: false,
        mixed_endian: false,
        granule_4k: false,
        granule_16k: false,
        granule_64k: false,
    };
    // SAFETY: `c` is a valid, writable struct.
    unsafe { bindings::kdump_arm64_image_cpu(&mut c) };
    Cpu {
        big_endian: c.big_endian,
        mixed_endian: c.mixed_endian,
        granule_4k: c.granule_4k,
        granule_16k: c.granule_16k,
        granule_64k: c.granule_64k,
    }
}

fn refuse(what: &str, e: ImageError) -> c_int {
    pr_warn!("{}: {}: {:?}\n", what, e.field(), e);
    EINVAL.to_errno()
}

/// See `kdump_rust_image_probe()` in include/linux/kdump_rust.h.
///
/// # Safety
///
/// `kernel_buf` must be NULL or valid for reads of `kernel_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn kdump_rust_image_probe(
    kernel_buf: *const c_char,
    kernel_len: c_ulong,
) -> c_int {
    // SAFETY: forwarded from this function's safety section.
    match probe(unsafe { head(kernel_buf, kernel_len) }) {
        Ok(_) => 0,
        Err(e) => refuse("not an arm64 Image", e),
    }
}

/// See `kdump_rust_image_check()` in include/linux/kdump_rust.h.
///
/// # Safety
///
/// `kernel` must be NULL or valid for reads of `kernel_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn kdump_rust_image_check(
    kernel: *const c_char,
    kernel_len: c_ulong,
) -> c_int {
    // SAFETY: forwarded from this function's safety section.
    match Header::parse(unsafe { head(kernel, kernel_len) }).and_then(|h| h.check(&cpu())) {
        Ok(_) => 0,
        Err(e) => refuse("this kernel cannot run the Image", e),
    }
}
