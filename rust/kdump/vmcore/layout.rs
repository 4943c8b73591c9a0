// SPDX-License-Identifier: GPL-2.0

//! Where the header, the notes and each `PT_LOAD` lie in the vmcore file.

use super::header::page_range;
use super::{CoreHeader, HeaderError, PAGE_SIZE};
use crate::elf::{Phdr, PT_LOAD, PT_NOTE};

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
    /// Bytes `at..at + len` of the device dumps, each a note padded to
    /// whole pages, which come first in the `PT_NOTE` segment.
    DeviceDumps {
        /// Offset in the device dumps.
        at: usize,
        /// Bytes left in the device dumps.
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
            Region::Header { len, .. }
            | Region::DeviceDumps { len, .. }
            | Region::Notes { len, .. }
            | Region::Zero { len } => len as u64,
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
/// The file is `[0, header_size)` header, `dumps` bytes of device dumps (a
/// whole number of pages), `notes_size` bytes of notes, zeros up to
/// `data_offset` (the next page), then
/// `loads` back to back in program header order up to `size`, which is at
/// most `i64::MAX`. `loads` has one entry per `PT_LOAD` of `hdr`.
#[derive(Clone, Copy, Debug)]
pub struct Layout<'a> {
    hdr: CoreHeader<'a>,
    loads: &'a [Load],
    phnum: u16,
    header_size: usize,
    dumps: usize,
    notes_size: usize,
    data_offset: u64,
    size: u64,
}

impl<'a> Layout<'a> {
    /// Lays out the vmcore for `hdr` with `notes_size` bytes of merged
    /// notes ([`MergedNotes::size`](super::MergedNotes::size)), keeping the
    /// `PT_LOAD`s' file ranges in `slots`, which needs
    /// [`CoreHeader::load_count`] entries.
    ///
    /// As `fs/proc/vmcore.c` does: the header (ELF header, merged
    /// `PT_NOTE`, other program headers) is rounded up to a page, the notes
    /// follow and are rounded up to a page, then each `PT_LOAD` in turn
    /// takes the pages from `p_offset` rounded down to `p_offset + p_memsz`
    /// rounded up, and its new `p_offset` is where `p_offset` falls in them.
    pub fn new(
        hdr: CoreHeader<'a>,
        notes_size: usize,
        slots: &'a mut [Load],
    ) -> Result<Self, HeaderError> {
        Self::with_device_dumps(hdr, notes_size, 0, slots)
    }

    /// [`Layout::new`] with `dumps` bytes of device dumps (see
    /// [`write_device_dump_header`](super::write_device_dump_header)), a
    /// whole number of pages, at the start of the `PT_NOTE` segment, as
    /// `fs/proc/vmcore.c` places them: the merged `PT_NOTE` grows by
    /// `dumps` bytes and every `PT_LOAD` moves that far down the file.
    pub fn with_device_dumps(
        hdr: CoreHeader<'a>,
        notes_size: usize,
        dumps: usize,
        slots: &'a mut [Load],
    ) -> Result<Self, HeaderError> {
        if dumps as u64 % PAGE_SIZE != 0 {
            return Err(HeaderError::FileSize);
        }
        let count = usize::from(hdr.loads);
        let have = slots.len();
        let slots = slots.get_mut(..count).ok_or(HeaderError::NoRoom {
            needed: count,
            have,
        })?;
        let class = hdr.class;
        // One merged PT_NOTE replaces the (at least one) PT_NOTEs.
        let phnum = hdr
            .phnum
            .checked_sub(hdr.notes)
            .and_then(|n| n.checked_add(1))
            .ok_or(HeaderError::NoNotes)?;
        let header_size = usize::from(phnum)
            .checked_mul(class.phdr_size())
            .and_then(|n| n.checked_add(class.ehdr_size()))
            .and_then(|n| n.checked_next_multiple_of(PAGE_SIZE as usize))
            .ok_or(HeaderError::FileSize)?;
        let data_offset = (notes_size as u64)
            .checked_next_multiple_of(PAGE_SIZE)
            .and_then(|n| n.checked_add(header_size as u64))
            .and_then(|n| n.checked_add(dumps as u64))
            .ok_or(HeaderError::FileSize)?;
        let note_bytes = notes_size.checked_add(dumps).ok_or(HeaderError::FileSize)?;
        if note_bytes as u64 > class.word_max() {
            return Err(HeaderError::FileSize);
        }
        let mut off = data_offset;
        let mut next = slots.iter_mut();
        for (index, p) in hdr.indexed().filter(|(_, p)| p.kind == PT_LOAD) {
            let (start, end) = page_range(&p).ok_or(HeaderError::LoadRange { index })?;
            let load = Load {
                paddr: start,
                size: end.saturating_sub(start),
                offset: off,
            };
            let new = new_offset(&load, &p).ok_or(HeaderError::FileSize)?;
            if new > class.word_max() {
                return Err(HeaderError::FileSize);
            }
            *next.next().ok_or(HeaderError::NoRoom {
                needed: count,
                have,
            })? = load;
            off = off.checked_add(load.size).ok_or(HeaderError::FileSize)?;
        }
        if off > i64::MAX as u64 {
            return Err(HeaderError::FileSize);
        }
        Ok(Layout {
            hdr,
            loads: slots,
            phnum,
            header_size,
            dumps,
            notes_size,
            data_offset,
            size: off,
        })
    }

    /// Bytes of the header, a whole number of pages: the notes start here.
    pub fn header_size(&self) -> usize {
        self.header_size
    }

    /// Bytes of device dumps, between the header and the notes.
    pub fn device_dumps(&self) -> usize {
        self.dumps
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
    /// zero but the sizes, which count the device dumps); then every other program header in table
    /// order, unchanged but for the `PT_LOAD`s' new `p_offset`. The rest is
    /// zero.
    pub fn write_header(&self, buf: &mut [u8]) -> Result<usize, HeaderError> {
        let size = self.header_size;
        let have = buf.len();
        let out = buf
            .get_mut(..size)
            .ok_or(HeaderError::NoRoom { needed: size, have })?;
        out.fill(0);
        let class = self.hdr.class;
        let (ehdr, table) = out.split_at_mut(class.ehdr_size().min(size));
        crate::put_fields(
            ehdr,
            &[self.hdr.bytes.get(..class.ehdr_size()).unwrap_or(&[])],
        );
        if let Some(f) = ehdr.get_mut(class.phnum_at()..) {
            crate::put_fields(f, &[&self.phnum.to_le_bytes()]);
        }
        let mut slots = table.chunks_exact_mut(class.phdr_size());
        let note = Phdr {
            kind: PT_NOTE,
            offset: size as u64,
            // Checked to fit the class by Layout::new().
            filesz: self.notes_size.saturating_add(self.dumps) as u64,
            memsz: self.notes_size.saturating_add(self.dumps) as u64,
            align: 4,
            ..Phdr::default()
        };
        if let Some(slot) = slots.next() {
            note.write(class, slot);
        }
        let (field_at, width) = class.p_offset_field();
        let raw = self
            .hdr
            .bytes
            .get(class.ehdr_size()..)
            .unwrap_or(&[])
            .chunks_exact(class.phdr_size());
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
            dumps: self.dumps,
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
    dumps: usize,
    notes_size: usize,
    data_offset: u64,
    size: u64,
}

impl Extents {
    /// Bytes of the header, a whole number of pages.
    pub fn header_size(&self) -> usize {
        self.header_size
    }

    /// Bytes of device dumps, right after the header.
    pub fn device_dumps(&self) -> usize {
        self.dumps
    }

    /// File offset of the first `PT_LOAD` page: the header, the device
    /// dumps, the notes and their padding come before it.
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
        let notes = header.saturating_add(self.dumps as u64);
        let notes_end = notes.saturating_add(self.notes_size as u64);
        if off < header {
            // Below header_size, hence a usize.
            let at = off as usize;
            return Region::Header {
                at,
                len: self.header_size.saturating_sub(at),
            };
        }
        if off < notes {
            let at = off.saturating_sub(header) as usize;
            return Region::DeviceDumps {
                at,
                len: self.dumps.saturating_sub(at),
            };
        }
        if off < notes_end {
            let at = off.saturating_sub(notes) as usize;
            return Region::Notes {
                at,
                len: self.notes_size.saturating_sub(at),
            };
        }
        if off < self.data_offset {
            return Region::Zero {
                len: self.data_offset.saturating_sub(off) as usize,
            };
        }
        if off >= self.size {
            return Region::End;
        }
        // The first load ending after `off`; loads are back to back.
        let i = loads.partition_point(|l| l.offset.saturating_add(l.size) <= off);
        match loads.get(i) {
            Some(l) if l.offset <= off => {
                let into = off.saturating_sub(l.offset);
                Region::OldMem {
                    paddr: l.paddr.saturating_add(into),
                    len: l.size.saturating_sub(into),
                }
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
