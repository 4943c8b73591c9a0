// SPDX-License-Identifier: GPL-2.0

//! One area of a process's address space (`struct vm_area_struct`), as a
//! file's `mmap()` sets it up.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)
//!
//! The C type is one struct; here each state it can be in is its own type,
//! so that the safe methods cannot do what only an `mmap()` that knows the
//! area's state may do:
//!
//! - [`VmaRef`]: read its range, offset and flags;
//! - [`VmaNew`]: an area being created, under the mmap lock held for
//!   writing: its flags may still change, through the methods that keep it
//!   sound ([`VmaNew::try_clear_maywrite`], [`VmaNew::set_mixedmap`], ...);
//! - [`VmaMixedMap`]: an area with `VM_MIXEDMAP` set, where pages with a
//!   `struct page` and raw page frames may both be inserted without
//!   tripping the `BUG_ON()`s of `vm_insert_page()`; the mapping methods
//!   map read-only memory and so also insist that the area can never be
//!   made writable.
//!
//! This follows the upstream `kernel::mm::virt` abstractions of later
//! kernels, cut to what this base needs.
//!
//! # Examples
//!
//! A file whose `mmap()` shows a kernel buffer, read-only:
//!
//! ```
//! use kernel::mm::{virt::VmaNew, UserMapBuf};
//!
//! fn mmap(buf: &UserMapBuf, vma: &VmaNew) -> Result {
//!     if vma.writable() || vma.executable() {
//!         return Err(EPERM);
//!     }
//!     // Neither mprotect() nor a second mapping can make it writable.
//!     vma.try_clear_maywrite()?;
//!     vma.try_clear_mayexec()?;
//!     let vma = vma.set_mixedmap();
//!     vma.set_sigbus_on_fault();
//!     let offset = vma.pgoff() * kernel::page::PAGE_SIZE;
//!     vma.map_user_buf(vma.start(), buf, offset, vma.end() - vma.start())
//! }
//! ```

use crate::{
    bindings,
    error::{code::*, to_result, Result},
    ffi::{c_int, c_ulong},
    mm::UserMapBuf,
    page::PAGE_SIZE,
    types::Opaque,
};
use core::ops::Deref;

/// An area of a process's address space that may be read.
///
/// # Invariants
///
/// The area is valid, and its mmap lock (or its own lock) is held for
/// reading at least for as long as the reference exists.
#[repr(transparent)]
pub struct VmaRef(Opaque<bindings::vm_area_struct>);

impl VmaRef {
    fn as_ptr(&self) -> *mut bindings::vm_area_struct {
        self.0.get()
    }

    /// First user address of the area.
    pub fn start(&self) -> usize {
        // SAFETY: the area is valid and its range fixed while locked (type
        // invariant).
        unsafe { (*self.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.vm_start }
    }

    /// User address just past the area.
    pub fn end(&self) -> usize {
        // SAFETY: as in `start()`.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.vm_end }
    }

    /// Offset in the file of the area's first byte, in pages.
    pub fn pgoff(&self) -> usize {
        // SAFETY: as in `start()`.
        unsafe { (*self.as_ptr()).vm_pgoff }
    }

    /// The area's `VM_*` flags.
    pub fn flags(&self) -> usize {
        // SAFETY: as in `start()`; the flags change only under the mmap
        // lock held for writing.
        unsafe { (*self.as_ptr()).__bindgen_anon_2.vm_flags }
    }

    fn has(&self, flag: u32) -> bool {
        self.flags() & flag as usize != 0
    }

    /// Whether the area is mapped writable (`VM_WRITE`).
    pub fn writable(&self) -> bool {
        self.has(bindings::VM_WRITE)
    }

    /// Whether the area is mapped executable (`VM_EXEC`).
    pub fn executable(&self) -> bool {
        self.has(bindings::VM_EXEC)
    }

    /// Whether the area can never become writable: neither `VM_WRITE` nor
    /// `VM_MAYWRITE`.
    pub fn read_only_for_good(&self) -> bool {
        !self.has(bindings::VM_WRITE) && !self.has(bindings::VM_MAYWRITE)
    }

    /// Checks that `[addr, addr + size)` is a non-empty, page-aligned part
    /// of the area: the remap functions `BUG()` on less.
    fn check_range(&self, addr: usize, size: usize) -> Result {
        let end = addr.checked_add(size).ok_or(EINVAL)?;
        let aligned = addr % PAGE_SIZE == 0 && size % PAGE_SIZE == 0;
        if size == 0 || !aligned || addr < self.start() || end > self.end() {
            return Err(EINVAL);
        }
        Ok(())
    }
}

/// An area being created by a file's `mmap()`.
///
/// # Invariants
///
/// The area is being set up by `mmap()`, which holds the mmap lock for
/// writing for as long as a reference exists; no other thread can see it.
#[repr(transparent)]
pub struct VmaNew(VmaRef);

impl Deref for VmaNew {
    type Target = VmaRef;

    fn deref(&self) -> &VmaRef {
        &self.0
    }
}

/// `VM_FAULT_SIGBUS` for faults on pages an `mmap()` left unmapped.
extern "C" fn fault_sigbus(_vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t
}

static SIGBUS_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
    fault: Some(fault_sigbus),
    // SAFETY: all-zero is a valid `vm_operations_struct`: no other op.
    ..unsafe { core::mem::zeroed() }
};

impl VmaNew {
    /// The area `vma` points to.
    ///
    /// # Safety
    ///
    /// `vma` must be an area being set up by a file's `mmap()` operation,
    /// called with the mmap lock held for writing, which holds it for `'a`.
    pub unsafe fn from_raw<'a>(vma: *mut bindings::vm_area_struct) -> &'a Self {
        // INVARIANT: the safety section of this function.
        // SAFETY: `VmaNew` is a transparent wrapper of the C struct; the
        // area is valid for `'a` (safety section).
        unsafe { &*vma.cast::<Self>() }
    }

    fn modify(&self, set: u32, clear: u32) {
        // SAFETY: the area is being created under the mmap lock held for
        // writing (type invariant), as vm_flags_mod() requires.
        unsafe { bindings::vm_flags_mod(self.as_ptr(), set as _, clear as _) };
    }

    /// Clears `VM_MAYWRITE`, so that `mprotect()` can never make the area
    /// writable. Fails with `EINVAL` if it is writable already.
    pub fn try_clear_maywrite(&self) -> Result {
        if self.writable() {
            return Err(EINVAL);
        }
        self.modify(0, bindings::VM_MAYWRITE);
        Ok(())
    }

    /// Clears `VM_MAYEXEC`, so that `mprotect()` can never make the area
    /// executable. Fails with `EINVAL` if it is executable already.
    pub fn try_clear_mayexec(&self) -> Result {
        if self.executable() {
            return Err(EINVAL);
        }
        self.modify(0, bindings::VM_MAYEXEC);
        Ok(())
    }

    /// Sets `VM_MIXEDMAP`: the area may hold both pages with a
    /// `struct page` and raw page frames.
    pub fn set_mixedmap(&self) -> &VmaMixedMap {
        self.modify(bindings::VM_MIXEDMAP, 0);
        // INVARIANT: `VM_MIXEDMAP` was just set, and nothing clears it.
        // SAFETY: `VmaMixedMap` is a transparent wrapper of `VmaNew`.
        unsafe { &*(self as *const Self).cast::<VmaMixedMap>() }
    }

    /// Makes a fault on a page of the area that `mmap()` did not map raise
    /// `SIGBUS` rather than allocate anonymous memory.
    pub fn set_sigbus_on_fault(&self) {
        // SAFETY: the area is ours while being created (type invariant);
        // `SIGBUS_OPS` is static.
        unsafe { (*self.as_ptr()).vm_ops = &SIGBUS_OPS };
    }
}

/// An area being created with `VM_MIXEDMAP` set.
///
/// # Invariants
///
/// A [`VmaNew`] whose `VM_MIXEDMAP` flag is set.
#[repr(transparent)]
pub struct VmaMixedMap(VmaNew);

impl Deref for VmaMixedMap {
    type Target = VmaNew;

    fn deref(&self) -> &VmaNew {
        &self.0
    }
}

impl VmaMixedMap {
    /// Checks what every mapping method needs: the range is in the area,
    /// and the area is read-only for good (`EPERM` otherwise), since what
    /// they map is not the process's to write.
    fn check_read_only_range(&self, addr: usize, size: usize) -> Result {
        if !self.read_only_for_good() {
            return Err(EPERM);
        }
        self.check_range(addr, size)
    }

    /// Maps `size` bytes of `buf` from `offset` at `addr`, read-only. The
    /// pages stay alive while mapped, whatever happens to `buf`.
    ///
    /// Fails with `EINVAL` unless `addr`, `offset` and `size` are page
    /// aligned, `size` is not 0, and both ranges are inside the area and the
    /// buffer, and with `EPERM` unless the area is read-only for good
    /// ([`VmaNew::try_clear_maywrite`]).
    pub fn map_user_buf(
        &self,
        addr: usize,
        buf: &UserMapBuf,
        offset: usize,
        size: usize,
    ) -> Result {
        self.check_read_only_range(addr, size)?;
        let end = offset.checked_add(size).ok_or(EINVAL)?;
        if end > buf.len() {
            return Err(EINVAL);
        }
        let kaddr = buf.page_ptr(offset).ok_or(EINVAL)?;
        // SAFETY: `offset..end` is in `buf`, a `vmalloc_user()` buffer, and
        // `addr..addr + size` in the area, which is being created under the
        // mmap lock (type invariant) with `VM_MIXEDMAP` set, so
        // vm_insert_page() does not BUG(). The mapping takes a reference to
        // each page, and is read-only for good.
        to_result(unsafe {
            bindings::remap_vmalloc_range_partial(self.as_ptr(), addr as _, kaddr, 0, size as _)
        })
    }

    /// Maps `size` bytes of page frames from `pfn` at `addr`, read-only,
    /// with `remap` (`remap_pfn_range()` or an architecture's variant of
    /// it). Same checks as [`VmaMixedMap::map_user_buf`].
    ///
    /// # Safety
    ///
    /// The frames must stay valid while any process maps them (memory the
    /// kernel never frees or reuses, or the zero page), and reading them
    /// must have no side effect. `remap` must map exactly the frames it is
    /// given into the range it is given, as `remap_pfn_range()` does.
    pub unsafe fn map_pfns(&self, addr: usize, pfn: usize, size: usize, remap: RemapPfn) -> Result {
        self.check_read_only_range(addr, size)?;
        let vma = self.as_ptr();
        // SAFETY: the range is in the area, which is being created under the
        // mmap lock (type invariant); the frames outlive the mapping and may
        // be read (safety section); the mapping is read-only for good.
        to_result(unsafe { remap(vma, addr as _, pfn as _, size as _, (*vma).vm_page_prot) })
    }
}

/// `remap_pfn_range()` and the functions with its signature.
pub type RemapPfn = unsafe extern "C" fn(
    *mut bindings::vm_area_struct,
    c_ulong,
    c_ulong,
    c_ulong,
    bindings::pgprot_t,
) -> c_int;
