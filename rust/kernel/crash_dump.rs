// SPDX-License-Identifier: GPL-2.0

//! The crashed kernel's memory, seen from the capture kernel.
//!
//! C header: [`include/linux/crash_dump.h`](srctree/include/linux/crash_dump.h)
//!
//! In a kdump capture kernel, `elfcorehdr=` gives the physical address of
//! the ELF core header the crashed kernel left, and the memory it describes
//! ("old memory") lies outside the capture kernel's own RAM. These are the
//! ways to reach both: the architecture's header readers ([`ElfCoreHdr`]),
//! and, for a range known to be old memory ([`OldMemRange`]), mapping it
//! into the kernel ([`OldMem`]) or read-only into a process
//! ([`remap_oldmem`]), and the per-page copy that honours memory encryption
//! and the `vmcore_cb` hooks ([`read_oldmem`]).
//!
//! Reading or mapping an arbitrary physical address is not something safe
//! code may do: device memory has side effects, and this kernel's own
//! memory holds its objects. So every access to old memory goes through an
//! [`OldMemRange`], which only `unsafe` code creates, from what the
//! crashed kernel's header says.
//!
//! # Examples
//!
//! ```
//! use kernel::crash_dump::{elfcorehdr, OldMemRange};
//!
//! /// The first bytes of the crashed kernel's ELF core header, if this is
//! /// a capture kernel. Only the first caller of `elfcorehdr()` gets it
//! /// (the `/proc/vmcore` provider does at boot), so this is not run here.
//! fn first_bytes() -> Result<Option<[u8; 64]>> {
//!     let Some(hdr) = elfcorehdr()? else {
//!         return Ok(None);
//!     };
//!     let mut ehdr = [0u8; 64];
//!     hdr.read(&mut ehdr)?;
//!     // Validate it, then name the segments it describes with
//!     // `unsafe { OldMemRange::new(..) }` to read them.
//!     hdr.free(false);
//!     Ok(Some(ehdr))
//! }
//! ```

use crate::{
    bindings,
    error::{code::*, to_result, Result},
    ffi::c_void,
    iov::IovIterDest,
    mm::virt::VmaMixedMap,
    page::PAGE_SIZE,
};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};

/// Set by the first call of [`elfcorehdr`]: the architecture's
/// `elfcorehdr_alloc()` runs at most once.
static HEADER_TAKEN: AtomicBool = AtomicBool::new(false);

/// The ELF core header handed over by the crashed kernel.
///
/// It is given back with [`ElfCoreHdr::free`], or on drop as not taken.
///
/// # Invariants
///
/// `addr` and `size` are what the architecture's `elfcorehdr_alloc()`
/// returned, and `elfcorehdr_free()` has not been called for them.
#[derive(Debug)]
pub struct ElfCoreHdr {
    addr: u64,
    size: u64,
}

/// Lets the architecture set up the ELF core header (`elfcorehdr_alloc()`)
/// and returns it, or `None` if this is not a capture kernel or its dump
/// was already taken or refused.
///
/// Only the first call asks the architecture; later ones fail with `EBUSY`
/// (the header is set up once per boot, as in C's `vmcore_init()`).
pub fn elfcorehdr() -> Result<Option<ElfCoreHdr>> {
    if HEADER_TAKEN.swap(true, Ordering::AcqRel) {
        return Err(EBUSY);
    }
    // SAFETY: only this first call writes the two globals (checked above),
    // as C's vmcore_init() does once at boot; they were set by the
    // `elfcorehdr=` parser before initcalls ran.
    unsafe {
        to_result(bindings::elfcorehdr_alloc(
            core::ptr::addr_of_mut!(bindings::elfcorehdr_addr),
            core::ptr::addr_of_mut!(bindings::elfcorehdr_size),
        ))?;
        if bindings::is_vmcore_usable() == 0 {
            return Ok(None);
        }
        // INVARIANT: just returned by elfcorehdr_alloc().
        Ok(Some(ElfCoreHdr {
            addr: bindings::elfcorehdr_addr,
            size: bindings::elfcorehdr_size,
        }))
    }
}

impl ElfCoreHdr {
    /// Physical address of the header.
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// Size in bytes of the header region, 0 if `elfcorehdr=` gave none.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Fills `buf` from the start of the header. Fails with `EINVAL` if the
    /// header's size is known and `buf` is larger.
    pub fn read(&self, buf: &mut [u8]) -> Result {
        if self.size != 0 && buf.len() as u64 > self.size {
            return Err(EINVAL);
        }
        read_with(self.addr, buf, bindings::elfcorehdr_read)
    }

    /// Fills `buf` from the start of `range` with the reader meant for
    /// notes, which decrypts memory-encrypted notes. Fails with `EINVAL` if
    /// `buf` is larger than `range`.
    pub fn read_notes(&self, range: &OldMemRange, buf: &mut [u8]) -> Result {
        if buf.len() > range.len {
            return Err(EINVAL);
        }
        read_with(range.paddr, buf, bindings::elfcorehdr_read_notes)
    }

    /// Gives the header back to the architecture (`elfcorehdr_free()`).
    /// With `taken`, also marks the dump as served (`vmcore_unusable()`):
    /// [`elfcorehdr`] would return `None` from then on.
    pub fn free(self, taken: bool) {
        let addr = self.addr;
        core::mem::forget(self);
        // SAFETY: `addr` came from elfcorehdr_alloc() and is freed once:
        // `self` is consumed without running `drop()`. Only
        // `vmcore_init()`'s owner (the one caller that got the header)
        // writes the usable flag.
        unsafe {
            bindings::elfcorehdr_free(addr);
            if taken {
                bindings::vmcore_unusable();
            }
        }
    }
}

impl Drop for ElfCoreHdr {
    fn drop(&mut self) {
        // SAFETY: from elfcorehdr_alloc(), not freed yet (type invariant).
        unsafe { bindings::elfcorehdr_free(self.addr) };
    }
}

type Reader = unsafe extern "C" fn(*mut crate::ffi::c_char, usize, *mut u64) -> isize;

fn read_with(mut pos: u64, buf: &mut [u8], read: Reader) -> Result {
    let mut done = 0;
    while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
        // SAFETY: `rest` is writable for its length; `pos` is a local.
        let n = unsafe { read(rest.as_mut_ptr().cast(), rest.len(), &mut pos) };
        let n = usize::try_from(n).map_err(|_| EIO)?;
        if n == 0 {
            return Err(EIO);
        }
        done = done.saturating_add(n);
    }
    Ok(())
}

/// A range of old memory: part of a segment the crashed kernel's ELF core
/// header describes.
///
/// # Invariants
///
/// `[paddr, paddr + len)` does not wrap, and is memory of the crashed
/// kernel that this kernel neither allocates from nor writes, and that may
/// be read without side effects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OldMemRange {
    paddr: u64,
    len: usize,
}

impl OldMemRange {
    /// The `len` bytes from physical address `paddr`, or `None` if the
    /// range wraps.
    ///
    /// # Safety
    ///
    /// The range must be old memory: a segment (or part of one) that the
    /// crashed kernel's ELF core header describes, which this kernel
    /// neither allocates from nor writes, and which reads without side
    /// effects. As in C, the header is trusted to describe memory.
    pub unsafe fn new(paddr: u64, len: usize) -> Option<Self> {
        paddr.checked_add(len as u64)?;
        // INVARIANT: no wrap (checked); old memory (safety section).
        Some(Self { paddr, len })
    }

    /// First physical address.
    pub fn paddr(&self) -> u64 {
        self.paddr
    }

    /// Bytes in the range.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `len` bytes from `offset` into this range, if they are in it.
    pub fn sub(&self, offset: usize, len: usize) -> Option<Self> {
        if offset.checked_add(len)? > self.len {
            return None;
        }
        // INVARIANT: a part of old memory is old memory.
        Some(Self {
            paddr: self.paddr.checked_add(offset as u64)?,
            len,
        })
    }
}

/// Whether old memory must be read page by page through the architecture
/// ([`read_oldmem`]): it is encrypted, or `callbacks` says a `vmcore_cb`
/// may report pages that are not RAM. Mapping it with [`OldMem`] would
/// bypass both.
pub fn oldmem_needs_checks(callbacks: bool) -> bool {
    // SAFETY: a pure query.
    callbacks || unsafe { bindings::cc_platform_has(bindings::cc_attr_CC_ATTR_MEM_ENCRYPT) }
}

/// Copies `range` into `out`, page by page, as C's `read_from_oldmem()`
/// does: decrypted if encrypted, zeros for pages a `vmcore_cb` says are not
/// RAM. No bounce buffer: the architecture copies straight into `out`.
/// Fails with `EINVAL` if `out` cannot take all of `range`, and with
/// `EFAULT` if it could not copy all of it.
pub fn read_oldmem(range: &OldMemRange, out: &mut IovIterDest<'_>) -> Result {
    if out.len() < range.len {
        return Err(EINVAL);
    }
    let mut pos = range.paddr;
    // SAFETY: `out` is a valid destination iterator for the call; the
    // bytes read are old memory (`OldMemRange` invariant); a pure query for
    // the encryption flag.
    let n = unsafe {
        let enc = bindings::cc_platform_has(bindings::cc_attr_CC_ATTR_MEM_ENCRYPT);
        bindings::read_from_oldmem(out.as_raw(), range.len, &mut pos, enc)
    };
    if usize::try_from(n).ok() != Some(range.len) {
        return Err(EFAULT);
    }
    Ok(())
}

/// A range of old memory mapped into the kernel, write-back cached
/// (`memremap(MEMREMAP_WB)`).
///
/// Mapping a large range at once replaces the map-copy-unmap of every page
/// that the per-page readers pay.
///
/// # Invariants
///
/// `ptr` is the `memremap()` of `len` bytes of old memory, unmapped on drop.
/// Nothing writes old memory in the capture kernel.
pub struct OldMem {
    ptr: NonNull<c_void>,
    len: usize,
}

// SAFETY: a mapping of memory nothing writes; it may be read and unmapped
// from any thread.
unsafe impl Send for OldMem {}
// SAFETY: `&OldMem` only reads.
unsafe impl Sync for OldMem {}

impl OldMem {
    /// Maps `range`.
    ///
    /// Fails with `EINVAL` if it is empty, and with `ERANGE` if any of it
    /// is RAM of this kernel: a range partly RAM cannot be mapped in one
    /// piece, and RAM would be reached through the direct map, which leaves
    /// out the partial pages at the edges of a RAM range (kexec-tools gives
    /// the capture kernel its ELF core header and its copy of the crashed
    /// kernel's first 640 KiB as RAM, not page-aligned). Read such a range
    /// with [`read_oldmem`], which maps it a page at a time.
    pub fn map(range: &OldMemRange) -> Result<Self> {
        let OldMemRange { paddr, len } = *range;
        if len == 0 {
            return Err(EINVAL);
        }
        // SAFETY: a query of the resource tree.
        let ram = unsafe {
            bindings::region_intersects(
                paddr,
                len,
                bindings::IORESOURCE_SYSTEM_RAM as _,
                bindings::IORES_DESC_NONE as _,
            )
        };
        if ram != bindings::REGION_DISJOINT as i32 {
            return Err(ERANGE);
        }
        // SAFETY: mapping memory that reads without side effects and that
        // nothing writes (`OldMemRange` invariant).
        let ptr = unsafe { bindings::memremap(paddr, len, bindings::MEMREMAP_WB as _) };
        // INVARIANT: just mapped, `len` bytes of old memory.
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(ENOMEM)?,
            len,
        })
    }

    /// The mapped bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` mapped bytes that nothing writes (type invariant).
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr().cast(), self.len) }
    }
}

impl Drop for OldMem {
    fn drop(&mut self) {
        // SAFETY: mapped by memremap() (type invariant).
        unsafe { bindings::memunmap(self.ptr.as_ptr()) };
    }
}

/// Maps `range`, which must start and end on a page boundary, at `addr` of
/// `vma`, read-only (`remap_oldmem_pfn_range()`, which the architecture may
/// override). Fails as [`VmaMixedMap::map_user_buf`] does.
pub fn remap_oldmem(vma: &VmaMixedMap, addr: usize, range: &OldMemRange) -> Result {
    if range.paddr % PAGE_SIZE as u64 != 0 {
        return Err(EINVAL);
    }
    let pfn = usize::try_from(range.paddr / PAGE_SIZE as u64).map_err(|_| EINVAL)?;
    // SAFETY: old memory stays valid and unwritten for the life of the
    // capture kernel and reads without side effects (`OldMemRange`
    // invariant); the architecture's remap_oldmem_pfn_range() maps the
    // frames it is given, as remap_pfn_range() does.
    unsafe { vma.map_pfns(addr, pfn, range.len, bindings::remap_oldmem_pfn_range) }
}

/// Maps the zero page at `addr` of `vma`, read-only: for pages of old
/// memory a `vmcore_cb` says are not RAM, as C does.
pub fn remap_zero_page(vma: &VmaMixedMap, addr: usize) -> Result {
    // SAFETY: a pure query.
    let zero = unsafe { bindings::my_zero_pfn(addr as _) } as usize;
    // SAFETY: the zero page is never freed and reads as zeros; the
    // architecture's remap_oldmem_pfn_range() maps the frames it is given.
    unsafe { vma.map_pfns(addr, zero, PAGE_SIZE, bindings::remap_oldmem_pfn_range) }
}
