// SPDX-License-Identifier: GPL-2.0

//! `/proc/vmcore` in Rust.
//!
//! Replaces the provider half of fs/proc/vmcore.c (compiled out by the hook
//! patch when `CONFIG_PROC_VMCORE_RUST` is set): at `fs_initcall` time the
//! capture kernel reads the ELF core header the crashed kernel left at
//! `elfcorehdr=`, validates it, merges its notes and lays out the file with
//! the `kdump` core ([`kdump::vmcore`]), then serves `/proc/vmcore` (mode
//! 0400) with read() and mmap() through [`kernel::proc_fs`].
//!
//! Where C copies old memory a page at a time, mapping and unmapping each
//! page, read() here maps up to [`CHUNK`] bytes at once ([`OldMem`]),
//! copies them out in one go and keeps the mapping for the next read, so
//! that small sequential reads map each window once. Up to [`WINDOWS`]
//! windows are kept, the least recently used replaced, so that as many
//! concurrent readers (`makedumpfile --num-threads`, several `dd`s) each
//! keep theirs; windows are shared by reference count, so readers copy
//! without holding a lock and never unmap one another's. Reads
//! are served through `read_iter`, so `splice()` and `sendfile()` work as
//! with C. When old memory is encrypted or a `vmcore_cb` is registered
//! (asked on every read() and mmap(), as C asks), reads go page by page
//! through the architecture as in C, and mmap() asks the callbacks about
//! every page; so does a read of old memory that this kernel also lists as
//! its RAM (kexec-tools' copy of the first 640 KiB and its ELF core header
//! page): see [`OldMem::map`].
//!
//! A header that fails validation disables `/proc/vmcore` with one
//! `pr_err` naming the ELF field at fault; the kernel keeps running.

use core::sync::atomic::{AtomicPtr, Ordering};
use kdump::vmcore::{
    device_dump_size, header_len, write_device_dump_header, Class, CoreHeader, Expect, Extents,
    HeaderError, Layout, Load, MergeError, Region, DEVICE_DUMP_HEADER, EHDR_MAX,
};
use kernel::alloc::{flags::GFP_KERNEL, KBox, KVec, VVec};
use kernel::bindings;
use kernel::c_str;
use kernel::crash_dump::{self, ElfCoreHdr, OldMem, OldMemRange};
use kernel::error::code::{EAGAIN, EINVAL, EIO, ENODEV, ENOMEM, EPERM, ERANGE};
use kernel::ffi::{c_int, c_void};
use kernel::iov::IovIterDest;
use kernel::mm::virt::{VmaMixedMap, VmaNew};
use kernel::mm::UserMapBuf;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::proc_fs::{ProcFile, Registration};
use kernel::sync::{Arc, Mutex};
use kernel::{new_mutex, pin_init};

const __LOG_PREFIX: &[u8] = b"vmcore\0";

/// Most bytes of old memory one read() maps at once; mappings start on a
/// multiple of it, so a sequential reader maps each window once.
const CHUNK: usize = 2 << 20;

/// Windows of old memory kept mapped: one for each of up to this many
/// readers going through the file at once.
const WINDOWS: usize = 4;

/// Most bytes the ELF header and its program headers may span: 65534
/// `Elf64_Phdr`s and more fit.
const MAX_HEADER: usize = 4 << 20;

/// Most bytes of `PT_NOTE` segments, all CPUs' and VMCOREINFO together.
const MAX_NOTES: usize = 64 << 20;

/// The `e_machine` this kernel accepts, as `elf_check_arch()`.
#[cfg(CONFIG_X86_64)]
const MACHINE: u16 = kdump::vmcore::EM_X86_64;
/// The `e_machine` this kernel accepts, as `elf_check_arch()`.
#[cfg(CONFIG_ARM64)]
const MACHINE: u16 = kdump::vmcore::EM_AARCH64;
/// The `e_machine` this kernel accepts, as `elf_check_arch()`.
#[cfg(CONFIG_RISCV)]
const MACHINE: u16 = kdump::vmcore::EM_RISCV;

/// The ELF class this kernel accepts: riscv's `elf_check_arch()` wants its
/// own, x86_64's and arm64's take both.
#[cfg(CONFIG_RISCV)]
const CLASS: Option<Class> = Some(Class::Elf64);
/// The ELF class this kernel accepts: riscv's `elf_check_arch()` wants its
/// own, x86_64's and arm64's take both.
#[cfg(not(CONFIG_RISCV))]
const CLASS: Option<Class> = None;

// The core lays the file out in its pages; mmap() maps this kernel's.
const _: () = assert!(PAGE_SIZE as u64 == kdump::vmcore::PAGE_SIZE);

/// The dump: the crashed kernel's header, from which the file is laid out
/// again when a driver adds a device dump, and the file as it is now.
#[pin_data]
struct Vmcore {
    /// The crashed kernel's ELF header and program headers, validated.
    ehdr: KVec<u8>,
    expect: Expect,
    /// Bytes of merged notes.
    notes_size: usize,
    /// The file as it is laid out now, replaced whole when a device dump
    /// is added. The lock is held only to take or replace a reference.
    #[pin]
    file: Mutex<Arc<File>>,
    /// The old memory recent reads mapped, kept for the next ones. The
    /// lock is held only to look a window up or to put one in.
    #[pin]
    windows: Mutex<Windows>,
}

/// The file's first [`Extents::data_offset`] bytes (header, device dumps,
/// notes and their padding) and where each `PT_LOAD` lies in the rest.
struct File {
    head: UserMapBuf,
    loads: KVec<Load>,
    extents: Extents,
}

impl File {
    /// Lays the file out for `core`, with the device `dumps` (each a whole
    /// number of pages, in order) then the merged `notes` in its
    /// `PT_NOTE` segment.
    fn new(core: CoreHeader<'_>, notes: &[u8], dumps: &[&[u8]]) -> Result<Self, SetupError> {
        let dumps_size = dumps
            .iter()
            .try_fold(0usize, |n, d| n.checked_add(d.len()))
            .ok_or(HeaderError::FileSize)?;
        let mut loads =
            KVec::from_elem(Load::default(), usize::from(core.load_count()), GFP_KERNEL)?;
        let layout = Layout::with_device_dumps(core, notes.len(), dumps_size, &mut loads)?;
        let extents = layout.extents();
        let data_offset =
            usize::try_from(extents.data_offset()).map_err(|_| HeaderError::FileSize)?;
        let mut head = UserMapBuf::new(data_offset)?;
        let mut at = layout.write_header(head.as_mut_slice())?;
        for part in Iterator::chain(dumps.iter(), core::iter::once(&notes)) {
            let end = at.checked_add(part.len()).ok_or(SetupError::NoMemory)?;
            let dst = head
                .as_mut_slice()
                .get_mut(at..end)
                .ok_or(SetupError::NoMemory)?;
            kdump::copy_bytes(dst, part);
            at = end;
        }
        Ok(File {
            head,
            loads,
            extents,
        })
    }

    /// The device dumps in [`File::head`], one after the other.
    fn dumps(&self) -> &[u8] {
        let at = self.extents.header_size();
        self.head
            .as_slice()
            .get(at..at.saturating_add(self.extents.device_dumps()))
            .unwrap_or(&[])
    }

    /// The merged notes in [`File::head`].
    fn notes(&self, size: usize) -> &[u8] {
        let at = self
            .extents
            .header_size()
            .saturating_add(self.extents.device_dumps());
        self.head
            .as_slice()
            .get(at..at.saturating_add(size))
            .unwrap_or(&[])
    }
}

/// The windows kept mapped, each with when it was last used.
#[derive(Default)]
struct Windows {
    slots: [Option<(Arc<Window>, u64)>; WINDOWS],
    clock: u64,
}

impl Windows {
    /// A window that holds `paddr..paddr + len`, marked used.
    fn find(&mut self, paddr: u64, len: usize) -> Option<Arc<Window>> {
        self.clock = self.clock.wrapping_add(1);
        let now = self.clock;
        self.slots
            .iter_mut()
            .flatten()
            .find(|(w, _)| w.get(paddr, len).is_some())
            .map(|(w, used)| {
                *used = now;
                w.clone()
            })
    }

    /// Keeps `w` in place of the least recently used window (or an empty
    /// slot), which it returns so that the caller unmaps it, if it was the
    /// last user, after dropping the lock.
    fn insert(&mut self, w: Arc<Window>) -> Option<Arc<Window>> {
        self.clock = self.clock.wrapping_add(1);
        let now = self.clock;
        let slot = self
            .slots
            .iter_mut()
            .min_by_key(|s| s.as_ref().map_or(0, |(_, used)| *used))?;
        slot.replace((w, now)).map(|(old, _)| old)
    }
}

/// Old memory from `paddr` mapped by [`OldMem::map`].
struct Window {
    paddr: u64,
    map: OldMem,
}

impl Window {
    /// The mapped bytes `paddr..paddr + len`, if they are all in the window.
    fn get(&self, paddr: u64, len: usize) -> Option<&[u8]> {
        let at = usize::try_from(paddr.checked_sub(self.paddr)?).ok()?;
        self.map.as_slice().get(at..at.checked_add(len)?)
    }
}

/// The registered `/proc/vmcore`, for [`kdump_vmcore_cleanup`].
static VMCORE: AtomicPtr<Registration<Vmcore>> = AtomicPtr::new(core::ptr::null_mut());

/// Why the dump could not be set up, for the one log line.
enum SetupError {
    Header(HeaderError),
    OwnRam(u64),
    ReadHeader(u64),
    ReadNotes(u16),
    NotesTooBig(usize),
    NoMemory,
}

impl From<HeaderError> for SetupError {
    fn from(e: HeaderError) -> Self {
        SetupError::Header(e)
    }
}

impl From<kernel::alloc::AllocError> for SetupError {
    fn from(_: kernel::alloc::AllocError) -> Self {
        SetupError::NoMemory
    }
}

impl From<Error> for SetupError {
    fn from(_: Error) -> Self {
        SetupError::NoMemory
    }
}

impl Vmcore {
    /// The dump and the size of its file.
    fn new(hdr: &ElfCoreHdr) -> Result<(impl PinInit<Self>, u64), SetupError> {
        let max_size = match usize::try_from(hdr.size()) {
            Ok(size) if size > 0 => size.min(MAX_HEADER),
            _ => MAX_HEADER,
        };
        let expect = Expect {
            machine: MACHINE,
            class: CLASS,
            max_size,
        };
        let mut ehdr = [0u8; EHDR_MAX];
        refuse_own_ram(hdr.addr(), EHDR_MAX)?;
        hdr.read(&mut ehdr)
            .map_err(|_| SetupError::ReadHeader(hdr.addr()))?;
        let len = header_len(&ehdr, &expect)?;
        refuse_own_ram(hdr.addr(), len)?;
        let mut bytes = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        hdr.read(&mut bytes)
            .map_err(|_| SetupError::ReadHeader(hdr.addr()))?;
        let core = CoreHeader::parse(&bytes, &expect)?;
        if core.notes_max() > MAX_NOTES {
            return Err(SetupError::NotesTooBig(core.notes_max()));
        }
        let mut notes = VVec::from_elem(0u8, core.notes_max(), GFP_KERNEL)?;
        let read_segment = |paddr, buf: &mut [u8]| {
            // SAFETY: a PT_NOTE segment of the crashed kernel's header
            // (`merge_notes()` reads no other), which the capture kernel
            // trusts to name old memory, as C does.
            let range = unsafe { OldMemRange::new(paddr, buf.len()) }.ok_or(EINVAL)?;
            hdr.read_notes(&range, buf)
        };
        let merged = core
            .merge_notes(&mut notes, read_segment)
            .map_err(|e| match e {
                MergeError::NoRoom { .. } => SetupError::NoMemory,
                MergeError::Read { index, .. } => SetupError::ReadNotes(index),
            })?;
        if let Some(drop) = merged.first_drop {
            pr_warn!(
                "{} PT_NOTE segment(s) cut short; first: program header {}: {}\n",
                merged.dropped,
                drop.index,
                drop.error
            );
        }
        let notes = notes.get(..merged.size).ok_or(SetupError::NoMemory)?;
        let file = File::new(core, notes, &[])?;
        let size = file.extents.size();
        let file = Arc::new(file, GFP_KERNEL)?;
        let vmcore = pin_init!(Vmcore {
            ehdr: bytes,
            expect,
            notes_size: merged.size,
            file <- new_mutex!(file),
            windows <- new_mutex!(Windows::default()),
        });
        Ok((vmcore, size))
    }

    /// Copies the first `len` bytes of `range` to `out`: from the mapped
    /// window, or page by page where mapping is not possible or not
    /// allowed. `range` (at most to the end of [`CHUNK`]) is what a new
    /// window maps.
    fn copy_oldmem(&self, out: &mut IovIterDest<'_>, range: &OldMemRange, len: usize) -> Result {
        let mut paged = || crash_dump::read_oldmem(&range.sub(0, len).ok_or(EINVAL)?, out);
        if needs_checks() {
            return paged();
        }
        let paddr = range.paddr();
        let found = self.windows.lock().find(paddr, len);
        let window = match found {
            Some(w) => w,
            None => {
                let map = match OldMem::map(range) {
                    Ok(map) => map,
                    Err(e) if e == ERANGE => return paged(),
                    Err(e) => return Err(e),
                };
                let w = Arc::new(Window { paddr, map }, GFP_KERNEL)?;
                // The window it replaces is unmapped when its last reader
                // drops it, outside the lock.
                let old = self.windows.lock().insert(w.clone());
                drop(old);
                w
            }
        };
        // No lock is held across the copy, which may fault on user memory.
        out.write_all(window.get(paddr, len).ok_or(EINVAL)?)
    }

    /// Maps `range` at `addr` of `vma`.
    fn remap_oldmem(&self, vma: &VmaMixedMap, addr: usize, range: &OldMemRange) -> Result {
        if !needs_checks() {
            return crash_dump::remap_oldmem(vma, addr, range);
        }
        // Runs of RAM are mapped whole; a page that is not RAM gets the
        // zero page, as C's remap_oldmem_pfn_checked() does. Checked
        // arithmetic throughout (no overflow panic behind the mmap face):
        // the range and the area both span `pages` pages.
        let pages = range.len() / PAGE_SIZE;
        let first_pfn = range.paddr() / PAGE_SIZE as u64;
        let at = |page: usize| {
            page.checked_mul(PAGE_SIZE)
                .and_then(|off| addr.checked_add(off))
                .ok_or(EINVAL)
        };
        let mut run = 0usize;
        for i in 0..=pages {
            let pfn = first_pfn.checked_add(i as u64).ok_or(EINVAL)?;
            // SAFETY: a pure query of the vmcore_cb registry.
            let ram = i < pages && unsafe { bindings::vmcore_rust_pfn_is_ram(pfn as _) };
            if ram {
                run = run.saturating_add(1);
                continue;
            }
            if run > 0 {
                let start = i.saturating_sub(run);
                let part = range
                    .sub(
                        start.saturating_mul(PAGE_SIZE),
                        run.saturating_mul(PAGE_SIZE),
                    )
                    .ok_or(EINVAL)?;
                crash_dump::remap_oldmem(vma, at(start)?, &part)?;
                run = 0;
            }
            if i < pages {
                crash_dump::remap_zero_page(vma, at(i)?)?;
            }
        }
        Ok(())
    }
}

/// Whether old memory must be read page by page and mapped after asking
/// the `vmcore_cb`s: asked on every read() and mmap(), as C asks.
fn needs_checks() -> bool {
    // SAFETY: a query of the registry, in process context.
    crash_dump::oldmem_needs_checks(unsafe { bindings::vmcore_rust_has_callbacks() })
}

/// The old memory `len` bytes from `paddr`, which [`Extents::locate`] said
/// lie in one `PT_LOAD`.
fn load_range(paddr: u64, len: usize) -> Result<OldMemRange> {
    // SAFETY: part of a PT_LOAD of the crashed kernel's header (the caller
    // has it from `locate()`), which the capture kernel trusts to name old
    // memory, as C does.
    unsafe { OldMemRange::new(paddr, len) }.ok_or(EINVAL)
}

#[vtable]
impl ProcFile for Vmcore {
    fn open(&self) -> Result {
        // SAFETY: takes the registry's lock; marks the dump opened so that
        // later vmcore_cb registrations warn, as in C.
        unsafe { bindings::vmcore_rust_open() };
        Ok(())
    }

    fn read(&self, out: &mut IovIterDest<'_>, pos: u64) -> Result<usize> {
        let file = self.file.lock().clone();
        let (mut pos, mut done) = (pos, 0usize);
        while !out.is_empty() {
            let want = out.len();
            let n = match file.extents.locate(&file.loads, pos) {
                Region::End => break,
                Region::OldMem { paddr, len } => {
                    let span = (CHUNK - (paddr as usize % CHUNK))
                        .min(usize::try_from(len).unwrap_or(usize::MAX));
                    let n = span.min(want);
                    self.copy_oldmem(out, &load_range(paddr, span)?, n)?;
                    n
                }
                // The header, the device dumps, the notes and their
                // padding are the first `data_offset` bytes of `head`, as
                // in the file.
                r => {
                    let at = usize::try_from(pos).map_err(|_| EINVAL)?;
                    let n = usize::try_from(r.len()).unwrap_or(usize::MAX).min(want);
                    out.write_all(
                        file.head
                            .as_slice()
                            .get(at..at.saturating_add(n))
                            .ok_or(EIO)?,
                    )?;
                    n
                }
            };
            // Checked, not `+=`: no overflow panic behind a C face (`n`
            // is at most what is left of the file and of `out`).
            pos = pos.checked_add(n as u64).ok_or(EINVAL)?;
            done = done.saturating_add(n);
            // SAFETY: process context, no lock held.
            unsafe { bindings::cond_resched() };
        }
        Ok(done)
    }

    fn mmap(&self, vma: &VmaNew) -> Result {
        let size = vma.end().checked_sub(vma.start()).ok_or(EINVAL)?;
        let start = (vma.pgoff() as u64)
            .checked_mul(PAGE_SIZE as u64)
            .ok_or(EINVAL)?;
        let end = start.checked_add(size as u64).ok_or(EINVAL)?;
        let file = self.file.lock().clone();
        if end > file.extents.size() {
            return Err(EINVAL);
        }
        if vma.writable() || vma.executable() {
            return Err(EPERM);
        }
        vma.try_clear_maywrite()?;
        vma.try_clear_mayexec()?;
        let vma = vma.set_mixedmap();
        vma.set_sigbus_on_fault();
        // A failure leaves a partial mapping, which mmap() tears down with
        // the area; C fails with EAGAIN then, and so do we.
        self.map_range(&file, vma, start, end).map_err(|_| EAGAIN)
    }
}

impl Vmcore {
    /// Maps the bytes `start..end` of `file` at the start of `vma`.
    fn map_range(&self, file: &File, vma: &VmaMixedMap, start: u64, end: u64) -> Result {
        let (mut pos, mut addr) = (start, vma.start());
        while pos < end {
            let left = end.saturating_sub(pos);
            let n = match file.extents.locate(&file.loads, pos) {
                Region::End => return Err(EINVAL),
                Region::OldMem { paddr, len } => {
                    let n = len.min(left) as usize;
                    self.remap_oldmem(vma, addr, &load_range(paddr, n)?)?;
                    n
                }
                _ => {
                    let n = file.extents.data_offset().saturating_sub(pos).min(left) as usize;
                    vma.map_user_buf(addr, &file.head, pos as usize, n)?;
                    n
                }
            };
            // Checked: `n` is at most `end - pos`, and the area spans
            // `end - start` bytes from its start.
            pos = pos.checked_add(n as u64).ok_or(EINVAL)?;
            addr = addr.checked_add(n).ok_or(EINVAL)?;
        }
        Ok(())
    }
}

/// Fails if `len` bytes from `paddr` touch RAM this kernel may use: a
/// bogus `elfcorehdr=`, refused before anything maps it (x86's ioremap()
/// would WARN). Loaders put the header outside this kernel's RAM or in
/// reserved pages.
fn refuse_own_ram(paddr: u64, len: usize) -> Result<(), SetupError> {
    // SAFETY: a query of the memory map.
    if unsafe { bindings::kdump_vmcore_in_own_ram(paddr, len as u64) } {
        return Err(SetupError::OwnRam(paddr));
    }
    Ok(())
}

fn log_setup_error(hdr: &ElfCoreHdr, e: &SetupError) {
    match e {
        SetupError::OwnRam(addr) => pr_err!(
            "ELF core header at {:#x} refused: elfcorehdr: in this kernel's own RAM, not memory a crashed kernel left; /proc/vmcore disabled\n",
            addr
        ),
        SetupError::Header(e) => {
            pr_err!("ELF core header at {:#x} refused: {}; /proc/vmcore disabled\n", hdr.addr(), e)
        }
        SetupError::ReadHeader(addr) => {
            pr_err!("cannot read the ELF core header at {:#x}; /proc/vmcore disabled\n", addr)
        }
        SetupError::ReadNotes(i) => {
            pr_err!("cannot read PT_NOTE segment of program header {}; /proc/vmcore disabled\n", i)
        }
        SetupError::NotesTooBig(n) => {
            pr_err!(
                "p_memsz: PT_NOTE segments total {} bytes, limit {}; /proc/vmcore disabled\n",
                n,
                MAX_NOTES
            )
        }
        SetupError::NoMemory => {
            pr_err!("out of memory setting up the dump; /proc/vmcore disabled\n")
        }
    }
}

fn init() -> Result {
    let Some(hdr) = crash_dump::elfcorehdr()? else {
        return Ok(());
    };
    let (vmcore, size) = match Vmcore::new(&hdr) {
        Ok(v) => v,
        Err(e) => {
            log_setup_error(&hdr, &e);
            // The line C prints, which scripts look for.
            pr_warn!("Kdump: vmcore not initialized\n");
            hdr.free(false);
            return Err(match e {
                SetupError::NoMemory => ENOMEM,
                _ => EINVAL,
            });
        }
    };
    hdr.free(true);
    let reg = Registration::new(c_str!("vmcore"), 0o400, size, vmcore)?;
    let reg = KBox::into_raw(KBox::new(reg, GFP_KERNEL)?);
    if VMCORE
        .compare_exchange(
            core::ptr::null_mut(),
            reg,
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_err()
    {
        // SAFETY: not published: ours, from `KBox::into_raw` above.
        drop(unsafe { KBox::from_raw(reg) });
        return Err(EINVAL);
    }
    Ok(())
}

/// Sets up `/proc/vmcore` in a capture kernel; called once, at
/// `fs_initcall` time, by kernel/kdump/vmcore_glue.c.
#[no_mangle]
pub extern "C" fn kdump_vmcore_init() -> c_int {
    match init() {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Removes `/proc/vmcore` and frees the dump, for `vmcore_cleanup()` of
/// linux/crash_dump.h (kernel/kdump/vmcore_glue.c), which serialises it
/// with [`kdump_vmcore_add_device_dump`].
#[no_mangle]
pub extern "C" fn kdump_vmcore_cleanup() {
    let reg = VMCORE.swap(core::ptr::null_mut(), Ordering::AcqRel);
    if !reg.is_null() {
        // SAFETY: published by init() from `KBox::into_raw`; the swap made
        // it ours alone.
        drop(unsafe { KBox::from_raw(reg) });
    }
}

impl Vmcore {
    /// Lays the file out again with `dump` (a device dump, note header
    /// included, a whole number of pages) after the dumps it has, and
    /// returns the new size of the file. Readers that took the old layout
    /// finish with it.
    ///
    /// Callers are serialised (see [`kdump_vmcore_add_device_dump`]), so
    /// the file does not change between taking it here and replacing it.
    fn add_device_dump(&self, dump: &[u8]) -> Result<u64, SetupError> {
        let current = self.file.lock().clone();
        let core = CoreHeader::parse(&self.ehdr, &self.expect)?;
        let file = File::new(
            core,
            current.notes(self.notes_size),
            &[current.dumps(), dump],
        )?;
        let size = file.extents.size();
        let file = Arc::new(file, GFP_KERNEL)?;
        let old = core::mem::replace(&mut *self.file.lock(), file);
        // Freed when its last reader is done, outside the lock.
        drop(old);
        Ok(size)
    }
}

/// Adds a driver's device dump to `/proc/vmcore`: the Rust provider's
/// `vmcore_add_device_dump()`, which kernel/kdump/vmcore_glue.c exports
/// after checking `novmcoredd`.
///
/// As in C: the dump's name must be a non-empty NUL-terminated string, its
/// size non-zero and its callback set (`-EINVAL` otherwise); the callback
/// fills a zeroed buffer of `size` bytes, and what it returns other than 0
/// is returned. The dump then comes first in the `PT_NOTE` segment, after
/// those added before, as a note `NT_VMCOREDD` named `"LINUX"`. `-ENODEV`
/// if this kernel serves no dump.
///
/// # Safety
///
/// `data` is null or points to a `struct vmcoredd_data` valid for the
/// call, whose callback may be called with it. Calls are serialised with
/// each other and with [`kdump_vmcore_cleanup`].
#[no_mangle]
pub unsafe extern "C" fn kdump_vmcore_add_device_dump(data: *mut bindings::vmcoredd_data) -> c_int {
    // SAFETY: null or valid for the call (function contract).
    let Some(d) = (unsafe { data.as_ref() }) else {
        return EINVAL.to_errno();
    };
    // Copied out: the callback may write to `*data`.
    let (name_field, callback, len) = (d.dump_name, d.vmcoredd_callback, d.size as usize);
    let (Some(nul), Some(callback)) = (name_field.iter().position(|&b| b == 0), callback) else {
        return EINVAL.to_errno();
    };
    let name = name_field.get(..nul).unwrap_or(&[]);
    let Some(size) = device_dump_size(len) else {
        return EINVAL.to_errno();
    };
    let reg = VMCORE.load(Ordering::Acquire);
    if reg.is_null() {
        return ENODEV.to_errno();
    }
    // SAFETY: published by init(); only kdump_vmcore_cleanup() frees it,
    // and the function contract keeps it from running meanwhile.
    let reg = unsafe { &*reg };
    let Ok(mut dump) = VVec::from_elem(0u8, size, GFP_KERNEL) else {
        return ENOMEM.to_errno();
    };
    let Some((hdr, body)) = dump.split_first_chunk_mut::<DEVICE_DUMP_HEADER>() else {
        return EINVAL.to_errno();
    };
    if write_device_dump_header(hdr, name, size).is_err() {
        return EINVAL.to_errno();
    }
    // SAFETY: the driver's callback, given its own `data` (function
    // contract) and a zeroed buffer of `size - DEVICE_DUMP_HEADER >= len`
    // bytes that nothing else uses, as the C provider gives it.
    let ret = unsafe { callback(data, body.as_mut_ptr().cast::<c_void>()) };
    if ret != 0 {
        return ret;
    }
    let result = reg.data().add_device_dump(&dump).map_err(|e| match e {
        SetupError::NoMemory => ENOMEM,
        _ => EINVAL,
    });
    match result.and_then(|size| reg.set_size(size)) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
