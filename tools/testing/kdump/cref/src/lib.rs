// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers around the upstream C functions that `build.rs` compiles for
//! the host, for differential tests against the `kdump` core.

use std::ffi::{c_char, c_ulonglong, CString};

extern "C" {
    fn memparse(ptr: *const c_char, retptr: *mut *mut c_char) -> c_ulonglong;
}

/// Runs the upstream `memparse()` on `s`; returns (value, bytes consumed).
///
/// `s` is cut at its first NUL byte, as a C caller would see it.
pub fn c_memparse(s: &[u8]) -> (u64, usize) {
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    let cs = CString::new(&s[..end]).expect("no interior NUL after the cut");
    let mut endp: *mut c_char = std::ptr::null_mut();
    // SAFETY: `cs` is a valid NUL-terminated string that outlives the call,
    // and `endp` is a valid place for the end pointer.
    let v = unsafe { memparse(cs.as_ptr(), &mut endp) };
    // SAFETY: memparse() sets `endp` inside the string or at its NUL.
    let used = unsafe { endp.offset_from(cs.as_ptr()) };
    (v, usize::try_from(used).expect("end pointer before the start"))
}
