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

use crate::{bytes_at, u16_at, u32_at, u64_at};
use core::fmt;

/// Pages the file is laid out in.
pub const PAGE_SIZE: u64 = 4096;
/// `EM_386`.
pub const EM_386: u16 = 3;
pub use crate::elfcorehdr::{EM_AARCH64, EM_X86_64, PT_LOAD, PT_NOTE};
/// `PN_XNUM`: `e_phnum` value that means extended numbering.
pub const PN_XNUM: u16 = 0xffff;
/// Size of `Elf64_Nhdr`, and of `Elf32_Nhdr`, which is the same.
pub const NHDR_SIZE: usize = 12;
/// Bytes of the largest ELF header (`Elf64_Ehdr`): enough for
/// [`header_len`] whatever the class.
pub const EHDR_MAX: usize = 64;

const EI_NIDENT: usize = 16;
const ELFMAG: &[u8; 4] = b"\x7fELF";
const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const EV_CURRENT: u8 = 1;
const ET_CORE: u16 = 4;
const PAGE_MASK: u64 = !(PAGE_SIZE - 1);


/// `n` rounded up to a multiple of 4, as note names and descriptors are.
fn pad4(n: u32) -> u64 {
    u64::from(n).checked_next_multiple_of(4).unwrap_or(u64::MAX)
}

/// ELF class of the core header (`e_ident[EI_CLASS]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// `ELFCLASS32`.
    Elf32,
    /// `ELFCLASS64`.
    Elf64,
}

impl Class {
    /// `sizeof(Elf32_Ehdr)` or `sizeof(Elf64_Ehdr)`.
    pub const fn ehdr_size(self) -> usize {
        match self {
            Class::Elf32 => 52,
            Class::Elf64 => 64,
        }
    }

    /// `sizeof(Elf32_Phdr)` or `sizeof(Elf64_Phdr)`.
    pub const fn phdr_size(self) -> usize {
        match self {
            Class::Elf32 => 32,
            Class::Elf64 => 56,
        }
    }

    /// Offset of `e_phoff` in the ELF header; `e_ehsize`, `e_phentsize` and
    /// `e_phnum` follow `e_flags` at [`Class::ehsize_at`].
    const fn phoff_at(self) -> usize {
        match self {
            Class::Elf32 => 28,
            Class::Elf64 => 32,
        }
    }

    const fn ehsize_at(self) -> usize {
        match self {
            Class::Elf32 => 40,
            Class::Elf64 => 52,
        }
    }

    /// Offset of `e_phnum`.
    const fn phnum_at(self) -> usize {
        self.ehsize_at().wrapping_add(4)
    }

    /// Offset and width of `p_offset` in a program header.
    const fn p_offset_field(self) -> (usize, usize) {
        match self {
            Class::Elf32 => (4, 4),
            Class::Elf64 => (8, 8),
        }
    }

    /// Reads an address-sized field (`Elf32_Off` or `Elf64_Off`).
    fn word_at(self, b: &[u8], off: usize) -> Option<u64> {
        match self {
            Class::Elf32 => u32_at(b, off).map(u64::from),
            Class::Elf64 => u64_at(b, off),
        }
    }

    /// Largest value an address-sized field holds.
    const fn word_max(self) -> u64 {
        match self {
            Class::Elf32 => u32::MAX as u64,
            Class::Elf64 => u64::MAX,
        }
    }
}

/// What the capture kernel accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect {
    /// `e_machine` (x86_64: [`EM_X86_64`] for both classes, as
    /// `elf_check_arch()` wants; arm64: [`EM_AARCH64`]; i386: [`EM_386`]).
    pub machine: u16,
    /// Most bytes the ELF header and program header table may span.
    pub max_size: usize,
}

/// Why the core header was refused or could not be laid out.
///
/// [`HeaderError::field`] names the ELF field at fault and
/// [`HeaderError::message`] says what is wrong with it, for one log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// The bytes given end before the header does.
    Truncated {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes given.
        have: usize,
    },
    /// `e_ident` does not start with `\x7fELF`.
    Magic,
    /// `e_ident[EI_CLASS]` is neither `ELFCLASS32` nor `ELFCLASS64`.
    Class(u8),
    /// `e_ident[EI_DATA]` is not `ELFDATA2LSB`.
    Data(u8),
    /// `e_ident[EI_VERSION]` is not `EV_CURRENT`.
    IdentVersion(u8),
    /// `e_type` is not `ET_CORE`.
    Type(u16),
    /// `e_machine` is not the expected one.
    Machine {
        /// `e_machine`.
        found: u16,
        /// [`Expect::machine`].
        expected: u16,
    },
    /// `e_version` is not `EV_CURRENT`.
    Version(u32),
    /// `e_ehsize` is not the size of the class's ELF header.
    EhSize(u16),
    /// `e_phentsize` is not the size of the class's program header.
    PhEntSize(u16),
    /// `e_phoff` does not point right after the ELF header.
    PhOff(u64),
    /// `e_phnum` is 0 or `PN_XNUM`.
    PhNum(u16),
    /// The header spans more than [`Expect::max_size`].
    TooBig {
        /// Bytes of the ELF header and program header table.
        needed: usize,
        /// [`Expect::max_size`].
        limit: usize,
    },
    /// No `PT_NOTE` program header.
    NoNotes,
    /// `PT_NOTE` number `index` in the table ends past 2^64, or the notes
    /// together do not fit in memory.
    NoteRange {
        /// Index of the program header.
        index: u16,
    },
    /// `PT_LOAD` number `index` in the table ends, once rounded up to a
    /// page, past 2^64.
    LoadRange {
        /// Index of the program header.
        index: u16,
    },
    /// The file would be larger than `i64::MAX` bytes, or an ELF32 file
    /// offset or size would not fit its 32-bit field.
    FileSize,
    /// A caller-provided buffer or slot array is too small.
    NoRoom {
        /// Bytes or slots needed.
        needed: usize,
        /// Bytes or slots given.
        have: usize,
    },
}

impl HeaderError {
    /// The ELF field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            HeaderError::Truncated { .. } => "elfcorehdr",
            HeaderError::Magic => "e_ident[EI_MAG]",
            HeaderError::Class(_) => "e_ident[EI_CLASS]",
            HeaderError::Data(_) => "e_ident[EI_DATA]",
            HeaderError::IdentVersion(_) => "e_ident[EI_VERSION]",
            HeaderError::Type(_) => "e_type",
            HeaderError::Machine { .. } => "e_machine",
            HeaderError::Version(_) => "e_version",
            HeaderError::EhSize(_) => "e_ehsize",
            HeaderError::PhEntSize(_) => "e_phentsize",
            HeaderError::PhOff(_) => "e_phoff",
            HeaderError::PhNum(_) | HeaderError::TooBig { .. } => "e_phnum",
            HeaderError::NoNotes => "p_type",
            HeaderError::NoteRange { .. } | HeaderError::LoadRange { .. } => "p_memsz",
            HeaderError::FileSize => "p_offset",
            HeaderError::NoRoom { .. } => "buffer",
        }
    }

    /// What is wrong with it.
    pub fn message(&self) -> &'static str {
        match self {
            HeaderError::Truncated { .. } => "header cut short",
            HeaderError::Magic => "not an ELF file",
            HeaderError::Class(_) => "unknown ELF class",
            HeaderError::Data(_) => "not little endian",
            HeaderError::IdentVersion(_) | HeaderError::Version(_) => "not EV_CURRENT",
            HeaderError::Type(_) => "not ET_CORE",
            HeaderError::Machine { .. } => "wrong machine",
            HeaderError::EhSize(_) => "wrong ELF header size",
            HeaderError::PhEntSize(_) => "wrong program header size",
            HeaderError::PhOff(_) => "program headers not right after the ELF header",
            HeaderError::PhNum(_) => "no program header, or extended numbering",
            HeaderError::TooBig { .. } => "too many program headers",
            HeaderError::NoNotes => "no PT_NOTE",
            HeaderError::NoteRange { .. } => "PT_NOTE too large",
            HeaderError::LoadRange { .. } => "PT_LOAD ends past the address space",
            HeaderError::FileSize => "vmcore too large for its offsets",
            HeaderError::NoRoom { .. } => "too small",
        }
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field(), self.message())?;
        match *self {
            HeaderError::Truncated { needed, have } | HeaderError::NoRoom { needed, have } => {
                write!(f, " ({have} bytes, {needed} needed)")
            }
            HeaderError::Class(v) | HeaderError::Data(v) | HeaderError::IdentVersion(v) => write!(f, " ({v})"),
            HeaderError::Type(v) | HeaderError::EhSize(v) | HeaderError::PhEntSize(v) | HeaderError::PhNum(v) => {
                write!(f, " ({v})")
            }
            HeaderError::Machine { found, expected } => write!(f, " ({found}, expected {expected})"),
            HeaderError::Version(v) => write!(f, " ({v})"),
            HeaderError::PhOff(v) => write!(f, " ({v:#x})"),
            HeaderError::TooBig { needed, limit } => write!(f, " ({needed} bytes, limit {limit})"),
            HeaderError::NoteRange { index } | HeaderError::LoadRange { index } => {
                write!(f, " (program header {index})")
            }
            HeaderError::Magic | HeaderError::NoNotes | HeaderError::FileSize => Ok(()),
        }
    }
}

/// The ELF header's facts this module uses, once checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ehdr {
    class: Class,
    phnum: u16,
    /// Bytes of the ELF header and program header table.
    len: usize,
}

impl Ehdr {
    fn parse(b: &[u8], expect: &Expect) -> Result<Self, HeaderError> {
        let have = b.len();
        let ident: [u8; EI_NIDENT] = bytes_at(b, 0).ok_or(HeaderError::Truncated { needed: EI_NIDENT, have })?;
        let [m0, m1, m2, m3, class, data, version, ..] = ident;
        if [m0, m1, m2, m3] != *ELFMAG {
            return Err(HeaderError::Magic);
        }
        let class = match class {
            ELFCLASS32 => Class::Elf32,
            ELFCLASS64 => Class::Elf64,
            c => return Err(HeaderError::Class(c)),
        };
        if data != ELFDATA2LSB {
            return Err(HeaderError::Data(data));
        }
        if version != EV_CURRENT {
            return Err(HeaderError::IdentVersion(version));
        }
        let size = class.ehdr_size();
        let e = b.get(..size).ok_or(HeaderError::Truncated { needed: size, have })?;
        // Every field below lies within `e`; the error is for form only.
        let cut = HeaderError::Truncated { needed: size, have };
        let at = class.ehsize_at();
        let e_type = u16_at(e, 16).ok_or(cut)?;
        let machine = u16_at(e, 18).ok_or(cut)?;
        let e_version = u32_at(e, 20).ok_or(cut)?;
        let phoff = class.word_at(e, class.phoff_at()).ok_or(cut)?;
        let ehsize = u16_at(e, at).ok_or(cut)?;
        let phentsize = u16_at(e, at.wrapping_add(2)).ok_or(cut)?;
        let phnum = u16_at(e, class.phnum_at()).ok_or(cut)?;

        if e_type != ET_CORE {
            return Err(HeaderError::Type(e_type));
        }
        if machine != expect.machine {
            return Err(HeaderError::Machine { found: machine, expected: expect.machine });
        }
        if e_version != u32::from(EV_CURRENT) {
            return Err(HeaderError::Version(e_version));
        }
        if usize::from(ehsize) != size {
            return Err(HeaderError::EhSize(ehsize));
        }
        if usize::from(phentsize) != class.phdr_size() {
            return Err(HeaderError::PhEntSize(phentsize));
        }
        if phoff != size as u64 {
            return Err(HeaderError::PhOff(phoff));
        }
        if phnum == 0 || phnum == PN_XNUM {
            return Err(HeaderError::PhNum(phnum));
        }
        // At most 64 + 65534 * 56 bytes: no overflow, but checked anyway.
        let too_big = HeaderError::TooBig { needed: usize::MAX, limit: expect.max_size };
        let len = usize::from(phnum).checked_mul(class.phdr_size()).and_then(|n| n.checked_add(size)).ok_or(too_big)?;
        if len > expect.max_size {
            return Err(HeaderError::TooBig { needed: len, limit: expect.max_size });
        }
        Ok(Ehdr { class, phnum, len })
    }
}

/// Bytes the ELF header and program header table span, from the ELF header
/// alone (the first [`EHDR_MAX`] bytes at `elfcorehdr=` are enough): read
/// that many, then call [`CoreHeader::parse`].
///
/// Checks everything in the ELF header, as [`CoreHeader::parse`] does.
pub fn header_len(ehdr: &[u8], expect: &Expect) -> Result<usize, HeaderError> {
    Ehdr::parse(ehdr, expect).map(|e| e.len)
}

/// A program header, either class, widened to 64 bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Phdr {
    /// `p_type`.
    pub kind: u32,
    /// `p_flags`.
    pub flags: u32,
    /// `p_offset`: for the crashed kernel's header, the physical address of
    /// the segment in old memory.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_paddr`.
    pub paddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`: the segment's size in old memory.
    pub memsz: u64,
    /// `p_align`.
    pub align: u64,
}

impl Phdr {
    /// Decodes a program header of class `class` from the start of `b`.
    pub fn parse(class: Class, b: &[u8]) -> Option<Self> {
        Some(match class {
            Class::Elf64 => Phdr {
                kind: u32_at(b, 0)?,
                flags: u32_at(b, 4)?,
                offset: u64_at(b, 8)?,
                vaddr: u64_at(b, 16)?,
                paddr: u64_at(b, 24)?,
                filesz: u64_at(b, 32)?,
                memsz: u64_at(b, 40)?,
                align: u64_at(b, 48)?,
            },
            Class::Elf32 => Phdr {
                kind: u32_at(b, 0)?,
                offset: u32_at(b, 4)?.into(),
                vaddr: u32_at(b, 8)?.into(),
                paddr: u32_at(b, 12)?.into(),
                filesz: u32_at(b, 16)?.into(),
                memsz: u32_at(b, 20)?.into(),
                flags: u32_at(b, 24)?,
                align: u32_at(b, 28)?.into(),
            },
        })
    }

    /// Encodes the header as class `class` at the start of `out`. For
    /// ELF32 the address-sized fields are cut to 32 bits; callers only pass
    /// values that fit.
    fn write(&self, class: Class, out: &mut [u8]) {
        match class {
            Class::Elf64 => crate::put_fields(
                out,
                &[
                    &self.kind.to_le_bytes(),
                    &self.flags.to_le_bytes(),
                    &self.offset.to_le_bytes(),
                    &self.vaddr.to_le_bytes(),
                    &self.paddr.to_le_bytes(),
                    &self.filesz.to_le_bytes(),
                    &self.memsz.to_le_bytes(),
                    &self.align.to_le_bytes(),
                ],
            ),
            Class::Elf32 => crate::put_fields(
                out,
                &[
                    &self.kind.to_le_bytes(),
                    &(self.offset as u32).to_le_bytes(),
                    &(self.vaddr as u32).to_le_bytes(),
                    &(self.paddr as u32).to_le_bytes(),
                    &(self.filesz as u32).to_le_bytes(),
                    &(self.memsz as u32).to_le_bytes(),
                    &self.flags.to_le_bytes(),
                    &(self.align as u32).to_le_bytes(),
                ],
            ),
        }
    }

    /// Page-rounded old-memory range `[start, end)` of a `PT_LOAD`, if its
    /// end does not wrap.
    fn page_range(&self) -> Option<(u64, u64)> {
        let end = self.offset.checked_add(self.memsz)?.checked_next_multiple_of(PAGE_SIZE)?;
        Some((self.offset & PAGE_MASK, end))
    }
}

/// The crashed kernel's ELF core header, checked.
///
/// # Invariants
///
/// `bytes` is exactly the ELF header and `phnum` program headers of class
/// `class`, all fields checked as [`CoreHeader::parse`] says; `notes` and
/// `loads` count the `PT_NOTE`s (at least one) and `PT_LOAD`s, and
/// `notes_max` is the sum of the `PT_NOTE`s' `p_memsz`.
#[derive(Clone, Copy, Debug)]
pub struct CoreHeader<'a> {
    bytes: &'a [u8],
    class: Class,
    phnum: u16,
    notes: u16,
    loads: u16,
    notes_max: usize,
}

impl<'a> CoreHeader<'a> {
    /// Checks the ELF header and program headers at the start of `bytes`
    /// (bytes after them are ignored).
    ///
    /// The ELF header must be a little-endian, `EV_CURRENT` `ET_CORE` for
    /// `expect.machine`, its `e_ehsize`, `e_phentsize` and `e_phoff` those
    /// of its class, `e_phnum` neither 0 nor `PN_XNUM`, and the table no
    /// larger than `expect.max_size`. There must be a `PT_NOTE`; no
    /// `PT_NOTE` or `PT_LOAD` may end past 2^64 (a `PT_LOAD` once rounded
    /// up to a page), and the `PT_NOTE`s together must fit in a `usize`.
    pub fn parse(bytes: &'a [u8], expect: &Expect) -> Result<Self, HeaderError> {
        let e = Ehdr::parse(bytes, expect)?;
        let have = bytes.len();
        let bytes = bytes.get(..e.len).ok_or(HeaderError::Truncated { needed: e.len, have })?;
        let mut h = CoreHeader { bytes, class: e.class, phnum: e.phnum, notes: 0, loads: 0, notes_max: 0 };
        for (index, p) in h.indexed() {
            match p.kind {
                PT_NOTE => {
                    let bad = HeaderError::NoteRange { index };
                    p.offset.checked_add(p.memsz).ok_or(bad)?;
                    let len = usize::try_from(p.memsz).map_err(|_| bad)?;
                    h.notes_max = h.notes_max.checked_add(len).ok_or(bad)?;
                    h.notes = h.notes.saturating_add(1);
                }
                PT_LOAD => {
                    p.page_range().ok_or(HeaderError::LoadRange { index })?;
                    h.loads = h.loads.saturating_add(1);
                }
                _ => {}
            }
        }
        if h.notes == 0 {
            return Err(HeaderError::NoNotes);
        }
        Ok(h)
    }

    /// The ELF class.
    pub fn class(&self) -> Class {
        self.class
    }

    /// `e_phnum`.
    pub fn phnum(&self) -> u16 {
        self.phnum
    }

    /// Number of `PT_NOTE` program headers (at least one).
    pub fn note_count(&self) -> u16 {
        self.notes
    }

    /// Number of `PT_LOAD` program headers: the slots [`Layout::new`]
    /// needs.
    pub fn load_count(&self) -> u16 {
        self.loads
    }

    /// Sum of the `PT_NOTE`s' `p_memsz`: the buffer
    /// [`CoreHeader::merge_notes`] needs.
    pub fn notes_max(&self) -> usize {
        self.notes_max
    }

    /// The ELF header and program header table, as given.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The program headers, in table order.
    pub fn phdrs(&self) -> impl Iterator<Item = Phdr> + 'a {
        self.indexed().map(|(_, p)| p)
    }

    /// The program headers with their index in the table.
    fn indexed(&self) -> impl Iterator<Item = (u16, Phdr)> + 'a {
        let class = self.class;
        let table: &'a [u8] = self.bytes.get(class.ehdr_size()..).unwrap_or(&[]);
        (0..=u16::MAX)
            .zip(table.chunks_exact(class.phdr_size()))
            .filter_map(move |(i, b)| Some((i, Phdr::parse(class, b)?)))
    }

    /// Reads every `PT_NOTE` segment and packs the notes in them, in table
    /// order, at the start of `out`, which must hold
    /// [`CoreHeader::notes_max`] bytes. Bytes of `out` past the notes are
    /// zeroed.
    ///
    /// `read(paddr, buf)` fills `buf` from old memory at `paddr`; its first
    /// error stops the merge. Each segment is read whole into `out` where
    /// its notes go, walked with [`scan_notes`], and the next segment
    /// overwrites whatever followed its last note, so no other buffer is
    /// needed.
    pub fn merge_notes<E, F>(&self, out: &mut [u8], mut read: F) -> Result<MergedNotes, MergeError<E>>
    where
        F: FnMut(u64, &mut [u8]) -> Result<(), E>,
    {
        let (needed, have) = (self.notes_max, out.len());
        let no_room = move || MergeError::NoRoom { needed, have };
        if have < needed {
            return Err(no_room());
        }
        let mut m = MergedNotes { size: 0, empty: 0, dropped: 0, first_drop: None };
        for (index, p) in self.indexed().filter(|(_, p)| p.kind == PT_NOTE) {
            // Fits: parse() summed every p_memsz into notes_max as usize,
            // and size is at most the sum of the segments before this one.
            let len = usize::try_from(p.memsz).map_err(|_| no_room())?;
            let end = m.size.checked_add(len).ok_or_else(no_room)?;
            let seg = out.get_mut(m.size..end).ok_or_else(no_room)?;
            read(p.offset, seg).map_err(|error| MergeError::Read { index, error })?;
            let scan = scan_notes(seg);
            if let Some(error) = scan.error {
                m.dropped = m.dropped.saturating_add(1);
                m.first_drop.get_or_insert(NoteDrop { index, error });
            }
            if scan.size == 0 {
                m.empty = m.empty.saturating_add(1);
            }
            m.size = m.size.saturating_add(scan.size);
        }
        if let Some(rest) = out.get_mut(m.size..) {
            rest.fill(0);
        }
        Ok(m)
    }
}

/// What [`CoreHeader::merge_notes`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MergedNotes {
    /// Bytes of merged notes: the size of the one `PT_NOTE` of the vmcore.
    pub size: usize,
    /// Segments that held no note (C warns "Zero PT_NOTE entries found";
    /// usual for CPUs that were offline at the crash).
    pub empty: usize,
    /// Segments whose walk stopped at a bad note, dropping it and the rest
    /// of the segment (C warns "Exceeded p_memsz, dropping PT_NOTE entry").
    pub dropped: usize,
    /// The first such segment and why.
    pub first_drop: Option<NoteDrop>,
}

/// A `PT_NOTE` segment cut short at a bad note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteDrop {
    /// Index of the segment's program header.
    pub index: u16,
    /// What was wrong with the note.
    pub error: NoteError,
}

/// Why [`CoreHeader::merge_notes`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeError<E> {
    /// The output buffer is smaller than [`CoreHeader::notes_max`].
    NoRoom {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        have: usize,
    },
    /// Reading the segment of program header `index` failed.
    Read {
        /// Index of the program header.
        index: u16,
        /// The reader's error.
        error: E,
    },
}

/// A note that does not fit in what is left of its segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteError {
    /// Fewer than [`NHDR_SIZE`] bytes left for a note whose `n_namesz` is
    /// not zero.
    Header {
        /// Offset of the note in the segment.
        at: usize,
    },
    /// The name, padded to 4 bytes, runs past the segment.
    Name {
        /// Offset of the note in the segment.
        at: usize,
        /// `n_namesz`.
        namesz: u32,
    },
    /// The descriptor, padded to 4 bytes, runs past the segment.
    Desc {
        /// Offset of the note in the segment.
        at: usize,
        /// `n_descsz`.
        descsz: u32,
    },
}

impl NoteError {
    /// The `Elf_Nhdr` field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            NoteError::Header { .. } => "Elf_Nhdr",
            NoteError::Name { .. } => "n_namesz",
            NoteError::Desc { .. } => "n_descsz",
        }
    }
}

impl fmt::Display for NoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NoteError::Header { at } => write!(f, "{}: note header cut short at {at:#x}", self.field()),
            NoteError::Name { at, namesz } => write!(f, "{}={namesz:#x} past the segment at {at:#x}", self.field()),
            NoteError::Desc { at, descsz } => write!(f, "{}={descsz:#x} past the segment at {at:#x}", self.field()),
        }
    }
}

/// One ELF note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Note<'a> {
    /// The name, without its terminating NUL(s): `b"CORE"`, `b"VMCOREINFO"`.
    pub name: &'a [u8],
    /// `n_type`.
    pub kind: u32,
    /// The descriptor, `n_descsz` bytes.
    pub desc: &'a [u8],
}

/// The notes at the start of a note segment, in order.
///
/// The walk ends at a note with `n_namesz == 0`, when fewer than 4 bytes
/// are left, or at a note that does not fit in what is left (then
/// [`Notes::error`] says why).
#[derive(Clone, Debug)]
pub struct Notes<'a> {
    bytes: &'a [u8],
    at: usize,
    error: Option<NoteError>,
    done: bool,
}

impl<'a> Notes<'a> {
    /// The notes of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Notes { bytes, at: 0, error: None, done: false }
    }

    /// Bytes of the notes returned so far.
    pub fn offset(&self) -> usize {
        self.at
    }

    /// The note that ended the walk, if it ended on a bad one.
    pub fn error(&self) -> Option<NoteError> {
        self.error
    }

    /// The note at `self.at` and its padded size, `None` at the end.
    fn note_at(&self) -> Result<Option<(Note<'a>, usize)>, NoteError> {
        let at = self.at;
        let rest: &'a [u8] = self.bytes.get(at..).unwrap_or(&[]);
        let namesz = match u32_at(rest, 0) {
            None | Some(0) => return Ok(None),
            Some(n) => n,
        };
        let (Some(descsz), Some(kind)) = (u32_at(rest, 4), u32_at(rest, 8)) else {
            return Err(NoteError::Header { at });
        };
        // 12 + two padded u32s: no overflow in u64.
        let left = rest.len() as u64;
        let name_end = pad4(namesz).saturating_add(NHDR_SIZE as u64);
        if name_end > left {
            return Err(NoteError::Name { at, namesz });
        }
        let end = name_end.saturating_add(pad4(descsz));
        if end > left {
            return Err(NoteError::Desc { at, descsz });
        }
        // All within `rest`, hence within usize.
        let name_end = name_end as usize;
        let name_len = namesz as usize;
        let desc_len = descsz as usize;
        let mut name = rest.get(NHDR_SIZE..NHDR_SIZE.saturating_add(name_len)).unwrap_or(&[]);
        while let Some((&0, head)) = name.split_last() {
            name = head;
        }
        let desc = rest.get(name_end..name_end.saturating_add(desc_len)).unwrap_or(&[]);
        Ok(Some((Note { name, kind, desc }, end as usize)))
    }
}

impl<'a> Iterator for Notes<'a> {
    type Item = Note<'a>;

    fn next(&mut self) -> Option<Note<'a>> {
        if self.done {
            return None;
        }
        match self.note_at() {
            Ok(Some((note, len))) => {
                self.at = self.at.saturating_add(len);
                Some(note)
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.error = Some(e);
                self.done = true;
                None
            }
        }
    }
}

/// What walking a note segment found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteScan {
    /// Bytes of whole notes at the start of the segment: its real size.
    pub size: usize,
    /// Number of notes in them.
    pub count: usize,
    /// The note that ended the walk, if it did not fit.
    pub error: Option<NoteError>,
}

/// The real size of note segment `seg`: the notes before the first with
/// `n_namesz == 0`, or before the first that does not fit, each counted as
/// [`NHDR_SIZE`] plus its name and descriptor padded to 4 bytes. What
/// `update_note_header_size_elf64()` computes, without reading past `seg`.
pub fn scan_notes(seg: &[u8]) -> NoteScan {
    let mut notes = Notes::new(seg);
    let count = notes.by_ref().count();
    NoteScan { size: notes.offset(), count, error: notes.error() }
}

/// The first note called `name` (without terminating NUL) in `notes`, such
/// as VMCOREINFO in the merged notes.
pub fn find_note<'a>(notes: &'a [u8], name: &[u8]) -> Option<Note<'a>> {
    Notes::new(notes).find(|n| n.name == name)
}

/// The file range of one `PT_LOAD`: the whole pages of old memory it
/// touches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Load {
    /// Physical address of the first page.
    pub paddr: u64,
    /// Bytes: whole pages, possibly none.
    pub size: u64,
    /// Offset of the first page in the file.
    pub offset: u64,
}

/// What backs a range of the vmcore file, from [`Layout::locate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    /// Bytes `at..at + len` of the header [`Layout::write_header`] writes.
    Header {
        /// Offset in the header.
        at: usize,
        /// Bytes left in the header.
        len: usize,
    },
    /// Bytes `at..at + len` of the merged notes.
    Notes {
        /// Offset in the merged notes.
        at: usize,
        /// Bytes left in the notes.
        len: usize,
    },
    /// `len` zero bytes: the page padding after the notes.
    Zero {
        /// Bytes left in the padding.
        len: usize,
    },
    /// `len` bytes of old memory from `paddr`.
    OldMem {
        /// Physical address.
        paddr: u64,
        /// Bytes left in this `PT_LOAD`'s pages.
        len: u64,
    },
    /// At or past the end of the file.
    End,
}

impl Region {
    /// Bytes from the offset looked up to the end of its region (0 for
    /// [`Region::End`]).
    pub fn len(&self) -> u64 {
        match *self {
            Region::Header { len, .. } | Region::Notes { len, .. } | Region::Zero { len } => len as u64,
            Region::OldMem { len, .. } => len,
            Region::End => 0,
        }
    }

    /// Whether this is [`Region::End`].
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The vmcore file: where the header, the notes and each `PT_LOAD` are.
///
/// # Invariants
///
/// The file is `[0, header_size)` header, `[header_size, header_size +
/// notes_size)` notes, zeros up to `data_offset` (the next page), then
/// `loads` back to back in program header order up to `size`, which is at
/// most `i64::MAX`. `loads` has one entry per `PT_LOAD` of `hdr`.
#[derive(Clone, Copy, Debug)]
pub struct Layout<'a> {
    hdr: CoreHeader<'a>,
    loads: &'a [Load],
    phnum: u16,
    header_size: usize,
    notes_size: usize,
    data_offset: u64,
    size: u64,
}

impl<'a> Layout<'a> {
    /// Lays out the vmcore for `hdr` with `notes_size` bytes of merged
    /// notes ([`MergedNotes::size`]), keeping the `PT_LOAD`s' file ranges in
    /// `slots`, which needs [`CoreHeader::load_count`] entries.
    ///
    /// As `fs/proc/vmcore.c` does: the header (ELF header, merged
    /// `PT_NOTE`, other program headers) is rounded up to a page, the notes
    /// follow and are rounded up to a page, then each `PT_LOAD` in turn
    /// takes the pages from `p_offset` rounded down to `p_offset + p_memsz`
    /// rounded up, and its new `p_offset` is where `p_offset` falls in them.
    pub fn new(hdr: CoreHeader<'a>, notes_size: usize, slots: &'a mut [Load]) -> Result<Self, HeaderError> {
        let count = usize::from(hdr.loads);
        let have = slots.len();
        let slots = slots.get_mut(..count).ok_or(HeaderError::NoRoom { needed: count, have })?;
        let class = hdr.class;
        // One merged PT_NOTE replaces the (at least one) PT_NOTEs.
        let phnum = hdr.phnum.checked_sub(hdr.notes).and_then(|n| n.checked_add(1)).ok_or(HeaderError::NoNotes)?;
        let header_size = usize::from(phnum)
            .checked_mul(class.phdr_size())
            .and_then(|n| n.checked_add(class.ehdr_size()))
            .and_then(|n| n.checked_next_multiple_of(PAGE_SIZE as usize))
            .ok_or(HeaderError::FileSize)?;
        let data_offset = (notes_size as u64)
            .checked_next_multiple_of(PAGE_SIZE)
            .and_then(|n| n.checked_add(header_size as u64))
            .ok_or(HeaderError::FileSize)?;
        if notes_size as u64 > class.word_max() {
            return Err(HeaderError::FileSize);
        }
        let mut off = data_offset;
        let mut next = slots.iter_mut();
        for (index, p) in hdr.indexed().filter(|(_, p)| p.kind == PT_LOAD) {
            let (start, end) = p.page_range().ok_or(HeaderError::LoadRange { index })?;
            let load = Load { paddr: start, size: end.saturating_sub(start), offset: off };
            let new = new_offset(&load, &p).ok_or(HeaderError::FileSize)?;
            if new > class.word_max() {
                return Err(HeaderError::FileSize);
            }
            *next.next().ok_or(HeaderError::NoRoom { needed: count, have })? = load;
            off = off.checked_add(load.size).ok_or(HeaderError::FileSize)?;
        }
        if off > i64::MAX as u64 {
            return Err(HeaderError::FileSize);
        }
        Ok(Layout { hdr, loads: slots, phnum, header_size, notes_size, data_offset, size: off })
    }

    /// Bytes of the header, a whole number of pages: the notes start here.
    pub fn header_size(&self) -> usize {
        self.header_size
    }

    /// Bytes of merged notes.
    pub fn notes_size(&self) -> usize {
        self.notes_size
    }

    /// File offset of the first `PT_LOAD` page.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// Size of the vmcore file.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// `e_phnum` of the new header.
    pub fn phnum(&self) -> u16 {
        self.phnum
    }

    /// The `PT_LOAD`s' file ranges, in file order.
    pub fn loads(&self) -> &'a [Load] {
        self.loads
    }

    /// Writes the vmcore's header at the start of `buf`, which must hold
    /// [`Layout::header_size`] bytes, and returns that size.
    ///
    /// The crashed kernel's ELF header with the new `e_phnum`; the merged
    /// `PT_NOTE` (at [`Layout::header_size`], `p_align` 4, everything else
    /// zero but the sizes); then every other program header in table
    /// order, unchanged but for the `PT_LOAD`s' new `p_offset`. The rest is
    /// zero.
    pub fn write_header(&self, buf: &mut [u8]) -> Result<usize, HeaderError> {
        let size = self.header_size;
        let have = buf.len();
        let out = buf.get_mut(..size).ok_or(HeaderError::NoRoom { needed: size, have })?;
        out.fill(0);
        let class = self.hdr.class;
        let (ehdr, table) = out.split_at_mut(class.ehdr_size().min(size));
        crate::put_fields(ehdr, &[self.hdr.bytes.get(..class.ehdr_size()).unwrap_or(&[])]);
        if let Some(f) = ehdr.get_mut(class.phnum_at()..) {
            crate::put_fields(f, &[&self.phnum.to_le_bytes()]);
        }
        let mut slots = table.chunks_exact_mut(class.phdr_size());
        let note = Phdr {
            kind: PT_NOTE,
            offset: size as u64,
            filesz: self.notes_size as u64,
            memsz: self.notes_size as u64,
            align: 4,
            ..Phdr::default()
        };
        if let Some(slot) = slots.next() {
            note.write(class, slot);
        }
        let (field_at, width) = class.p_offset_field();
        let raw = self.hdr.bytes.get(class.ehdr_size()..).unwrap_or(&[]).chunks_exact(class.phdr_size());
        let mut loads = self.loads.iter();
        for (src, p) in raw.zip(self.hdr.phdrs()) {
            if p.kind == PT_NOTE {
                continue;
            }
            let Some(slot) = slots.next() else { break };
            crate::put_fields(slot, &[src]);
            if p.kind == PT_LOAD {
                // Checked to fit the class by Layout::new().
                let new = loads.next().and_then(|l| new_offset(l, &p)).unwrap_or(0);
                let bytes = new.to_le_bytes();
                if let (Some(f), Some(v)) = (slot.get_mut(field_at..), bytes.get(..width)) {
                    crate::put_fields(f, &[v]);
                }
            }
        }
        Ok(size)
    }

    /// The layout without the header it was made from, for a shell that
    /// keeps the `PT_LOAD` slots and the written header but not the
    /// crashed kernel's bytes.
    pub fn extents(&self) -> Extents {
        Extents {
            header_size: self.header_size,
            notes_size: self.notes_size,
            data_offset: self.data_offset,
            size: self.size,
        }
    }

    /// What backs file offset `off`, and for how many bytes from there.
    ///
    /// O(log n) in the number of `PT_LOAD`s. Regions tile the file: the
    /// region at `off + locate(off).len()` is the next one.
    pub fn locate(&self, off: u64) -> Region {
        self.extents().locate(self.loads, off)
    }
}

/// The sizes of a [`Layout`], which with its [`Layout::loads`] say what
/// backs every offset of the file.
///
/// # Invariants
///
/// Made by [`Layout::extents`], and used with the same layout's loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extents {
    header_size: usize,
    notes_size: usize,
    data_offset: u64,
    size: u64,
}

impl Extents {
    /// Bytes of the header, a whole number of pages.
    pub fn header_size(&self) -> usize {
        self.header_size
    }

    /// File offset of the first `PT_LOAD` page: the header, the notes and
    /// their padding come before it.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// Size of the vmcore file.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// [`Layout::locate`], given the layout's [`Layout::loads`].
    pub fn locate(&self, loads: &[Load], off: u64) -> Region {
        let header = self.header_size as u64;
        let notes_end = header.saturating_add(self.notes_size as u64);
        if off < header {
            // Below header_size, hence a usize.
            let at = off as usize;
            return Region::Header { at, len: self.header_size.saturating_sub(at) };
        }
        if off < notes_end {
            let at = off.saturating_sub(header) as usize;
            return Region::Notes { at, len: self.notes_size.saturating_sub(at) };
        }
        if off < self.data_offset {
            return Region::Zero { len: self.data_offset.saturating_sub(off) as usize };
        }
        if off >= self.size {
            return Region::End;
        }
        // The first load ending after `off`; loads are back to back.
        let i = loads.partition_point(|l| l.offset.saturating_add(l.size) <= off);
        match loads.get(i) {
            Some(l) if l.offset <= off => {
                let into = off.saturating_sub(l.offset);
                Region::OldMem { paddr: l.paddr.saturating_add(into), len: l.size.saturating_sub(into) }
            }
            _ => Region::End,
        }
    }
}

/// The vmcore `p_offset` of PT_LOAD `p` placed at `l`: where its first byte
/// falls in its pages.
fn new_offset(l: &Load, p: &Phdr) -> Option<u64> {
    l.offset.checked_add(p.offset.checked_sub(l.paddr)?)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    const X86: Expect = Expect { machine: EM_X86_64, max_size: 1 << 20 };

    /// One program header for the test's own encoder.
    #[derive(Clone, Copy, Debug)]
    struct P {
        kind: u32,
        offset: u64,
        vaddr: u64,
        memsz: u64,
    }

    fn note(offset: u64, memsz: u64) -> P {
        P { kind: PT_NOTE, offset, vaddr: 0, memsz }
    }

    fn load(offset: u64, memsz: u64) -> P {
        P { kind: PT_LOAD, offset, vaddr: offset | 0xffff_8880_0000_0000, memsz }
    }

    /// An ELF core header as the crashed kernel writes it, encoded by hand
    /// from the ELF specification (independently of the code under test).
    fn core64(machine: u16, ps: &[P]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&4u16.to_le_bytes()); // e_type = ET_CORE
        b.extend_from_slice(&machine.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes()); // e_version
        b.extend_from_slice(&0u64.to_le_bytes()); // e_entry
        b.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
        b.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        b.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        b.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
        b.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
        b.extend_from_slice(&(ps.len() as u16).to_le_bytes());
        b.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
        assert_eq!(b.len(), 64);
        for p in ps {
            let flags = if p.kind == PT_LOAD { 7u32 } else { 0 };
            for f in [p.kind, flags] {
                b.extend_from_slice(&f.to_le_bytes());
            }
            for f in [p.offset, p.vaddr, p.offset, p.memsz, p.memsz, 0] {
                b.extend_from_slice(&f.to_le_bytes());
            }
        }
        b
    }

    fn core32(machine: u16, ps: &[P]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"\x7fELF\x01\x01\x01\x00");
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&machine.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        for f in [0u32, 52, 0, 0] {
            // e_entry, e_phoff, e_shoff, e_flags
            b.extend_from_slice(&f.to_le_bytes());
        }
        for f in [52u16, 32, ps.len() as u16, 0, 0, 0] {
            b.extend_from_slice(&f.to_le_bytes());
        }
        assert_eq!(b.len(), 52);
        for p in ps {
            let flags = if p.kind == PT_LOAD { 7u32 } else { 0 };
            for f in
                [p.kind, p.offset as u32, p.vaddr as u32, p.offset as u32, p.memsz as u32, p.memsz as u32, flags, 0]
            {
                b.extend_from_slice(&f.to_le_bytes());
            }
        }
        b
    }

    fn le(b: &[u8], at: usize, n: usize) -> u64 {
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(&b[at..at + n]);
        u64::from_le_bytes(v)
    }

    fn put(b: &mut [u8], at: usize, v: u64, n: usize) {
        b[at..at + n].copy_from_slice(&v.to_le_bytes()[..n]);
    }

    /// A note encoded by hand: header, name + NUL padded, desc padded.
    fn enc_note(name: &str, kind: u32, desc: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        let namesz = name.len() as u32 + 1;
        b.extend_from_slice(&namesz.to_le_bytes());
        b.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        b.extend_from_slice(&kind.to_le_bytes());
        b.extend_from_slice(name.as_bytes());
        b.resize(b.len() + (4 - name.len() % 4), 0); // NUL and padding
        b.extend_from_slice(desc);
        while b.len() % 4 != 0 {
            b.push(0);
        }
        b
    }

    fn parse(b: &[u8]) -> Result<CoreHeader<'_>, HeaderError> {
        CoreHeader::parse(b, &X86)
    }

    #[test]
    fn every_header_error_is_reachable() {
        let good = core64(EM_X86_64, &[note(0x1000, 0x100), load(0x10_0000, 0x1000)]);
        assert!(parse(&good).is_ok());
        let bad = |at: usize, v: u64, n: usize| {
            let mut b = good.clone();
            put(&mut b, at, v, n);
            parse(&b).err()
        };
        assert_eq!(parse(&good[..10]).err(), Some(HeaderError::Truncated { needed: 16, have: 10 }));
        assert_eq!(parse(&good[..40]).err(), Some(HeaderError::Truncated { needed: 64, have: 40 }));
        assert_eq!(parse(&good[..64 + 56]).err(), Some(HeaderError::Truncated { needed: 64 + 112, have: 120 }));
        assert_eq!(bad(1, b'e' as u64, 1), Some(HeaderError::Magic));
        assert_eq!(bad(4, 3, 1), Some(HeaderError::Class(3)));
        assert_eq!(bad(5, 2, 1), Some(HeaderError::Data(2)));
        assert_eq!(bad(6, 0, 1), Some(HeaderError::IdentVersion(0)));
        assert_eq!(bad(16, 2, 2), Some(HeaderError::Type(2)));
        assert_eq!(bad(18, 3, 2), Some(HeaderError::Machine { found: 3, expected: 62 }));
        assert_eq!(bad(20, 2, 4), Some(HeaderError::Version(2)));
        assert_eq!(bad(52, 52, 2), Some(HeaderError::EhSize(52)));
        assert_eq!(bad(54, 32, 2), Some(HeaderError::PhEntSize(32)));
        assert_eq!(bad(32, 128, 8), Some(HeaderError::PhOff(128)));
        assert_eq!(bad(56, 0, 2), Some(HeaderError::PhNum(0)));
        assert_eq!(bad(56, 0xffff, 2), Some(HeaderError::PhNum(0xffff)));
        let small = Expect { machine: EM_X86_64, max_size: 64 + 56 };
        assert_eq!(CoreHeader::parse(&good, &small).err(), Some(HeaderError::TooBig { needed: 176, limit: 120 }));
        // p_type of the only PT_NOTE -> PT_NULL.
        assert_eq!(bad(64, 0, 4), Some(HeaderError::NoNotes));
        // PT_NOTE p_offset + p_memsz wraps.
        assert_eq!(bad(64 + 40, u64::MAX - 0xfff, 8), Some(HeaderError::NoteRange { index: 0 }));
        // PT_LOAD end wraps, or only its page-rounded end does.
        assert_eq!(bad(120 + 8, u64::MAX, 8), Some(HeaderError::LoadRange { index: 1 }));
        assert_eq!(bad(120 + 8, u64::MAX - 0x1000, 8), Some(HeaderError::LoadRange { index: 1 }));
        assert_eq!(bad(120 + 8, u64::MAX - 0x1fff, 8), None); // ends on the last page

        // The same through ELF32, whose fields sit elsewhere.
        let good32 = core32(EM_X86_64, &[note(0x1000, 0x100), load(0x10_0000, 0x1000)]);
        assert_eq!(parse(&good32).map(|h| h.class()).ok(), Some(Class::Elf32));
        let bad32 = |at: usize, v: u64, n: usize| {
            let mut b = good32.clone();
            put(&mut b, at, v, n);
            parse(&b).err()
        };
        assert_eq!(parse(&good32[..60]).err(), Some(HeaderError::Truncated { needed: 52 + 64, have: 60 }));
        assert_eq!(bad32(28, 64, 4), Some(HeaderError::PhOff(64)));
        assert_eq!(bad32(40, 64, 2), Some(HeaderError::EhSize(64)));
        assert_eq!(bad32(42, 56, 2), Some(HeaderError::PhEntSize(56)));
        assert_eq!(bad32(44, 0, 2), Some(HeaderError::PhNum(0)));
        assert_eq!(bad32(18, 3, 2), Some(HeaderError::Machine { found: 3, expected: 62 }));
        let i386 = Expect { machine: EM_386, max_size: 4096 };
        assert!(CoreHeader::parse(&core32(EM_386, &[note(0, 0)]), &i386).is_ok());
        // arm64: EM_AARCH64 (183) for both classes; an x86_64 core is refused.
        let arm64 = Expect { machine: EM_AARCH64, max_size: 4096 };
        assert!(CoreHeader::parse(&core64(183, &[note(0, 0)]), &arm64).is_ok());
        assert!(CoreHeader::parse(&core32(183, &[note(0, 0)]), &arm64).is_ok());
        assert_eq!(
            CoreHeader::parse(&core64(EM_X86_64, &[note(0, 0)]), &arm64).err(),
            Some(HeaderError::Machine { found: 62, expected: 183 })
        );
    }

    #[test]
    fn errors_name_their_field() {
        let all = [
            HeaderError::Truncated { needed: 1, have: 0 },
            HeaderError::Magic,
            HeaderError::Class(0),
            HeaderError::Data(2),
            HeaderError::IdentVersion(0),
            HeaderError::Type(1),
            HeaderError::Machine { found: 3, expected: 62 },
            HeaderError::Version(0),
            HeaderError::EhSize(0),
            HeaderError::PhEntSize(0),
            HeaderError::PhOff(0),
            HeaderError::PhNum(0),
            HeaderError::TooBig { needed: 2, limit: 1 },
            HeaderError::NoNotes,
            HeaderError::NoteRange { index: 0 },
            HeaderError::LoadRange { index: 0 },
            HeaderError::FileSize,
            HeaderError::NoRoom { needed: 1, have: 0 },
        ];
        for e in all {
            let s = std::format!("{e}");
            assert!(s.starts_with(e.field()) && s.contains(e.message()), "{s}");
        }
        assert_eq!(std::format!("{}", HeaderError::Data(2)), "e_ident[EI_DATA]: not little endian (2)");
        assert_eq!(
            std::format!("{}", HeaderError::Machine { found: 3, expected: 62 }),
            "e_machine: wrong machine (3, expected 62)"
        );
        assert_eq!(std::format!("{}", NoteError::Desc { at: 16, descsz: 9 }), "n_descsz=0x9 past the segment at 0x10");
    }

    #[test]
    fn header_len_needs_only_the_elf_header() {
        let b = core64(EM_X86_64, &[note(0, 0); 3]);
        assert_eq!(header_len(&b[..EHDR_MAX], &X86), Ok(64 + 3 * 56));
        let b = core32(EM_X86_64, &[note(0, 0); 3]);
        assert_eq!(header_len(&b[..52], &X86), Ok(52 + 3 * 32));
    }

    #[test]
    fn note_walk_stops_where_upstream_does() {
        let a = enc_note("CORE", 1, &[0xaa; 336]); // NT_PRSTATUS-sized
        let v = enc_note("VMCOREINFO", 0, b"OSRELEASE=6.12.0\nPAGESIZE=4096\n");
        assert_eq!(a.len(), 12 + 8 + 336);
        assert_eq!(v.len(), 12 + 12 + 32);
        // Notes, then zeros up to p_memsz: the walk ends at n_namesz == 0.
        let mut seg = [a.clone(), v.clone()].concat();
        seg.resize(1024, 0);
        assert_eq!(scan_notes(&seg), NoteScan { size: 356 + 56, count: 2, error: None });
        let names: Vec<_> = Notes::new(&seg).map(|n| (n.name, n.kind, n.desc.len())).collect();
        assert_eq!(names, [(&b"CORE"[..], 1, 336), (&b"VMCOREINFO"[..], 0, 31)]);
        // Exactly full, and nothing at all.
        assert_eq!(scan_notes(&a), NoteScan { size: 356, count: 1, error: None });
        assert_eq!(scan_notes(&[]), NoteScan { size: 0, count: 0, error: None });
        assert_eq!(scan_notes(&[0; 3]), NoteScan { size: 0, count: 0, error: None });
        // A note header cut short after a good note.
        let mut cut = a.clone();
        cut.extend_from_slice(&[5, 0, 0, 0, 0, 0]);
        assert_eq!(scan_notes(&cut), NoteScan { size: 356, count: 1, error: Some(NoteError::Header { at: 356 }) });
        // The padded name, then the padded descriptor, one byte too long.
        let mut name = v.clone();
        name[0..4].copy_from_slice(&(v.len() as u32 - 12 + 1).to_le_bytes());
        assert_eq!(scan_notes(&name).error, Some(NoteError::Name { at: 0, namesz: 45 }));
        let mut desc = v.clone();
        desc[4..8].copy_from_slice(&33u32.to_le_bytes());
        assert_eq!(
            scan_notes(&desc),
            NoteScan { size: 0, count: 0, error: Some(NoteError::Desc { at: 0, descsz: 33 }) }
        );
        // Sizes near 2^32 neither overflow nor read out of bounds.
        let mut huge = v.clone();
        huge[0..8].copy_from_slice(&[0xff; 8]);
        assert_eq!(scan_notes(&huge).error, Some(NoteError::Name { at: 0, namesz: u32::MAX }));
        huge[0..4].copy_from_slice(&4u32.to_le_bytes());
        assert_eq!(scan_notes(&huge).error, Some(NoteError::Desc { at: 0, descsz: u32::MAX }));
        assert_eq!(find_note(&seg, b"VMCOREINFO").map(|n| n.desc), Some(&b"OSRELEASE=6.12.0\nPAGESIZE=4096\n"[..]));
        assert_eq!(find_note(&seg, b"VMCORE"), None);
    }

    /// Old memory for the tests: `(paddr, bytes)` pieces.
    fn reader<'m>(mem: &'m [(u64, Vec<u8>)]) -> impl FnMut(u64, &mut [u8]) -> Result<(), u64> + 'm {
        move |paddr, buf| {
            for (base, bytes) in mem {
                if paddr >= *base && paddr + buf.len() as u64 <= base + bytes.len() as u64 {
                    let at = (paddr - base) as usize;
                    buf.copy_from_slice(&bytes[at..at + buf.len()]);
                    return Ok(());
                }
            }
            Err(paddr)
        }
    }

    #[test]
    fn merge_packs_real_sizes_in_table_order() {
        let cpu0 = enc_note("CORE", 1, &[1; 20]);
        let cpu1 = enc_note("CORE", 1, &[2; 20]);
        let info = enc_note("VMCOREINFO", 0, b"OSRELEASE=x\n");
        let pad = |n: &Vec<u8>, to: usize| {
            let mut v = n.clone();
            v.resize(to, 0);
            v
        };
        // CPU 1 was offline: its buffer is all zeros.
        let mem =
            [(0x1000, pad(&cpu0, 64)), (0x2000, std::vec![0; 64]), (0x3000, pad(&info, 100)), (0x4000, pad(&cpu1, 64))];
        let b = core64(
            EM_X86_64,
            &[note(0x1000, 64), load(0x10_0000, 0x1000), note(0x2000, 64), note(0x3000, 100), note(0x4000, 64)],
        );
        let h = parse(&b).unwrap();
        assert_eq!((h.note_count(), h.load_count(), h.notes_max()), (4, 1, 292));
        let mut out = std::vec![0xee; 300];
        let m = h.merge_notes(&mut out, reader(&mem)).unwrap();
        let want = [cpu0.clone(), info.clone(), cpu1.clone()].concat();
        assert_eq!(m, MergedNotes { size: want.len(), empty: 1, dropped: 0, first_drop: None });
        assert_eq!(&out[..want.len()], &want[..]);
        assert!(out[want.len()..].iter().all(|&b| b == 0));
        assert_eq!(find_note(&out[..m.size], b"VMCOREINFO").map(|n| n.desc), Some(&b"OSRELEASE=x\n"[..]));
        // Too small a buffer, and a read that fails on the third PT_NOTE.
        assert_eq!(h.merge_notes(&mut out[..291], reader(&mem)), Err(MergeError::NoRoom { needed: 292, have: 291 }));
        assert_eq!(h.merge_notes(&mut out, reader(&mem[..2])), Err(MergeError::Read { index: 3, error: 0x3000 }));
        // A descriptor too long for its segment: that segment's tail goes.
        let mut broken = pad(&cpu0, 64);
        broken[4..8].copy_from_slice(&200u32.to_le_bytes());
        let mem = [(0x1000, broken), (0x2000, std::vec![0; 64]), (0x3000, pad(&info, 100)), (0x4000, pad(&cpu1, 64))];
        let m = h.merge_notes(&mut out, reader(&mem)).unwrap();
        assert_eq!(m.size, info.len() + cpu1.len());
        assert_eq!((m.empty, m.dropped), (2, 1));
        assert_eq!(m.first_drop, Some(NoteDrop { index: 0, error: NoteError::Desc { at: 0, descsz: 200 } }));
    }

    #[test]
    fn layout_matches_upstream_arithmetic() {
        // 3 PT_NOTEs, a PT_NULL, 3 PT_LOADs: the kernel text aliases RAM.
        let ps = [
            note(0x7000, 0x400),
            note(0x8000, 0x400),
            // Kernel text, with an unaligned end.
            load(0x100_0000, 0x20_0800),
            // A PT_NULL, kept as it is.
            P { kind: 0, offset: 0xdead, vaddr: 0, memsz: 0x10 },
            // Unaligned start and end.
            load(0x0010_0800, 0x3000),
            note(0x9000, 0x1000),
            // RAM that holds the kernel text too.
            load(0x0000_0000, 0x4000_0000),
        ];
        let b = core64(EM_X86_64, &ps);
        let h = parse(&b).unwrap();
        let notes = 5000;
        let mut slots = [Load::default(); 3];
        let l = Layout::new(h, notes, &mut slots).unwrap();
        // ELF header + (1 note + 4 others) * 56 = 344 -> one page; the notes
        // 5000 -> two pages; data at 3 pages.
        assert_eq!((l.phnum(), l.header_size(), l.notes_size(), l.data_offset()), (5, 4096, 5000, 0x3000));
        let want = [
            // start 0x100_0000, end 0x120_1000.
            Load { paddr: 0x100_0000, size: 0x20_1000, offset: 0x3000 },
            // start 0x10_0000, end 0x10_3800 -> 0x10_4000.
            Load { paddr: 0x10_0000, size: 0x4000, offset: 0x3000 + 0x20_1000 },
            Load { paddr: 0, size: 0x4000_0000, offset: 0x3000 + 0x20_1000 + 0x4000 },
        ];
        assert_eq!(l.loads(), &want);
        assert_eq!(l.size(), 0x3000 + 0x20_1000 + 0x4000 + 0x4000_0000);

        let mut buf = std::vec![0xffu8; 8192];
        assert_eq!(l.write_header(&mut buf[..4095]), Err(HeaderError::NoRoom { needed: 4096, have: 4095 }));
        assert_eq!(l.write_header(&mut buf), Ok(4096));
        assert_eq!(&buf[..56], &b[..56]); // ELF header up to e_phnum unchanged
        assert_eq!(le(&buf, 56, 2), 5);
        assert_eq!(&buf[58..64], &b[58..64]);
        let ph = |i: usize| 64 + 56 * i;
        // Merged PT_NOTE: type, flags, offset, vaddr, paddr, filesz, memsz, align.
        let fields = |i: usize| -> Vec<u64> {
            let o = ph(i);
            [(0, 4), (4, 4), (8, 8), (16, 8), (24, 8), (32, 8), (40, 8), (48, 8)]
                .iter()
                .map(|&(a, n)| le(&buf, o + a, n))
                .collect()
        };
        assert_eq!(fields(0), [4, 0, 4096, 0, 0, 5000, 5000, 4]);
        // The others in order; only the PT_LOADs' p_offset changed.
        let src = |i: usize| &b[ph(i)..ph(i) + 56];
        assert_eq!(fields(1)[2], 0x3000);
        assert_eq!(&buf[ph(1)..ph(1) + 8], &src(2)[..8]);
        assert_eq!(&buf[ph(1) + 16..ph(1) + 56], &src(2)[16..]);
        assert_eq!(&buf[ph(2)..ph(3)], src(3));
        assert_eq!(fields(3)[2], 0x3000 + 0x20_1000 + 0x800);
        assert_eq!(fields(4)[2], 0x3000 + 0x20_1000 + 0x4000);
        assert!(buf[ph(5)..4096].iter().all(|&b| b == 0));
        assert!(buf[4096..].iter().all(|&b| b == 0xff));

        // What each offset is backed by, at the edges.
        assert_eq!(l.locate(0), Region::Header { at: 0, len: 4096 });
        assert_eq!(l.locate(4095), Region::Header { at: 4095, len: 1 });
        assert_eq!(l.locate(4096), Region::Notes { at: 0, len: 5000 });
        assert_eq!(l.locate(4096 + 4999), Region::Notes { at: 4999, len: 1 });
        assert_eq!(l.locate(4096 + 5000), Region::Zero { len: 0x3000 - 9096 });
        assert_eq!(l.locate(0x2fff), Region::Zero { len: 1 });
        assert_eq!(l.locate(0x3000), Region::OldMem { paddr: 0x100_0000, len: 0x20_1000 });
        assert_eq!(l.locate(0x3000 + 0x20_0fff), Region::OldMem { paddr: 0x120_0fff, len: 1 });
        assert_eq!(l.locate(0x3000 + 0x20_1000), Region::OldMem { paddr: 0x10_0000, len: 0x4000 });
        assert_eq!(l.locate(0x3000 + 0x20_5000 + 0x123), Region::OldMem { paddr: 0x123, len: 0x4000_0000 - 0x123 });
        assert_eq!(l.locate(l.size() - 1), Region::OldMem { paddr: 0x3fff_ffff, len: 1 });
        assert_eq!(l.locate(l.size()), Region::End);
        assert_eq!(l.locate(u64::MAX), Region::End);

        // Too few slots.
        let mut two = [Load::default(); 2];
        assert_eq!(Layout::new(h, notes, &mut two).err(), Some(HeaderError::NoRoom { needed: 3, have: 2 }));
    }

    #[test]
    fn elf32_layout_and_its_limits() {
        let ps = [note(0x5000, 0x200), load(0x1800, 0x1000), load(0xffff_f000, 0x1000)];
        let b = core32(EM_X86_64, &ps);
        let h = parse(&b).unwrap();
        let mut slots = [Load::default(); 2];
        let l = Layout::new(h, 0x100, &mut slots).unwrap();
        // 52 + 3 * 32 -> one page; 0x100 of notes -> one page.
        assert_eq!((l.header_size(), l.data_offset()), (4096, 0x2000));
        assert_eq!(
            l.loads(),
            &[
                Load { paddr: 0x1000, size: 0x2000, offset: 0x2000 },
                Load { paddr: 0xffff_f000, size: 0x1000, offset: 0x4000 }
            ]
        );
        let mut buf = std::vec![0u8; 4096];
        l.write_header(&mut buf).unwrap();
        assert_eq!(le(&buf, 44, 2), 3);
        // PT_NOTE: type, offset, vaddr, paddr, filesz, memsz, flags, align.
        let fields = |i: usize| -> Vec<u64> { (0..8).map(|k| le(&buf, 52 + 32 * i + 4 * k, 4)).collect() };
        assert_eq!(fields(0), [4, 4096, 0, 0, 0x100, 0x100, 0, 4]);
        assert_eq!(fields(1), [1, 0x2800, 0x1800, 0x1800, 0x1000, 0x1000, 7, 0]);
        assert_eq!(fields(2), [1, 0x4000, 0xffff_f000, 0xffff_f000, 0x1000, 0x1000, 7, 0]);
        // 4 GiB of RAM does not leave room for the headers in 32-bit offsets.
        let b = core32(EM_X86_64, &[note(0, 0), load(0, 0xffff_f000), load(0xffff_f000, 0x1000)]);
        let h = parse(&b).unwrap();
        assert_eq!(Layout::new(h, 0, &mut slots).err(), Some(HeaderError::FileSize));
        assert_eq!(Layout::new(h, 1 << 32, &mut slots).err(), Some(HeaderError::FileSize));
    }

    #[test]
    fn file_larger_than_loff_t_is_refused() {
        let b = core64(EM_X86_64, &[note(0, 0), load(0, 1 << 62), load(0, 1 << 62)]);
        let h = parse(&b).unwrap();
        let mut slots = [Load::default(); 2];
        assert_eq!(Layout::new(h, 0, &mut slots).err(), Some(HeaderError::FileSize));
        let b = core64(EM_X86_64, &[note(0, 0), load(0, 1 << 62), load(0, (1 << 62) - 0x2000)]);
        let l = Layout::new(parse(&b).unwrap(), 0, &mut slots).unwrap();
        assert_eq!(l.size(), 0x1000 + (1 << 63) - 0x2000);
    }

    /// Walks the file region by region from 0 and checks that they tile it:
    /// each starts where the previous ended, none is empty, old memory is
    /// inside the page range of the `PT_LOAD` at that offset, and any
    /// offset inside a region is that region, moved on.
    fn check_tiling(l: &Layout<'_>, h: &CoreHeader<'_>, probes: &[u64]) {
        let mut off = 0u64;
        let mut starts = Vec::new();
        let mut loads = h.phdrs().filter(|p| p.kind == PT_LOAD);
        let mut regions = 0;
        let mut header_bytes = 0u64;
        let mut note_bytes = 0u64;
        while off < l.size() {
            let r = l.locate(off);
            assert!(!r.is_empty(), "empty region at {off:#x}");
            match r {
                Region::Header { at, .. } => {
                    assert_eq!(at as u64, off);
                    header_bytes += r.len();
                }
                Region::Notes { at, .. } => {
                    assert_eq!(at as u64, off - l.header_size() as u64);
                    note_bytes += r.len();
                }
                Region::Zero { .. } => assert_eq!(off + r.len(), l.data_offset()),
                Region::OldMem { paddr, len } => {
                    // The next non-empty PT_LOAD, in table order.
                    let p = loads.by_ref().find(|p| p.page_range().unwrap().1 > p.offset & !0xfff).unwrap();
                    let (start, end) = (p.offset & !0xfff, (p.offset + p.memsz + 0xfff) & !0xfff);
                    assert_eq!((paddr, len), (start, end - start));
                }
                Region::End => unreachable!(),
            }
            starts.push((off, r));
            off += r.len();
            regions += 1;
            assert!(regions <= 3 + usize::from(h.load_count()));
        }
        assert_eq!(off, l.size());
        assert_eq!(header_bytes, l.header_size() as u64);
        assert_eq!(note_bytes, l.notes_size() as u64);
        assert_eq!(l.locate(off), Region::End);
        for &p in probes {
            let p = p % (l.size() + 1);
            let got = l.locate(p);
            let Some(&(s, r)) = starts.iter().rev().find(|(s, _)| *s <= p) else {
                assert_eq!(got, Region::End);
                continue;
            };
            let d = p - s;
            let want = match r {
                _ if d >= r.len() => Region::End,
                Region::Header { at, len } => Region::Header { at: at + d as usize, len: len - d as usize },
                Region::Notes { at, len } => Region::Notes { at: at + d as usize, len: len - d as usize },
                Region::Zero { len } => Region::Zero { len: len - d as usize },
                Region::OldMem { paddr, len } => Region::OldMem { paddr: paddr + d, len: len - d },
                Region::End => Region::End,
            };
            assert_eq!(got, want, "offset {p:#x}");
        }
    }

    fn arb_phdr() -> impl Strategy<Value = P> {
        prop_oneof![
            (0u64..1 << 40, 0u64..0x1_0000).prop_map(|(o, m)| note(o, m)),
            (0u64..1 << 40, 0u64..1 << 30).prop_map(|(o, m)| load(o, m)),
            (0u64..0x10_0000, 0u64..0x10_0000).prop_map(|(o, m)| load(o, m)),
            (any::<u32>(), any::<u64>(), any::<u64>()).prop_map(|(kind, offset, memsz)| P {
                kind,
                offset,
                vaddr: 1,
                memsz
            }),
        ]
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = header_len(&bytes, &X86);
            if let Ok(h) = parse(&bytes) {
                let mut slots = std::vec![Load::default(); h.load_count().into()];
                let _ = Layout::new(h, 0, &mut slots).map(|l| l.locate(0));
            }
            let _ = scan_notes(&bytes);
        }

        #[test]
        fn mutated_headers_never_panic(
            ps in proptest::collection::vec(arb_phdr(), 1..8),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
            elf32 in any::<bool>(),
        ) {
            let mut b = if elf32 { core32(EM_X86_64, &ps) } else { core64(EM_X86_64, &ps) };
            for (at, v) in flips {
                let n = b.len();
                b[at % n] = v;
            }
            if let Ok(h) = parse(&b) {
                let mut slots = std::vec![Load::default(); h.load_count().into()];
                if let Ok(l) = Layout::new(h, 100, &mut slots) {
                    let mut buf = std::vec![0; l.header_size()];
                    prop_assert_eq!(l.write_header(&mut buf), Ok(l.header_size()));
                    prop_assert!(parse(&buf).is_ok());
                }
            }
        }

        #[test]
        fn locate_tiles_the_file(
            ps in proptest::collection::vec(arb_phdr(), 0..24),
            notes in 0usize..20_000,
            probes in proptest::collection::vec(any::<u64>(), 64),
            elf32 in any::<bool>(),
        ) {
            let mut ps = ps;
            ps.insert(0, note(0x1000, 0x100));
            let b = if elf32 { core32(EM_X86_64, &ps) } else { core64(EM_X86_64, &ps) };
            let Ok(h) = parse(&b) else { return Ok(()) };
            let mut slots = std::vec![Load::default(); h.load_count().into()];
            let Ok(l) = Layout::new(h, notes, &mut slots) else { return Ok(()) };
            check_tiling(&l, &h, &probes);
            // The new header is itself a valid core header whose PT_LOADs
            // point at the pages locate() maps to their p_offset.
            let mut buf = std::vec![0; l.header_size()];
            l.write_header(&mut buf).unwrap();
            let out = parse(&buf).unwrap();
            prop_assert_eq!(out.note_count(), 1);
            prop_assert_eq!(out.load_count(), h.load_count());
            for (new, old) in out.phdrs().filter(|p| p.kind == PT_LOAD).zip(h.phdrs().filter(|p| p.kind == PT_LOAD)) {
                if old.memsz > 0 {
                    prop_assert_eq!(l.locate(new.offset), Region::OldMem {
                        paddr: old.offset,
                        len: ((old.offset + old.memsz + 0xfff) & !0xfff) - old.offset,
                    });
                }
            }
        }
    }

    /// Differential test against `fs/proc/vmcore.c`: the C kernel's vmcore
    /// header is what it made of the crashed kernel's elfcorehdr. Taking
    /// that header back to an elfcorehdr (`p_offset = p_paddr` for the
    /// `PT_LOAD`s; its one `PT_NOTE` read from the file) and laying it out
    /// again must give the same header, byte for byte, and the same size.
    /// `KDUMP_C_VMCORE` names the capture; run with `--ignored`.
    #[test]
    #[ignore = "needs KDUMP_C_VMCORE (kdump.py test sets it after the C capture)"]
    fn c_vmcore_header_is_reproduced() {
        use std::io::Read;
        let path = std::env::var("KDUMP_C_VMCORE").unwrap_or_else(|_| {
            panic!("KDUMP_C_VMCORE is not set: it must name the C kernel's vmcore")
        });
        let mut f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let file_size = f.metadata().unwrap().len();
        let mut head = std::vec![0u8; 64 << 10];
        let n = f.read(&mut head).unwrap();
        head.truncate(n);

        // The architecture the C kernel ran on, one the runner captures.
        let machine = u16::from_le_bytes([head[18], head[19]]);
        assert!([EM_X86_64, EM_AARCH64].contains(&machine), "e_machine {machine}");
        let expect = Expect { machine, ..X86 };
        let h = CoreHeader::parse(&head, &expect).unwrap();
        assert_eq!(h.class(), Class::Elf64);
        assert_eq!(h.note_count(), 1);
        let mut input = head[..header_len(&head, &expect).unwrap()].to_vec();
        let mut prev_end = 0;
        for (i, p) in h.phdrs().enumerate() {
            let at = 64 + 56 * i;
            if p.kind == PT_LOAD {
                // Upstream: p_offset keeps p_paddr's offset in its page, and
                // the PT_LOADs follow each other page by page.
                assert_eq!(p.offset % 4096, p.paddr % 4096);
                if prev_end != 0 {
                    assert_eq!(p.offset - p.offset % 4096, prev_end);
                }
                prev_end = (p.offset + p.memsz + 4095) & !4095;
                put(&mut input, at + 8, p.paddr, 8);
            }
        }
        assert_eq!(prev_end, file_size);

        let h = CoreHeader::parse(&input, &expect).unwrap();
        let file = &head;
        let read = |off: u64, buf: &mut [u8]| -> Result<(), ()> {
            let at = usize::try_from(off).map_err(|_| ())?;
            buf.copy_from_slice(file.get(at..at + buf.len()).ok_or(())?);
            Ok(())
        };
        let mut notes = std::vec![0u8; h.notes_max()];
        let m = h.merge_notes(&mut notes, read).unwrap();
        assert_eq!((m.size, m.dropped), (h.notes_max(), 0));
        let info = find_note(&notes[..m.size], b"VMCOREINFO").unwrap();
        let text = std::str::from_utf8(info.desc).unwrap();
        assert!(text.contains("OSRELEASE="), "{text}");
        assert!(Notes::new(&notes[..m.size]).any(|n| n.name == b"CORE"));

        let mut slots = std::vec![Load::default(); h.load_count().into()];
        let l = Layout::new(h, m.size, &mut slots).unwrap();
        let mut ours = std::vec![0u8; l.header_size()];
        l.write_header(&mut ours).unwrap();
        assert_eq!(&ours[..], &head[..l.header_size()]);
        assert_eq!(l.size(), file_size);
    }
}
