// SPDX-License-Identifier: GPL-2.0

//! riscv64 purgatory relocation: the twin of `arch_kexec_apply_relocations_add()`
//! in arch/riscv/kernel/machine_kexec_file.c.
//!
//! The types are the ones the 6.12 C function knows, with the psABI's
//! arithmetic, where `P` is the final address of the place:
//!
//! - `R_RISCV_BRANCH` (16), `S + A - P`: the B-type immediate of the 32-bit
//!   instruction;
//! - `R_RISCV_JAL` (17), `S + A - P`: the J-type immediate;
//! - `R_RISCV_CALL`, `CALL_PLT` (18, 19), `S + A - P`: the `auipc` U-type high
//!   part and the I-type low part of the instruction after it (`jalr`);
//! - `R_RISCV_PCREL_HI20` (23), `S + A - P`: as `CALL`, the `auipc` and its
//!   `PCREL_LO12_I` partner right after it;
//! - `R_RISCV_PCREL_LO12_I` (24): nothing, written with its `PCREL_HI20`;
//! - `R_RISCV_ADD16`/`ADD32`, `SUB16`/`SUB32` (34, 35, 38, 39), `S + A`:
//!   added to / subtracted from the 16/32-bit word, modulo its size;
//! - `R_RISCV_ALIGN`, `R_RISCV_RELAX` (43, 51): nothing, purgatory is not
//!   relaxed;
//! - `R_RISCV_RVC_BRANCH` (44), `S + A - P`: the CB-type immediate of the
//!   16-bit instruction;
//! - `R_RISCV_RVC_JUMP` (45), `S + A - P`: the CJ-type immediate;
//! - `R_RISCV_64` (2), `S + A`: the 64-bit word.
//!
//! Every other type is refused, as C refuses it: among them `R_RISCV_NONE`,
//! `R_RISCV_32`, `ADD64`/`SUB64`, `PCREL_LO12_S` and the absolute
//! `HI20`/`LO12_*`. The field arithmetic is in pure functions ([`b_imm`],
//! [`j_imm`], [`cb_imm`], [`cj_imm`], [`hi_lo`]) that refuse values their
//! field cannot hold. `ADD*`/`SUB*` wrap by design: they come in pairs that
//! compute a difference of two labels, and one of them alone cannot know
//! whether the pair's result fits.
//!
//! Where the C function differs (this is what the differential test in
//! tools/testing/kdump/cref/tests/riscv_reloc_diff.rs asserts):
//!
//! - Values that do not fit their field: C keeps the low bits, drops bit 0
//!   of branch and jump offsets and wraps the `auipc` high part beyond
//!   ±2 GiB, silently; Rust refuses them ([`RelocError::Overflow`]).
//! - `PCREL_HI20`: C ignores every `PCREL_LO12_I` and writes the low part
//!   into whatever instruction follows the `auipc`. Rust requires what that
//!   assumes, a `PCREL_LO12_I` 4 bytes after the `auipc` whose label
//!   (`S + A`) is the `auipc`, and refuses a lone `PCREL_HI20` or
//!   `PCREL_LO12_I` ([`RiscvError::LoneHi20`], [`RiscvError::LoneLo12`]);
//!   C would patch the wrong instruction and leave the real partner as the
//!   assembler left it.
//! - Undefined symbols (`SHN_UNDEF`): C relocates them against the address
//!   of section 0 (0); Rust refuses them ([`RelocError::Undefined`]), like
//!   x86_64's C does, except for `ALIGN` and `RELAX`, which write nothing
//!   and which assemblers give the null symbol.
//! - `RVC_BRANCH`/`RVC_JUMP`: C reads and writes 4 bytes for a 2-byte
//!   instruction (the upper 2 unchanged, but past the section or buffer end
//!   when the instruction is last); Rust touches the 2 bytes.
//! - C checks neither symbol indices, places, nor that the target section has
//!   bytes, and names a nameless symbol by reading a section header that may
//!   be past the table; Rust checks all of these first ([`RelocError`]).
//! - C writes relocations as it goes and stops at the first refused one;
//!   Rust checks every relocation of the section first, so a refused
//!   section leaves the buffer unchanged.

use super::{place, Purgatory, Rela, RelocError, Shdr, Tables};

/// riscv64 relocation types the purgatory loader applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RiscvType {
    /// `R_RISCV_64` (2): `S + A`, 64 bits.
    Abs64,
    /// `R_RISCV_BRANCH` (16): conditional branch, ±4 KiB.
    Branch,
    /// `R_RISCV_JAL` (17): `jal`, ±1 MiB.
    Jal,
    /// `R_RISCV_CALL` (18): `auipc` + `jalr` pair.
    Call,
    /// `R_RISCV_CALL_PLT` (19): as `CALL` (purgatory has no PLT).
    CallPlt,
    /// `R_RISCV_PCREL_HI20` (23): `auipc` of a PC-relative pair.
    PcrelHi20,
    /// `R_RISCV_PCREL_LO12_I` (24): I-type low part of a PC-relative pair;
    /// its symbol is a label at the `auipc`.
    PcrelLo12I,
    /// `R_RISCV_ADD16` (34): adds `S + A` to a 16-bit word.
    Add16,
    /// `R_RISCV_ADD32` (35): adds `S + A` to a 32-bit word.
    Add32,
    /// `R_RISCV_SUB16` (38): subtracts `S + A` from a 16-bit word.
    Sub16,
    /// `R_RISCV_SUB32` (39): subtracts `S + A` from a 32-bit word.
    Sub32,
    /// `R_RISCV_ALIGN` (43): padding a relaxing linker may delete; ignored.
    Align,
    /// `R_RISCV_RVC_BRANCH` (44): `c.beqz`/`c.bnez`, ±256 bytes.
    RvcBranch,
    /// `R_RISCV_RVC_JUMP` (45): `c.j`, ±2 KiB.
    RvcJump,
    /// `R_RISCV_RELAX` (51): the previous relocation may be relaxed; ignored.
    Relax,
}

impl RiscvType {
    /// The type for an `ELF64_R_TYPE()` value, if the loader knows it.
    pub fn from_raw(t: u32) -> Option<Self> {
        Some(match t {
            2 => RiscvType::Abs64,
            16 => RiscvType::Branch,
            17 => RiscvType::Jal,
            18 => RiscvType::Call,
            19 => RiscvType::CallPlt,
            23 => RiscvType::PcrelHi20,
            24 => RiscvType::PcrelLo12I,
            34 => RiscvType::Add16,
            35 => RiscvType::Add32,
            38 => RiscvType::Sub16,
            39 => RiscvType::Sub32,
            43 => RiscvType::Align,
            44 => RiscvType::RvcBranch,
            45 => RiscvType::RvcJump,
            51 => RiscvType::Relax,
            _ => return None,
        })
    }

    /// Bytes read and written at the place (0: none).
    pub fn width(self) -> usize {
        match self {
            RiscvType::PcrelLo12I | RiscvType::Align | RiscvType::Relax => 0,
            RiscvType::Add16 | RiscvType::Sub16 | RiscvType::RvcBranch | RiscvType::RvcJump => 2,
            RiscvType::Branch | RiscvType::Jal | RiscvType::Add32 | RiscvType::Sub32 => 4,
            RiscvType::Abs64 | RiscvType::Call | RiscvType::CallPlt | RiscvType::PcrelHi20 => 8,
        }
    }
}

/// Whether relocations of type `t` name no symbol: assemblers give
/// `R_RISCV_ALIGN` and `R_RISCV_RELAX` the null one, which is undefined.
fn names_no_symbol(t: u32) -> bool {
    matches!(
        RiscvType::from_raw(t),
        Some(RiscvType::Align | RiscvType::Relax)
    )
}

/// `R_RISCV_PCREL_HI20`.
const PCREL_HI20: u32 = 23;
/// `R_RISCV_PCREL_LO12_I`.
const PCREL_LO12_I: u32 = 24;

/// Bit `from` of `x`, moved to bit `to`.
fn bit(x: u64, from: u32, to: u32) -> u32 {
    let b = (x.checked_shr(from).unwrap_or(0) & 1) as u32;
    b.checked_shl(to).unwrap_or(0)
}

/// Bits `from..from + n` of `x`, moved to `to..to + n`.
fn field(x: u64, from: u32, n: u32, to: u32) -> u32 {
    (0..n).fold(0, |acc, i| {
        acc | bit(x, from.saturating_add(i), to.saturating_add(i))
    })
}

/// Whether `off` is even and in `-2^(bits-1)..2^(bits-1)`.
fn fits_even(off: i64, bits: u32) -> bool {
    let half = 1i64.checked_shl(bits.saturating_sub(1)).unwrap_or(i64::MAX);
    off & 1 == 0 && off >= half.saturating_neg() && off < half
}

/// Immediate bits of a B-type instruction (conditional branch).
pub const B_MASK: u32 = 0xfe00_0f80;
/// Immediate bits of a J-type instruction (`jal`).
pub const J_MASK: u32 = 0xffff_f000;
/// Immediate bits of a U-type instruction (`auipc`, `lui`).
pub const U_MASK: u32 = 0xffff_f000;
/// Immediate bits of an I-type instruction (`addi`, `ld`, `jalr`).
pub const I_MASK: u32 = 0xfff0_0000;
/// Immediate bits of a CB-format instruction (`c.beqz`, `c.bnez`).
pub const CB_MASK: u16 = 0x1c7c;
/// Immediate bits of a CJ-format instruction (`c.j`).
pub const CJ_MASK: u16 = 0x1ffc;

/// The B-type immediate bits (under [`B_MASK`]) for branch offset `off`, or
/// `None` if it is odd or outside ±4 KiB.
pub fn b_imm(off: i64) -> Option<u32> {
    if !fits_even(off, 13) {
        return None;
    }
    let x = off as u64;
    Some(field(x, 1, 4, 8) | field(x, 5, 6, 25) | bit(x, 11, 7) | bit(x, 12, 31))
}

/// The J-type immediate bits (under [`J_MASK`]) for jump offset `off`, or
/// `None` if it is odd or outside ±1 MiB.
pub fn j_imm(off: i64) -> Option<u32> {
    if !fits_even(off, 21) {
        return None;
    }
    let x = off as u64;
    Some(field(x, 1, 10, 21) | bit(x, 11, 20) | field(x, 12, 8, 12) | bit(x, 20, 31))
}

/// The CB-format immediate bits (under [`CB_MASK`]) for branch offset
/// `off`, or `None` if it is odd or outside ±256 bytes.
pub fn cb_imm(off: i64) -> Option<u16> {
    if !fits_even(off, 9) {
        return None;
    }
    let x = off as u64;
    let v =
        field(x, 1, 2, 3) | field(x, 3, 2, 10) | bit(x, 5, 2) | field(x, 6, 2, 5) | bit(x, 8, 12);
    u16::try_from(v).ok()
}

/// The CJ-format immediate bits (under [`CJ_MASK`]) for jump offset `off`,
/// or `None` if it is odd or outside ±2 KiB.
pub fn cj_imm(off: i64) -> Option<u16> {
    if !fits_even(off, 12) {
        return None;
    }
    let x = off as u64;
    let v = field(x, 1, 3, 3)
        | bit(x, 4, 11)
        | bit(x, 5, 2)
        | bit(x, 6, 7)
        | bit(x, 7, 6)
        | field(x, 8, 2, 9)
        | bit(x, 10, 8)
        | bit(x, 11, 12);
    u16::try_from(v).ok()
}

/// The immediate bits of an `auipc` (under [`U_MASK`]) and of the I-type
/// instruction after it (under [`I_MASK`]) that together add `off` to the
/// `auipc`'s address, or `None` if `off` is outside what they reach
/// (`-2^31 - 2^11 ..= 2^31 - 2^11 - 1`).
///
/// The low part is sign-extended by the hardware, so the high part is
/// rounded: `hi = (off + 0x800) & !0xfff`, `lo = off - hi`.
pub fn hi_lo(off: i64) -> Option<(u32, u32)> {
    let hi = off.checked_add(0x800)? & !0xfff;
    let hi32 = i32::try_from(hi).ok()?;
    let lo = off.checked_sub(hi)?;
    let lo_bits = field(lo as u64, 0, 12, 20);
    Some((hi32 as u32 & U_MASK, lo_bits))
}

/// Why a riscv64 relocation section was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RiscvError<'a> {
    /// A reason shared with every architecture (tables, symbols, places,
    /// unknown types, values that do not fit).
    Reloc(RelocError<'a>),
    /// Relocation `rel`, a `PCREL_HI20`, has no `PCREL_LO12_I` 4 bytes after
    /// it whose label is its place.
    LoneHi20 {
        /// Index of the relocation in its section.
        rel: usize,
        /// Its `r_offset`.
        offset: u64,
    },
    /// Relocation `rel`, a `PCREL_LO12_I`, does not follow the
    /// `PCREL_HI20` its label names by exactly 4 bytes.
    LoneLo12 {
        /// Index of the relocation in its section.
        rel: usize,
        /// Its `r_offset`.
        offset: u64,
    },
}

impl<'a> From<RelocError<'a>> for RiscvError<'a> {
    fn from(e: RelocError<'a>) -> Self {
        RiscvError::Reloc(e)
    }
}

/// What one relocation does to the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// Replace the bits under `mask` with `bits`.
    Field { mask: u64, bits: u64 },
    /// Add, modulo the width.
    Add(u64),
    /// Subtract, modulo the width.
    Sub(u64),
    /// Store.
    Set(u64),
}

/// A checked write: `width` bytes at buffer offset `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Patch {
    at: usize,
    width: usize,
    op: Op,
}

impl Patch {
    /// Applies the patch to `buf` (read, modify, write, little-endian).
    /// Does nothing if the place is not in `buf`, which the check that
    /// made the patch rules out.
    fn apply(&self, buf: &mut [u8]) {
        let Some(dst) = self
            .at
            .checked_add(self.width)
            .and_then(|end| buf.get_mut(self.at..end))
        else {
            return;
        };
        // Byte loops rather than copy_from_slice(): no length check that
        // could panic, even one that cannot fail.
        let mut le = [0u8; 8];
        for (l, d) in le.iter_mut().zip(dst.iter()) {
            *l = *d;
        }
        let old = u64::from_le_bytes(le);
        let new = match self.op {
            Op::Field { mask, bits } => (old & !mask) | (bits & mask),
            Op::Add(v) => old.wrapping_add(v),
            Op::Sub(v) => old.wrapping_sub(v),
            Op::Set(v) => v,
        };
        for (d, b) in dst.iter_mut().zip(new.to_le_bytes()) {
            *d = b;
        }
    }
}

impl<'a> Purgatory<'a, '_> {
    /// Applies relocation section `relsec` (an image header, `SHT_RELA`)
    /// with symbol table `symtab` (an image header) to `section` (the
    /// loader's header of the target) in `buf`, the purgatory buffer whose
    /// offsets the loader's headers use, by the riscv64 rules.
    ///
    /// Every relocation is checked before any is written: on error `buf` is
    /// unchanged. Then they are applied in order, each reading what the
    /// ones before it wrote, as C does. Returns the number of relocations
    /// that wrote to the buffer.
    pub fn apply_rela_riscv(
        &self,
        buf: &mut [u8],
        section: &Shdr,
        relsec: &Shdr,
        symtab: &Shdr,
    ) -> Result<usize, RiscvError<'a>> {
        let t = self.tables(relsec, symtab)?;
        // The checks do not depend on the buffer, only the writes do: the
        // second pass cannot fail where the first did not.
        for i in 0..t.rels {
            self.one_riscv(buf.len(), section, relsec, symtab, &t, i)?;
        }
        let mut applied = 0usize;
        for i in 0..t.rels {
            if let Some(patch) = self.one_riscv(buf.len(), section, relsec, symtab, &t, i)? {
                patch.apply(buf);
                applied = applied.saturating_add(1);
            }
        }
        Ok(applied)
    }

    /// Checks relocation `i` and returns what it writes, or `None` for the
    /// types that write nothing.
    fn one_riscv(
        &self,
        buf_len: usize,
        section: &Shdr,
        relsec: &Shdr,
        symtab: &Shdr,
        t: &Tables,
        i: u64,
    ) -> Result<Option<Patch>, RiscvError<'a>> {
        let r = self.rela_with(t, relsec, symtab, i, names_no_symbol)?;
        let Rela {
            rel,
            offset,
            rtype,
            sa,
        } = r;
        let ty = RiscvType::from_raw(rtype).ok_or(RelocError::UnknownType { rel, rtype })?;
        match ty {
            RiscvType::Align | RiscvType::Relax => return Ok(None),
            RiscvType::PcrelLo12I => {
                self.check_lo12(section, relsec, symtab, t, &r)?;
                return Ok(None);
            }
            _ => {}
        }
        let width = ty.width();
        let at = place(section, buf_len, rel, offset, width)?;
        let pc = sa.wrapping_sub(section.addr.wrapping_add(offset));
        let overflow = RelocError::Overflow {
            rel,
            rtype,
            value: pc,
        };
        let off = pc as i64;
        let op = match ty {
            RiscvType::Branch => Op::Field {
                mask: B_MASK.into(),
                bits: b_imm(off).ok_or(overflow)?.into(),
            },
            RiscvType::Jal => Op::Field {
                mask: J_MASK.into(),
                bits: j_imm(off).ok_or(overflow)?.into(),
            },
            RiscvType::RvcBranch => Op::Field {
                mask: CB_MASK.into(),
                bits: cb_imm(off).ok_or(overflow)?.into(),
            },
            RiscvType::RvcJump => Op::Field {
                mask: CJ_MASK.into(),
                bits: cj_imm(off).ok_or(overflow)?.into(),
            },
            RiscvType::Call | RiscvType::CallPlt | RiscvType::PcrelHi20 => {
                let (hi, lo) = hi_lo(off).ok_or(overflow)?;
                if ty == RiscvType::PcrelHi20 {
                    self.check_hi20(section, relsec, symtab, t, &r)?;
                }
                let mask = u64::from(U_MASK) | (u64::from(I_MASK) << 32);
                Op::Field {
                    mask,
                    bits: u64::from(hi) | (u64::from(lo) << 32),
                }
            }
            RiscvType::Add16 | RiscvType::Add32 => Op::Add(sa),
            RiscvType::Sub16 | RiscvType::Sub32 => Op::Sub(sa),
            RiscvType::Abs64 => Op::Set(sa),
            RiscvType::PcrelLo12I | RiscvType::Align | RiscvType::Relax => return Ok(None),
        };
        Ok(Some(Patch { at, width, op }))
    }

    /// Whether the section has a relocation of type `rtype` at `offset`
    /// that resolves (to `sa`, if given). Relocations that do not resolve
    /// are not partners; they are refused on their own turn.
    fn has_rela(
        &self,
        relsec: &Shdr,
        symtab: &Shdr,
        t: &Tables,
        rtype: u32,
        offset: u64,
        sa: Option<u64>,
    ) -> bool {
        (0..t.rels).any(|j| {
            self.rela(t, relsec, symtab, j).is_ok_and(|o| {
                o.rtype == rtype && o.offset == offset && sa.map_or(true, |v| v == o.sa)
            })
        })
    }

    /// A `PCREL_HI20` needs a `PCREL_LO12_I` 4 bytes after it whose label is
    /// its place: the instruction C writes the low part into.
    fn check_hi20(
        &self,
        section: &Shdr,
        relsec: &Shdr,
        symtab: &Shdr,
        t: &Tables,
        r: &Rela,
    ) -> Result<(), RiscvError<'a>> {
        let lone = RiscvError::LoneHi20 {
            rel: r.rel,
            offset: r.offset,
        };
        let next = r.offset.checked_add(4).ok_or(lone)?;
        let label = section.addr.wrapping_add(r.offset);
        if self.has_rela(relsec, symtab, t, PCREL_LO12_I, next, Some(label)) {
            Ok(())
        } else {
            Err(lone)
        }
    }

    /// A `PCREL_LO12_I` must name, by its label, a `PCREL_HI20` 4 bytes
    /// before it: the only partner C writes.
    fn check_lo12(
        &self,
        section: &Shdr,
        relsec: &Shdr,
        symtab: &Shdr,
        t: &Tables,
        r: &Rela,
    ) -> Result<(), RiscvError<'a>> {
        let lone = RiscvError::LoneLo12 {
            rel: r.rel,
            offset: r.offset,
        };
        let prev = r.offset.checked_sub(4).ok_or(lone)?;
        if r.sa != section.addr.wrapping_add(prev)
            || !self.has_rela(relsec, symtab, t, PCREL_HI20, prev, None)
        {
            return Err(lone);
        }
        Ok(())
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
    use crate::reloc::testobj::{info, obj_with_text, Obj, RELA, SYMTAB, TEXT};
    use crate::reloc::{SHN_ABS, SHN_COMMON, SHN_UNDEF};
    use proptest::prelude::*;

    // Decoders written from the ISA manual's immediate layouts, independent
    // of the encoders: the encoders must invert them.

    fn sext(v: u32, bits: u32) -> i64 {
        ((u64::from(v) << (64 - bits)) as i64) >> (64 - bits)
    }

    fn b_dec(i: u32) -> i64 {
        let v = ((i >> 31) & 1) << 12
            | ((i >> 7) & 1) << 11
            | ((i >> 25) & 0x3f) << 5
            | ((i >> 8) & 0xf) << 1;
        sext(v, 13)
    }

    fn j_dec(i: u32) -> i64 {
        let v = ((i >> 31) & 1) << 20
            | ((i >> 12) & 0xff) << 12
            | ((i >> 20) & 1) << 11
            | ((i >> 21) & 0x3ff) << 1;
        sext(v, 21)
    }

    fn cb_dec(i: u16) -> i64 {
        let i = u32::from(i);
        let v = ((i >> 12) & 1) << 8
            | ((i >> 5) & 3) << 6
            | ((i >> 2) & 1) << 5
            | ((i >> 10) & 3) << 3
            | ((i >> 3) & 3) << 1;
        sext(v, 9)
    }

    fn cj_dec(i: u16) -> i64 {
        let i = u32::from(i);
        let v = ((i >> 12) & 1) << 11
            | ((i >> 11) & 1) << 4
            | ((i >> 9) & 3) << 8
            | ((i >> 8) & 1) << 10
            | ((i >> 7) & 1) << 6
            | ((i >> 6) & 1) << 7
            | ((i >> 3) & 7) << 1
            | ((i >> 2) & 1) << 5;
        sext(v, 12)
    }

    fn pair_dec(hi: u32, lo: u32) -> i64 {
        i64::from(hi as i32) + sext(lo >> 20, 12)
    }

    #[test]
    fn encoders_match_known_instructions() {
        // Encodings as assemblers emit them (opcode bits or'ed in).
        assert_eq!(b_imm(8).map(|b| b | 0x63), Some(0x0000_0463)); // beq x0, x0, .+8
        assert_eq!(b_imm(-4096).map(|b| b | 0x63), Some(0x8000_0063));
        assert_eq!(j_imm(8).map(|b| b | 0x6f), Some(0x0080_006f)); // j .+8
        assert_eq!(j_imm(-4).map(|b| b | 0x6f), Some(0xffdf_f06f)); // j .-4
        assert_eq!(cj_imm(0).map(|b| b | 0xa001), Some(0xa001)); // c.j .
        assert_eq!(cj_imm(-2).map(|b| b | 0xa001), Some(0xbffd)); // c.j .-2
        assert_eq!(cb_imm(0).map(|b| b | 0xc101), Some(0xc101)); // c.beqz a0, .
        assert_eq!(cb_imm(-2), Some(CB_MASK));
        // auipc ra, 0x12345 / jalr ra, 0x678(ra), and the rounding case.
        assert_eq!(hi_lo(0x1234_5678), Some((0x1234_5000, 0x6780_0000)));
        assert_eq!(hi_lo(0x800), Some((0x1000, 0x8000_0000)));
        assert_eq!(hi_lo(-1), Some((0, 0xfff0_0000)));
    }

    #[test]
    fn encoders_refuse_at_the_field_limits() {
        assert!(b_imm(4094).is_some() && b_imm(-4096).is_some());
        assert_eq!((b_imm(4096), b_imm(-4098), b_imm(3)), (None, None, None));
        assert!(j_imm((1 << 20) - 2).is_some() && j_imm(-(1 << 20)).is_some());
        assert_eq!(
            (j_imm(1 << 20), j_imm(-(1 << 20) - 2), j_imm(1)),
            (None, None, None)
        );
        assert!(cb_imm(254).is_some() && cb_imm(-256).is_some());
        assert_eq!((cb_imm(256), cb_imm(-258), cb_imm(7)), (None, None, None));
        assert!(cj_imm(2046).is_some() && cj_imm(-2048).is_some());
        assert_eq!(
            (cj_imm(2048), cj_imm(-2050), cj_imm(-1)),
            (None, None, None)
        );
        let (max, min) = ((1i64 << 31) - 0x801, -(1i64 << 31) - 0x800);
        assert!(hi_lo(max).is_some() && hi_lo(min).is_some());
        assert_eq!(
            (
                hi_lo(max + 1),
                hi_lo(min - 1),
                hi_lo(i64::MAX),
                hi_lo(i64::MIN)
            ),
            (None, None, None, None)
        );
        // Odd distances are fine for a pair: the sum is exact.
        assert_eq!(hi_lo(1), Some((0, 0x0010_0000)));
    }

    proptest! {
        #[test]
        fn branch_and_jump_fields_round_trip(off in -(1i64 << 21)..(1i64 << 21)) {
            for (enc, dec, bits, mask) in [
                (b_imm(off), b_dec as fn(u32) -> i64, 13, B_MASK),
                (j_imm(off), j_dec, 21, J_MASK),
            ] {
                let fits = off & 1 == 0 && off >= -(1 << (bits - 1)) && off < 1 << (bits - 1);
                prop_assert_eq!(enc.is_some(), fits);
                if let Some(b) = enc {
                    prop_assert_eq!(b & !mask, 0);
                    prop_assert_eq!(dec(b), off);
                }
            }
        }

        #[test]
        fn compressed_fields_round_trip(off in -4096i64..4096) {
            for (enc, dec, bits, mask) in [
                (cb_imm(off), cb_dec as fn(u16) -> i64, 9, CB_MASK),
                (cj_imm(off), cj_dec, 12, CJ_MASK),
            ] {
                let fits = off & 1 == 0 && off >= -(1 << (bits - 1)) && off < 1 << (bits - 1);
                prop_assert_eq!(enc.is_some(), fits);
                if let Some(b) = enc {
                    prop_assert_eq!(b & !mask, 0);
                    prop_assert_eq!(dec(b), off);
                }
            }
        }

        #[test]
        fn auipc_pairs_reach_exactly_their_range(
            off in any::<i64>(),
            near in -(1i64 << 33)..(1i64 << 33),
        ) {
            for off in [off, near] {
                let fits = (-(1i64 << 31) - 0x800..=(1i64 << 31) - 0x801).contains(&off);
                let got = hi_lo(off);
                prop_assert_eq!(got.is_some(), fits);
                if let Some((hi, lo)) = got {
                    prop_assert_eq!((hi & !U_MASK, lo & !I_MASK), (0, 0));
                    prop_assert_eq!(pair_dec(hi, lo), off);
                }
            }
        }

        /// ADD32 then SUB32 at one place leaves the label difference,
        /// modulo 2^32, whatever was there.
        #[test]
        fn add_sub_pairs_compute_differences(a in 0u64..64, b in 0u64..64, base in any::<u32>()) {
            let o = riscv_obj(
                &[(0, info(1, 35), a), (0, info(1, 39), b)],
                base.to_le_bytes().iter().copied(),
            );
            let mut buf = o.image[64..128].to_vec();
            prop_assert_eq!(apply(&o, &mut buf), Ok(2));
            let got = u32::from_le_bytes(buf[..4].try_into().unwrap());
            prop_assert_eq!(got, base.wrapping_add(a as u32).wrapping_sub(b as u32));
        }
    }

    const BASE: u64 = 0x8020_0000;

    /// A .text of 64 bytes at `BASE` starting with `head`; symbols: null,
    /// .text start (section symbol), "entry" at .text+0x20, "data" absolute
    /// 0x1234, an undefined, a common and a bad-section one, and a label at
    /// .text+0x10.
    fn riscv_obj(relas: &[(u64, u64, u64)], head: impl Iterator<Item = u8>) -> Obj {
        let mut text = [0u8; 64];
        for (t, h) in text.iter_mut().zip(head) {
            *t = h;
        }
        let syms = [
            (0, 0, 0),
            (0, 1, 0),
            (1, 1, 0x20),
            (7, SHN_ABS, 0x1234),
            (1, SHN_UNDEF, 0),
            (7, SHN_COMMON, 0),
            (1, 99, 0),
            (0, 1, 0x10),
        ];
        let mut o = obj_with_text(&text, &syms, relas);
        // The loader put .text at BASE.
        let mut h = Shdr::parse(&o.loaded[64..128]).unwrap();
        h.addr = BASE;
        o.loaded[64..128].copy_from_slice(&h.to_bytes());
        o
    }

    fn apply<'a>(o: &'a Obj, buf: &mut [u8]) -> Result<usize, RiscvError<'a>> {
        let p = Purgatory::new(&o.image, &o.loaded)?;
        let sec = p.loaded_shdr(TEXT).unwrap();
        p.apply_rela_riscv(buf, &sec, &p.shdr(RELA).unwrap(), &p.shdr(SYMTAB).unwrap())
    }

    fn word(buf: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(buf[at..at + 4].try_into().unwrap())
    }

    /// One instruction stream with every type, checked against encodings
    /// worked out by hand from the ISA manual.
    #[test]
    fn applies_each_type_at_its_place() {
        let insns: [u32; 12] = [
            0x0000_0063, // 0x00 beq x0, x0, entry       (BRANCH)
            0x0000_006f, // 0x04 j entry                 (JAL)
            0x0000_0097, // 0x08 auipc ra, 0             (CALL)
            0x0000_80e7, // 0x0c jalr ra, 0(ra)
            0x0000_0517, // 0x10 auipc a0, 0             (PCREL_HI20, label)
            0x0005_0513, // 0x14 addi a0, a0, 0          (PCREL_LO12_I)
            0xc101_a001, // 0x18 c.j entry; c.beqz a0, entry (RVC_JUMP, RVC_BRANCH)
            0x0000_0010, // 0x1c ADD32/SUB32 word
            0,           // 0x20 R_RISCV_64
            0,
            0x0000_0000, // 0x28 ADD16 low half, SUB16 high half
            0,
        ];
        let relas = [
            (0x00, info(2, 16), 0),      // entry - 0x00 = 0x20
            (0x04, info(2, 17), 0),      // 0x1c
            (0x08, info(2, 18), 0x1000), // 0x1018: hi 0x1000, lo 0x18
            (0x08, info(0, 51), 0),      // RELAX
            (0x10, info(2, 23), 0x17f0), // 0x1800: rounds up, hi 0x2000, lo -0x800
            (0x14, info(7, 24), 0),      // the label at 0x10
            (0x18, info(2, 45), 0),      // c.j +8
            (0x1a, info(2, 44), 0),      // c.beqz +6
            (0x1c, info(3, 35), 1),      // += 0x1235
            (0x1c, info(1, 39), 0),      // -= BASE
            (0x20, info(2, 2), 8),       // BASE + 0x28
            (0x28, info(3, 34), 0),      // += 0x1234
            (0x2a, info(3, 38), 0x34),   // -= 0x1268
            (0x30, info(0, 43), 4),      // ALIGN
        ];
        let o = riscv_obj(&relas, insns.iter().flat_map(|i| i.to_le_bytes()));
        let mut buf = o.image[64..128].to_vec();
        assert_eq!(apply(&o, &mut buf), Ok(11));
        assert_eq!(word(&buf, 0x00), 0x0200_0063); // beq x0, x0, .+32
        assert_eq!(word(&buf, 0x04), 0x01c0_006f); // j .+28
        assert_eq!(word(&buf, 0x08), 0x0000_1097); // auipc ra, 0x1
        assert_eq!(word(&buf, 0x0c), 0x0180_80e7); // jalr ra, 0x18(ra)
        assert_eq!(word(&buf, 0x10), 0x0000_2517); // auipc a0, 0x2
        assert_eq!(word(&buf, 0x14), 0x8005_0513); // addi a0, a0, -2048
        assert_eq!(u16::from_le_bytes([buf[0x18], buf[0x19]]), 0xa021); // c.j .+8
        assert_eq!(u16::from_le_bytes([buf[0x1a], buf[0x1b]]), 0xc119); // c.beqz a0, .+6
        assert_eq!(
            word(&buf, 0x1c),
            0x10u32.wrapping_add(0x1235).wrapping_sub(BASE as u32)
        );
        assert_eq!(
            u64::from_le_bytes(buf[0x20..0x28].try_into().unwrap()),
            BASE + 0x28
        );
        assert_eq!(u16::from_le_bytes([buf[0x28], buf[0x29]]), 0x1234);
        assert_eq!(
            u16::from_le_bytes([buf[0x2a], buf[0x2b]]),
            0u16.wrapping_sub(0x1268)
        );
        assert_eq!(&buf[0x2c..], &[0u8; 20][..]);
    }

    /// Every refusal leaves the buffer as it was, even when earlier
    /// relocations of the section were fine.
    #[test]
    fn bad_relocations_are_refused_and_nothing_is_written() {
        let good = (0x20, info(2, 2), 0);
        type Case = (std::vec::Vec<(u64, u64, u64)>, fn(&RiscvError<'_>) -> bool);
        fn unknown(e: &RiscvError<'_>, t: u32) -> bool {
            matches!(e, RiscvError::Reloc(RelocError::UnknownType { rel: 1, rtype }) if *rtype == t)
        }
        let cases: [Case; 20] = [
            (std::vec![(0, info(2, 0), 0)], |e| unknown(e, 0)), // NONE: C knows no such case
            (std::vec![(0, info(2, 1), 0)], |e| unknown(e, 1)), // 32
            (std::vec![(0, info(2, 25), 0)], |e| unknown(e, 25)), // PCREL_LO12_S
            (std::vec![(0, info(2, 26), 0)], |e| unknown(e, 26)), // HI20
            (std::vec![(0, info(2, 36), 0)], |e| unknown(e, 36)), // ADD64
            (std::vec![(0, info(2, 40), 0)], |e| unknown(e, 40)), // SUB64
            (std::vec![(0, info(2, 57), 0)], |e| unknown(e, 57)), // 32_PCREL
            (std::vec![(0, info(2, 16), 4096 - 0x20)], |e| {
                matches!(
                    e,
                    RiscvError::Reloc(RelocError::Overflow {
                        rel: 1,
                        rtype: 16,
                        value: 4096
                    })
                )
            }),
            (std::vec![(0, info(2, 16), 1)], |e| {
                matches!(
                    e,
                    RiscvError::Reloc(RelocError::Overflow {
                        rtype: 16,
                        value: 0x21,
                        ..
                    })
                )
            }),
            (std::vec![(0, info(2, 17), 1 << 20)], |e| {
                matches!(e, RiscvError::Reloc(RelocError::Overflow { rtype: 17, .. }))
            }),
            (std::vec![(0, info(2, 44), 256 - 0x20)], |e| {
                matches!(e, RiscvError::Reloc(RelocError::Overflow { rtype: 44, .. }))
            }),
            (std::vec![(0, info(2, 45), 2048 - 0x20)], |e| {
                matches!(e, RiscvError::Reloc(RelocError::Overflow { rtype: 45, .. }))
            }),
            (std::vec![(0, info(3, 18), 0)], |e| {
                matches!(e, RiscvError::Reloc(RelocError::Overflow { rtype: 18, .. }))
            }),
            (std::vec![(0x10, info(2, 23), 0)], |e| {
                matches!(
                    e,
                    RiscvError::LoneHi20 {
                        rel: 1,
                        offset: 0x10
                    }
                )
            }),
            (
                std::vec![(0x10, info(2, 23), 0), (0x18, info(7, 24), 0)],
                |e| matches!(e, RiscvError::LoneHi20 { rel: 1, .. }),
            ),
            (std::vec![(0x14, info(7, 24), 0)], |e| {
                matches!(
                    e,
                    RiscvError::LoneLo12 {
                        rel: 1,
                        offset: 0x14
                    }
                )
            }),
            (
                std::vec![(0x10, info(2, 23), 0), (0x14, info(2, 24), 0)],
                |e| matches!(e, RiscvError::LoneHi20 { rel: 1, .. }),
            ),
            (std::vec![(0x3c, info(2, 18), 0)], |e| {
                matches!(
                    e,
                    RiscvError::Reloc(RelocError::Place {
                        rel: 1,
                        offset: 0x3c
                    })
                )
            }),
            (std::vec![(0, info(4, 2), 0)], |e| {
                matches!(
                    e,
                    RiscvError::Reloc(RelocError::Undefined {
                        rel: 1,
                        name: b"entry"
                    })
                )
            }),
            (std::vec![(0, info(5, 2), 0)], |e| {
                matches!(e, RiscvError::Reloc(RelocError::Common { rel: 1, .. }))
            }),
        ];
        for (bad, want) in cases {
            let mut relas = std::vec![good];
            relas.extend_from_slice(&bad);
            let o = riscv_obj(&relas, core::iter::empty());
            let mut buf = std::vec![0xaau8; 64];
            let got = apply(&o, &mut buf);
            assert!(got.as_ref().is_err_and(want), "{bad:x?}: {got:?}");
            assert_eq!(buf, std::vec![0xaau8; 64], "{bad:x?} wrote to the buffer");
        }
        let o = riscv_obj(&[(0, info(6, 2), 0)], core::iter::empty());
        assert!(matches!(
            apply(&o, &mut [0; 64]),
            Err(RiscvError::Reloc(RelocError::SymbolSection {
                shndx: 99,
                ..
            }))
        ));
        let o = riscv_obj(&[(0, info(8, 2), 0)], core::iter::empty());
        assert_eq!(
            apply(&o, &mut [0; 64]),
            Err(RiscvError::Reloc(RelocError::SymbolIndex {
                rel: 0,
                index: 8
            }))
        );
        // A 2-byte RVC place fits in the last 2 bytes; a 4-byte one does not.
        let o = riscv_obj(
            &[(0x3e, info(2, 45), 0), (0x3e, info(2, 34), 0)],
            core::iter::empty(),
        );
        assert_eq!(apply(&o, &mut [0; 64]), Ok(2));
        let o = riscv_obj(&[(0x3e, info(2, 35), 0)], core::iter::empty());
        assert_eq!(
            apply(&o, &mut [0; 64]),
            Err(RiscvError::Reloc(RelocError::Place {
                rel: 0,
                offset: 0x3e
            }))
        );
    }

    #[test]
    fn types_round_trip_their_numbers() {
        for t in 0..64 {
            let known = [2, 16, 17, 18, 19, 23, 24, 34, 35, 38, 39, 43, 44, 45, 51];
            assert_eq!(
                RiscvType::from_raw(t).is_some(),
                known.contains(&t),
                "type {t}"
            );
        }
    }
}
