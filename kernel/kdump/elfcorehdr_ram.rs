// SPDX-License-Identifier: GPL-2.0

//! Rust twin of arm64's and riscv's `prepare_elf_headers()`
//! (arch/{arm64,riscv}/kernel/machine_kexec_file.c, compiled out by the hook
//! patches when `CONFIG_CRASH_ELFCOREHDR_RUST` is set): the ELF core header
//! that `kexec -s -p` loads for the capture kernel.
//!
//! The two C versions differ only in where RAM comes from, which
//! `kdump_walk_mem_ranges()` (elfcorehdr_glue.c) answers per architecture:
//! memblock on arm64 (which keeps it after boot), the System RAM resources
//! on riscv. `crashk_res` and, if reserved, `crashk_low_res` are excluded,
//! and the header is built by
//! `crash_prepare_elf64_headers()` with the kernel text map. Both are the
//! Rust twins of kernel/kdump/elfcorehdr.rs reached through their C
//! prototypes, as the C version reaches the C ones. Unlike x86_64, nothing
//! below 1 MiB is excluded: neither architecture has a BIOS area the capture
//! kernel reuses.

use core::ffi::c_void;
use core::ptr::addr_of;
use kernel::bindings;
use kernel::error::code::{EINVAL, ENOMEM};
use kernel::ffi::{c_int, c_ulong};
use kernel::prelude::*;

const __LOG_PREFIX: &[u8] = b"kexec_file\0";

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

/// kdump_walk_mem_ranges() callback counting ranges.
///
/// # Safety
///
/// `arg` points to a `u32` that nothing else uses during the walk.
unsafe extern "C" fn count_ranges(_start: u64, _end: u64, arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `u32` counter passed by `kdump_rust_prepare_elf_headers`.
    unsafe { *arg.cast::<u32>() = (*arg.cast::<u32>()).saturating_add(1) };
    0
}

/// kdump_walk_mem_ranges() callback appending `[start, end)` to the
/// crash_mem as an inclusive range.
///
/// Returns `-ENOMEM` (which stops the walk) if there is no slot left:
/// memory was added between the count and this walk; `-EINVAL` for an
/// empty range, which neither walk gives.
///
/// # Safety
///
/// `arg` points to a `crash_mem` with `max_nr_ranges` slots that nothing
/// else uses during the walk.
unsafe extern "C" fn add_range(start: u64, end: u64, arg: *mut c_void) -> c_int {
    let Some(last) = end.checked_sub(1).filter(|&l| l >= start) else {
        return EINVAL.to_errno();
    };
    let mem = arg.cast::<bindings::crash_mem>();
    // SAFETY: `arg` is the crash_mem of `kdump_rust_prepare_elf_headers`,
    // whose flexible array has `max_nr_ranges` slots.
    unsafe {
        let n = (*mem).nr_ranges;
        if n >= (*mem).max_nr_ranges {
            return ENOMEM.to_errno();
        }
        let slot = core::ptr::addr_of_mut!((*mem).ranges)
            .cast::<bindings::range>()
            .add(n as usize);
        (*slot).start = start;
        (*slot).end = last;
        (*mem).nr_ranges = n + 1;
    }
    0
}

/// See `kdump_rust_prepare_elf_headers()` in include/linux/kdump_rust.h.
///
/// # Safety
///
/// `addr` and `sz` must be valid for writes.
#[no_mangle]
pub unsafe extern "C" fn kdump_rust_prepare_elf_headers(
    addr: *mut *mut c_void,
    sz: *mut c_ulong,
) -> c_int {
    let mut count: u32 = 0;
    // SAFETY: the callback only increments the counter passed as `arg`.
    unsafe {
        bindings::kdump_walk_mem_ranges(Some(count_ranges), core::ptr::addr_of_mut!(count).cast())
    };
    // Excluding the crash kernel and its low part can split two ranges.
    let slots = count.saturating_add(2);
    let Some(cmem) = CrashMemBox::new(slots) else {
        pr_err!("cannot allocate {} memory ranges\n", slots);
        return ENOMEM.to_errno();
    };
    // SAFETY: the callback writes within the crash_mem's slots only.
    let ret = unsafe { bindings::kdump_walk_mem_ranges(Some(add_range), cmem.0.cast()) };
    if ret != 0 {
        pr_err!("RAM changed while the ELF core header was prepared\n");
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
    // As in C: the crash kernel always, its low part only if reserved.
    let exclude = [crash, low];
    let n = if low.1 != 0 { 2 } else { 1 };
    for &(start, end) in exclude.iter().take(n) {
        // SAFETY: `cmem` is a valid crash_mem owned here.
        let ret = unsafe { bindings::crash_exclude_mem_range(cmem.0, start, end) };
        if ret != 0 {
            pr_err!(
                "cannot exclude {:#x}-{:#x} from the memory ranges: {}\n",
                start,
                end,
                ret
            );
            return ret;
        }
    }
    // SAFETY: `cmem` is valid; the out pointers are valid for writes
    // (function safety section).
    unsafe { bindings::crash_prepare_elf64_headers(cmem.0, 1, addr, sz) }
}
