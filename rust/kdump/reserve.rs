// SPDX-License-Identifier: GPL-2.0

//! Where the crash kernel reservation goes.
//!
//! The policy of the base kernel's `reserve_crashkernel_generic()`
//! (kernel/crash_reserve.c), separated from memblock: a fixed base is taken
//! as it is or not at all; otherwise the reservation is tried below the low
//! limit first and falls back to high memory (adding the default low
//! reservation), and `,high` requests try high memory first and fall back to
//! low memory. A high reservation gets its low companion below the low limit;
//! if that fails, the high one is given back.
//!
//! The allocator is a trait so that the same decisions run on the host
//! against a model of memory and in the kernel against memblock.

use crate::cmdline::CrashKernel;

/// Architecture limits (`CRASH_ALIGN`, `CRASH_ADDR_LOW_MAX`,
/// `CRASH_ADDR_HIGH_MAX`, `DEFAULT_CRASH_KERNEL_LOW_SIZE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Alignment of both reservations.
    pub align: u64,
    /// End of low memory (exclusive) for the first attempt and for the low
    /// companion reservation.
    pub low_max: u64,
    /// End of the high search (exclusive).
    pub high_max: u64,
    /// Low companion size added when a plain request falls back to high
    /// memory.
    pub default_low_size: u64,
}

/// A physical memory allocator with memblock's contract.
pub trait PhysAlloc {
    /// Reserves `size` bytes aligned to `align` within `[start, end)`,
    /// preferring high addresses like memblock does; returns the base, or 0
    /// if nothing fits.
    fn alloc_range(&mut self, size: u64, align: u64, start: u64, end: u64) -> u64;
    /// Gives back a reservation made by [`PhysAlloc::alloc_range`].
    fn free(&mut self, base: u64, size: u64);
}

/// A granted reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// Base of the main reservation.
    pub base: u64,
    /// Size of the main reservation.
    pub size: u64,
    /// The low companion reservation `(base, size)`, if one was made.
    pub low: Option<(u64, u64)>,
}

/// Why nothing was reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReserveError {
    /// `crashkernel=size@offset`: that exact range is not free.
    FixedInUse,
    /// No free range of the size anywhere the policy allows.
    NoRoom,
    /// The low companion of a high reservation did not fit; the high one was
    /// given back.
    NoRoomLow {
        /// The low size that did not fit.
        low_size: u64,
    },
}

/// Reserves what `req` asks for, following the base kernel's policy.
///
/// # Examples
///
/// ```
/// use kdump::cmdline::CrashKernel;
/// use kdump::reserve::{reserve, Limits, PhysAlloc, Reservation};
///
/// /// Everything free between 1 GiB and 8 GiB; top-down like memblock.
/// struct Free;
/// impl PhysAlloc for Free {
///     fn alloc_range(&mut self, size: u64, align: u64, start: u64, end: u64) -> u64 {
///         let (lo, hi) = (start.max(1 << 30), end.min(8 << 30));
///         let base = hi.saturating_sub(size) / align * align;
///         if hi > lo && base >= lo { base } else { 0 }
///     }
///     fn free(&mut self, _: u64, _: u64) {}
/// }
///
/// let limits = Limits {
///     align: 2 << 20,
///     low_max: 4 << 30,
///     high_max: 64 << 40,
///     default_low_size: 256 << 20,
/// };
/// let req = CrashKernel { size: 256 << 20, ..Default::default() };
/// let r = reserve(req, limits, &mut Free).unwrap();
/// assert_eq!(r, Reservation { base: (4 << 30) - (256 << 20), size: 256 << 20, low: None });
/// ```
pub fn reserve(
    req: CrashKernel,
    limits: Limits,
    mem: &mut impl PhysAlloc,
) -> Result<Reservation, ReserveError> {
    let size = req.size;
    let mut low_size = req.low_size;
    let fixed = req.base != 0;
    let (mut start, mut end) = if fixed {
        // C adds without checking; a wrapped end makes memblock fail, which
        // is the outcome C gets too.
        (req.base, req.base.wrapping_add(size))
    } else if req.high {
        (limits.low_max, limits.high_max)
    } else {
        (0, limits.low_max)
    };

    let base = loop {
        let base = mem.alloc_range(size, limits.align, start, end);
        if base != 0 {
            break base;
        }
        if fixed {
            return Err(ReserveError::FixedInUse);
        }
        if !req.high && end == limits.low_max && limits.low_max != limits.high_max {
            // Plain request: try high memory, with a low companion. (Where
            // both limits are equal C would retry the same window forever.)
            start = limits.low_max;
            end = limits.high_max;
            low_size = limits.default_low_size;
            continue;
        }
        if req.high && end == limits.high_max && limits.low_max != limits.high_max {
            // ,high request: fall back to low memory.
            start = 0;
            end = limits.low_max;
            continue;
        }
        return Err(ReserveError::NoRoom);
    };

    let mut low = None;
    if base >= limits.low_max && low_size != 0 {
        let low_base = mem.alloc_range(low_size, limits.align, 0, limits.low_max);
        if low_base == 0 {
            mem.free(base, size);
            return Err(ReserveError::NoRoomLow { low_size });
        }
        low = Some((low_base, low_size));
    }
    Ok(Reservation { base, size, low })
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
mod tests {
    use super::*;
    use std::{vec, vec::Vec};

    const M: u64 = 1 << 20;
    const G: u64 = 1 << 30;
    const X86: Limits = Limits {
        align: 2 * M,
        low_max: 4 * G,
        high_max: 64 << 40,
        default_low_size: 256 * M,
    };

    /// Free memory as sorted, disjoint [start, end) ranges; allocation is
    /// top-down within the window like memblock's default.
    #[derive(Default)]
    struct Model {
        free: Vec<(u64, u64)>,
        calls: Vec<(u64, u64, u64)>,
    }

    impl Model {
        fn new(free: &[(u64, u64)]) -> Self {
            Model {
                free: free.to_vec(),
                calls: Vec::new(),
            }
        }
    }

    impl PhysAlloc for Model {
        fn alloc_range(&mut self, size: u64, align: u64, start: u64, end: u64) -> u64 {
            self.calls.push((size, start, end));
            for i in (0..self.free.len()).rev() {
                let (lo, hi) = self.free[i];
                let (lo, hi) = (lo.max(start), hi.min(end));
                if hi <= lo || hi - lo < size {
                    continue;
                }
                let base = (hi - size) / align * align;
                if base < lo || base == 0 {
                    continue;
                }
                let (flo, fhi) = self.free.remove(i);
                if base + size < fhi {
                    self.free.insert(i, (base + size, fhi));
                }
                if flo < base {
                    self.free.insert(i, (flo, base));
                }
                return base;
            }
            0
        }
        fn free(&mut self, base: u64, size: u64) {
            self.free.push((base, base + size));
            self.free.sort();
        }
    }

    fn req(size: u64, base: u64, low_size: u64, high: bool) -> CrashKernel {
        CrashKernel {
            size,
            base,
            low_size,
            high,
        }
    }

    #[test]
    fn plain_request_goes_to_the_top_of_low_memory() {
        let mut m = Model::new(&[(M, 3 * G), (4 * G, 6 * G)]);
        let r = reserve(req(256 * M, 0, 0, false), X86, &mut m).unwrap();
        assert_eq!(
            r,
            Reservation {
                base: 3 * G - 256 * M,
                size: 256 * M,
                low: None
            }
        );
    }

    #[test]
    fn plain_request_falls_back_high_with_default_low() {
        let mut m = Model::new(&[(M, 200 * M), (300 * M, 700 * M), (4 * G, 6 * G)]);
        let r = reserve(req(512 * M, 0, 0, false), X86, &mut m).unwrap();
        assert_eq!(r.base, 6 * G - 512 * M);
        assert_eq!(r.low, Some((700 * M - 256 * M, 256 * M)));
        assert_eq!(m.calls[0], (512 * M, 0, 4 * G));
        assert_eq!(m.calls[1], (512 * M, 4 * G, 64 << 40));
    }

    #[test]
    fn high_request_goes_high_with_its_low_size() {
        let mut m = Model::new(&[(M, 3 * G), (4 * G, 6 * G)]);
        let r = reserve(req(256 * M, 0, 64 * M, true), X86, &mut m).unwrap();
        assert_eq!(
            r,
            Reservation {
                base: 6 * G - 256 * M,
                size: 256 * M,
                low: Some((3 * G - 64 * M, 64 * M))
            }
        );
    }

    #[test]
    fn high_request_falls_back_low_without_companion() {
        let mut m = Model::new(&[(M, 3 * G)]);
        let r = reserve(req(256 * M, 0, 64 * M, true), X86, &mut m).unwrap();
        assert_eq!(
            r,
            Reservation {
                base: 3 * G - 256 * M,
                size: 256 * M,
                low: None
            }
        );
    }

    #[test]
    fn fixed_base_is_exact_or_nothing() {
        let mut m = Model::new(&[(M, 3 * G)]);
        let r = reserve(req(64 * M, 16 * M, 0, false), X86, &mut m).unwrap();
        assert_eq!(r.base, 16 * M);
        assert_eq!(m.calls, vec![(64 * M, 16 * M, 80 * M)]);
        let mut m = Model::new(&[(100 * M, 3 * G)]);
        assert_eq!(
            reserve(req(64 * M, 16 * M, 0, false), X86, &mut m),
            Err(ReserveError::FixedInUse)
        );
        assert_eq!(m.calls.len(), 1);
    }

    #[test]
    fn failed_low_companion_gives_the_high_one_back() {
        let mut m = Model::new(&[(M, 100 * M), (4 * G, 6 * G)]);
        let before = m.free.clone();
        let r = reserve(req(256 * M, 0, 128 * M, true), X86, &mut m);
        assert_eq!(r, Err(ReserveError::NoRoomLow { low_size: 128 * M }));
        let mut after = m.free.clone();
        after.sort();
        // The high block is back (as a separate range next to its neighbour).
        let total: u64 = after.iter().map(|(a, b)| b - a).sum();
        assert_eq!(total, before.iter().map(|(a, b)| b - a).sum::<u64>());
    }

    #[test]
    fn nothing_fits_anywhere() {
        let mut m = Model::new(&[(M, 100 * M)]);
        assert_eq!(
            reserve(req(256 * M, 0, 0, false), X86, &mut m),
            Err(ReserveError::NoRoom)
        );
        assert_eq!(m.calls.len(), 2);
        let mut m = Model::new(&[(M, 100 * M)]);
        assert_eq!(
            reserve(req(256 * M, 0, 0, true), X86, &mut m),
            Err(ReserveError::NoRoom)
        );
        assert_eq!(m.calls.len(), 2);
    }

    #[test]
    fn fixed_base_near_the_top_wraps_like_c() {
        let mut m = Model::new(&[(M, 3 * G)]);
        let r = reserve(req(64 * M, u64::MAX - M, 0, false), X86, &mut m);
        assert_eq!(r, Err(ReserveError::FixedInUse));
    }
}
