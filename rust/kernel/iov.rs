// SPDX-License-Identifier: GPL-2.0

//! I/O vector iterators: the memory a `read_iter()` copies into.
//!
//! C header: [`include/linux/uio.h`](srctree/include/linux/uio.h)
//!
//! A `struct iov_iter` describes where the bytes of one read go: user
//! memory for `read()` and `readv()`, pipe pages for `splice()` and
//! `sendfile()`, kernel memory for in-kernel readers. Serving a file
//! through [`IovIterDest`] rather than a user pointer is what lets all of
//! them read it. This follows the upstream `kernel::iov` abstraction of
//! later kernels, cut to what this base needs.
//!
//! # Examples
//!
//! ```
//! use kernel::iov::IovIterDest;
//!
//! /// The bytes of `text` from `pos` on, as much as `out` takes.
//! fn read_text(text: &[u8], out: &mut IovIterDest<'_>, pos: usize) -> Result<usize> {
//!     let rest = text.get(pos..).unwrap_or(&[]);
//!     let n = rest.len().min(out.len());
//!     out.write_all(&rest[..n])?;
//!     Ok(n)
//! }
//! ```

use crate::{
    bindings,
    error::{code::*, Result},
    types::Opaque,
};
use core::marker::PhantomData;

/// An I/O vector iterator that bytes are copied into (`ITER_DEST`).
///
/// # Invariants
///
/// The iterator is valid, is a destination, and its memory is writable
/// for `'data`; only the holder of `&mut IovIterDest` advances it.
#[repr(transparent)]
pub struct IovIterDest<'data> {
    iov: Opaque<bindings::iov_iter>,
    _data: PhantomData<&'data mut [u8]>,
}

impl<'data> IovIterDest<'data> {
    /// The iterator at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid `ITER_DEST` iterator whose memory may be
    /// written for `'data`, used by nothing else while the returned
    /// reference lives (as in a `read_iter()` call).
    pub unsafe fn from_raw<'iov>(ptr: *mut bindings::iov_iter) -> &'iov mut IovIterDest<'data> {
        // INVARIANT: the safety section of this function.
        // SAFETY: `IovIterDest` is a transparent wrapper of the C struct,
        // exclusively ours for `'iov` (safety section).
        unsafe { &mut *ptr.cast::<IovIterDest<'data>>() }
    }

    /// The raw iterator, for C functions that copy into it.
    pub(crate) fn as_raw(&mut self) -> *mut bindings::iov_iter {
        self.iov.get()
    }

    /// Bytes the iterator can still take.
    pub fn len(&self) -> usize {
        // SAFETY: the iterator is valid (type invariant).
        unsafe { bindings::iov_iter_count(self.iov.get()) }
    }

    /// Whether the iterator can take no more bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies as much of `src` as the iterator takes and returns how many
    /// bytes it copied: fewer than asked if the iterator is full or its
    /// memory faults.
    pub fn copy_to_iter(&mut self, src: &[u8]) -> usize {
        // SAFETY: `src` is readable for its length; the iterator is a valid
        // destination whose memory may be written (type invariant).
        unsafe { bindings::_copy_to_iter(src.as_ptr().cast(), src.len(), self.as_raw()) }
    }

    /// Copies all of `src`, or fails with `EFAULT` (having copied a part).
    pub fn write_all(&mut self, src: &[u8]) -> Result {
        if self.copy_to_iter(src) == src.len() {
            Ok(())
        } else {
            Err(EFAULT)
        }
    }
}
