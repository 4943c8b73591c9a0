// SPDX-License-Identifier: GPL-2.0

//! `/proc/vmcore` in the capture kernel: the crashed kernel's ELF core
//! header, its notes, and the layout of the dump file.
//!
//! The crashed kernel left an ELF core header at `elfcorehdr=` (see
//! [`crate::elfcorehdr`]): many `PT_NOTE`s, one per possible CPU plus one
//! for VMCOREINFO, each pointing at a buffer in old memory larger than the
//! notes in it, and one `PT_LOAD` per range of old memory to dump. This
//! module is the Rust twin of the parsing and layout half of
//! `fs/proc/vmcore.c`; the shell that reads old memory and serves read()
//! and mmap() uses it in this order:
//!
//! 1. [`header_len`] on the ELF header tells how many bytes the whole
//!    header spans; [`CoreHeader::parse`] validates those bytes.
//! 2. [`CoreHeader::merge_notes`] reads every `PT_NOTE` segment from old
//!    memory through a caller closure, cuts each to the notes really in it
//!    and packs them into one buffer, in program header order.
//! 3. [`Layout::new`] places everything in the file: the new header (the
//!    ELF header, one merged `PT_NOTE`, then every other program header),
//!    padded to a page; the merged notes, padded to a page; then the pages
//!    of each `PT_LOAD` in program header order.
//!    [`Layout::write_header`] writes that new header.
//! 4. [`Layout::locate`] says what backs any file offset, in O(log n).
//!
//! Device dumps that drivers of the capture kernel add later
//! ([`write_device_dump_header`]) go first in the `PT_NOTE` segment:
//! [`Layout::with_device_dumps`] lays the file out again around them.
//!
//! Where this differs from the C code, on input C mishandles or never sees:
//!
//! - Only little-endian cores are accepted (`EI_DATA`, unchecked in C).
//! - `e_phoff` must be the size of the ELF header: C reads the program
//!   headers from there whatever `e_phoff` says. `e_phnum` may not be
//!   `PN_XNUM` (C would take it as 65535 headers, not as extended
//!   numbering), and at least one `PT_NOTE` is required: C's merge
//!   arithmetic goes negative without one and corrupts the table.
//! - C assumes the `PT_NOTE`s come first in the table and drops the first
//!   headers whatever they are; here the merged `PT_NOTE` comes first and
//!   every other header follows in its original order, which is the same
//!   output for every header C handles correctly.
//! - Program headers other than `PT_NOTE` and `PT_LOAD` are kept, copied
//!   unchanged, as C keeps them; they get no data in the file.
//! - A segment whose end wraps past 2^64, a file larger than `i64::MAX`
//!   (a `loff_t`), and an ELF32 file offset that does not fit 32 bits are
//!   errors; C wraps or truncates.
//! - Overlapping `PT_LOAD`s are accepted, as in C: on x86_64 the kernel
//!   text `PT_LOAD` always lies inside a System RAM one. Each `PT_LOAD` has
//!   its own file range, so aliases in physical memory do not make file
//!   ranges overlap.
//! - A note that runs past its segment ends that segment's walk (C warns
//!   and drops it too), but a note header cut short is never read past the
//!   segment's end.
//!
//! As in C, a segment's old-memory address is its `p_offset` (the
//! producers set `p_offset == p_paddr`), and sizes are `p_memsz`.

mod device_dump;
mod header;
mod layout;
mod notes;
#[cfg(test)]
mod tests;

pub use crate::elf::{
    Class, Phdr, EM_386, EM_AARCH64, EM_RISCV, EM_X86_64, NHDR_SIZE, PN_XNUM, PT_LOAD, PT_NOTE,
};
pub use device_dump::{
    device_dump_size, write_device_dump_header, DeviceDumpError, DEVICE_DUMP_HEADER,
    DEVICE_DUMP_NAME_MAX, NT_VMCOREDD,
};
pub use header::{header_len, CoreHeader, Expect, HeaderError};
pub use layout::{Extents, Layout, Load, Region};
pub use notes::{
    find_note, scan_notes, MergeError, MergedNotes, Note, NoteDrop, NoteError, NoteScan, Notes,
};

/// Pages the file is laid out in.
pub const PAGE_SIZE: u64 = 4096;
/// Bytes of the largest ELF header (`Elf64_Ehdr`): enough for
/// [`header_len`] whatever the class.
pub const EHDR_MAX: usize = crate::elf::EHDR64_SIZE;
