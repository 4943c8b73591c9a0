// SPDX-License-Identifier: GPL-2.0

//! C face of the Rust `crashkernel=` parser and reservation.
//!
//! Replaces `parse_crashkernel()` and `reserve_crashkernel_generic()` of
//! kernel/crash_reserve.c (which the hook patch compiles out when
//! `CONFIG_CRASH_RESERVE_RUST` is set), with the same names and signatures,
//! declared in include/linux/crash_reserve.h. The decisions are made by the
//! `kdump` core (`kdump::cmdline`, `kdump::reserve`); this file only moves
//! values between C and the core, talks to memblock and sets up
//! `crashk_res`/`crashk_low_res` so that the rest of the kernel (kexec
//! loading, `/sys/kernel/kexec_crash_size`) works unchanged.
//!
//! Both functions run from `setup_arch()`, before any initcall: nothing here
//! allocates or needs more than memblock and printk. Like their C twins they
//! are `__init` (in .init.text, freed after boot); the core code they call is
//! ordinary .text, shared with the KUnit suites and the host builds, and
//! stays (`kdump.py test` step `reserve-boot-resident` measures it).

use core::ptr::addr_of_mut;
use kdump::cmdline::{parse_crashkernel as parse, size_word, Arch, CrashKernel, Reason};
use kdump::reserve::{reserve, Limits, PhysAlloc, ReserveError};
use kernel::bindings;
use kernel::error::code::EINVAL;
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;
use kernel::str::BStr;

#[path = "c_str.rs"]
mod c_str;

const __LOG_PREFIX: &[u8] = b"crashkernel\0";

/// The architecture's limits, as C computes them.
fn arch_limits() -> (Limits, bool) {
    let mut l = bindings::kdump_crash_limits {
        align: 0,
        low_max: 0,
        high_max: 0,
        default_low_size: 0,
        iomem_early: false,
    };
    // SAFETY: `l` is a valid, writable `struct kdump_crash_limits`.
    unsafe { bindings::kdump_crash_reserve_limits(&mut l) };
    let limits = Limits {
        align: l.align,
        low_max: l.low_max,
        high_max: l.high_max,
        default_low_size: l.default_low_size,
    };
    (limits, l.iomem_early)
}

/// memblock, during `setup_arch()`.
struct Memblock;

impl PhysAlloc for Memblock {
    fn alloc_range(&mut self, size: u64, align: u64, start: u64, end: u64) -> u64 {
        // SAFETY: memblock is initialised when `reserve_crashkernel_generic()`
        // runs (from `setup_arch()`); the call takes plain values.
        unsafe { bindings::kdump_memblock_phys_alloc_range(size, align, start, end) }
    }

    fn free(&mut self, base: u64, size: u64) {
        // SAFETY: `base`/`size` describe a block `alloc_range` just returned.
        unsafe { bindings::kdump_memblock_phys_free(base, size) };
    }
}

/// Logs why `crashkernel=` was rejected: one line naming the word.
fn report(cmdline: &[u8], e: &kdump::cmdline::ParseError) {
    let word = BStr::from_bytes(e.word(cmdline));
    let wrapped = if e.overflow {
        " (a number does not fit in 64 bits)"
    } else {
        ""
    };
    match e.reason {
        // No crashkernel= at all: nothing to say, as in C.
        Reason::Missing => {}
        Reason::ZeroSize => pr_info!(
            "'{}': size resulted in zero bytes, nothing reserved\n",
            word
        ),
        reason => pr_warn!(
            "'{}': {}{}, nothing reserved\n",
            word,
            reason.as_str(),
            wrapped
        ),
    }
}

/// Parses `crashkernel=` in `cmdline`; the Rust twin of C's
/// `parse_crashkernel()`.
///
/// Returns 0 or `-EINVAL` and fills the outputs as the C function does. A
/// non-NULL `high` asks for the `,high`/`,low` forms too (then `low_size`
/// must be valid as well).
///
/// # Safety
///
/// `cmdline` must be a valid NUL-terminated string. `crash_size` and
/// `crash_base` must be valid for writes or NULL (then `-EINVAL` is
/// returned); `low_size` and `high` must both be valid for writes or `high`
/// must be NULL.
#[no_mangle]
// `__init`, as in C: only setup_arch() calls it, and the kernel frees
// .init.text after boot.
#[link_section = ".init.text"]
pub unsafe extern "C" fn parse_crashkernel(
    cmdline: *mut c_char,
    system_ram: u64,
    crash_size: *mut u64,
    crash_base: *mut u64,
    low_size: *mut u64,
    high: *mut bool,
) -> c_int {
    if cmdline.is_null() || crash_size.is_null() || crash_base.is_null() {
        // C has BUG_ON() here; rejecting the call is enough.
        return EINVAL.to_errno();
    }
    // SAFETY: The caller passes a valid NUL-terminated command line.
    let s = unsafe { c_str::c_str_bytes(cmdline) };
    let high_low = !high.is_null() && !low_size.is_null();
    let default_low_size = if high_low {
        arch_limits().0.default_low_size
    } else {
        0
    };
    let p = parse(
        s,
        system_ram,
        Arch {
            high_low,
            default_low_size,
        },
    );

    // SAFETY: Checked non-NULL above; the caller guarantees validity.
    unsafe {
        crash_size.write(p.request.size);
        crash_base.write(p.request.base);
    }
    // C writes these only on the ,high path; its callers start them at 0 and
    // false, which is what the core reports when that path did not run.
    if high_low && (p.request.high || p.request.low_size != 0) {
        // SAFETY: Both are non-NULL here and valid per the caller.
        unsafe {
            low_size.write(p.request.low_size);
            high.write(p.request.high);
        }
    }
    if let Err(e) = &p.result {
        report(s, e);
    }
    p.ret()
}

/// Records a reservation in `res` and, where the architecture does that
/// early, in `iomem_resource`.
fn publish(res: *mut bindings::resource, base: u64, size: u64, iomem_early: bool) {
    // SAFETY: `res` is `crashk_res` or `crashk_low_res`, only written here
    // during single-threaded early boot.
    unsafe {
        (*res).start = base;
        (*res).end = base.saturating_add(size).saturating_sub(1);
    }
    if iomem_early {
        // SAFETY: Both resources are valid statics; `iomem_resource` is the
        // root of the iomem tree.
        unsafe { bindings::insert_resource(addr_of_mut!(bindings::iomem_resource), res) };
    }
}

/// Reserves the crash kernel memory; the Rust twin of C's
/// `reserve_crashkernel_generic()`.
///
/// # Safety
///
/// Must be called once, from `setup_arch()` while memblock is the allocator,
/// with values from [`parse_crashkernel`]; `cmdline` is the command line they
/// came from (NUL-terminated) or NULL.
#[no_mangle]
// `__init`, as in C: only setup_arch() calls it, and the kernel frees
// .init.text after boot.
#[link_section = ".init.text"]
pub unsafe extern "C" fn reserve_crashkernel_generic(
    cmdline: *mut c_char,
    crash_size: u64,
    crash_base: u64,
    crash_low_size: u64,
    high: bool,
) {
    let (limits, iomem_early) = arch_limits();
    let req = CrashKernel {
        size: crash_size,
        base: crash_base,
        low_size: crash_low_size,
        high,
    };
    let r = match reserve(req, limits, &mut Memblock) {
        Ok(r) => r,
        Err(ReserveError::FixedInUse) => {
            // SAFETY: The caller passes the NUL-terminated boot command line
            // it parsed (or NULL, then there is no word to name).
            let cmd = (!cmdline.is_null()).then(|| unsafe { c_str::c_str_bytes(cmdline) });
            let word = BStr::from_bytes(cmd.and_then(size_word).unwrap_or(b"crashkernel=@"));
            if crash_base.checked_rem(limits.align).unwrap_or(0) != 0 {
                pr_warn!(
                    "'{}': offset {:#x} is not aligned to {:#x}, nothing reserved\n",
                    word,
                    crash_base,
                    limits.align
                );
            } else {
                pr_warn!(
                    "'{}': memory at {:#x} is in use, nothing reserved\n",
                    word,
                    crash_base
                );
            }
            // SAFETY: prints a constant line.
            unsafe { bindings::kdump_crash_log_in_use() };
            return;
        }
        Err(ReserveError::NoRoom) => {
            // SAFETY: prints a line with the value.
            unsafe { bindings::kdump_crash_log_no_room(crash_size, false) };
            return;
        }
        Err(ReserveError::NoRoomLow { low_size }) => {
            // SAFETY: prints a line with the value.
            unsafe { bindings::kdump_crash_log_no_room(low_size, true) };
            return;
        }
    };
    if let Some((low_base, low_size)) = r.low {
        // SAFETY: prints a line with the values.
        unsafe { bindings::kdump_crash_log_reserved(low_base, low_size, true) };
        publish(
            addr_of_mut!(bindings::crashk_low_res),
            low_base,
            low_size,
            iomem_early,
        );
    }
    // SAFETY: prints a line with the values.
    unsafe { bindings::kdump_crash_log_reserved(r.base, r.size, false) };
    // The crash kernel memory leaves the linear map: kmemleak must not scan
    // it.
    // SAFETY: Plain value; kmemleak tolerates any address.
    unsafe { bindings::kdump_kmemleak_ignore_phys(r.base) };
    if let Some((low_base, _)) = r.low {
        // SAFETY: As above.
        unsafe { bindings::kdump_kmemleak_ignore_phys(low_base) };
    }
    publish(
        addr_of_mut!(bindings::crashk_res),
        r.base,
        r.size,
        iomem_early,
    );
}
