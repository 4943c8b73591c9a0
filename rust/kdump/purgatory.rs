// SPDX-License-Identifier: GPL-2.0

//! What purgatory checks before it enters the next kernel.
//!
//! kexec_file_load() hashes the loaded segments with SHA-256 and stores, in
//! the purgatory image, a table of the regions it hashed (`struct
//! kexec_sha_region purgatory_sha_regions[KEXEC_SEGMENT_MAX]`) and the digest
//! (`purgatory_sha256_digest`). Purgatory walks that table over the memory
//! the segments now occupy, in table order, and enters the next kernel only
//! if the digest matches. This module is the walk and the comparison; how a
//! region's bytes are reached is the caller's business (the arch purgatory
//! reads physical memory, host tests read buffers), so no `unsafe` is
//! needed here.

use crate::sha256::{Sha256, DIGEST_SIZE};

/// Entries in the region table: `KEXEC_SEGMENT_MAX`.
pub const SEGMENT_MAX: usize = 16;

/// One hashed region, laid out as the kernel's `struct kexec_sha_region`
/// on 64-bit architectures.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShaRegion {
    /// Physical address of the first byte.
    pub start: u64,
    /// Length in bytes; unused entries are zero.
    pub len: u64,
}

/// The region table as the kernel fills it in.
pub type ShaRegions = [ShaRegion; SEGMENT_MAX];

/// Why the digest check did not pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// The bytes of region `index` could not be reached (the accessor
    /// refused it, e.g. a null start with a non-zero length).
    Unreachable {
        /// Index in the table.
        index: usize,
    },
    /// The regions hash to something else than the stored digest.
    Mismatch,
}

/// SHA-256 over the regions of `table`, in order.
///
/// `bytes` returns the `len` bytes at `start` for a non-empty region, or
/// `None` if they cannot be reached. Empty regions are skipped without
/// calling it, so their `start` is never looked at.
pub fn digest<'m>(
    table: &[ShaRegion],
    mut bytes: impl FnMut(&ShaRegion) -> Option<&'m [u8]>,
) -> Result<[u8; DIGEST_SIZE], VerifyError> {
    let mut h = Sha256::new();
    for (index, r) in table.iter().enumerate() {
        if r.len == 0 {
            continue;
        }
        match bytes(r) {
            Some(b) if b.len() as u64 == r.len => h.update(b),
            _ => return Err(VerifyError::Unreachable { index }),
        }
    }
    Ok(h.finalize())
}

/// Checks the regions of `table` against `expected`, as purgatory does
/// before it jumps: `Ok(())` only if every region was reached and the
/// digest is equal.
pub fn verify<'m>(
    table: &[ShaRegion],
    expected: &[u8; DIGEST_SIZE],
    bytes: impl FnMut(&ShaRegion) -> Option<&'m [u8]>,
) -> Result<(), VerifyError> {
    let got = digest(table, bytes)?;
    // Every byte is compared: the time does not depend on where they differ.
    let diff = got
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff == 0 {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
mod tests {
    use super::*;
    use crate::sha256::sha256;
    use std::vec::Vec;

    /// Fake physical memory: region `start` values are indices into `mem`.
    fn table(mem: &[Vec<u8>]) -> ShaRegions {
        let mut t = ShaRegions::default();
        for (i, m) in mem.iter().enumerate() {
            t[i] = ShaRegion {
                start: 0x1000 * (i as u64 + 1),
                len: m.len() as u64,
            };
        }
        t
    }

    fn reader<'m>(mem: &'m [Vec<u8>]) -> impl FnMut(&ShaRegion) -> Option<&'m [u8]> + 'm {
        move |r| {
            mem.get((r.start / 0x1000).checked_sub(1)? as usize)
                .map(|v| &v[..])
        }
    }

    fn concat(mem: &[Vec<u8>]) -> Vec<u8> {
        mem.iter().flatten().copied().collect()
    }

    #[test]
    fn matching_segments_pass() {
        let mem: Vec<Vec<u8>> = (0..5u8)
            .map(|i| (0..1000 + 77 * i as usize).map(|b| b as u8 ^ i).collect())
            .collect();
        let t = table(&mem);
        let want = sha256(&concat(&mem));
        assert_eq!(digest(&t, reader(&mem)), Ok(want));
        assert_eq!(verify(&t, &want, reader(&mem)), Ok(()));
    }

    /// The property purgatory exists for: one changed byte anywhere in any
    /// segment and the next kernel is not entered.
    #[test]
    fn one_flipped_byte_is_refused() {
        let mem: Vec<Vec<u8>> = (0..3u8).map(|i| std::vec![i; 300]).collect();
        let t = table(&mem);
        let want = sha256(&concat(&mem));
        for seg in 0..mem.len() {
            for pos in [0, 1, 63, 64, 150, 299] {
                let mut bad = mem.clone();
                bad[seg][pos] ^= 0x01;
                assert_eq!(
                    verify(&t, &want, reader(&bad)),
                    Err(VerifyError::Mismatch),
                    "segment {seg} byte {pos}"
                );
            }
        }
        // A flipped digest byte as well.
        for i in 0..DIGEST_SIZE {
            let mut d = want;
            d[i] ^= 0x80;
            assert_eq!(verify(&t, &d, reader(&mem)), Err(VerifyError::Mismatch));
        }
    }

    /// Regions are hashed in table order: swapping two is a mismatch.
    #[test]
    fn order_matters() {
        let mem = std::vec![std::vec![1u8; 10], std::vec![2u8; 10]];
        let want = sha256(&concat(&mem));
        let mut t = table(&mem);
        t.swap(0, 1);
        assert_eq!(verify(&t, &want, reader(&mem)), Err(VerifyError::Mismatch));
    }

    #[test]
    fn empty_entries_are_skipped_and_unreachable_refused() {
        let mem = std::vec![std::vec![7u8; 5]];
        let mut t = ShaRegions::default();
        // Entry 0 empty with a start no reader knows, entry 3 the data.
        t[0] = ShaRegion {
            start: 0xdead_0000,
            len: 0,
        };
        t[3] = ShaRegion {
            start: 0x1000,
            len: 5,
        };
        assert_eq!(verify(&t, &sha256(&[7; 5]), reader(&mem)), Ok(()));
        t[5] = ShaRegion {
            start: 0x9000,
            len: 1,
        };
        assert_eq!(
            verify(&t, &sha256(&[7; 5]), reader(&mem)),
            Err(VerifyError::Unreachable { index: 5 })
        );
        // A reader returning the wrong length is refused too.
        let t = [ShaRegion {
            start: 0x1000,
            len: 6,
        }];
        assert_eq!(
            digest(&t, reader(&mem)),
            Err(VerifyError::Unreachable { index: 0 })
        );
    }

    #[test]
    fn empty_table_is_the_empty_digest() {
        assert_eq!(digest(&ShaRegions::default(), |_| None), Ok(sha256(b"")));
    }

    #[test]
    fn layout_matches_struct_kexec_sha_region() {
        assert_eq!(core::mem::size_of::<ShaRegion>(), 16);
        assert_eq!(core::mem::size_of::<ShaRegions>(), 256);
        assert_eq!(core::mem::align_of::<ShaRegion>(), 8);
    }
}
