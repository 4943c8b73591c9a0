// SPDX-License-Identifier: GPL-2.0

//! Strings from C, for the faces that take one (memparse.rs and
//! reserve.rs include this file).

/// The bytes of the NUL-terminated string at `ptr`, without the NUL.
///
/// Not `CStr::from_char_ptr()`: it adds one to `strlen()` with an overflow
/// check, a panic that cannot fire but that sits behind the C face all the
/// same (the `faces-panic-free` check reads the compiled kernel).
///
/// # Safety
///
/// `ptr` must point to a NUL-terminated string that stays valid and
/// unchanged for `'a`.
pub(crate) unsafe fn c_str_bytes<'a>(ptr: *const kernel::ffi::c_char) -> &'a [u8] {
    // SAFETY: NUL-terminated (function contract).
    let len = unsafe { kernel::bindings::strlen(ptr) };
    // SAFETY: the `len` bytes before the NUL are readable and unchanged for
    // `'a` (function contract).
    unsafe { core::slice::from_raw_parts(ptr.cast::<u8>(), len) }
}
