// SPDX-License-Identifier: GPL-2.0

//! The `crashkernel=` command line option.
//!
//! Every form the base kernel's `parse_crashkernel()` (kernel/crash_reserve.c)
//! accepts, with the same precedence, defaults and outcome:
//!
//! - `crashkernel=size[KMG][@offset[KMG]]`
//! - `crashkernel=range1:size1[,range2:size2,...][@offset]`, where a range is
//!   `start-[end]` and is matched against the RAM size rounded up to 128 MiB
//! - `crashkernel=size,high` with an optional `crashkernel=size,low`; without
//!   the latter the architecture's default low size is used
//!
//! When the option appears several times, the last word of each kind wins; a
//! plain word takes precedence over `,high`/`,low` ones.
//!
//! [`parse_crashkernel`] reproduces the C function's outputs exactly, including
//! what it leaves in them when it fails, so that a differential test can
//! compare both field by field. On failure it also says what was wrong and
//! where, which the C code only partly does.

use crate::memparse::{memparse, MemSize};

/// The option name, as the C code searches for it (a plain substring search).
const NAME: &[u8] = b"crashkernel=";
const SUFFIX_HIGH: &[u8] = b",high";
const SUFFIX_LOW: &[u8] = b",low";

/// `SZ_128M`: the rounding applied to the RAM size before range matching.
const RAM_ROUNDING: u64 = 128 << 20;

/// Architecture facts the parser needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arch {
    /// The architecture reserves with `reserve_crashkernel_generic()`
    /// (`CONFIG_ARCH_HAS_GENERIC_CRASHKERNEL_RESERVATION`) and its caller
    /// asks for `,high`/`,low`: x86_64, arm64, riscv64.
    pub high_low: bool,
    /// `DEFAULT_CRASH_KERNEL_LOW_SIZE`: the low reservation used when only
    /// `,high` is given (x86_64 computes it from the swiotlb size at boot).
    pub default_low_size: u64,
}

/// What `crashkernel=` asks for: the C function's four outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrashKernel {
    /// Bytes to reserve (`crash_size`).
    pub size: u64,
    /// Requested physical base, 0 for "anywhere" (`crash_base`).
    pub base: u64,
    /// Bytes to reserve below 4 GiB in addition (`low_size`).
    pub low_size: u64,
    /// The main reservation goes high (`high`).
    pub high: bool,
}

/// Why `crashkernel=` was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// There is no `crashkernel=` of the kind looked for. Not worth a
    /// warning; `parse_crashkernel()` still returns `-EINVAL` for it (its
    /// helper's `-ENOENT` never reaches the caller).
    Missing,
    /// A size was expected here.
    SizeExpected,
    /// An address was expected after `@`.
    OffsetExpected,
    /// A range needs `-` after its start.
    DashExpected,
    /// A range needs `:` before its size.
    ColonExpected,
    /// A range ends at or before its start.
    EmptyRange,
    /// A range's size is not smaller than the rounded RAM size.
    SizeNotBelowRam,
    /// Unexpected character after the size.
    TrailingJunk,
    /// `,high` was given with a zero size.
    BadHigh,
    /// The resulting size is zero.
    ZeroSize,
    /// The resulting size is not smaller than the RAM size.
    LargerThanRam,
}

impl Reason {
    /// A short description for the kernel log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::Missing => "no crashkernel= option",
            Reason::SizeExpected => "memory size expected",
            Reason::OffsetExpected => "memory address expected after '@'",
            Reason::DashExpected => "'-' expected after the range start",
            Reason::ColonExpected => "':' expected before the range size",
            Reason::EmptyRange => "range end is not above its start",
            Reason::SizeNotBelowRam => "range size is not below the RAM size",
            Reason::TrailingJunk => "unrecognized characters after the size",
            Reason::BadHigh => "',high' needs a non-zero size",
            Reason::ZeroSize => "size is zero",
            Reason::LargerThanRam => "size is not below the RAM size",
        }
    }
}

/// A rejected `crashkernel=`: why, and which bytes of the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What was wrong.
    pub reason: Reason,
    /// Byte range of the offending `crashkernel=` word in the command line
    /// (empty for [`Reason::Missing`]).
    pub word: (usize, usize),
    /// Offset in the command line where the problem was seen.
    pub at: usize,
    /// The number read there did not fit in 64 bits (it wrapped, as in C).
    pub overflow: bool,
}

impl ParseError {
    /// The offending word, for the log message.
    pub fn word<'a>(&self, cmdline: &'a [u8]) -> &'a [u8] {
        cmdline.get(self.word.0..self.word.1).unwrap_or(&[])
    }
}

/// Outcome of [`parse_crashkernel`]: the outputs exactly as the C function
/// leaves them (also on failure), and its verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The four output values.
    pub request: CrashKernel,
    /// `Ok` where C returns 0.
    pub result: Result<(), ParseError>,
}

impl Parsed {
    /// The C return value: 0 or `-EINVAL` (the only two it returns).
    pub fn ret(&self) -> i32 {
        const EINVAL: i32 = 22;
        match self.result {
            Ok(()) => 0,
            Err(_) => -EINVAL,
        }
    }
}

/// A cursor over the command line with C string semantics: reading past the
/// end (or at a NUL) yields 0, like the terminating NUL.
#[derive(Clone, Copy)]
struct Cur<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    fn peek(&self) -> u8 {
        self.s.get(self.pos).copied().unwrap_or(0)
    }

    fn bump(&mut self) {
        self.pos = self.pos.saturating_add(1);
    }

    fn rest(&self) -> &'a [u8] {
        self.s.get(self.pos..).unwrap_or(&[])
    }

    fn memparse(&mut self) -> MemSize {
        let m = memparse(self.rest());
        self.pos = self.pos.saturating_add(m.len);
        m
    }
}

/// Length of `s` as C's strlen() sees it.
fn c_len(s: &[u8]) -> usize {
    s.iter().position(|&b| b == 0).unwrap_or(s.len())
}

// The helpers below work on the command line already cut at its NUL (see
// [`parse_crashkernel`]), so they need no terminator checks of their own.

/// First occurrence of `needle` in `hay` at or after `from` (strstr()).
fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut at = from;
    loop {
        let tail = hay.get(at..)?;
        let i = tail.iter().position(|&b| b == first)?;
        at = at.saturating_add(i);
        if hay.get(at.saturating_add(1)..)?.starts_with(rest) {
            return Some(at);
        }
        at = at.saturating_add(1);
    }
}

fn find_byte(hay: &[u8], from: usize, b: u8) -> Option<usize> {
    hay.get(from..)?
        .iter()
        .position(|&c| c == b)
        .map(|i| i.saturating_add(from))
}

/// End of the word starting at `p`: the next space or the end of the string.
fn word_end(s: &[u8], p: usize) -> usize {
    find_byte(s, p, b' ').unwrap_or(s.len())
}

fn ends_with(s: &[u8], start: usize, end: usize, suffix: &[u8]) -> bool {
    end.checked_sub(suffix.len())
        .filter(|&q| q >= start)
        .and_then(|q| s.get(q..end))
        == Some(suffix)
}

/// The last `crashkernel=` of the wanted kind: without a suffix, the last one
/// that ends with neither `,high` nor `,low`; with one, the last that ends
/// with it. Returns the offset of the option name.
fn last_crashkernel(s: &[u8], suffix: Option<&[u8]>) -> Option<usize> {
    let mut found = None;
    let mut p = find(s, 0, NAME);
    while let Some(at) = p {
        let end = word_end(s, at);
        let wanted = match suffix {
            None => !ends_with(s, at, end, SUFFIX_HIGH) && !ends_with(s, at, end, SUFFIX_LOW),
            Some(sfx) => ends_with(s, at, end, sfx),
        };
        if wanted {
            found = Some(at);
        }
        p = find(s, at.saturating_add(1), NAME);
    }
    found
}

/// The `crashkernel=` word that [`parse_crashkernel`] reads its size and
/// offset from (the last plain one), for messages about them.
///
/// ```
/// use kdump::cmdline::size_word;
///
/// assert_eq!(
///     size_word(b"crashkernel=1M ro crashkernel=64M@513M q"),
///     Some(&b"crashkernel=64M@513M"[..])
/// );
/// assert_eq!(size_word(b"crashkernel=64M,high"), None);
/// ```
pub fn size_word(cmdline: &[u8]) -> Option<&[u8]> {
    let cmdline = cmdline.get(..c_len(cmdline)).unwrap_or(cmdline);
    let at = last_crashkernel(cmdline, None)?;
    cmdline.get(at..word_end(cmdline, at))
}

/// The word being parsed: where it is, and whether a number in it wrapped.
struct Word {
    start: usize,
    end: usize,
    wrapped: bool,
}

impl Word {
    fn err(&self, reason: Reason, at: usize, overflow: bool) -> ParseError {
        ParseError {
            reason,
            word: (self.start, self.end),
            at,
            overflow: overflow || self.wrapped,
        }
    }

    /// Reads a size at the cursor, remembering whether it wrapped.
    fn memparse(&mut self, c: &mut Cur<'_>) -> MemSize {
        let m = c.memparse();
        self.wrapped |= m.overflow;
        m
    }
}

/// `crashkernel=size[@offset]`.
fn parse_simple(c: &mut Cur<'_>, w: &mut Word, out: &mut CrashKernel) -> Result<(), ParseError> {
    let start = c.pos;
    let m = w.memparse(c);
    out.size = m.value;
    if m.len == 0 {
        return Err(w.err(Reason::SizeExpected, start, false));
    }
    match c.peek() {
        b'@' => {
            // C takes whatever memparse() returns here, even nothing.
            c.bump();
            out.base = w.memparse(c).value;
        }
        b' ' | 0 => {}
        _ => return Err(w.err(Reason::TrailingJunk, c.pos, m.overflow)),
    }
    Ok(())
}

/// `crashkernel=size,high` / `crashkernel=size,low`.
fn parse_suffix(
    c: &mut Cur<'_>,
    w: &mut Word,
    suffix: &[u8],
    size: &mut u64,
) -> Result<(), ParseError> {
    let start = c.pos;
    let m = w.memparse(c);
    *size = m.value;
    if m.len == 0 {
        return Err(w.err(Reason::SizeExpected, start, false));
    }
    // strncmp() stops at a NUL in either string; the suffixes have none, so
    // this is a plain prefix comparison on the C string.
    if !c.rest().starts_with(suffix) {
        return Err(w.err(Reason::TrailingJunk, c.pos, m.overflow));
    }
    c.pos = c.pos.saturating_add(suffix.len());
    match c.peek() {
        b' ' | 0 => Ok(()),
        _ => Err(w.err(Reason::TrailingJunk, c.pos, m.overflow)),
    }
}

/// `crashkernel=start-[end]:size[,start-[end]:size...][@offset]`.
fn parse_ranges(
    c: &mut Cur<'_>,
    w: &mut Word,
    system_ram: u64,
    out: &mut CrashKernel,
) -> Result<(), ParseError> {
    // roundup(system_ram, SZ_128M), wrapping like the C macro.
    let total = system_ram
        .wrapping_add(RAM_ROUNDING - 1)
        .wrapping_div(RAM_ROUNDING)
        .wrapping_mul(RAM_ROUNDING);
    loop {
        let at = c.pos;
        let start = w.memparse(c);
        if start.len == 0 {
            return Err(w.err(Reason::SizeExpected, at, false));
        }
        if c.peek() != b'-' {
            return Err(w.err(Reason::DashExpected, c.pos, start.overflow));
        }
        c.bump();
        let mut end = u64::MAX;
        if c.peek() != b':' {
            let at = c.pos;
            let e = w.memparse(c);
            if e.len == 0 {
                return Err(w.err(Reason::SizeExpected, at, false));
            }
            if e.value <= start.value {
                return Err(w.err(Reason::EmptyRange, at, e.overflow || start.overflow));
            }
            end = e.value;
        }
        if c.peek() != b':' {
            return Err(w.err(Reason::ColonExpected, c.pos, false));
        }
        c.bump();
        let at = c.pos;
        let size = w.memparse(c);
        if size.len == 0 {
            return Err(w.err(Reason::SizeExpected, at, false));
        }
        if size.value >= total {
            return Err(w.err(Reason::SizeNotBelowRam, at, size.overflow));
        }
        if total >= start.value && total < end {
            out.size = size.value;
            break;
        }
        // `while (*cur++ == ',')`: the cursor moves past the byte even when
        // the loop ends.
        let more = c.peek() == b',';
        c.bump();
        if !more {
            break;
        }
    }
    if out.size > 0 {
        while !matches!(c.peek(), 0 | b' ' | b'@') {
            c.bump();
        }
        if c.peek() == b'@' {
            c.bump();
            let at = c.pos;
            let b = w.memparse(c);
            out.base = b.value;
            if b.len == 0 {
                return Err(w.err(Reason::OffsetExpected, at, false));
            }
        }
    }
    Ok(())
}

/// `__parse_crashkernel()`: the last word of one kind, parsed. `size` is
/// `crash_size` or `low_size` depending on the caller, as in C.
fn parse_one(
    s: &[u8],
    system_ram: u64,
    suffix: Option<&[u8]>,
    size: &mut u64,
    base: &mut u64,
    wrapped: &mut bool,
) -> Result<(), ParseError> {
    *size = 0;
    *base = 0;
    let Some(at) = last_crashkernel(s, suffix) else {
        return Err(ParseError {
            reason: Reason::Missing,
            word: (0, 0),
            at: 0,
            overflow: false,
        });
    };
    let mut w = Word {
        start: at,
        end: word_end(s, at),
        wrapped: false,
    };
    let mut c = Cur {
        s,
        pos: at.saturating_add(NAME.len()),
    };
    if let Some(sfx) = suffix {
        let r = parse_suffix(&mut c, &mut w, sfx, size);
        *wrapped |= w.wrapped;
        return r;
    }
    // A ':' before the first space (searched over the rest of the whole
    // command line, as C does) selects the range syntax.
    let colon = find_byte(s, c.pos, b':');
    let space = find_byte(s, c.pos, b' ');
    let mut out = CrashKernel::default();
    let ranges = match (colon, space) {
        (Some(col), Some(sp)) => col < sp,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let r = if ranges {
        parse_ranges(&mut c, &mut w, system_ram, &mut out)
    } else {
        parse_simple(&mut c, &mut w, &mut out)
    };
    *size = out.size;
    *base = out.base;
    *wrapped |= w.wrapped;
    r
}

/// Parses `crashkernel=` in `cmdline` like the base kernel's
/// `parse_crashkernel()` on an architecture described by `arch`.
///
/// `system_ram` is the RAM size the C caller passes
/// (`memblock_phys_mem_size()` on x86). A NUL byte in `cmdline` ends it, as
/// in C.
///
/// # Examples
///
/// ```
/// use kdump::cmdline::{parse_crashkernel, Arch, CrashKernel, Reason};
///
/// let x86 = Arch { high_low: true, default_low_size: 256 << 20 };
/// let ram = 4u64 << 30;
///
/// let p = parse_crashkernel(b"ro crashkernel=512M-2G:64M,2G-:128M quiet", ram, x86);
/// assert_eq!(p.result, Ok(()));
/// assert_eq!(p.request, CrashKernel { size: 128 << 20, ..Default::default() });
///
/// let p = parse_crashkernel(b"crashkernel=256M,high", ram, x86);
/// assert_eq!(
///     p.request,
///     CrashKernel { size: 256 << 20, base: 0, low_size: 256 << 20, high: true }
/// );
///
/// let p = parse_crashkernel(b"crashkernel=64Mx", ram, x86);
/// assert_eq!(p.result.unwrap_err().reason, Reason::TrailingJunk);
/// ```
pub fn parse_crashkernel(cmdline: &[u8], system_ram: u64, arch: Arch) -> Parsed {
    // What C sees: the string up to its NUL. Offsets stay valid for the
    // caller's slice.
    let cmdline = cmdline.get(..c_len(cmdline)).unwrap_or(cmdline);
    let mut req = CrashKernel::default();
    let mut wrapped = false;
    let mut result = parse_one(
        cmdline,
        system_ram,
        None,
        &mut req.size,
        &mut req.base,
        &mut wrapped,
    );

    if arch.high_low && matches!(result, Err(e) if e.reason == Reason::Missing) {
        let r = parse_one(
            cmdline,
            0,
            Some(SUFFIX_HIGH),
            &mut req.size,
            &mut req.base,
            &mut wrapped,
        );
        if let Err(e) = r {
            return Parsed {
                request: req,
                result: Err(e),
            };
        }
        if req.size == 0 {
            let at = last_crashkernel(cmdline, Some(SUFFIX_HIGH)).unwrap_or(0);
            let w = Word {
                start: at,
                end: word_end(cmdline, at),
                wrapped,
            };
            return Parsed {
                request: req,
                result: Err(w.err(Reason::BadHigh, at, false)),
            };
        }
        // The base is reset again here, as C passes crash_base along.
        match parse_one(
            cmdline,
            0,
            Some(SUFFIX_LOW),
            &mut req.low_size,
            &mut req.base,
            &mut wrapped,
        ) {
            Ok(()) => {}
            Err(e) if e.reason == Reason::Missing => req.low_size = arch.default_low_size,
            Err(e) => {
                return Parsed {
                    request: req,
                    result: Err(e),
                }
            }
        }
        result = Ok(());
        req.high = true;
    }

    // The final checks overwrite an earlier verdict, as in C.
    let too_small = req.size == 0;
    let too_large = req.size >= system_ram;
    if result.is_ok() && (too_small || too_large) {
        let word = last_crashkernel(cmdline, None)
            .or_else(|| last_crashkernel(cmdline, Some(SUFFIX_HIGH)))
            .map(|at| (at, word_end(cmdline, at)))
            .unwrap_or((0, 0));
        let reason = if too_small {
            Reason::ZeroSize
        } else {
            Reason::LargerThanRam
        };
        result = Err(ParseError {
            reason,
            word,
            at: word.0,
            overflow: wrapped,
        });
    }
    Parsed {
        request: req,
        result,
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

    const X86: Arch = Arch {
        high_low: true,
        default_low_size: 256 << 20,
    };
    const M: u64 = 1 << 20;
    const G: u64 = 1 << 30;

    fn ok(cmd: &str, ram: u64) -> CrashKernel {
        let p = parse_crashkernel(cmd.as_bytes(), ram, X86);
        assert_eq!(p.result, Ok(()), "{cmd}");
        p.request
    }

    fn err(cmd: &str, ram: u64) -> Reason {
        let p = parse_crashkernel(cmd.as_bytes(), ram, X86);
        p.result.unwrap_err().reason
    }

    #[test]
    fn simple_forms() {
        assert_eq!(
            ok("crashkernel=256M", 4 * G),
            CrashKernel {
                size: 256 * M,
                ..Default::default()
            }
        );
        assert_eq!(
            ok("crashkernel=64M@16M", 4 * G),
            CrashKernel {
                size: 64 * M,
                base: 16 * M,
                ..Default::default()
            }
        );
        assert_eq!(ok("a=b crashkernel=0x4000000 c", G).size, 64 * M);
    }

    #[test]
    fn ranges_pick_the_rounded_ram_size() {
        let cmd = "crashkernel=512M-2G:64M,2G-:128M";
        assert_eq!(ok(cmd, G).size, 64 * M);
        assert_eq!(ok(cmd, 4 * G).size, 128 * M);
        // 2G - 1 byte rounds up to 2G and selects the second range.
        assert_eq!(ok(cmd, 2 * G - 1).size, 128 * M);
        // Below every range: size stays 0, which is an error at the end.
        assert_eq!(err(cmd, 256 * M), Reason::ZeroSize);
        assert_eq!(
            ok("crashkernel=1G-:128M@32M", 2 * G),
            CrashKernel {
                size: 128 * M,
                base: 32 * M,
                ..Default::default()
            }
        );
    }

    #[test]
    fn high_and_low() {
        assert_eq!(
            ok("crashkernel=256M,high crashkernel=64M,low", 8 * G),
            CrashKernel {
                size: 256 * M,
                base: 0,
                low_size: 64 * M,
                high: true
            }
        );
        assert_eq!(ok("crashkernel=256M,high", 8 * G).low_size, 256 * M);
        // A plain word wins over ,high.
        assert_eq!(
            ok("crashkernel=256M,high crashkernel=128M", 8 * G),
            CrashKernel {
                size: 128 * M,
                ..Default::default()
            }
        );
        assert_eq!(err("crashkernel=0,high", 8 * G), Reason::BadHigh);
        assert_eq!(err("crashkernel=64M,low", 8 * G), Reason::Missing);
    }

    #[test]
    fn last_word_of_each_kind_wins() {
        assert_eq!(ok("crashkernel=64M crashkernel=128M", 4 * G).size, 128 * M);
        assert_eq!(
            ok(
                "crashkernel=1G,high crashkernel=2G,high crashkernel=1M,low crashkernel=2M,low",
                8 * G
            )
            .low_size,
            2 * M
        );
    }

    #[test]
    fn bad_input() {
        assert_eq!(err("crashkernel=1G-:", 4 * G), Reason::SizeExpected);
        assert_eq!(err("crashkernel=2G-1G:64M", 4 * G), Reason::EmptyRange);
        assert_eq!(err("crashkernel=64Mx", 4 * G), Reason::TrailingJunk);
        assert_eq!(err("crashkernel=", 4 * G), Reason::SizeExpected);
        assert_eq!(err("crashkernel=8G", 4 * G), Reason::LargerThanRam);
        assert_eq!(err("crashkernel=1G-2G:4G", 4 * G), Reason::SizeNotBelowRam);
        assert_eq!(err("crashkernel=1G:64M", 4 * G), Reason::DashExpected);
        assert_eq!(err("quiet", 4 * G), Reason::Missing);
        let p = parse_crashkernel(b"crashkernel=99999999999999999999G", 4 * G, X86);
        let e = p.result.unwrap_err();
        assert_eq!(e.reason, Reason::LargerThanRam);
        assert!(e.overflow);
        assert_eq!(p.ret(), -22);
    }

    #[test]
    fn error_names_the_word() {
        let cmd = b"ro crashkernel=64Mx quiet";
        let e = parse_crashkernel(cmd, 4 * G, X86).result.unwrap_err();
        assert_eq!(e.word(cmd), b"crashkernel=64Mx");
        assert_eq!(e.at, 18);
    }
}
