// SPDX-License-Identifier: GPL-2.0

//! Rust side of the panic-path handoff.
//!
//! `crash_kexec()` and `__crash_kexec()` of kernel/crash_core.c are
//! compiled out by the hook patch when `CONFIG_CRASH_HANDOFF_RUST` is set;
//! kernel/kdump/handoff_glue.c defines them again, with the same names and
//! signatures (include/linux/crash_core.h), as a register capture in a frame
//! that stays live until the jump followed by a call to the two faces here.
//! panic() calls `__crash_kexec()` (before or, with
//! `crash_kexec_post_notifiers`, after the panic notifiers); an oops with
//! `panic_on_oops`, or in interrupt context, calls `crash_kexec()`.
//!
//! Who may enter the crash kernel and in which order the steps run is the
//! `kdump` core's [`kdump::handoff`]; this file gives it the kernel's
//! `panic_cpu`, the kexec lock and a [`Machine`] made of the captured
//! registers, `crash_save_vmcoreinfo()`, `machine_crash_shutdown()` and
//! `machine_kexec()`.
//!
//! `panic_cpu` and the kexec lock are C `atomic_t`s that C code uses too;
//! [`CAtomic`] reaches them through the kernel's own accessors (C helpers in
//! rust/helpers/atomic.c), so every operation has the ordering the kernel
//! memory model gives the C twin, on every architecture.
//!
//! Both run with interrupts off, possibly in NMI context: nothing here
//! allocates, sleeps, takes a lock other than the tried kexec lock, or can
//! panic. `kdump.py test` checks the last point on the built vmlinux: no
//! function reachable from these two faces calls a `core::panicking`
//! function.

use kdump::handoff::{crash_kexec_locked, AtomicWord, Machine};
use kernel::bindings;
use kernel::ffi::c_int;

/// A `struct pt_regs` the handoff can create zeroed.
#[repr(transparent)]
struct Regs(bindings::pt_regs);

impl Default for Regs {
    fn default() -> Self {
        // SAFETY: `struct pt_regs` holds integers only (in unions of
        // integers on x86 and arm64), for which all-zero bytes are a valid
        // value.
        Regs(unsafe { core::mem::zeroed() })
    }
}

/// The running kernel as the handoff's [`Machine`].
struct Kernel;

impl Machine for Kernel {
    type Regs = Regs;

    fn crash_image_loaded(&self) -> bool {
        !crash_image().is_null()
    }

    fn setup_regs(&self, fixed: &mut Regs, regs: Option<&Regs>) {
        // The C caller captured them (kdump_rust_crash_kexec_locked()), so
        // there always are some; a copy, as crash_setup_regs() makes of an
        // oops's.
        if let Some(regs) = regs {
            fixed.0 = regs.0;
        }
    }

    fn save_vmcoreinfo(&self) {
        // SAFETY: callable on the panic path; it only writes the
        // VMCOREINFO note of this kernel.
        unsafe { bindings::crash_save_vmcoreinfo() };
    }

    fn shutdown(&self, regs: &mut Regs) {
        // SAFETY: `regs` is a valid `struct pt_regs`; this is the one CPU
        // in the handoff (the core holds panic_cpu and the kexec lock).
        unsafe { bindings::machine_crash_shutdown(&mut regs.0) };
    }

    fn kexec(&self) {
        // SAFETY: a crash image is loaded (checked under the kexec lock,
        // still held), so it is a valid `struct kimage`.
        unsafe { bindings::machine_kexec(crash_image()) };
    }
}

/// `kexec_crash_image`.
fn crash_image() -> *mut bindings::kimage {
    // SAFETY: `kexec_crash_image` is a pointer-sized global, only changed
    // under the kexec lock, which the core holds whenever it asks.
    unsafe { core::ptr::addr_of!(bindings::kexec_crash_image).read_volatile() }
}

/// A C `atomic_t` that lives as long as the kernel.
///
/// # Invariants
///
/// The pointer is that of a static, aligned `atomic_t`.
struct CAtomic(*mut bindings::atomic_t);

impl AtomicWord for CAtomic {
    fn try_cmpxchg(&self, old: i32, new: i32) -> Result<(), i32> {
        let mut found = old;
        // SAFETY: `self.0` is a valid `atomic_t` (type invariant) and
        // `found` a valid `int`.
        if unsafe { bindings::atomic_try_cmpxchg(self.0, &mut found, new) } {
            Ok(())
        } else {
            Err(found)
        }
    }

    fn cmpxchg_acquire(&self, old: i32, new: i32) -> i32 {
        // SAFETY: `self.0` is a valid `atomic_t` (type invariant).
        unsafe { bindings::atomic_cmpxchg_acquire(self.0, old, new) }
    }

    fn set(&self, value: i32) {
        // SAFETY: `self.0` is a valid `atomic_t` (type invariant).
        unsafe { bindings::atomic_set(self.0, value) }
    }

    fn set_release(&self, value: i32) {
        // SAFETY: `self.0` is a valid `atomic_t` (type invariant).
        unsafe { bindings::atomic_set_release(self.0, value) }
    }
}

/// `__kexec_lock`.
fn kexec_lock() -> CAtomic {
    // INVARIANT: kdump_kexec_lock_word() returns the address of the static
    // `__kexec_lock`.
    // SAFETY: it only returns that address.
    CAtomic(unsafe { bindings::kdump_kexec_lock_word() })
}

/// `panic_cpu`.
fn panic_cpu() -> CAtomic {
    // INVARIANT: `panic_cpu` is a static `atomic_t`.
    CAtomic(core::ptr::addr_of_mut!(bindings::panic_cpu))
}

/// `__crash_kexec()`: enters the loaded crash kernel, if any and if the
/// kexec lock is free, without looking at `panic_cpu`: the caller (panic())
/// owns it already.
///
/// Returns only if nothing was loaded, the lock was held (a kexec load in
/// progress, or a panic inside the handoff), or the jump came back.
///
/// # Safety
///
/// `regs` must point to a valid `struct pt_regs` (the registers the dump
/// records, captured by the caller). Called with interrupts off by the CPU
/// that owns the panic path.
#[no_mangle]
pub unsafe extern "C" fn kdump_rust_crash_kexec_locked(regs: *mut bindings::pt_regs) {
    // SAFETY: `regs` is valid (function safety section), and `Regs` is a
    // transparent wrapper of `struct pt_regs`.
    let regs = unsafe { regs.cast::<Regs>().as_ref() };
    let _ = crash_kexec_locked(&kexec_lock(), &Kernel, regs);
}

/// `crash_kexec()`: enters the crash kernel if `this_cpu` is the first to
/// claim the panic path (moves `panic_cpu` from `PANIC_CPU_INVALID` to
/// itself), then, if the handoff returns, gives the panic path back. On any
/// other CPU, or if the panic path is already this CPU's, it returns at once.
///
/// # Safety
///
/// `regs` must point to a valid `struct pt_regs`, `this_cpu` must be the
/// CPU this runs on. Called with preemption off (an oops, or a BPF program
/// with `KF_DESTRUCTIVE`).
#[no_mangle]
pub unsafe extern "C" fn kdump_rust_crash_kexec(this_cpu: c_int, regs: *mut bindings::pt_regs) {
    // SAFETY: as in `kdump_rust_crash_kexec_locked`.
    let regs = unsafe { regs.cast::<Regs>().as_ref() };
    let _ = kdump::handoff::crash_kexec(&panic_cpu(), &kexec_lock(), this_cpu, &Kernel, regs);
}
