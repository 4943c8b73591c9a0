// SPDX-License-Identifier: GPL-2.0

//! Validation of the crashed kernel's ELF core header.

use super::PAGE_SIZE;
use crate::bytes_at;
use crate::elf::{
    Class, Phdr, EI_NIDENT, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFMAG, ET_CORE, EV_CURRENT,
    PN_XNUM, PT_LOAD, PT_NOTE,
};
use crate::{u16_at, u32_at};
use core::fmt;

/// What the capture kernel accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect {
    /// `e_machine` (x86_64: [`EM_X86_64`](crate::elf::EM_X86_64) for both classes, as
    /// `elf_check_arch()` wants; arm64: [`EM_AARCH64`](crate::elf::EM_AARCH64); riscv64:
    /// [`EM_RISCV`](crate::elf::EM_RISCV); i386: [`EM_386`](crate::elf::EM_386)).
    pub machine: u16,
    /// The one ELF class accepted, or `None` for both: x86_64's and arm64's
    /// `elf_check_arch()` look at `e_machine` only, riscv64's also wants
    /// [`Class::Elf64`].
    pub class: Option<Class>,
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
    /// `e_ident[EI_CLASS]` is a class [`Expect::class`] does not accept.
    ClassNotAccepted(u8),
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
            HeaderError::Class(_) | HeaderError::ClassNotAccepted(_) => "e_ident[EI_CLASS]",
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
            HeaderError::ClassNotAccepted(_) => "not this machine's ELF class",
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
            HeaderError::Class(v)
            | HeaderError::ClassNotAccepted(v)
            | HeaderError::Data(v)
            | HeaderError::IdentVersion(v) => write!(f, " ({v})"),
            HeaderError::Type(v)
            | HeaderError::EhSize(v)
            | HeaderError::PhEntSize(v)
            | HeaderError::PhNum(v) => {
                write!(f, " ({v})")
            }
            HeaderError::Machine { found, expected } => {
                write!(f, " ({found}, expected {expected})")
            }
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
        let ident: [u8; EI_NIDENT] = bytes_at(b, 0).ok_or(HeaderError::Truncated {
            needed: EI_NIDENT,
            have,
        })?;
        let [m0, m1, m2, m3, raw_class, data, version, ..] = ident;
        if [m0, m1, m2, m3] != *ELFMAG {
            return Err(HeaderError::Magic);
        }
        let class = match raw_class {
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
        let e = b
            .get(..size)
            .ok_or(HeaderError::Truncated { needed: size, have })?;
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
            return Err(HeaderError::Machine {
                found: machine,
                expected: expect.machine,
            });
        }
        if expect.class.is_some_and(|c| c != class) {
            return Err(HeaderError::ClassNotAccepted(raw_class));
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
        let too_big = HeaderError::TooBig {
            needed: usize::MAX,
            limit: expect.max_size,
        };
        let len = usize::from(phnum)
            .checked_mul(class.phdr_size())
            .and_then(|n| n.checked_add(size))
            .ok_or(too_big)?;
        if len > expect.max_size {
            return Err(HeaderError::TooBig {
                needed: len,
                limit: expect.max_size,
            });
        }
        Ok(Ehdr { class, phnum, len })
    }
}

/// Bytes the ELF header and program header table span, from the ELF header
/// alone (the first [`EHDR_MAX`](super::EHDR_MAX) bytes at `elfcorehdr=` are enough): read
/// that many, then call [`CoreHeader::parse`].
///
/// Checks everything in the ELF header, as [`CoreHeader::parse`] does.
pub fn header_len(ehdr: &[u8], expect: &Expect) -> Result<usize, HeaderError> {
    Ehdr::parse(ehdr, expect).map(|e| e.len)
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
    pub(super) bytes: &'a [u8],
    pub(super) class: Class,
    pub(super) phnum: u16,
    pub(super) notes: u16,
    pub(super) loads: u16,
    pub(super) notes_max: usize,
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
        let bytes = bytes.get(..e.len).ok_or(HeaderError::Truncated {
            needed: e.len,
            have,
        })?;
        let mut h = CoreHeader {
            bytes,
            class: e.class,
            phnum: e.phnum,
            notes: 0,
            loads: 0,
            notes_max: 0,
        };
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
                    page_range(&p).ok_or(HeaderError::LoadRange { index })?;
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

    /// Number of `PT_LOAD` program headers: the slots [`Layout::new`](super::Layout::new)
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
    pub(super) fn indexed(&self) -> impl Iterator<Item = (u16, Phdr)> + 'a {
        let class = self.class;
        let table: &'a [u8] = self.bytes.get(class.ehdr_size()..).unwrap_or(&[]);
        (0..=u16::MAX)
            .zip(table.chunks_exact(class.phdr_size()))
            .filter_map(move |(i, b)| Some((i, Phdr::parse(class, b)?)))
    }
}

/// Page-rounded old-memory range `[start, end)` of a `PT_LOAD`, if its end
/// does not wrap.
pub(super) fn page_range(p: &Phdr) -> Option<(u64, u64)> {
    let end = p
        .offset
        .checked_add(p.memsz)?
        .checked_next_multiple_of(PAGE_SIZE)?;
    Some((p.offset & !(PAGE_SIZE - 1), end))
}
