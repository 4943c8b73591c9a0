// SPDX-License-Identifier: GPL-2.0

//! Device dumps: a driver's buffer in the capture kernel, shown in the
//! vmcore as one ELF note at the start of the `PT_NOTE` segment.
//!
//! Each dump is a whole number of pages (so that mmap() can map it): a
//! [`DEVICE_DUMP_HEADER`]-byte note header (`struct vmcoredd_header` of
//! `include/uapi/linux/vmcore.h`: `namesz`, `descsz`, `type`, the name
//! `"LINUX"` in 8 bytes, the dump's name in [`DEVICE_DUMP_NAME_MAX`]
//! bytes), then the driver's bytes, then zeros to the end of the last
//! page. The note's descriptor is the dump's name and everything after it,
//! so the note spans the dump exactly.

use super::PAGE_SIZE;
use crate::put_fields;

/// Bytes of a device dump's note header.
pub const DEVICE_DUMP_HEADER: usize = 64;
/// Bytes of the dump-name field, its NUL terminator included.
pub const DEVICE_DUMP_NAME_MAX: usize = 44;
/// `n_type` of a device dump note (`NT_VMCOREDD`).
pub const NT_VMCOREDD: u32 = 0x700;
/// Note name of a device dump (`VMCOREDD_NOTE_NAME`), in its 8-byte field.
const NOTE_NAME: &[u8; 8] = b"LINUX\0\0\0";

/// Why a device dump cannot be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceDumpError {
    /// The name is empty, holds a NUL, or does not fit its field with its
    /// NUL terminator.
    Name,
    /// The dump is empty, or too large for a note.
    Size,
}

/// Bytes a dump of `data` driver bytes takes in the file: its header and
/// data rounded up to whole pages. `None` for an empty dump or one whose
/// note size would not fit 32 bits.
pub fn device_dump_size(data: usize) -> Option<usize> {
    if data == 0 {
        return None;
    }
    let size = data
        .checked_add(DEVICE_DUMP_HEADER)?
        .checked_next_multiple_of(PAGE_SIZE as usize)?;
    // n_descsz is a u32: everything after the header plus the name.
    u32::try_from(
        size.checked_sub(DEVICE_DUMP_HEADER)?
            .checked_add(DEVICE_DUMP_NAME_MAX)?,
    )
    .ok()?;
    Some(size)
}

/// Whether `b` holds a NUL byte.
///
/// Not `b.contains(&0)`: that goes through core's `memchr`, whose
/// arithmetic carries overflow checks, a panic reachable from the C face
/// `kdump_vmcore_add_device_dump()` (step `faces-panic-free`).
#[allow(clippy::manual_contains)]
fn has_nul(b: &[u8]) -> bool {
    b.iter().any(|&c| c == 0)
}

/// Writes the note header of a dump named `name` (without NUL) that
/// spans `size` bytes ([`device_dump_size`]) into `out`.
pub fn write_device_dump_header(
    out: &mut [u8; DEVICE_DUMP_HEADER],
    name: &[u8],
    size: usize,
) -> Result<(), DeviceDumpError> {
    if name.is_empty() || name.len() >= DEVICE_DUMP_NAME_MAX || has_nul(name) {
        return Err(DeviceDumpError::Name);
    }
    let desc = size
        .checked_sub(DEVICE_DUMP_HEADER)
        .filter(|_| size.checked_rem(PAGE_SIZE as usize) == Some(0))
        .and_then(|n| n.checked_add(DEVICE_DUMP_NAME_MAX))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(DeviceDumpError::Size)?;
    out.fill(0);
    put_fields(
        out,
        &[
            &(NOTE_NAME.len() as u32).to_le_bytes(),
            &desc.to_le_bytes(),
            &NT_VMCOREDD.to_le_bytes(),
            NOTE_NAME,
            name,
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_whole_pages_with_room_for_the_header() {
        assert_eq!(device_dump_size(0), None);
        assert_eq!(device_dump_size(1), Some(4096));
        assert_eq!(device_dump_size(4096 - 64), Some(4096));
        assert_eq!(device_dump_size(4096 - 63), Some(8192));
        assert_eq!(device_dump_size(usize::MAX), None);
        assert_eq!(device_dump_size(u32::MAX as usize), None);
    }

    #[test]
    fn header_matches_struct_vmcoredd_header() {
        let mut h = [0xffu8; DEVICE_DUMP_HEADER];
        write_device_dump_header(&mut h, b"nic0", 8192).unwrap();
        assert_eq!(&h[0..4], &8u32.to_le_bytes());
        assert_eq!(&h[4..8], &(8192u32 - 64 + 44).to_le_bytes());
        assert_eq!(&h[8..12], &0x700u32.to_le_bytes());
        assert_eq!(&h[12..20], b"LINUX\0\0\0");
        assert_eq!(&h[20..24], b"nic0");
        assert!(h[24..].iter().all(|&b| b == 0));
        // The note (12 + namesz + descsz bytes) spans the dump exactly.
        assert_eq!(12 + 8 + (8192 - 64 + 44), 8192);
    }

    #[test]
    fn bad_names_and_sizes_are_refused() {
        let mut h = [0u8; DEVICE_DUMP_HEADER];
        assert_eq!(
            write_device_dump_header(&mut h, b"", 4096),
            Err(DeviceDumpError::Name)
        );
        assert_eq!(
            write_device_dump_header(&mut h, b"a\0b", 4096),
            Err(DeviceDumpError::Name)
        );
        assert_eq!(
            write_device_dump_header(&mut h, &[b'x'; 44], 4096),
            Err(DeviceDumpError::Name)
        );
        assert!(write_device_dump_header(&mut h, &[b'x'; 43], 4096).is_ok());
        assert_eq!(
            write_device_dump_header(&mut h, b"a", 4095),
            Err(DeviceDumpError::Size)
        );
        assert_eq!(
            write_device_dump_header(&mut h, b"a", 0),
            Err(DeviceDumpError::Size)
        );
    }
}
