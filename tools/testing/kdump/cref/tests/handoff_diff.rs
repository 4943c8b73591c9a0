// SPDX-License-Identifier: GPL-2.0

//! Differential test: the panic-path handoff protocol of `kdump::handoff`
//! against the kernel's `__crash_kexec()` and `crash_kexec()`
//! (kernel/crash_core.c, with kexec_trylock()/kexec_unlock() of
//! kernel/kexec_internal.h, cut from the base tarball and compiled for the
//! host).
//!
//! Every combination of entry point, `panic_cpu` owner, kexec lock state,
//! loaded image, calling CPU, saved registers and a nested call made from
//! inside `machine_kexec()` (a panic or an oops inside the handoff, on this
//! CPU or another) must produce the same machine steps in the same order and
//! leave `panic_cpu` and the lock in the same state.

use kdump::handoff::{crash_kexec, crash_kexec_locked, Machine, PANIC_CPU_INVALID};
use kdump_cref::handoff::{self as c, Event};
use std::cell::RefCell;
use std::sync::atomic::{AtomicI32, Ordering};

#[derive(Clone, Copy, Debug)]
enum Entry {
    /// `__crash_kexec()`: panic().
    Locked,
    /// `crash_kexec()`: an oops.
    Claim,
}

#[derive(Clone, Copy, Debug)]
struct Case {
    entry: Entry,
    panic_cpu: i32,
    lock: i32,
    loaded: bool,
    cpu: i32,
    regs: Option<u64>,
    /// A call made from inside machine_kexec(): (entry, CPU it runs on).
    nested: Option<(Entry, i32)>,
}

/// The Rust side's machine: records the same events as the C shim.
struct Rec<'a> {
    loaded: bool,
    events: &'a RefCell<Vec<Event>>,
    inside: RefCell<Option<Box<dyn FnOnce() + 'a>>>,
}

#[derive(Default)]
struct R(u64);

impl Machine for Rec<'_> {
    type Regs = R;
    fn crash_image_loaded(&self) -> bool {
        self.loaded
    }
    fn setup_regs(&self, fixed: &mut R, regs: Option<&R>) {
        self.events
            .borrow_mut()
            .push(Event::Regs(regs.map(|r| r.0)));
        fixed.0 = regs.map_or(0xc0de, |r| r.0);
    }
    fn save_vmcoreinfo(&self) {
        self.events.borrow_mut().push(Event::Vmcoreinfo);
    }
    fn shutdown(&self, regs: &mut R) {
        self.events.borrow_mut().push(Event::Shutdown(regs.0));
    }
    fn kexec(&self) {
        self.events.borrow_mut().push(Event::Kexec(true));
        let f = self.inside.borrow_mut().take();
        if let Some(f) = f {
            f();
        }
    }
}

fn run_c(case: Case) -> (Vec<Event>, i32, i32) {
    c::c_panic_cpu().store(case.panic_cpu, Ordering::SeqCst);
    c::c_kexec_lock().store(case.lock, Ordering::SeqCst);
    c::set_loaded(case.loaded);
    c::set_cpu(case.cpu);
    let _ = c::take_events();
    if let Some((entry, cpu)) = case.nested {
        let outer = case.cpu;
        c::set_inside(Box::new(move || {
            c::record(Event::Nested(true));
            c::set_cpu(cpu);
            match entry {
                Entry::Locked => c::c_crash_kexec_locked(None),
                Entry::Claim => c::c_crash_kexec(None),
            }
            c::set_cpu(outer);
            c::record(Event::Nested(false));
        }));
    }
    match case.entry {
        Entry::Locked => c::c_crash_kexec_locked(case.regs),
        Entry::Claim => c::c_crash_kexec(case.regs),
    }
    // A nested call that never ran must not leak into the next case.
    c::set_inside(Box::new(|| {}));
    (
        c::take_events(),
        c::c_panic_cpu().load(Ordering::SeqCst),
        c::c_kexec_lock().load(Ordering::SeqCst),
    )
}

fn run_rust(case: Case) -> (Vec<Event>, i32, i32) {
    let panic_cpu = AtomicI32::new(case.panic_cpu);
    let lock = AtomicI32::new(case.lock);
    let events = RefCell::new(Vec::new());
    let regs = case.regs.map(R);
    let m = Rec {
        loaded: case.loaded,
        events: &events,
        inside: RefCell::new(None),
    };
    if let Some((entry, cpu)) = case.nested {
        let (panic_cpu, lock, events) = (&panic_cpu, &lock, &events);
        let loaded = case.loaded;
        *m.inside.borrow_mut() = Some(Box::new(move || {
            events.borrow_mut().push(Event::Nested(true));
            let inner = Rec {
                loaded,
                events,
                inside: RefCell::new(None),
            };
            match entry {
                Entry::Locked => {
                    crash_kexec_locked(lock, &inner, None);
                }
                Entry::Claim => {
                    crash_kexec(panic_cpu, lock, cpu, &inner, None);
                }
            }
            events.borrow_mut().push(Event::Nested(false));
        }));
    }
    match case.entry {
        Entry::Locked => {
            crash_kexec_locked(&lock, &m, regs.as_ref());
        }
        Entry::Claim => {
            crash_kexec(&panic_cpu, &lock, case.cpu, &m, regs.as_ref());
        }
    }
    drop(m);
    (
        events.into_inner(),
        panic_cpu.load(Ordering::SeqCst),
        lock.load(Ordering::SeqCst),
    )
}

#[test]
fn handoff_matches_upstream_in_every_state() {
    let _one = c::lock();
    let mut n = 0;
    let mut entered = 0;
    for entry in [Entry::Locked, Entry::Claim] {
        for panic_cpu in [PANIC_CPU_INVALID, 0, 1] {
            for lock in [0, 1] {
                for loaded in [false, true] {
                    for cpu in [0, 1] {
                        for regs in [None, Some(0x5157)] {
                            for nested in [
                                None,
                                Some((Entry::Locked, cpu)),
                                Some((Entry::Claim, cpu)),
                                Some((Entry::Claim, 1 - cpu)),
                            ] {
                                let case = Case {
                                    entry,
                                    panic_cpu,
                                    lock,
                                    loaded,
                                    cpu,
                                    regs,
                                    nested,
                                };
                                let (want, got) = (run_c(case), run_rust(case));
                                assert_eq!(got, want, "{case:?}: Rust (left) vs C (right)");
                                n += 1;
                                entered += usize::from(want.0.contains(&Event::Kexec(true)));
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(n, 384);
    // The cases must exercise both outcomes, not only the early returns.
    assert!(entered > 0 && entered < n, "entered {entered} of {n}");
    eprintln!("handoff: {n} states, {entered} entered the crash kernel, C and Rust agree");
}

#[test]
fn nested_calls_never_enter_twice() {
    // From the matrix above, spelled out: a panic inside the handoff (on
    // the same CPU) finds the lock taken, and an oops on another CPU finds
    // panic_cpu taken. Both in C as in Rust.
    let _one = c::lock();
    for nested in [(Entry::Locked, 0), (Entry::Claim, 0), (Entry::Claim, 1)] {
        let case = Case {
            entry: Entry::Claim,
            panic_cpu: PANIC_CPU_INVALID,
            lock: 0,
            loaded: true,
            cpu: 0,
            regs: None,
            nested: Some(nested),
        };
        let want = vec![
            Event::Regs(None),
            Event::Vmcoreinfo,
            Event::Shutdown(0xc0de),
            Event::Kexec(true),
            Event::Nested(true),
            Event::Nested(false),
        ];
        assert_eq!(
            run_c(case),
            (want.clone(), PANIC_CPU_INVALID, 0),
            "C {nested:?}"
        );
        assert_eq!(
            run_rust(case),
            (want, PANIC_CPU_INVALID, 0),
            "Rust {nested:?}"
        );
    }
}
