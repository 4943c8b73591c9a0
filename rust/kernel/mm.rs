// SPDX-License-Identifier: GPL-2.0

//! Memory management: the areas of a process's address space, and kernel
//! buffers they can map.
//!
//! C headers: [`include/linux/mm.h`](srctree/include/linux/mm.h),
//! [`include/linux/vmalloc.h`](srctree/include/linux/vmalloc.h)
//!
//! Only what a file's `mmap()` needs to map kernel memory and physical pages
//! read-only into the area being set up ([`virt`]), and the buffer it maps
//! ([`UserMapBuf`]).
//!
//! # Examples
//!
//! ```
//! use kernel::mm::UserMapBuf;
//! use kernel::page::PAGE_SIZE;
//!
//! let mut buf = UserMapBuf::new(100)?;
//! assert_eq!(buf.len(), PAGE_SIZE);
//! assert!(buf.as_slice().iter().all(|&b| b == 0));
//! buf.as_mut_slice()[0] = 0x7f;
//! assert_eq!(buf.as_slice()[0], 0x7f);
//! # Ok::<(), Error>(())
//! ```

use crate::{
    bindings,
    error::{code::*, Result},
    ffi::c_void,
    page::PAGE_SIZE,
};
use core::ptr::NonNull;

pub mod virt;

/// A zeroed kernel buffer of whole pages that user space may map
/// (`vmalloc_user()`), with [`virt::VmaMixedMap::map_user_buf`].
///
/// # Invariants
///
/// `ptr` is a `vmalloc_user()` allocation of `len` bytes, a whole number of
/// pages and at least one, owned by this value.
pub struct UserMapBuf {
    ptr: NonNull<c_void>,
    len: usize,
}

// SAFETY: the buffer is plain memory owned by this value.
unsafe impl Send for UserMapBuf {}
// SAFETY: `&UserMapBuf` only reads.
unsafe impl Sync for UserMapBuf {}

impl UserMapBuf {
    /// Allocates `len` bytes rounded up to a page (at least one), zeroed.
    pub fn new(len: usize) -> Result<Self> {
        let len = len
            .checked_next_multiple_of(PAGE_SIZE)
            .ok_or(ENOMEM)?
            .max(PAGE_SIZE);
        // SAFETY: any size may be asked for; null means no memory.
        let ptr = NonNull::new(unsafe { bindings::vmalloc_user(len as _) }).ok_or(ENOMEM)?;
        // INVARIANT: just allocated, `len` bytes, a multiple of the page.
        Ok(Self { ptr, len })
    }

    /// Bytes in the buffer: a whole number of pages, never 0.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer is empty: never, it has at least one page.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The buffer's bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` initialised (zeroed) bytes owned by `self` (type
        // invariant). Processes may map them, but only read-only
        // (`VmaMixedMap::map_user_buf`), so nothing writes them behind a
        // shared reference.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr().cast(), self.len) }
    }

    /// The buffer's bytes, to fill before anyone maps them.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice()`, and `&mut self` is exclusive.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr().cast(), self.len) }
    }

    /// The address of byte `offset`, if it starts a page of the buffer.
    pub(crate) fn page_ptr(&self, offset: usize) -> Option<*mut c_void> {
        if offset % PAGE_SIZE != 0 || offset >= self.len {
            return None;
        }
        // SAFETY: `offset < len`: inside the allocation (type invariant).
        Some(unsafe { self.ptr.as_ptr().cast::<u8>().add(offset).cast() })
    }
}

impl Drop for UserMapBuf {
    fn drop(&mut self) {
        // SAFETY: allocated by vmalloc_user() (type invariant); pages still
        // mapped by a process keep their own reference.
        unsafe { bindings::vfree(self.ptr.as_ptr()) };
    }
}
