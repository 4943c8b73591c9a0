// SPDX-License-Identifier: GPL-2.0

//! The ELF core header ("elfcorehdr") that kexec_file_load() hands to the
//! capture kernel.
//!
//! It describes the crashed kernel's memory to `/proc/vmcore`: one
//! `PT_NOTE` per possible CPU (its `crash_notes` buffer, filled at panic
//! time), one `PT_NOTE` for VMCOREINFO, optionally a `PT_LOAD` for the
//! kernel text mapping, and one `PT_LOAD` per System RAM range minus the
//! crash kernel reservation(s). This module is the Rust twin of
//! `crash_prepare_elf64_headers()` and `crash_exclude_mem_range()`
//! (kernel/crash_core.c): the same bytes, written into a caller-provided
//! buffer, with every size computed with checked arithmetic and every
//! failure returned as an [`ElfError`].

use crate::elf::{write_core_ehdr64, Class, Phdr, EHDR64_SIZE, PHDR64_SIZE};
pub use crate::elf::{EM_AARCH64, EM_X86_64, PF_RWX, PT_LOAD, PT_NOTE};

/// `ELF_CORE_HEADER_ALIGN`: the header is allocated in whole pages.
pub const HEADER_ALIGN: usize = 4096;

/// A memory range with an inclusive end (`struct range`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive).
    pub end: u64,
}

/// Why a header or range list could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// No slot left for a range (`-ENOMEM` in C): `push` past capacity, or
    /// an exclusion that splits a range when the list is full.
    NoRoom,
    /// A range whose end is below its start, or an exclusion whose end is
    /// below its start.
    Inverted {
        /// Start.
        start: u64,
        /// End.
        end: u64,
    },
    /// A range that does not come after the previous one (ranges are kept
    /// sorted and disjoint, as walk_system_ram_res() gives them).
    Unsorted {
        /// Start of the offending range.
        start: u64,
    },
    /// The header would not fit in `usize` or in the buffer given.
    TooBig {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// A range's size or direct-map address overflows 64 bits.
    Overflow {
        /// Start of the offending range.
        start: u64,
    },
}

/// Memory ranges in a caller-provided array of slots (`struct crash_mem`):
/// sorted, disjoint, at most `slots.len()` of them.
pub struct CrashMem<'a> {
    slots: &'a mut [Range],
    len: usize,
}

impl<'a> CrashMem<'a> {
    /// An empty list that can hold `slots.len()` ranges.
    pub fn new(slots: &'a mut [Range]) -> Self {
        CrashMem { slots, len: 0 }
    }

    /// The first `len` of `slots` as a list, if they are sorted, disjoint
    /// and not inverted (a `struct crash_mem` filled by C).
    pub fn with_ranges(slots: &'a mut [Range], len: usize) -> Result<Self, ElfError> {
        let used = slots.get(..len).ok_or(ElfError::NoRoom)?;
        let mut prev: Option<&Range> = None;
        for r in used {
            if r.end < r.start {
                return Err(ElfError::Inverted {
                    start: r.start,
                    end: r.end,
                });
            }
            if prev.is_some_and(|p| r.start <= p.end) {
                return Err(ElfError::Unsorted { start: r.start });
            }
            prev = Some(r);
        }
        Ok(CrashMem { slots, len })
    }

    /// The ranges, in order.
    pub fn ranges(&self) -> &[Range] {
        self.slots.get(..self.len).unwrap_or(&[])
    }

    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no range.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Slots in all.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Appends `r`, which must start after the last range ends.
    pub fn push(&mut self, r: Range) -> Result<(), ElfError> {
        if r.end < r.start {
            return Err(ElfError::Inverted {
                start: r.start,
                end: r.end,
            });
        }
        if let Some(last) = self.ranges().last() {
            if r.start <= last.end {
                return Err(ElfError::Unsorted { start: r.start });
            }
        }
        let slot = self.slots.get_mut(self.len).ok_or(ElfError::NoRoom)?;
        *slot = r;
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    /// Removes `[mstart, mend]` from the ranges, as
    /// `crash_exclude_mem_range()` does: ranges inside it disappear, ranges
    /// that overlap one end are trimmed, and a range that contains it is
    /// split in two, which needs a free slot ([`ElfError::NoRoom`]
    /// otherwise, and then nothing has changed).
    ///
    /// One pass over the ranges: they are sorted and disjoint, so at most
    /// one of them can be split and it is the last one touched.
    pub fn exclude(&mut self, mstart: u64, mend: u64) -> Result<(), ElfError> {
        if mend < mstart {
            return Err(ElfError::Inverted {
                start: mstart,
                end: mend,
            });
        }
        let len = self.len;
        // Ranges wholly before the exclusion stay; find the first that is not.
        let first = self
            .ranges()
            .iter()
            .position(|r| r.end >= mstart)
            .unwrap_or(len);
        // A split: the first touched range strictly contains the exclusion.
        if let Some(&r) = self.slots.get(first).filter(|_| first < len) {
            if r.start < mstart && mend < r.end {
                if len >= self.slots.len() {
                    return Err(ElfError::NoRoom);
                }
                // Shift the tail up by one (within bounds: len < capacity).
                move_slots(
                    self.slots,
                    first,
                    first.saturating_add(1),
                    len.saturating_sub(first),
                );
                let (lo, hi) = (
                    Range {
                        start: r.start,
                        end: mstart.saturating_sub(1),
                    },
                    Range {
                        start: mend.saturating_add(1),
                        end: r.end,
                    },
                );
                if let Some([a, b]) = self.slots.get_mut(first..first.saturating_add(2)) {
                    (*a, *b) = (lo, hi);
                }
                self.len = len.saturating_add(1);
                return Ok(());
            }
        }
        // No split: drop covered ranges, trim the two edges, compact.
        let mut w = first;
        for i in first..len {
            let Some(&r) = self.slots.get(i) else { break };
            if mend < r.start {
                // Past the exclusion: the rest moves down unchanged.
                move_slots(self.slots, i, w, len.saturating_sub(i));
                w = w.saturating_add(len.saturating_sub(i));
                break;
            }
            let kept = if mstart <= r.start && r.end <= mend {
                None
            } else if r.start < mstart {
                Some(Range {
                    start: r.start,
                    end: mstart.saturating_sub(1),
                })
            } else {
                Some(Range {
                    start: mend.saturating_add(1),
                    end: r.end,
                })
            };
            if let Some(k) = kept {
                if let Some(slot) = self.slots.get_mut(w) {
                    *slot = k;
                }
                w = w.saturating_add(1);
            }
        }
        self.len = w;
        Ok(())
    }
}

/// Moves the `n` ranges at `from` to `to` (the two may overlap), as far as
/// both are in bounds: `copy_within()`, but with no bounds check that could
/// panic behind `crash_exclude_mem_range()`.
fn move_slots(slots: &mut [Range], from: usize, to: usize, n: usize) {
    let mut step = |k: usize| {
        let src = from.checked_add(k).and_then(|i| slots.get(i)).copied();
        if let (Some(r), Some(d)) = (src, to.checked_add(k).and_then(|i| slots.get_mut(i))) {
            *d = r;
        }
    };
    // From the end when moving up, from the start when moving down, so
    // that no range is overwritten before it has moved.
    if to > from {
        (0..n).rev().for_each(&mut step);
    } else {
        (0..n).for_each(&mut step);
    }
}

/// What the header describes besides the RAM ranges.
#[derive(Clone, Copy, Debug)]
pub struct CoreInfo<'a> {
    /// `e_machine` (`ELF_ARCH`).
    pub machine: u16,
    /// `e_ident[EI_OSABI]` (`ELF_OSABI`).
    pub osabi: u8,
    /// Physical address of each possible CPU's `crash_notes` buffer, in CPU
    /// order.
    pub cpu_notes: &'a [u64],
    /// `sizeof(note_buf_t)`.
    pub cpu_note_size: u64,
    /// Physical address of the VMCOREINFO note (`paddr_vmcoreinfo_note()`).
    pub vmcoreinfo: u64,
    /// `VMCOREINFO_NOTE_SIZE`.
    pub vmcoreinfo_size: u64,
    /// The kernel text mapping, if it gets a `PT_LOAD` of its own.
    pub kernel_map: Option<KernelMap>,
    /// Start of the direct map: a RAM range at physical `p` is at virtual
    /// `p + direct_map` (`__va()`).
    pub direct_map: u64,
}

/// The kernel image's own `PT_LOAD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelMap {
    /// `_text`.
    pub vaddr: u64,
    /// `__pa_symbol(_text)`.
    pub paddr: u64,
    /// `_end - _text`.
    pub size: u64,
}

/// Bytes of the header for `cpus` possible CPUs and `ranges` RAM ranges:
/// the ELF header and `cpus + ranges + 2` program headers (VMCOREINFO and
/// the kernel map slot are always counted, as in C), rounded up to
/// [`HEADER_ALIGN`].
pub fn header_size(cpus: usize, ranges: usize) -> Result<usize, ElfError> {
    let too_big = ElfError::TooBig {
        needed: usize::MAX,
        have: usize::MAX,
    };
    let phdrs = cpus
        .checked_add(ranges)
        .and_then(|n| n.checked_add(2))
        .ok_or(too_big)?;
    let raw = phdrs
        .checked_mul(PHDR64_SIZE)
        .and_then(|n| n.checked_add(EHDR64_SIZE))
        .ok_or(too_big)?;
    raw.checked_next_multiple_of(HEADER_ALIGN).ok_or(too_big)
}

/// Writes the ELF core header for `info` and `ranges` at the start of
/// `buf`, which must hold [`header_size`] bytes, and returns that size.
///
/// The bytes are those `crash_prepare_elf64_headers()` produces: program
/// headers in the order CPU notes, VMCOREINFO note, kernel map (if any),
/// RAM ranges; every byte of the returned size that is not a header field
/// is zero. Linear in the number of CPUs and ranges.
pub fn build(buf: &mut [u8], info: &CoreInfo<'_>, ranges: &[Range]) -> Result<usize, ElfError> {
    let size = header_size(info.cpu_notes.len(), ranges.len())?;
    let have = buf.len();
    let out = buf
        .get_mut(..size)
        .ok_or(ElfError::TooBig { needed: size, have })?;
    // Check the ranges before writing anything.
    for r in ranges {
        if r.end < r.start {
            return Err(ElfError::Inverted {
                start: r.start,
                end: r.end,
            });
        }
        r.end
            .wrapping_sub(r.start)
            .checked_add(1)
            .ok_or(ElfError::Overflow { start: r.start })?;
    }
    out.fill(0);

    let mut phdrs = out
        .get_mut(EHDR64_SIZE..)
        .unwrap_or(&mut [])
        .chunks_exact_mut(PHDR64_SIZE);
    let mut phnum: u16 = 0;
    // Every segment is described as C does: p_filesz == p_memsz, p_align 0.
    let mut emit = |kind, flags, offset, vaddr, paddr, size| {
        if let Some(slot) = phdrs.next() {
            let p = Phdr {
                kind,
                flags,
                offset,
                vaddr,
                paddr,
                filesz: size,
                memsz: size,
                align: 0,
            };
            p.write(Class::Elf64, slot);
            phnum = phnum.wrapping_add(1);
        }
    };
    for &n in info.cpu_notes {
        emit(PT_NOTE, 0, n, 0, n, info.cpu_note_size);
    }
    emit(
        PT_NOTE,
        0,
        info.vmcoreinfo,
        0,
        info.vmcoreinfo,
        info.vmcoreinfo_size,
    );
    if let Some(k) = info.kernel_map {
        emit(PT_LOAD, PF_RWX, k.paddr, k.vaddr, k.paddr, k.size);
    }
    for r in ranges {
        // __va() on the direct map; C computes it in unsigned long.
        let vaddr = r.start.wrapping_add(info.direct_map);
        emit(
            PT_LOAD,
            PF_RWX,
            r.start,
            vaddr,
            r.start,
            r.end.wrapping_sub(r.start).wrapping_add(1),
        );
    }

    write_core_ehdr64(out, info.machine, info.osabi, phnum);
    Ok(size)
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn r(start: u64, end: u64) -> Range {
        Range { start, end }
    }

    fn mem(slots: &mut [Range], rs: &[(u64, u64)]) -> usize {
        let mut m = CrashMem::new(slots);
        for &(s, e) in rs {
            m.push(r(s, e)).unwrap();
        }
        m.len()
    }

    fn excluded(
        rs: &[(u64, u64)],
        extra: usize,
        ex: (u64, u64),
    ) -> Result<Vec<(u64, u64)>, ElfError> {
        let mut slots = std::vec![Range::default(); rs.len() + extra];
        let mut m = CrashMem::new(&mut slots);
        for &(s, e) in rs {
            m.push(r(s, e)).unwrap();
        }
        m.exclude(ex.0, ex.1)?;
        Ok(m.ranges().iter().map(|r| (r.start, r.end)).collect())
    }

    #[test]
    fn exclusion_cases() {
        let rs = [(0x0, 0xfff), (0x2000, 0x2fff), (0x4000, 0x7fff)];
        // Outside everything.
        assert_eq!(excluded(&rs, 0, (0x1000, 0x1fff)), Ok(rs.to_vec()));
        assert_eq!(excluded(&rs, 0, (0x9000, 0x9fff)), Ok(rs.to_vec()));
        // Exactly one range, and a superset of two.
        assert_eq!(
            excluded(&rs, 0, (0x2000, 0x2fff)),
            Ok(std::vec![(0x0, 0xfff), (0x4000, 0x7fff)])
        );
        assert_eq!(
            excluded(&rs, 0, (0x0, 0x3000)),
            Ok(std::vec![(0x4000, 0x7fff)])
        );
        // Trim a tail, a head, and both sides of a gap at once.
        assert_eq!(
            excluded(&rs, 0, (0x800, 0x1fff)),
            Ok(std::vec![(0x0, 0x7ff), (0x2000, 0x2fff), (0x4000, 0x7fff)])
        );
        assert_eq!(
            excluded(&rs, 0, (0x3000, 0x4fff)),
            Ok(std::vec![(0x0, 0xfff), (0x2000, 0x2fff), (0x5000, 0x7fff)])
        );
        assert_eq!(
            excluded(&rs, 0, (0x2800, 0x4fff)),
            Ok(std::vec![(0x0, 0xfff), (0x2000, 0x27ff), (0x5000, 0x7fff)])
        );
        // A split needs a slot.
        assert_eq!(excluded(&rs, 0, (0x5000, 0x5fff)), Err(ElfError::NoRoom));
        assert_eq!(
            excluded(&rs, 1, (0x5000, 0x5fff)),
            Ok(std::vec![
                (0x0, 0xfff),
                (0x2000, 0x2fff),
                (0x4000, 0x4fff),
                (0x6000, 0x7fff)
            ])
        );
        assert_eq!(
            excluded(&rs, 1, (0x100, 0x1ff)),
            Ok(std::vec![
                (0x0, 0xff),
                (0x200, 0xfff),
                (0x2000, 0x2fff),
                (0x4000, 0x7fff)
            ])
        );
        // One byte, at the very edges of the address space.
        assert_eq!(
            excluded(&[(0, u64::MAX)], 1, (0, 0)),
            Ok(std::vec![(1, u64::MAX)])
        );
        assert_eq!(
            excluded(&[(0, u64::MAX)], 1, (u64::MAX, u64::MAX)),
            Ok(std::vec![(0, u64::MAX - 1)])
        );
        assert_eq!(excluded(&[(5, 5)], 0, (5, 5)), Ok(std::vec![]));
        assert_eq!(
            excluded(&rs, 0, (3, 2)),
            Err(ElfError::Inverted { start: 3, end: 2 })
        );
    }

    #[test]
    fn push_keeps_the_list_sorted_and_bounded() {
        let mut slots = [Range::default(); 2];
        let mut m = CrashMem::new(&mut slots);
        assert_eq!(
            m.push(r(10, 9)),
            Err(ElfError::Inverted { start: 10, end: 9 })
        );
        m.push(r(10, 20)).unwrap();
        assert_eq!(m.push(r(20, 30)), Err(ElfError::Unsorted { start: 20 }));
        assert_eq!(m.push(r(5, 6)), Err(ElfError::Unsorted { start: 5 }));
        m.push(r(21, 30)).unwrap();
        assert_eq!(m.push(r(40, 50)), Err(ElfError::NoRoom));
        assert_eq!(m.len(), 2);
        let _ = mem(&mut [Range::default(); 1], &[(1, 2)]);
        let mut slots = [r(1, 2), r(3, 4), r(0, 0)];
        assert_eq!(CrashMem::with_ranges(&mut slots, 2).map(|m| m.len()), Ok(2));
        assert!(matches!(
            CrashMem::with_ranges(&mut slots, 3),
            Err(ElfError::Unsorted { start: 0 })
        ));
        assert!(matches!(
            CrashMem::with_ranges(&mut slots, 4),
            Err(ElfError::NoRoom)
        ));
        let mut bad = [r(5, 4)];
        assert!(matches!(
            CrashMem::with_ranges(&mut bad, 1),
            Err(ElfError::Inverted { start: 5, end: 4 })
        ));
    }

    fn le(b: &[u8], at: usize, n: usize) -> u64 {
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(&b[at..at + n]);
        u64::from_le_bytes(v)
    }

    #[test]
    fn header_fields_follow_the_elf_spec() {
        let notes = [0x1000u64, 0x2000];
        let info = CoreInfo {
            machine: EM_X86_64,
            osabi: 0,
            cpu_notes: &notes,
            cpu_note_size: 368,
            vmcoreinfo: 0x3000,
            vmcoreinfo_size: 4132,
            kernel_map: Some(KernelMap {
                vaddr: 0xffff_ffff_8100_0000,
                paddr: 0x100_0000,
                size: 0x20_0000,
            }),
            direct_map: 0xffff_8880_0000_0000,
        };
        let ranges = [r(0x10_0000, 0x1fff_ffff)];
        assert_eq!(header_size(2, 1).unwrap(), 4096);
        let mut buf = std::vec![0xffu8; 8192];
        assert_eq!(
            build(&mut buf[..100], &info, &ranges),
            Err(ElfError::TooBig {
                needed: 4096,
                have: 100
            })
        );
        assert_eq!(build(&mut buf, &info, &ranges), Ok(4096));
        assert_eq!(&buf[..8], b"\x7fELF\x02\x01\x01\x00");
        assert_eq!(le(&buf, 16, 2), 4); // ET_CORE
        assert_eq!(le(&buf, 18, 2), 62);
        assert_eq!(le(&buf, 32, 8), 64); // e_phoff
        assert_eq!(le(&buf, 54, 2), 56); // e_phentsize
        assert_eq!(le(&buf, 56, 2), 5); // e_phnum: 2 notes, vmcoreinfo, text, 1 range
        let ph = |i: usize| 64 + 56 * i;
        assert_eq!(
            (
                le(&buf, ph(0), 4),
                le(&buf, ph(0) + 8, 8),
                le(&buf, ph(0) + 32, 8)
            ),
            (4, 0x1000, 368)
        );
        assert_eq!(
            (
                le(&buf, ph(2), 4),
                le(&buf, ph(2) + 24, 8),
                le(&buf, ph(2) + 40, 8)
            ),
            (4, 0x3000, 4132)
        );
        assert_eq!(
            (le(&buf, ph(3), 4), le(&buf, ph(3) + 16, 8)),
            (1, 0xffff_ffff_8100_0000)
        );
        // p_vaddr: __va() of the range.
        assert_eq!(le(&buf, ph(4) + 16, 8), 0xffff_8880_0010_0000);
        // p_filesz: from the range's inclusive end.
        assert_eq!(le(&buf, ph(4) + 32, 8), 0x1ff0_0000);
        // The rest of the page is zero; bytes past it are not touched.
        assert!(buf[ph(5)..4096].iter().all(|&b| b == 0));
        assert!(buf[4096..].iter().all(|&b| b == 0xff));
    }

    #[test]
    fn sizes_and_errors() {
        assert_eq!(header_size(0, 0), Ok(4096));
        // 64 + (1 + 69 + 2) * 56 = 4096 exactly; one range more needs a page more.
        assert_eq!(header_size(1, 69), Ok(4096));
        assert_eq!(header_size(1, 70), Ok(8192));
        assert!(header_size(usize::MAX, 1).is_err());
        let info = CoreInfo {
            machine: EM_X86_64,
            osabi: 0,
            cpu_notes: &[],
            cpu_note_size: 0,
            vmcoreinfo: 0,
            vmcoreinfo_size: 0,
            kernel_map: None,
            direct_map: 0,
        };
        let mut buf = std::vec![0u8; 4096];
        assert_eq!(
            build(&mut buf, &info, &[r(2, 1)]),
            Err(ElfError::Inverted { start: 2, end: 1 })
        );
        assert_eq!(
            build(&mut buf, &info, &[r(0, u64::MAX)]),
            Err(ElfError::Overflow { start: 0 })
        );
    }
}
