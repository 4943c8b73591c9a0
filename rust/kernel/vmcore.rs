// SPDX-License-Identifier: GPL-2.0

//! Device dumps: what a driver adds to `/proc/vmcore` in a capture kernel.
//!
//! C header: [`include/linux/crash_dump.h`](srctree/include/linux/crash_dump.h)
//!
//! After a crash, a driver of the capture kernel may save its device's own
//! state (firmware logs, registers, queues) in the dump: it names the dump,
//! says how many bytes it needs and fills them when asked. The bytes then
//! appear in `/proc/vmcore` as an ELF note of type `NT_VMCOREDD` named
//! `"LINUX"`, whose descriptor is the dump's name (in [`NAME_MAX`] bytes)
//! then its bytes, padded with zeros to whole pages. This
//! works with either `/proc/vmcore` provider (C, or Rust with
//! `CONFIG_PROC_VMCORE_RUST`); the `novmcoredd` kernel parameter turns it
//! off.
//!
//! # Examples
//!
//! ```
//! use kernel::c_str;
//! use kernel::vmcore::{add_device_dump, is_kdump_kernel};
//!
//! fn save_state(regs: &[u8]) -> Result {
//!     if !is_kdump_kernel() {
//!         return Ok(());
//!     }
//!     add_device_dump(c_str!("example_regs"), regs.len(), |buf| {
//!         buf.copy_from_slice(regs);
//!         Ok(())
//!     })
//! }
//!
//! if !is_kdump_kernel() {
//!     // Nothing to add to: adding is refused rather than attempted.
//!     assert_eq!(save_state(b"state"), Ok(()));
//!     assert_eq!(add_device_dump(c_str!("x"), 1, |_| Ok(())), Err(ENODEV));
//! } else {
//!     // A bad name or size is refused before anything is allocated.
//!     assert_eq!(add_device_dump(c_str!(""), 1, |_| Ok(())), Err(EINVAL));
//!     assert_eq!(add_device_dump(c_str!("x"), 0, |_| Ok(())), Err(EINVAL));
//! }
//! ```

use crate::{
    bindings,
    error::{code::*, Error, Result},
    ffi::{c_int, c_void},
    str::CStr,
};

/// Bytes of a dump's name field, its NUL terminator included.
pub const NAME_MAX: usize = bindings::VMCOREDD_MAX_NAME_BYTES as usize;

/// Whether this kernel is a capture kernel, started by the crashed one to
/// save its memory (`is_kdump_kernel()`).
pub fn is_kdump_kernel() -> bool {
    // SAFETY: reads a variable set at boot.
    unsafe { bindings::is_kdump_kernel() }
}

/// Adds a device dump named `name`, of `size` bytes that `collect` fills,
/// to this capture kernel's `/proc/vmcore`.
///
/// `collect` is called once, before this returns, with a zeroed buffer of
/// exactly `size` bytes; its error, if any, is returned and nothing is
/// added. Add dumps before user space opens `/proc/vmcore` (from a
/// driver's probe or init): an open file keeps the size it was opened
/// with.
///
/// # Errors
///
/// - `ENODEV` if this is not a capture kernel ([`is_kdump_kernel`]), or
///   it serves no dump;
/// - `EINVAL` if `name` is empty or longer than [`NAME_MAX`] - 1 bytes,
///   `size` is 0 or does not fit a note, or device dumps are turned off
///   (`novmcoredd`);
/// - `ENOMEM`, or `collect`'s error.
pub fn add_device_dump<F>(name: &CStr, size: usize, collect: F) -> Result
where
    F: FnOnce(&mut [u8]) -> Result,
{
    if !is_kdump_kernel() {
        return Err(ENODEV);
    }
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= NAME_MAX {
        return Err(EINVAL);
    }
    let size = u32::try_from(size).ok().filter(|&n| n > 0).ok_or(EINVAL)?;
    let mut dump_name = [0; NAME_MAX];
    for (d, &b) in dump_name.iter_mut().zip(bytes) {
        *d = b as _;
    }
    let mut request = Request {
        data: bindings::vmcoredd_data {
            dump_name,
            size,
            vmcoredd_callback: Some(collect_trampoline::<F>),
        },
        collect: Some(collect),
    };
    // A pointer to the whole request, which the callback turns back into one.
    let data = core::ptr::addr_of_mut!(request).cast::<bindings::vmcoredd_data>();
    // SAFETY: `data` points to a valid `vmcoredd_data` (the first field of
    // the `repr(C)` request) whose callback expects it inside a
    // `Request<F>`, which it is; the provider calls the callback only
    // before it returns, while `request` lives and is not otherwise used.
    let ret = unsafe { bindings::vmcore_add_device_dump(data) };
    if ret == 0 {
        Ok(())
    } else {
        Err(Error::from_errno(ret))
    }
}

/// What [`add_device_dump`] hands the provider: the C request, and the
/// closure its callback runs.
#[repr(C)]
struct Request<F> {
    /// First, so that a pointer to it is a pointer to the request.
    data: bindings::vmcoredd_data,
    collect: Option<F>,
}

/// The `vmcoredd_callback` of a [`Request<F>`].
///
/// # Safety
///
/// `data` is the `data` field of a live `Request<F>` that nothing else
/// uses during the call, and `buf` points to at least `data->size`
/// writable bytes that nothing else uses during the call.
unsafe extern "C" fn collect_trampoline<F>(
    data: *mut bindings::vmcoredd_data,
    buf: *mut c_void,
) -> c_int
where
    F: FnOnce(&mut [u8]) -> Result,
{
    // SAFETY: `data` is the first field of a `Request<F>`, which is
    // `repr(C)`, so it points to the request (function contract).
    let request = unsafe { &mut *data.cast::<Request<F>>() };
    let Some(collect) = request.collect.take() else {
        return EINVAL.to_errno();
    };
    // SAFETY: `buf` holds `data->size` bytes that are ours for the call
    // (function contract); the provider zeroed them.
    let buf =
        unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), request.data.size as usize) };
    match collect(buf) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
