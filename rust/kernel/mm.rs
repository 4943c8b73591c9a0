// SPDX-License-Identifier: GPL-2.0

//! Memory areas of a process, and kernel buffers they can map.
//!
//! C headers: [`include/linux/mm.h`](srctree/include/linux/mm.h),
//! [`include/linux/vmalloc.h`](srctree/include/linux/vmalloc.h)
//!
//! Only what a file's `mmap()` needs to map kernel memory and physical pages
//! into the area being set up: its range and flags, and remapping into it.

use crate::{
    bindings,
    error::{code::*, to_result, Result},
    ffi::c_void,
    types::Opaque,
};
use core::ptr::NonNull;

/// Bytes in a page.
pub const PAGE_SIZE: usize = bindings::PAGE_SIZE;

/// An area of a process's address space (`struct vm_area_struct`) while a
/// file's `mmap()` sets it up.
///
/// # Invariants
///
/// The area is being set up by `mmap()`, which holds the mmap lock for
/// writing for as long as a reference exists.
#[repr(transparent)]
pub struct VmArea(Opaque<bindings::vm_area_struct>);

/// `VM_FAULT_SIGBUS` for faults on pages an `mmap()` left unmapped.
unsafe extern "C" fn fault_sigbus(_vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t
}

// SAFETY: all-zero is a valid `vm_operations_struct`; only `fault` is set.
static SIGBUS_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
    fault: Some(fault_sigbus),
    ..unsafe { core::mem::zeroed() }
};

impl VmArea {
    /// The area `vma` points to.
    ///
    /// # Safety
    ///
    /// `vma` must be an area being set up by a file's `mmap()` operation,
    /// called with the mmap lock held for writing, which holds it for `'a`.
    pub unsafe fn from_raw<'a>(vma: *mut bindings::vm_area_struct) -> &'a mut Self {
        // INVARIANT: the safety section of this function.
        // SAFETY: `VmArea` is a transparent wrapper; the area is valid and
        // ours for `'a` (safety section).
        unsafe { &mut *vma.cast::<Self>() }
    }

    fn raw(&self) -> *mut bindings::vm_area_struct {
        self.0.get()
    }

    /// First user address of the area.
    pub fn start(&self) -> usize {
        // SAFETY: the area is valid (type invariant).
        unsafe { (*self.raw()).__bindgen_anon_1.__bindgen_anon_1.vm_start as usize }
    }

    /// User address just past the area.
    pub fn end(&self) -> usize {
        // SAFETY: the area is valid (type invariant).
        unsafe { (*self.raw()).__bindgen_anon_1.__bindgen_anon_1.vm_end as usize }
    }

    /// Offset in the file of the area's first byte, in pages.
    pub fn pgoff(&self) -> usize {
        // SAFETY: the area is valid (type invariant).
        unsafe { (*self.raw()).vm_pgoff as usize }
    }

    /// The area's `VM_*` flags.
    pub fn flags(&self) -> usize {
        // SAFETY: the area is valid (type invariant).
        unsafe { (*self.raw()).__bindgen_anon_2.vm_flags as usize }
    }

    /// Sets the `VM_*` flags in `set` and clears those in `clear`.
    pub fn mod_flags(&mut self, set: usize, clear: usize) {
        // SAFETY: the area is valid and the mmap lock is held for writing
        // (type invariant), as vm_flags_mod() requires.
        unsafe { bindings::vm_flags_mod(self.raw(), set as _, clear as _) };
    }

    /// Makes a fault on a page of the area that was not mapped here raise
    /// `SIGBUS` rather than allocate anonymous memory.
    pub fn set_sigbus_on_fault(&mut self) {
        // SAFETY: the area is ours (type invariant); `SIGBUS_OPS` is static.
        unsafe { (*self.raw()).vm_ops = &SIGBUS_OPS };
    }

    /// Checks that `[addr, addr + size)` is a non-empty page-aligned part of
    /// the area: the remap functions BUG() on less.
    pub fn check_range(&self, addr: usize, size: usize) -> Result {
        let end = addr.checked_add(size).ok_or(EINVAL)?;
        let aligned = addr % PAGE_SIZE == 0 && size % PAGE_SIZE == 0;
        if size == 0 || !aligned || addr < self.start() || end > self.end() {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Maps the `size` bytes of physical pages from `pfn` at `addr`, with
    /// the area's protection.
    ///
    /// # Safety
    ///
    /// The pages must stay valid while any process maps them: memory the
    /// kernel never frees or reuses.
    pub unsafe fn remap_pfn(&mut self, addr: usize, pfn: usize, size: usize) -> Result {
        self.check_range(addr, size)?;
        // SAFETY: the range is in the area, which is ours (type invariant);
        // the pages outlive the mapping (safety section).
        to_result(unsafe {
            bindings::remap_pfn_range(self.raw(), addr as _, pfn as _, size as _, (*self.raw()).vm_page_prot)
        })
    }

    /// Maps `size` bytes of `buf` from `offset` at `addr`. The pages stay
    /// alive while mapped, whatever happens to `buf`.
    pub fn remap_buf(&mut self, addr: usize, buf: &UserMapBuf, offset: usize, size: usize) -> Result {
        self.check_range(addr, size)?;
        let end = offset.checked_add(size).ok_or(EINVAL)?;
        if offset % PAGE_SIZE != 0 || end > buf.len() {
            return Err(EINVAL);
        }
        // SAFETY: `offset..end` is in `buf`, a `vmalloc_user()` buffer; the
        // range is in the area, which is ours (type invariant). The mapping
        // takes a reference to each page.
        to_result(unsafe {
            bindings::remap_vmalloc_range_partial(
                self.raw(),
                addr as _,
                buf.ptr.as_ptr().cast::<u8>().add(offset).cast(),
                0,
                size as _,
            )
        })
    }

    /// The raw area, for C functions that map into it.
    pub fn as_raw(&mut self) -> *mut bindings::vm_area_struct {
        self.raw()
    }
}

/// A zeroed kernel buffer of whole pages that user space may map
/// (`vmalloc_user()`), with [`VmArea::remap_buf`].
///
/// # Invariants
///
/// `ptr` is a `vmalloc_user()` allocation of `len` bytes, a whole number of
/// pages, owned by this value.
pub struct UserMapBuf {
    ptr: NonNull<c_void>,
    len: usize,
}

// SAFETY: the buffer is plain memory owned by this value.
unsafe impl Send for UserMapBuf {}
// SAFETY: `&UserMapBuf` only reads.
unsafe impl Sync for UserMapBuf {}

impl UserMapBuf {
    /// Allocates `len` bytes rounded up to a page, zeroed.
    pub fn new(len: usize) -> Result<Self> {
        let len = len.checked_next_multiple_of(PAGE_SIZE).ok_or(ENOMEM)?.max(PAGE_SIZE);
        // SAFETY: any size may be asked for; null means no memory.
        let ptr = NonNull::new(unsafe { bindings::vmalloc_user(len as _) }).ok_or(ENOMEM)?;
        // INVARIANT: just allocated, `len` bytes.
        Ok(Self { ptr, len })
    }

    /// Bytes in the buffer.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer is empty (never: it has at least one page).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The buffer's bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` initialised (zeroed) bytes owned by `self` (type
        // invariant); mappings of them are read-only to the kernel's eyes.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr().cast(), self.len) }
    }

    /// The buffer's bytes, to fill before anyone maps them.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice()`, and `&mut self` is exclusive.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr().cast(), self.len) }
    }
}

impl Drop for UserMapBuf {
    fn drop(&mut self) {
        // SAFETY: allocated by vmalloc_user() (type invariant); pages still
        // mapped by a process keep their own reference.
        unsafe { bindings::vfree(self.ptr.as_ptr()) };
    }
}
