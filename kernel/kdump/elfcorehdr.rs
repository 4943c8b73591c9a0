// SPDX-License-Identifier: GPL-2.0

//! C face of the Rust ELF core header builder.
//!
//! Replaces `crash_prepare_elf64_headers()` and `crash_exclude_mem_range()`
//! of kernel/crash_core.c (compiled out by the hook patch when
//! `CONFIG_CRASH_ELFCOREHDR_RUST` is set), with the same names and
//! signatures, declared in include/linux/crash_core.h. The bytes and the
//! range arithmetic come from the `kdump` core (`kdump::elfcorehdr`); this
//! file reads the machine's values through kernel/kdump/elfcorehdr_glue.c
//! and moves them between C and the core.
//!
//! Both run in process context on the kexec_file_load() path (and on CPU or
//! memory hotplug with `CONFIG_CRASH_HOTPLUG`): they may allocate.

use core::ffi::c_void;
use kdump::elfcorehdr::{build, header_size, CoreInfo, CrashMem, ElfError, KernelMap, Range};
use kernel::alloc::{flags::GFP_KERNEL, VVec};
use kernel::bindings;
use kernel::error::code::{EINVAL, ENOMEM};
use kernel::ffi::{c_int, c_ulong, c_ulonglong};
use kernel::prelude::*;

const __LOG_PREFIX: &[u8] = b"crash\0";

// The core's `Range` stands for the `struct range` entries of a
// `struct crash_mem`: the same layout, checked at build time.
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<Range>() == size_of::<bindings::range>());
    assert!(align_of::<Range>() == align_of::<bindings::range>());
    assert!(offset_of!(Range, start) == offset_of!(bindings::range, start));
    assert!(offset_of!(Range, end) == offset_of!(bindings::range, end));
};

/// The ranges of a `struct crash_mem`, as the core's [`CrashMem`].
///
/// # Safety
///
/// `mem` must point to a valid `struct crash_mem` whose flexible array
/// holds `max(max_nr_ranges, nr_ranges)` entries, not used by anyone else
/// until the returned value is dropped.
unsafe fn crash_mem<'a>(mem: *mut bindings::crash_mem) -> Result<CrashMem<'a>, ElfError> {
    // SAFETY: `mem` is valid (function safety section).
    let (max, len) = unsafe { ((*mem).max_nr_ranges as usize, (*mem).nr_ranges as usize) };
    // x86's memmap_exclude_ranges() hands over one range in use with
    // max_nr_ranges left at 0. Ranges in use are valid memory, so the array
    // holds at least `len` entries; a split still needs `max > len`, as in C.
    let slots = max.max(len);
    // SAFETY: `struct range` is two `u64`s like `Range` (`#[repr(C)]`);
    // the array holds `slots` of them (see above and the safety section).
    let slots = unsafe {
        core::slice::from_raw_parts_mut(
            core::ptr::addr_of_mut!((*mem).ranges).cast::<Range>(),
            slots,
        )
    };
    CrashMem::with_ranges(slots, len)
}

fn errno(e: ElfError) -> c_int {
    match e {
        ElfError::NoRoom => ENOMEM.to_errno(),
        _ => EINVAL.to_errno(),
    }
}

/// Removes `[mstart, mend]` from the ranges of `mem`; a range that contains
/// it is split, which needs a free slot.
///
/// Returns 0, `-ENOMEM` if a split finds no free slot (then `mem` is
/// unchanged), or `-EINVAL` (with one `pr_err`) if the ranges of `mem` are
/// not sorted and disjoint or `mend < mstart`.
///
/// # Safety
///
/// `mem` must be a valid `struct crash_mem` with `max_nr_ranges` slots,
/// used by no one else during the call.
#[no_mangle]
pub unsafe extern "C" fn crash_exclude_mem_range(
    mem: *mut bindings::crash_mem,
    mstart: c_ulonglong,
    mend: c_ulonglong,
) -> c_int {
    // SAFETY: forwarded from this function's safety section.
    let res = unsafe { crash_mem(mem) }.and_then(|mut m| {
        m.exclude(mstart, mend)?;
        let n = m.len() as u32;
        // SAFETY: `mem` is valid and ours during the call.
        unsafe { (*mem).nr_ranges = n };
        Ok(())
    });
    match res {
        Ok(()) => 0,
        Err(ElfError::NoRoom) => ENOMEM.to_errno(),
        Err(e) => {
            pr_err!(
                "cannot exclude {:#x}-{:#x} from the crash memory ranges: {:?}\n",
                mstart,
                mend,
                e
            );
            errno(e)
        }
    }
}

/// Builds the ELF core header for the ranges of `mem`: one `PT_NOTE` per
/// possible CPU, the VMCOREINFO `PT_NOTE`, the kernel text `PT_LOAD` if
/// `need_kernel_map`, one `PT_LOAD` per range. On success `*addr` is a
/// vzalloc()ed buffer of `*sz` bytes that the caller frees with vfree().
///
/// Returns 0, `-ENOMEM`, or `-EINVAL` (with one `pr_err`) for ranges that
/// are not sorted and disjoint.
///
/// # Safety
///
/// `mem` must be a valid `struct crash_mem`; `addr` and `sz` must be valid
/// for writes.
#[no_mangle]
pub unsafe extern "C" fn crash_prepare_elf64_headers(
    mem: *mut bindings::crash_mem,
    need_kernel_map: c_int,
    addr: *mut *mut c_void,
    sz: *mut c_ulong,
) -> c_int {
    let mut m = bindings::kdump_elfcorehdr_machine {
        machine: 0,
        osabi: 0,
        nr_cpus: 0,
        cpu_note_size: 0,
        vmcoreinfo: 0,
        vmcoreinfo_size: 0,
        text: 0,
        text_size: 0,
        text_pa: 0,
        direct_map: 0,
    };
    // SAFETY: `m` is a valid, writable struct.
    unsafe { bindings::kdump_elfcorehdr_machine(&mut m) };
    let nr_cpus = m.nr_cpus as usize;
    let Ok(mut notes) = VVec::<u64>::from_elem(0, nr_cpus, GFP_KERNEL) else {
        pr_err!("cannot allocate the note addresses of {} CPUs\n", nr_cpus);
        return ENOMEM.to_errno();
    };
    // SAFETY: `notes` has room for `nr_cpus` values.
    let got = unsafe { bindings::kdump_crash_notes_paddr(notes.as_mut_ptr(), m.nr_cpus) } as usize;
    // SAFETY: forwarded from this function's safety section.
    let ranges = match unsafe { crash_mem(mem) } {
        Ok(r) => r,
        Err(e) => {
            pr_err!("crash memory ranges are not sorted and disjoint: {:?}\n", e);
            return errno(e);
        }
    };
    let info = CoreInfo {
        machine: m.machine,
        osabi: m.osabi,
        cpu_notes: notes.get(..got).unwrap_or(&[]),
        cpu_note_size: m.cpu_note_size,
        vmcoreinfo: m.vmcoreinfo,
        vmcoreinfo_size: m.vmcoreinfo_size,
        kernel_map: (need_kernel_map != 0).then_some(KernelMap {
            vaddr: m.text,
            paddr: m.text_pa,
            size: m.text_size,
        }),
        direct_map: m.direct_map,
    };
    let Ok(size) = header_size(got, ranges.len()) else {
        pr_err!(
            "an ELF core header for {} CPUs and {} ranges is too big\n",
            got,
            ranges.len()
        );
        return ENOMEM.to_errno();
    };
    // SAFETY: plain allocation; the result is checked for NULL.
    let buf = unsafe { bindings::kdump_vzalloc(size as c_ulong) }.cast::<u8>();
    if buf.is_null() {
        pr_err!("cannot allocate {} bytes for the ELF core header\n", size);
        return ENOMEM.to_errno();
    }
    // SAFETY: `buf` is a fresh allocation of `size` bytes, ours until it is
    // handed to the caller.
    let out = unsafe { core::slice::from_raw_parts_mut(buf, size) };
    match build(out, &info, ranges.ranges()) {
        Ok(n) => {
            // SAFETY: `addr` and `sz` are valid for writes (safety section).
            unsafe {
                *addr = buf.cast();
                *sz = n as c_ulong;
            }
            0
        }
        Err(e) => {
            pr_err!("cannot build the ELF core header: {:?}\n", e);
            // SAFETY: `buf` came from vzalloc() and is not used after this.
            unsafe { bindings::vfree(buf.cast()) };
            errno(e)
        }
    }
}
