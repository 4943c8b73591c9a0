// SPDX-License-Identifier: GPL-2.0

//! Who enters the crash kernel, and in what order, when the kernel dies.
//!
//! This is the protocol of `crash_kexec()` and `__crash_kexec()`
//! (kernel/crash_core.c), written against two atomics and a [`Machine`] so
//! that it runs unchanged in the kernel and in host tests:
//!
//! - `panic_cpu` names the one CPU allowed on the panic path
//!   ([`PANIC_CPU_INVALID`] when none is). [`crash_kexec`] claims it, runs the
//!   handoff and gives it back; a CPU that finds it taken does nothing. panic()
//!   claims it itself and calls [`crash_kexec_locked`] directly.
//! - the kexec lock (`__kexec_lock`, 0 free, 1 held) keeps kexec_load() and
//!   kexec_file_load() on another CPU from replacing the crash image while it
//!   is entered. It is only ever tried, never waited for: the caller may be in
//!   NMI context, and a panic inside the handoff must not deadlock on the lock
//!   it already holds (it finds the lock taken and returns).
//! - with the lock held and a crash image loaded, the steps are those of the
//!   base, in its order: capture the registers, save VMCOREINFO, shut the
//!   machine down for the crash ([`Machine::shutdown`]), jump
//!   ([`Machine::kexec`]).
//!
//! Everything here is wait-free: no allocation, no blocking, no loop, and no
//! operation that can panic.
//!
//! Both words are C `atomic_t`s that C code uses too, so the protocol reaches
//! them only through [`AtomicWord`], whose operations are named after, and in
//! the kernel implemented by, the kernel's own accessors
//! (`atomic_try_cmpxchg()`, `atomic_cmpxchg_acquire()`, `atomic_set()`,
//! `atomic_set_release()`): each then has the ordering the Linux kernel
//! memory model (tools/memory-model/) gives it, on every architecture, as in
//! the C functions this replaces. The implementation for [`AtomicI32`] is for
//! host tests only.

use core::sync::atomic::{AtomicI32, Ordering};

/// An `atomic_t` as the handoff uses it. Each operation has the semantics
/// and the ordering of the kernel accessor it is named after (see
/// Documentation/atomic_t.txt); an implementation for the kernel calls that
/// accessor.
pub trait AtomicWord {
    /// `atomic_try_cmpxchg()`: if the value is `old`, replaces it with `new`
    /// and returns `Ok`, else returns the value found. Fully ordered when it
    /// succeeds, unordered when it fails.
    fn try_cmpxchg(&self, old: i32, new: i32) -> Result<(), i32>;

    /// `atomic_cmpxchg_acquire()`: if the value is `old`, replaces it with
    /// `new`; returns the value found, with ACQUIRE ordering.
    fn cmpxchg_acquire(&self, old: i32, new: i32) -> i32;

    /// `atomic_set()`: a store with no ordering (`WRITE_ONCE()`).
    fn set(&self, value: i32);

    /// `atomic_set_release()`: a store with RELEASE ordering.
    fn set_release(&self, value: i32);
}

/// Host tests' words. C11 orderings are not the kernel memory model (a
/// `SeqCst` read-modify-write is not LKMM's fully ordered one on every
/// architecture), which is why the kernel does not use this: its words call
/// the kernel's accessors.
impl AtomicWord for AtomicI32 {
    fn try_cmpxchg(&self, old: i32, new: i32) -> Result<(), i32> {
        self.compare_exchange(old, new, Ordering::SeqCst, Ordering::Relaxed)
            .map(|_| ())
    }

    fn cmpxchg_acquire(&self, old: i32, new: i32) -> i32 {
        self.compare_exchange(old, new, Ordering::Acquire, Ordering::Relaxed)
            .unwrap_or_else(|found| found)
    }

    fn set(&self, value: i32) {
        self.store(value, Ordering::Relaxed);
    }

    fn set_release(&self, value: i32) {
        self.store(value, Ordering::Release);
    }
}

/// `panic_cpu` when no CPU owns the panic path (`PANIC_CPU_INVALID`).
pub const PANIC_CPU_INVALID: i32 = -1;

/// What the handoff needs from the machine. The kernel implements it with
/// `crash_setup_regs()`, `crash_save_vmcoreinfo()`, `machine_crash_shutdown()`
/// and `machine_kexec()`; host tests record the calls.
///
/// Implementations run on the panic path with interrupts off, possibly in
/// NMI context: they must not allocate, sleep, take a blocking lock or panic.
pub trait Machine {
    /// A saved register set (`struct pt_regs`). `Default` is the all-zero
    /// set the handoff fills before anything reads it.
    type Regs: Default;

    /// Whether a crash kernel is loaded (`kexec_crash_image` is set). Only
    /// called with the kexec lock held, so the answer holds until it is
    /// released.
    fn crash_image_loaded(&self) -> bool;

    /// Fills `fixed` with the registers of the crash: a copy of `regs` when
    /// the caller has them (an oops), the current registers otherwise.
    fn setup_regs(&self, fixed: &mut Self::Regs, regs: Option<&Self::Regs>);

    /// Saves VMCOREINFO (the crash time and the note's final form).
    fn save_vmcoreinfo(&self);

    /// Stops the other CPUs, saves every CPU's registers into its crash note
    /// and quiesces the devices that must be (`machine_crash_shutdown()`).
    fn shutdown(&self, regs: &mut Self::Regs);

    /// Jumps to the loaded crash kernel. Returns only if the jump did not
    /// happen.
    fn kexec(&self);
}

/// How a handoff attempt ended (when it ends at all: a successful jump does
/// not come back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handoff {
    /// The crash kernel was entered and [`Machine::kexec`] returned.
    Returned,
    /// No crash kernel is loaded: nothing was done.
    NotLoaded,
    /// The kexec lock was held: a kexec load on another CPU, or a panic
    /// inside the handoff. Nothing was done.
    LockBusy,
    /// `panic_cpu` already named this CPU: the panic path owns it and calls
    /// [`crash_kexec_locked`] itself. Nothing was done.
    PanicInProgress,
    /// `panic_cpu` named another CPU, which owns the crash. Nothing was done.
    OtherCpu(i32),
}

/// The kexec lock held: released (`kexec_unlock()`) when dropped.
struct KexecLock<'a, A: AtomicWord>(&'a A);

impl<'a, A: AtomicWord> KexecLock<'a, A> {
    /// `kexec_trylock()`: one `atomic_cmpxchg_acquire()` from 0 to 1, never
    /// a wait.
    fn try_lock(word: &'a A) -> Option<Self> {
        // Not `then_some()`: that would build, and on failure drop, a guard
        // that unlocks a lock held by someone else.
        if word.cmpxchg_acquire(0, 1) == 0 {
            Some(KexecLock(word))
        } else {
            None
        }
    }
}

impl<A: AtomicWord> Drop for KexecLock<'_, A> {
    fn drop(&mut self) {
        // `kexec_unlock()`.
        self.0.set_release(0);
    }
}

/// `__crash_kexec()`: the handoff without the `panic_cpu` check, for a caller
/// that already owns the panic path (panic(), or [`crash_kexec`]).
///
/// Takes the kexec lock if it is free; with a crash image loaded, captures
/// the registers (`regs` if given), saves VMCOREINFO, shuts the machine down
/// and jumps. The lock is released if the jump comes back or nothing was
/// loaded.
pub fn crash_kexec_locked<M: Machine, A: AtomicWord>(
    kexec_lock: &A,
    machine: &M,
    regs: Option<&M::Regs>,
) -> Handoff {
    let Some(_lock) = KexecLock::try_lock(kexec_lock) else {
        return Handoff::LockBusy;
    };
    if !machine.crash_image_loaded() {
        return Handoff::NotLoaded;
    }
    let mut fixed = M::Regs::default();
    machine.setup_regs(&mut fixed, regs);
    machine.save_vmcoreinfo();
    machine.shutdown(&mut fixed);
    machine.kexec();
    Handoff::Returned
}

/// `crash_kexec()`: the handoff for callers outside panic() (an oops with
/// `panic_on_oops`, for instance). Only the CPU that moves `panic_cpu` from
/// [`PANIC_CPU_INVALID`] to `this_cpu` goes on to [`crash_kexec_locked`];
/// it gives `panic_cpu` back if the handoff returns, so that a later panic()
/// can run. Any other caller returns at once.
pub fn crash_kexec<M: Machine, A: AtomicWord>(
    panic_cpu: &A,
    kexec_lock: &A,
    this_cpu: i32,
    machine: &M,
    regs: Option<&M::Regs>,
) -> Handoff {
    match panic_cpu.try_cmpxchg(PANIC_CPU_INVALID, this_cpu) {
        Ok(()) => {
            let out = crash_kexec_locked(kexec_lock, machine, regs);
            // As the base gives it back: a plain atomic_set().
            panic_cpu.set(PANIC_CPU_INVALID);
            out
        }
        Err(owner) if owner == this_cpu => Handoff::PanicInProgress,
        Err(owner) => Handoff::OtherCpu(owner),
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::panic
)]
mod tests {
    use super::*;
    use core::cell::RefCell;
    use std::sync::atomic::AtomicUsize;
    use std::sync::{mpsc, Arc};
    use std::time::{Duration, Instant};
    use std::vec::Vec;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Ev {
        Regs(Option<u64>),
        Vmcoreinfo,
        Shutdown(u64),
        Kexec,
    }

    /// Records the calls; `inside` runs from `kexec` (a panic inside the
    /// handoff, a second CPU, ...).
    struct Rec<'a> {
        loaded: bool,
        events: RefCell<Vec<Ev>>,
        inside: Option<&'a dyn Fn() -> Handoff>,
        nested: RefCell<Option<Handoff>>,
    }

    impl<'a> Rec<'a> {
        fn new(loaded: bool) -> Self {
            Rec {
                loaded,
                events: RefCell::new(Vec::new()),
                inside: None,
                nested: RefCell::new(None),
            }
        }
    }

    #[derive(Default)]
    struct R(u64);

    impl Machine for Rec<'_> {
        type Regs = R;
        fn crash_image_loaded(&self) -> bool {
            self.loaded
        }
        fn setup_regs(&self, fixed: &mut R, regs: Option<&R>) {
            assert_eq!(fixed.0, 0, "the register set starts zeroed");
            self.events.borrow_mut().push(Ev::Regs(regs.map(|r| r.0)));
            fixed.0 = regs.map_or(0xc0de, |r| r.0);
        }
        fn save_vmcoreinfo(&self) {
            self.events.borrow_mut().push(Ev::Vmcoreinfo);
        }
        fn shutdown(&self, regs: &mut R) {
            self.events.borrow_mut().push(Ev::Shutdown(regs.0));
        }
        fn kexec(&self) {
            self.events.borrow_mut().push(Ev::Kexec);
            if let Some(f) = self.inside {
                *self.nested.borrow_mut() = Some(f());
            }
        }
    }

    #[test]
    fn loaded_image_is_entered_in_order_and_everything_released() {
        let (cpu, lock) = (AtomicI32::new(PANIC_CPU_INVALID), AtomicI32::new(0));
        let m = Rec::new(true);
        assert_eq!(
            crash_kexec(&cpu, &lock, 3, &m, Some(&R(7))),
            Handoff::Returned
        );
        assert_eq!(
            *m.events.borrow(),
            [
                Ev::Regs(Some(7)),
                Ev::Vmcoreinfo,
                Ev::Shutdown(7),
                Ev::Kexec
            ]
        );
        assert_eq!(cpu.load(Ordering::SeqCst), PANIC_CPU_INVALID);
        assert_eq!(lock.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn without_regs_the_current_ones_are_captured() {
        let lock = AtomicI32::new(0);
        let m = Rec::new(true);
        assert_eq!(crash_kexec_locked(&lock, &m, None), Handoff::Returned);
        assert_eq!(
            *m.events.borrow(),
            [
                Ev::Regs(None),
                Ev::Vmcoreinfo,
                Ev::Shutdown(0xc0de),
                Ev::Kexec
            ]
        );
    }

    #[test]
    fn nothing_loaded_does_nothing_and_releases() {
        let (cpu, lock) = (AtomicI32::new(PANIC_CPU_INVALID), AtomicI32::new(0));
        let m = Rec::new(false);
        assert_eq!(crash_kexec(&cpu, &lock, 0, &m, None), Handoff::NotLoaded);
        assert!(m.events.borrow().is_empty());
        assert_eq!(cpu.load(Ordering::SeqCst), PANIC_CPU_INVALID);
        assert_eq!(lock.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn held_lock_is_not_waited_for() {
        let (cpu, lock) = (AtomicI32::new(PANIC_CPU_INVALID), AtomicI32::new(1));
        let m = Rec::new(true);
        assert_eq!(crash_kexec(&cpu, &lock, 0, &m, None), Handoff::LockBusy);
        assert!(m.events.borrow().is_empty());
        // The lock stays with its holder; panic_cpu is given back.
        assert_eq!(lock.load(Ordering::SeqCst), 1);
        assert_eq!(cpu.load(Ordering::SeqCst), PANIC_CPU_INVALID);
    }

    #[test]
    fn owned_panic_cpu_keeps_everyone_else_out() {
        for owner in [0, 1, 5] {
            let (cpu, lock) = (AtomicI32::new(owner), AtomicI32::new(0));
            let m = Rec::new(true);
            let want = if owner == 1 {
                Handoff::PanicInProgress
            } else {
                Handoff::OtherCpu(owner)
            };
            assert_eq!(crash_kexec(&cpu, &lock, 1, &m, None), want);
            assert!(m.events.borrow().is_empty());
            assert_eq!(cpu.load(Ordering::SeqCst), owner, "owner untouched");
            assert_eq!(lock.load(Ordering::SeqCst), 0, "lock never taken");
        }
    }

    #[test]
    fn panic_inside_the_handoff_returns_instead_of_deadlocking() {
        let (cpu, lock) = (AtomicI32::new(PANIC_CPU_INVALID), AtomicI32::new(0));
        // panic() on the CPU that is in the handoff calls __crash_kexec()
        // again; an oops there calls crash_kexec().
        let again = || {
            assert_eq!(lock.load(Ordering::SeqCst), 1, "held during the jump");
            assert_eq!(cpu.load(Ordering::SeqCst), 2, "owned during the jump");
            let inner = Rec::new(true);
            let a = crash_kexec_locked(&lock, &inner, None);
            let b = crash_kexec(&cpu, &lock, 2, &inner, None);
            assert!(inner.events.borrow().is_empty());
            assert_eq!(b, Handoff::PanicInProgress);
            a
        };
        let mut m = Rec::new(true);
        m.inside = Some(&again);
        assert_eq!(crash_kexec(&cpu, &lock, 2, &m, None), Handoff::Returned);
        assert_eq!(*m.nested.borrow(), Some(Handoff::LockBusy));
        assert_eq!(m.events.borrow().len(), 4, "entered once");
        assert_eq!(lock.load(Ordering::SeqCst), 0);
        assert_eq!(cpu.load(Ordering::SeqCst), PANIC_CPU_INVALID);
    }

    /// A machine shared by racing threads: counts entries and, while one
    /// thread is "in the crash kernel", waits until every other thread has
    /// given up, as the other CPUs do before the NMI stops them. It stops
    /// waiting at `deadline`, or at once when a second thread enters: with a
    /// broken claim, the others may never all give up.
    struct Racer {
        entered: AtomicUsize,
        gave_up: Arc<AtomicUsize>,
        others: usize,
        deadline: Instant,
    }

    impl Machine for Racer {
        type Regs = R;
        fn crash_image_loaded(&self) -> bool {
            true
        }
        fn setup_regs(&self, _: &mut R, _: Option<&R>) {}
        fn save_vmcoreinfo(&self) {}
        fn shutdown(&self, _: &mut R) {}
        fn kexec(&self) {
            self.entered.fetch_add(1, Ordering::SeqCst);
            while self.gave_up.load(Ordering::SeqCst) < self.others
                && self.entered.load(Ordering::SeqCst) == 1
                && Instant::now() < self.deadline
            {
                std::thread::yield_now();
            }
        }
    }

    #[test]
    fn racing_cpus_enter_exactly_once() {
        const CPUS: usize = 8;
        // Bounds a round, so that a broken handoff fails instead of hanging.
        const WAIT: Duration = Duration::from_secs(10);
        for round in 0..1000 {
            let cpu = Arc::new(AtomicI32::new(PANIC_CPU_INVALID));
            let lock = Arc::new(AtomicI32::new(0));
            let gave_up = Arc::new(AtomicUsize::new(0));
            let deadline = Instant::now() + WAIT;
            let m = Arc::new(Racer {
                entered: AtomicUsize::new(0),
                gave_up: gave_up.clone(),
                others: CPUS - 1,
                deadline,
            });
            let ready = Arc::new(AtomicUsize::new(0));
            let (done, back) = mpsc::channel();
            let threads: Vec<_> = (0..CPUS as i32)
                .map(|id| {
                    let (cpu, lock, m, ready, gave_up, done) = (
                        cpu.clone(),
                        lock.clone(),
                        m.clone(),
                        ready.clone(),
                        gave_up.clone(),
                        done.clone(),
                    );
                    std::thread::spawn(move || {
                        // Released together by spinning, not by a Barrier
                        // (whose waiters wake one by one): the claims must
                        // overlap, as on CPUs that oops at once. The yields
                        // let the threads not yet running arrive.
                        ready.fetch_add(1, Ordering::SeqCst);
                        let mut spins = 0u32;
                        while ready.load(Ordering::SeqCst) < CPUS {
                            spins = spins.wrapping_add(1);
                            if spins % 8192 == 0 {
                                std::thread::yield_now();
                            } else {
                                core::hint::spin_loop();
                            }
                        }
                        let r = crash_kexec(&*cpu, &*lock, id, &*m, None);
                        if r != Handoff::Returned {
                            gave_up.fetch_add(1, Ordering::SeqCst);
                        }
                        done.send((id, r)).unwrap();
                    })
                })
                .collect();
            drop(done);
            // Collected with a timeout, not by join(): a thread stuck in
            // crash_kexec() must fail the test, not hang it.
            let mut results: Vec<(i32, Handoff)> = (0..CPUS)
                .map(|_| {
                    let left = deadline.saturating_duration_since(Instant::now());
                    back.recv_timeout(left + Duration::from_secs(1))
                        .unwrap_or_else(|e| {
                            panic!("round {round}: a CPU did not come back from crash_kexec(): {e}")
                        })
                })
                .collect();
            // Every thread has sent its result: these joins return at once.
            for t in threads {
                t.join().unwrap();
            }
            results.sort_unstable_by_key(|(id, _)| *id);
            let winners: Vec<i32> = results
                .iter()
                .filter(|(_, r)| *r == Handoff::Returned)
                .map(|(id, _)| *id)
                .collect();
            assert_eq!(
                winners.len(),
                1,
                "round {round}: want one CPU in the crash kernel: {results:?}"
            );
            assert_eq!(m.entered.load(Ordering::SeqCst), 1, "round {round}");
            for (id, r) in &results {
                if *id != winners[0] {
                    assert_eq!(
                        *r,
                        Handoff::OtherCpu(winners[0]),
                        "round {round}: cpu {id} must find panic_cpu owned by the winner: \
                         {results:?}"
                    );
                }
            }
            assert_eq!(cpu.load(Ordering::SeqCst), PANIC_CPU_INVALID);
            assert_eq!(lock.load(Ordering::SeqCst), 0);
        }
    }
}
