// SPDX-License-Identifier: GPL-2.0

//! The ELF executable given to `kexec_file_load()`: the checks the generic
//! loader makes before it loads a `vmlinux` (riscv64 and powerpc64 load
//! one).
//!
//! This is the Rust twin of `kexec_build_elf_info()` of kernel/kexec_elf.c
//! and what it calls (`elf_read_ehdr()`, `elf_is_ehdr_sane()`,
//! `elf_read_phdrs()`, `elf_read_phdr()`, `elf_is_phdr_sane()`), for the
//! ELF64 class of the 64-bit kernels that use it. [`build`] refuses exactly
//! the images C refuses, with the first reason C finds, in C's order:
//!
//! 1. The ELF header: the buffer holds one, with the ELF magic, class
//!    `ELFCLASS64`, either byte order (C reads both, swapping as needed: a
//!    big-endian powerpc `vmlinux` on a little-endian kernel), `e_ehsize` 64;
//!    program and section header sizes right where there are any, version
//!    `EV_CURRENT` twice; the program and section header tables, where
//!    there are any, inside the buffer without wrapping.
//! 2. Each program header, if there is a table (`e_phoff` and `e_phnum` not
//!    zero): its file bytes inside the buffer without wrapping, its physical
//!    range not wrapping.
//! 3. `e_type` is `ET_EXEC` or `ET_DYN`; there is a program header table;
//!    no segment is `PT_INTERP`.
//!
//! C adds in `u64` and compares (`a + b < a` for a wrap): here the sums are
//! checked. Nothing is allocated: the program headers of an accepted image
//! are read again from its buffer by [`ElfImage::phdrs`].
//!
//! Every refusal is one [`ElfError`], naming the field at fault; in the
//! kernel each is `-ENOEXEC`, as in C. `e_machine` is not checked here, as
//! it is not by `kexec_build_elf_info()`: `kexec_elf_probe()` checks it with
//! the architecture's `elf_check_arch()`.

use crate::bytes_at;
use crate::elf::{
    Phdr, EHDR64_SIZE, EI_NIDENT, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, ELFMAG, ET_DYN, ET_EXEC,
    EV_CURRENT, PHDR64_SIZE, PT_INTERP, PT_LOAD, SHDR64_SIZE,
};
use core::fmt;

#[cfg(test)]
mod tests;

/// Offset of `e_ident[EI_CLASS]`.
const EI_CLASS: usize = 4;
/// Offset of `e_ident[EI_DATA]`.
const EI_DATA: usize = 5;
/// Offset of `e_ident[EI_VERSION]`.
const EI_VERSION: usize = 6;

/// The byte order of an ELF file (`e_ident[EI_DATA]`), which every
/// multi-byte field after `e_ident` is read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    /// `ELFDATA2LSB`.
    Little,
    /// `ELFDATA2MSB`.
    Big,
}

impl ByteOrder {
    /// The `u16` at `off` of `b`, if it is inside.
    pub fn u16_at(self, b: &[u8], off: usize) -> Option<u16> {
        let v = bytes_at(b, off)?;
        Some(match self {
            ByteOrder::Little => u16::from_le_bytes(v),
            ByteOrder::Big => u16::from_be_bytes(v),
        })
    }

    /// The `u32` at `off` of `b`, if it is inside.
    pub fn u32_at(self, b: &[u8], off: usize) -> Option<u32> {
        let v = bytes_at(b, off)?;
        Some(match self {
            ByteOrder::Little => u32::from_le_bytes(v),
            ByteOrder::Big => u32::from_be_bytes(v),
        })
    }

    /// The `u64` at `off` of `b`, if it is inside.
    pub fn u64_at(self, b: &[u8], off: usize) -> Option<u64> {
        let v = bytes_at(b, off)?;
        Some(match self {
            ByteOrder::Little => u64::from_le_bytes(v),
            ByteOrder::Big => u64::from_be_bytes(v),
        })
    }
}

/// Why an image is refused: the first check it fails, in C's order.
///
/// [`ElfError::field`] names the ELF field at fault and
/// [`ElfError::message`] says what is wrong with it, for one log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The buffer is shorter than an ELF64 header.
    TooShort {
        /// Bytes given.
        len: usize,
    },
    /// No ELF magic: not an ELF file.
    Magic,
    /// `e_ident[EI_CLASS]` is not `ELFCLASS64`.
    Class(u8),
    /// `e_ident[EI_DATA]` is neither `ELFDATA2LSB` nor `ELFDATA2MSB`.
    Data(u8),
    /// `e_ehsize` is not the size of an ELF64 header.
    EhSize(u16),
    /// There are program headers and `e_phentsize` is not 56.
    PhEntSize(u16),
    /// There are section headers and `e_shentsize` is not 64.
    ShEntSize(u16),
    /// `e_ident[EI_VERSION]` or `e_version` is not `EV_CURRENT`.
    Version {
        /// `e_ident[EI_VERSION]`.
        ident: u8,
        /// `e_version`.
        version: u32,
    },
    /// The program header table ends past the end of the address space.
    PhTableWraps {
        /// `e_phoff`.
        phoff: u64,
    },
    /// The program header table ends past the end of the buffer.
    PhTableTruncated {
        /// `e_phoff`.
        phoff: u64,
    },
    /// The section header table ends past the end of the address space.
    ShTableWraps {
        /// `e_shoff`.
        shoff: u64,
    },
    /// The section header table ends past the end of the buffer.
    ShTableTruncated {
        /// `e_shoff`.
        shoff: u64,
    },
    /// A segment's file bytes end past the end of the address space.
    SegmentWraps {
        /// Index of the program header.
        index: u16,
    },
    /// A segment's file bytes end past the end of the buffer.
    SegmentNotInFile {
        /// Index of the program header.
        index: u16,
    },
    /// A segment's physical range ends past the end of the address space.
    AddressWraps {
        /// Index of the program header.
        index: u16,
    },
    /// `e_type` is neither `ET_EXEC` nor `ET_DYN`.
    Type(u16),
    /// There is no program header table: `e_phnum` or `e_phoff` is 0.
    NoProgramHeaders {
        /// `e_phoff`.
        phoff: u64,
        /// `e_phnum`.
        phnum: u16,
    },
    /// A segment asks for an interpreter (`PT_INTERP`): an ordinary
    /// program, not a kernel.
    Interpreter {
        /// Index of the program header.
        index: u16,
    },
}

impl ElfError {
    /// The ELF field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            ElfError::TooShort { .. } => "buffer",
            ElfError::Magic => "e_ident[EI_MAG]",
            ElfError::Class(_) => "e_ident[EI_CLASS]",
            ElfError::Data(_) => "e_ident[EI_DATA]",
            ElfError::EhSize(_) => "e_ehsize",
            ElfError::PhEntSize(_) => "e_phentsize",
            ElfError::ShEntSize(_) => "e_shentsize",
            ElfError::Version { ident, .. } if *ident != EV_CURRENT => "e_ident[EI_VERSION]",
            ElfError::Version { .. } => "e_version",
            ElfError::PhTableWraps { .. } | ElfError::PhTableTruncated { .. } => "e_phoff",
            ElfError::ShTableWraps { .. } | ElfError::ShTableTruncated { .. } => "e_shoff",
            ElfError::SegmentWraps { .. } | ElfError::SegmentNotInFile { .. } => "p_filesz",
            ElfError::AddressWraps { .. } => "p_memsz",
            ElfError::Type(_) => "e_type",
            ElfError::NoProgramHeaders { phnum: 0, .. } => "e_phnum",
            ElfError::NoProgramHeaders { .. } => "e_phoff",
            ElfError::Interpreter { .. } => "p_type",
        }
    }

    /// What is wrong with it.
    pub fn message(&self) -> &'static str {
        match self {
            ElfError::TooShort { .. } => "shorter than an ELF64 header",
            ElfError::Magic => "not an ELF file",
            ElfError::Class(_) => "not ELFCLASS64",
            ElfError::Data(_) => "unknown byte order",
            ElfError::EhSize(_) => "wrong ELF header size",
            ElfError::PhEntSize(_) => "wrong program header size",
            ElfError::ShEntSize(_) => "wrong section header size",
            ElfError::Version { .. } => "not EV_CURRENT",
            ElfError::PhTableWraps { .. } => "program headers wrap around",
            ElfError::PhTableTruncated { .. } => "program headers past the end of the file",
            ElfError::ShTableWraps { .. } => "section headers wrap around",
            ElfError::ShTableTruncated { .. } => "section headers past the end of the file",
            ElfError::SegmentWraps { .. } => "segment's file range wraps around",
            ElfError::SegmentNotInFile { .. } => "segment not in the file",
            ElfError::AddressWraps { .. } => "segment's address range wraps around",
            ElfError::Type(_) => "not an executable (ET_EXEC or ET_DYN)",
            ElfError::NoProgramHeaders { .. } => "no program header",
            ElfError::Interpreter { .. } => "requires an ELF interpreter (PT_INTERP)",
        }
    }
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field(), self.message())?;
        match *self {
            ElfError::TooShort { len } => write!(f, " ({len} bytes, {EHDR64_SIZE} needed)"),
            ElfError::Class(v) | ElfError::Data(v) => write!(f, " ({v})"),
            ElfError::EhSize(v)
            | ElfError::PhEntSize(v)
            | ElfError::ShEntSize(v)
            | ElfError::Type(v) => {
                write!(f, " ({v})")
            }
            ElfError::Version { ident, version } => write!(f, " ({ident}, {version})"),
            ElfError::PhTableWraps { phoff } | ElfError::PhTableTruncated { phoff } => {
                write!(f, " ({phoff:#x})")
            }
            ElfError::ShTableWraps { shoff } | ElfError::ShTableTruncated { shoff } => {
                write!(f, " ({shoff:#x})")
            }
            ElfError::SegmentWraps { index }
            | ElfError::SegmentNotInFile { index }
            | ElfError::AddressWraps { index }
            | ElfError::Interpreter { index } => write!(f, " (program header {index})"),
            ElfError::NoProgramHeaders { phoff, phnum } => write!(f, " ({phnum} at {phoff:#x})"),
            ElfError::Magic => Ok(()),
        }
    }
}

/// The ELF header of an image, as `elf_read_ehdr()` leaves `struct elfhdr`:
/// every field in the CPU's byte order. (C leaves `e_ehsize` 0 there; it
/// is always [`EHDR64_SIZE`] once checked.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ehdr {
    /// `e_ident`, as found.
    pub ident: [u8; EI_NIDENT],
    /// The byte order `e_ident[EI_DATA]` names.
    pub order: ByteOrder,
    /// `e_type`.
    pub kind: u16,
    /// `e_machine`.
    pub machine: u16,
    /// `e_version`.
    pub version: u32,
    /// `e_entry`.
    pub entry: u64,
    /// `e_phoff`.
    pub phoff: u64,
    /// `e_shoff`.
    pub shoff: u64,
    /// `e_flags`.
    pub flags: u32,
    /// `e_phentsize`.
    pub phentsize: u16,
    /// `e_phnum`.
    pub phnum: u16,
    /// `e_shentsize`.
    pub shentsize: u16,
    /// `e_shnum`.
    pub shnum: u16,
    /// `e_shstrndx`.
    pub shstrndx: u16,
}

/// `len` as the `u64` C compares offsets with (`size_t`, 64 bits on the
/// kernels that use this loader).
fn len64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// Where a header table fails `elf_is_ehdr_sane()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outside {
    /// It ends past the end of the address space.
    Wraps,
    /// It ends past the end of the buffer.
    Truncated,
}

/// The checks of `elf_is_ehdr_sane()` on one header table (`off`, `num`
/// entries of `entsize` bytes) in a buffer of `len` bytes. Tables at offset
/// 0 or with no entry are not checked.
fn table_outside(off: u64, num: u16, entsize: usize, len: usize) -> Option<Outside> {
    if off == 0 || num == 0 {
        return None;
    }
    // At most 65535 * 64 bytes: cannot overflow.
    let size = u64::from(num).saturating_mul(len64(entsize));
    match off.checked_add(size) {
        None => Some(Outside::Wraps),
        Some(end) if end > len64(len) => Some(Outside::Truncated),
        Some(_) => None,
    }
}

impl Ehdr {
    /// `elf_read_ehdr()` with `elf_is_ehdr_sane()`: the ELF header at the
    /// start of `buf`, checked against `buf`'s length.
    pub fn read(buf: &[u8]) -> Result<Self, ElfError> {
        let head = buf
            .get(..EHDR64_SIZE)
            .ok_or(ElfError::TooShort { len: buf.len() })?;
        let ident: [u8; EI_NIDENT] =
            bytes_at(head, 0).ok_or(ElfError::TooShort { len: buf.len() })?;
        if ident.get(..ELFMAG.len()) != Some(&ELFMAG[..]) {
            return Err(ElfError::Magic);
        }
        let class = ident.get(EI_CLASS).copied().unwrap_or(0);
        if class != ELFCLASS64 {
            return Err(ElfError::Class(class));
        }
        let order = match ident.get(EI_DATA).copied().unwrap_or(0) {
            ELFDATA2LSB => ByteOrder::Little,
            ELFDATA2MSB => ByteOrder::Big,
            other => return Err(ElfError::Data(other)),
        };
        // The header is whole: every read below is inside `head`.
        let cut = ElfError::TooShort { len: buf.len() };
        let u16_at = |off| order.u16_at(head, off).ok_or(cut);
        let ehsize = u16_at(52)?;
        if usize::from(ehsize) != EHDR64_SIZE {
            return Err(ElfError::EhSize(ehsize));
        }
        let h = Ehdr {
            ident,
            order,
            kind: u16_at(16)?,
            machine: u16_at(18)?,
            version: order.u32_at(head, 20).ok_or(cut)?,
            entry: order.u64_at(head, 24).ok_or(cut)?,
            phoff: order.u64_at(head, 32).ok_or(cut)?,
            shoff: order.u64_at(head, 40).ok_or(cut)?,
            flags: order.u32_at(head, 48).ok_or(cut)?,
            phentsize: u16_at(54)?,
            phnum: u16_at(56)?,
            shentsize: u16_at(58)?,
            shnum: u16_at(60)?,
            shstrndx: u16_at(62)?,
        };
        h.check(buf.len())?;
        Ok(h)
    }

    /// `elf_is_ehdr_sane()`, in its order.
    fn check(&self, len: usize) -> Result<(), ElfError> {
        if self.phnum > 0 && usize::from(self.phentsize) != PHDR64_SIZE {
            return Err(ElfError::PhEntSize(self.phentsize));
        }
        if self.shnum > 0 && usize::from(self.shentsize) != SHDR64_SIZE {
            return Err(ElfError::ShEntSize(self.shentsize));
        }
        let ident = self.ident.get(EI_VERSION).copied().unwrap_or(0);
        if ident != EV_CURRENT || self.version != u32::from(EV_CURRENT) {
            return Err(ElfError::Version {
                ident,
                version: self.version,
            });
        }
        match table_outside(self.phoff, self.phnum, PHDR64_SIZE, len) {
            Some(Outside::Wraps) => return Err(ElfError::PhTableWraps { phoff: self.phoff }),
            Some(Outside::Truncated) => {
                return Err(ElfError::PhTableTruncated { phoff: self.phoff })
            }
            None => {}
        }
        match table_outside(self.shoff, self.shnum, SHDR64_SIZE, len) {
            Some(Outside::Wraps) => Err(ElfError::ShTableWraps { shoff: self.shoff }),
            Some(Outside::Truncated) => Err(ElfError::ShTableTruncated { shoff: self.shoff }),
            None => Ok(()),
        }
    }

    /// Whether C reads a program header table (`elf_read_from_buffer()`:
    /// `e_phoff` and `e_phnum` both non-zero).
    pub fn has_phdrs(&self) -> bool {
        self.phoff > 0 && self.phnum > 0
    }

    /// `elf_read_phdr()` with `elf_is_phdr_sane()`: program header `index`
    /// of the image in `buf`, whose header this is.
    pub fn phdr(&self, buf: &[u8], index: u16) -> Result<Phdr, ElfError> {
        let p = self
            .phdr_unchecked(buf, index)
            .ok_or(ElfError::PhTableTruncated { phoff: self.phoff })?;
        match p.offset.checked_add(p.filesz) {
            None => Err(ElfError::SegmentWraps { index }),
            Some(end) if end > len64(buf.len()) => Err(ElfError::SegmentNotInFile { index }),
            Some(_) if p.paddr.checked_add(p.memsz).is_none() => {
                Err(ElfError::AddressWraps { index })
            }
            Some(_) => Ok(p),
        }
    }

    /// Program header `index` as it is in `buf`, if it is inside.
    fn phdr_unchecked(&self, buf: &[u8], index: u16) -> Option<Phdr> {
        let at = usize::try_from(self.phoff)
            .ok()?
            .checked_add(usize::from(index).checked_mul(PHDR64_SIZE)?)?;
        let b: [u8; PHDR64_SIZE] = bytes_at(buf, at)?;
        let o = self.order;
        Some(Phdr {
            kind: o.u32_at(&b, 0)?,
            flags: o.u32_at(&b, 4)?,
            offset: o.u64_at(&b, 8)?,
            vaddr: o.u64_at(&b, 16)?,
            paddr: o.u64_at(&b, 24)?,
            filesz: o.u64_at(&b, 32)?,
            memsz: o.u64_at(&b, 40)?,
            align: o.u64_at(&b, 48)?,
        })
    }
}

/// An image that passed every check of `kexec_build_elf_info()`: its
/// header and, read again from its buffer on demand, its program headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElfImage<'a> {
    buf: &'a [u8],
    ehdr: Ehdr,
}

/// The lowest physical and virtual addresses of the `PT_LOAD` segments of
/// an image, each over all of them (riscv's `elf_find_pbase()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LowestLoad {
    /// Lowest `p_paddr`.
    pub paddr: u64,
    /// Lowest `p_vaddr`.
    pub vaddr: u64,
}

impl<'a> ElfImage<'a> {
    /// The checked ELF header.
    pub fn ehdr(&self) -> &Ehdr {
        &self.ehdr
    }

    /// `e_entry`.
    pub fn entry(&self) -> u64 {
        self.ehdr.entry
    }

    /// The program headers, in table order: `e_phnum` of them, each
    /// checked.
    pub fn phdrs(&self) -> Phdrs<'a> {
        Phdrs {
            buf: self.buf,
            ehdr: self.ehdr,
            next: 0,
        }
    }

    /// The lowest `p_paddr` and the lowest `p_vaddr` of the `PT_LOAD`
    /// segments (not necessarily of the same one), or `None` if there is
    /// none, where riscv's `elf_find_pbase()` is left with `ULONG_MAX` and
    /// finds no room.
    pub fn lowest_load(&self) -> Option<LowestLoad> {
        self.phdrs()
            .filter(|p| p.kind == PT_LOAD)
            .fold(None, |low: Option<LowestLoad>, p| {
                Some(match low {
                    None => LowestLoad {
                        paddr: p.paddr,
                        vaddr: p.vaddr,
                    },
                    Some(l) => LowestLoad {
                        paddr: l.paddr.min(p.paddr),
                        vaddr: l.vaddr.min(p.vaddr),
                    },
                })
            })
    }
}

/// The program headers of an [`ElfImage`], from [`ElfImage::phdrs`].
#[derive(Clone, Debug)]
pub struct Phdrs<'a> {
    buf: &'a [u8],
    ehdr: Ehdr,
    next: u16,
}

impl Iterator for Phdrs<'_> {
    type Item = Phdr;

    fn next(&mut self) -> Option<Phdr> {
        if self.next >= self.ehdr.phnum {
            return None;
        }
        let index = self.next;
        self.next = index.saturating_add(1);
        // Every header passed [`Ehdr::phdr`] in [`build`].
        self.ehdr.phdr(self.buf, index).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.ehdr.phnum.saturating_sub(self.next));
        (n, Some(n))
    }
}

impl ExactSizeIterator for Phdrs<'_> {}

/// `kexec_build_elf_info()`: checks the ELF executable in `buf` as the
/// generic `kexec_file_load()` loader does, in C's order, and returns what
/// the loader uses from it.
pub fn build(buf: &[u8]) -> Result<ElfImage<'_>, ElfError> {
    let ehdr = Ehdr::read(buf)?;
    if ehdr.has_phdrs() {
        for index in 0..ehdr.phnum {
            ehdr.phdr(buf, index)?;
        }
    }
    if ehdr.kind != ET_EXEC && ehdr.kind != ET_DYN {
        return Err(ElfError::Type(ehdr.kind));
    }
    if !ehdr.has_phdrs() {
        return Err(ElfError::NoProgramHeaders {
            phoff: ehdr.phoff,
            phnum: ehdr.phnum,
        });
    }
    let image = ElfImage { buf, ehdr };
    // Counted by hand, not with `position()`, whose count carries an
    // overflow check: there are at most `e_phnum` headers, so a u16 holds
    // the index.
    let mut index = 0u16;
    for p in image.phdrs() {
        if p.kind == PT_INTERP {
            return Err(ElfError::Interpreter { index });
        }
        index = index.wrapping_add(1);
    }
    Ok(image)
}
