// SPDX-License-Identifier: GPL-2.0

//! The notes of the crashed kernel's `PT_NOTE` segments, and their merge
//! into the one `PT_NOTE` of the vmcore.

use super::CoreHeader;
use crate::elf::{NHDR_SIZE, PT_NOTE};
use crate::u32_at;
use core::fmt;

/// `n` rounded up to a multiple of 4, as note names and descriptors are.
fn pad4(n: u32) -> u64 {
    u64::from(n).checked_next_multiple_of(4).unwrap_or(u64::MAX)
}

impl CoreHeader<'_> {
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
    pub fn merge_notes<E, F>(
        &self,
        out: &mut [u8],
        mut read: F,
    ) -> Result<MergedNotes, MergeError<E>>
    where
        F: FnMut(u64, &mut [u8]) -> Result<(), E>,
    {
        let (needed, have) = (self.notes_max, out.len());
        let no_room = move || MergeError::NoRoom { needed, have };
        if have < needed {
            return Err(no_room());
        }
        let mut m = MergedNotes {
            size: 0,
            empty: 0,
            dropped: 0,
            first_drop: None,
        };
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
            NoteError::Header { at } => {
                write!(f, "{}: note header cut short at {at:#x}", self.field())
            }
            NoteError::Name { at, namesz } => write!(
                f,
                "{}={namesz:#x} past the segment at {at:#x}",
                self.field()
            ),
            NoteError::Desc { at, descsz } => write!(
                f,
                "{}={descsz:#x} past the segment at {at:#x}",
                self.field()
            ),
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
        Notes {
            bytes,
            at: 0,
            error: None,
            done: false,
        }
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
        let mut name = rest
            .get(NHDR_SIZE..NHDR_SIZE.saturating_add(name_len))
            .unwrap_or(&[]);
        while let Some((&0, head)) = name.split_last() {
            name = head;
        }
        let desc = rest
            .get(name_end..name_end.saturating_add(desc_len))
            .unwrap_or(&[]);
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
    // Not `count()`: core's adds with an overflow check. A note takes at
    // least NHDR_SIZE bytes of `seg`, so the count cannot wrap.
    let mut count = 0usize;
    for _ in notes.by_ref() {
        count = count.wrapping_add(1);
    }
    NoteScan {
        size: notes.offset(),
        count,
        error: notes.error(),
    }
}

/// The first note called `name` (without terminating NUL) in `notes`, such
/// as VMCOREINFO in the merged notes.
pub fn find_note<'a>(notes: &'a [u8], name: &[u8]) -> Option<Note<'a>> {
    Notes::new(notes).find(|n| n.name == name)
}
