// SPDX-License-Identifier: GPL-2.0

//! Rust twin of x86's `prepare_elf_headers()` (arch/x86/kernel/crash.c,
//! compiled out by the hook patch when `CONFIG_CRASH_ELFCOREHDR_RUST` is
//! set): the ELF core header for `kexec -s -p` and for crash hotplug
//! updates.
//!
//! System RAM comes from the iomem resource tree, the low 1 MiB and the
//! crash kernel reservations are excluded, and the header is built by
//! `crash_prepare_elf64_headers()` with the kernel text map, both of which
//! are the Rust twins of kernel/kdump/elfcorehdr.rs reached through their C
//! prototypes, as the C version reaches the C ones.

use core::ffi::c_void;
use core::ptr::addr_of;
use kernel::bindings;
use kernel::error::code::{EINVAL, ENOMEM};
use kernel::ffi::{c_int, c_ulong};
use kernel::prelude::*;

const __LOG_PREFIX: &[u8] = b"crash\0";

/// A `struct crash_mem` from kdump_crash_mem_alloc(), freed on drop.
///
/// # Invariants
///
/// `0` is a valid, exclusively owned `struct crash_mem` with
/// `max_nr_ranges` slots.
struct CrashMemBox(*mut bindings::crash_mem);

impl CrashMemBox {
    fn new(slots: u32) -> Option<Self> {
        // SAFETY: plain allocation; the result is checked for NULL.
        let p = unsafe { bindings::kdump_crash_mem_alloc(slots) };
        // INVARIANT: a non-NULL result is a fresh crash_mem with `slots` slots.
        (!p.is_null()).then_some(CrashMemBox(p))
    }
}

impl Drop for CrashMemBox {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the pointer came from vzalloc() and
        // is owned here.
        unsafe { bindings::vfree(self.0.cast()) };
    }
}

/// walk_system_ram_res() callback counting ranges.
///
/// # Safety
///
/// `arg` points to a `u32` that nothing else uses during the walk.
unsafe extern "C" fn count_ranges(_res: *mut bindings::resource, arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `u32` counter passed by `kdump_rust_prepare_elf_headers`.
    unsafe { *arg.cast::<u32>() = (*arg.cast::<u32>()).saturating_add(1) };
    0
}

/// walk_system_ram_res() callback appending a range to the crash_mem.
///
/// Returns `-ENOMEM` (which stops the walk) if there is no slot left: RAM
/// was added between the count and this walk.
///
/// # Safety
///
/// `arg` points to a `crash_mem` with `max_nr_ranges` slots that nothing
/// else uses during the walk, and `res` to a valid resource.
unsafe extern "C" fn add_range(res: *mut bindings::resource, arg: *mut c_void) -> c_int {
    let mem = arg.cast::<bindings::crash_mem>();
    // SAFETY: `arg` is the crash_mem of `kdump_rust_prepare_elf_headers`,
    // `res` a valid resource for the duration of the callback.
    unsafe {
        let n = (*mem).nr_ranges;
        if n >= (*mem).max_nr_ranges {
            return ENOMEM.to_errno();
        }
        let slot = core::ptr::addr_of_mut!((*mem).ranges)
            .cast::<bindings::range>()
            .add(n as usize);
        (*slot).start = (*res).start;
        (*slot).end = (*res).end;
        (*mem).nr_ranges = n + 1;
    }
    0
}

/// See `kdump_rust_prepare_elf_headers()` in include/linux/kdump_rust.h.
///
/// # Safety
///
/// `addr`, `sz` and `nr_mem_ranges` must be valid for writes.
#[no_mangle]
pub unsafe extern "C" fn kdump_rust_prepare_elf_headers(
    addr: *mut *mut c_void,
    sz: *mut c_ulong,
    nr_mem_ranges: *mut c_ulong,
) -> c_int {
    let mut count: u32 = 0;
    // SAFETY: the callback only increments the counter passed as `arg`.
    unsafe {
        bindings::walk_system_ram_res(
            0,
            u64::MAX,
            core::ptr::addr_of_mut!(count).cast(),
            Some(count_ranges),
        )
    };
    if count == 0 {
        pr_err!("no System RAM in the iomem resource tree\n");
        return ENOMEM.to_errno();
    }
    // Excluding the crash kernel and its low part can split two ranges.
    let Some(cmem) = CrashMemBox::new(count.saturating_add(2)) else {
        pr_err!(
            "cannot allocate {} memory ranges\n",
            count.saturating_add(2)
        );
        return ENOMEM.to_errno();
    };
    // SAFETY: the callback writes within the crash_mem's slots only.
    let ret = unsafe { bindings::walk_system_ram_res(0, u64::MAX, cmem.0.cast(), Some(add_range)) };
    if ret != 0 {
        pr_err!("System RAM changed while the ELF core header was prepared\n");
        return ret;
    }
    // SAFETY: `crashk_res`/`crashk_low_res` are only written at boot and by
    // crash_shrink_memory() under kexec_lock, which our caller holds.
    let (crash, low) = unsafe {
        let (c, l) = (
            addr_of!(bindings::crashk_res),
            addr_of!(bindings::crashk_low_res),
        );
        (((*c).start, (*c).end), ((*l).start, (*l).end))
    };
    // The low 1 MiB is always reserved; the low reservation only if any.
    let exclude = [(0u64, (1u64 << 20) - 1), crash, low];
    let n = if low.1 != 0 { 3 } else { 2 };
    for &(start, end) in exclude.iter().take(n) {
        // SAFETY: `cmem` is a valid crash_mem owned here.
        let ret = unsafe { bindings::crash_exclude_mem_range(cmem.0, start, end) };
        if ret != 0 {
            pr_err!(
                "cannot exclude {:#x}-{:#x} from System RAM: {}\n",
                start,
                end,
                ret
            );
            return ret;
        }
    }
    // SAFETY: `cmem` is valid; the out pointers are valid for writes
    // (function safety section).
    unsafe {
        *nr_mem_ranges = (*cmem.0).nr_ranges as c_ulong;
        let ret = bindings::crash_prepare_elf64_headers(cmem.0, 1, addr, sz);
        if ret == EINVAL.to_errno() {
            pr_err!("System RAM ranges are not sorted and disjoint\n");
        }
        ret
    }
}
