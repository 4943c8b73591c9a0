// SPDX-License-Identifier: GPL-2.0

//! The crashed kernel's memory, seen from the capture kernel.
//!
//! C header: [`include/linux/crash_dump.h`](srctree/include/linux/crash_dump.h)
//!
//! In a kdump capture kernel, `elfcorehdr=` gives the physical address of
//! the ELF core header the crashed kernel left, and the memory it describes
//! ("old memory") lies outside the capture kernel's own RAM. These are the
//! ways to reach both: the architecture's header readers, mapping a range
//! of old memory into the kernel ([`OldMem`]) or into a process
//! ([`remap_oldmem`]), and the per-page copy that honours memory
//! encryption and the `vmcore_cb` hooks ([`read_oldmem`]).

use crate::{
    bindings,
    error::{code::*, to_result, Result},
    ffi::c_void,
    mm::VmArea,
};
use core::ptr::NonNull;

/// The ELF core header handed over by the crashed kernel.
#[derive(Clone, Copy, Debug)]
pub struct ElfCoreHdr {
    /// Physical address.
    pub addr: u64,
    /// Size in bytes, 0 if `elfcorehdr=` gave none.
    pub size: u64,
}

/// Lets the architecture set up the ELF core header (`elfcorehdr_alloc()`)
/// and returns it, or `None` if this is not a capture kernel or its dump
/// was already taken or refused.
pub fn elfcorehdr() -> Result<Option<ElfCoreHdr>> {
    // SAFETY: the two globals are written once at boot by the
    // `elfcorehdr=` parser and, here, by the architecture's
    // elfcorehdr_alloc() during this initcall; nothing runs concurrently.
    unsafe {
        to_result(bindings::elfcorehdr_alloc(
            core::ptr::addr_of_mut!(bindings::elfcorehdr_addr),
            core::ptr::addr_of_mut!(bindings::elfcorehdr_size),
        ))?;
        if bindings::is_vmcore_usable() == 0 {
            return Ok(None);
        }
        Ok(Some(ElfCoreHdr { addr: bindings::elfcorehdr_addr, size: bindings::elfcorehdr_size }))
    }
}

impl ElfCoreHdr {
    /// Fills `buf` from the header's bytes at `offset`.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result {
        read_with(self.addr.checked_add(offset).ok_or(EINVAL)?, buf, bindings::elfcorehdr_read)
    }

    /// Fills `buf` from old memory at `paddr` with the reader meant for
    /// notes, which decrypts memory-encrypted notes.
    pub fn read_notes(&self, paddr: u64, buf: &mut [u8]) -> Result {
        read_with(paddr, buf, bindings::elfcorehdr_read_notes)
    }

    /// Gives the header back to the architecture (`elfcorehdr_free()`).
    /// With `taken`, also marks the dump as served (`vmcore_unusable()`),
    /// which makes [`elfcorehdr`] return `None` from then on.
    pub fn free(self, taken: bool) {
        // SAFETY: the header came from elfcorehdr(); the globals are only
        // written during this initcall (see elfcorehdr()).
        unsafe {
            bindings::elfcorehdr_free(self.addr);
            if taken {
                bindings::vmcore_unusable();
            }
        }
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

/// Whether old memory must be read page by page through the architecture
/// ([`read_oldmem`]): it is encrypted, or a `vmcore_cb` may report pages
/// that are not RAM. Mapping it with [`OldMem`] would bypass both.
pub fn oldmem_needs_checks(callbacks: bool) -> bool {
    // SAFETY: a pure query.
    callbacks || unsafe { bindings::cc_platform_has(bindings::cc_attr_CC_ATTR_MEM_ENCRYPT) }
}

/// Fills `buf` from old memory at `paddr`, page by page, as C's
/// `read_from_oldmem()` does: decrypted if encrypted, zeros for pages a
/// `vmcore_cb` says are not RAM.
pub fn read_oldmem(paddr: u64, buf: &mut [u8]) -> Result {
    let mut kvec = bindings::kvec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    let mut iter = core::mem::MaybeUninit::<bindings::iov_iter>::uninit();
    let mut pos = paddr;
    // SAFETY: `kvec` describes `buf`, which outlives the iterator; a pure
    // query for the encryption flag.
    let n = unsafe {
        bindings::iov_iter_kvec(iter.as_mut_ptr(), bindings::ITER_DEST as _, &mut kvec, 1, buf.len());
        let enc = bindings::cc_platform_has(bindings::cc_attr_CC_ATTR_MEM_ENCRYPT);
        bindings::read_from_oldmem(iter.as_mut_ptr(), buf.len(), &mut pos, enc)
    };
    if usize::try_from(n).ok() != Some(buf.len()) {
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
/// Old memory belongs to no one in the capture kernel: nothing writes it.
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
    /// Maps `len` bytes of old memory from `paddr`.
    ///
    /// Fails with `ERANGE` if any of the range is RAM of this kernel: a
    /// range partly RAM cannot be mapped in one piece, and RAM would be
    /// reached through the direct map, which leaves out the partial pages
    /// at the edges of a RAM range (kexec-tools gives the crash kernel its
    /// ELF core header and its copy of the crashed kernel's first 640 KiB
    /// as RAM, not page-aligned). Read such a range with [`read_oldmem`],
    /// which maps it a page at a time.
    ///
    /// # Safety
    ///
    /// `[paddr, paddr + len)` must be old memory: a range of the crashed
    /// kernel's RAM that the capture kernel neither owns nor writes.
    pub unsafe fn map(paddr: u64, len: usize) -> Result<Self> {
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
        // SAFETY: mapping physical memory has no effect on its own; the
        // range is old memory (safety section).
        let ptr = unsafe { bindings::memremap(paddr, len, bindings::MEMREMAP_WB as _) };
        // INVARIANT: just mapped, `len` bytes.
        Ok(Self { ptr: NonNull::new(ptr).ok_or(ENOMEM)?, len })
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

/// Maps the `size` bytes of old memory from page `pfn` at `addr` of `vma`
/// (`remap_oldmem_pfn_range()`, which the architecture may override).
pub fn remap_oldmem(vma: &mut VmArea, addr: usize, pfn: usize, size: usize) -> Result {
    vma.check_range(addr, size)?;
    let raw = vma.as_raw();
    // SAFETY: the range is in the area (checked), which is being set up
    // under the mmap lock (`VmArea` invariant); old memory is never freed.
    to_result(unsafe {
        bindings::remap_oldmem_pfn_range(raw, addr as _, pfn as _, size as _, (*raw).vm_page_prot)
    })
}

/// The zero page's frame, for holes in a mapping.
pub fn zero_pfn() -> usize {
    // SAFETY: a pure query.
    unsafe { bindings::my_zero_pfn(0) as usize }
}
