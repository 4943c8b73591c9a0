// SPDX-License-Identifier: GPL-2.0

//! C face of the core's `memparse()` twin.
//!
//! Declared in `include/linux/kdump_rust.h`; lets C code (the KUnit suite in
//! `memparse_kunit.c` among others) call the same parser the Rust crash-dump
//! components use.

use kernel::ffi::{c_char, c_ulonglong};

#[path = "c_str.rs"]
mod c_str;

/// Parses a size with an optional K/M/G/T/P/E suffix, like `memparse()`.
///
/// # Safety
///
/// `ptr` must point to a NUL-terminated string that stays valid for the
/// duration of the call. `retptr` must be NULL or valid for a write of one
/// pointer.
#[no_mangle]
pub unsafe extern "C" fn kdump_rust_memparse(
    ptr: *const c_char,
    retptr: *mut *mut c_char,
) -> c_ulonglong {
    // SAFETY: The caller guarantees `ptr` is a valid NUL-terminated string.
    let s = unsafe { c_str::c_str_bytes(ptr) };
    let parsed = kdump::memparse::memparse(s);
    if !retptr.is_null() {
        // `parsed.len` never exceeds the string length, so the end pointer
        // stays within the string or points at its terminating NUL.
        let end = ptr.wrapping_add(parsed.len).cast_mut();
        // SAFETY: The caller guarantees a non-NULL `retptr` is valid for a
        // write of one pointer.
        unsafe { retptr.write(end) };
    }
    parsed.value
}
