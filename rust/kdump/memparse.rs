// SPDX-License-Identifier: GPL-2.0

//! The kernel's `memparse()` size rules.
//!
//! `crashkernel=`, `mem=`, `elfcorehdr=` and most other size-taking command
//! line options are read with `memparse()` (lib/cmdline.c): an integer in C
//! notation (`0x` hexadecimal, leading `0` octal, otherwise decimal), optionally
//! followed by one of the binary suffixes `K`, `M`, `G`, `T`, `P`, `E` (either
//! case). There is no sign and no leading white space.
//!
//! The C function never fails: it returns whatever it could read and where it
//! stopped, and values that do not fit in 64 bits silently wrap. [`memparse`]
//! returns exactly the same value and stop position, so that a Rust caller
//! reaches the same decision as the C code for every input, and additionally
//! reports whether the number wrapped so that the caller can say so.

/// What [`memparse`] read from the start of its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemSize {
    /// The value, wrapped modulo 2^64 exactly as the C function computes it.
    pub value: u64,
    /// Number of bytes consumed, including a `0x` prefix and a suffix letter.
    ///
    /// Zero means no number was found at the start of the input.
    pub len: usize,
    /// The digits or the suffix shift did not fit in 64 bits; `value` is the
    /// wrapped result.
    pub overflow: bool,
}

/// Lower-cases an ASCII letter the way the kernel's `_tolower()` does.
const fn to_lower(c: u8) -> u8 {
    c | 0x20
}

/// Value of `c` as a digit of any base up to 16, if it is one.
const fn digit_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c.wrapping_sub(b'0')),
        _ => match to_lower(c) {
            l @ b'a'..=b'f' => Some(l.wrapping_sub(b'a').wrapping_add(10)),
            _ => None,
        },
    }
}

/// Binary shift of a size suffix letter, if `c` is one.
const fn suffix_shift(c: u8) -> Option<u32> {
    match c {
        b'K' | b'k' => Some(10),
        b'M' | b'm' => Some(20),
        b'G' | b'g' => Some(30),
        b'T' | b't' => Some(40),
        b'P' | b'p' => Some(50),
        b'E' | b'e' => Some(60),
        _ => None,
    }
}

/// Parses a size with an optional binary suffix, like the kernel's `memparse()`.
///
/// The end of `s` (or a NUL byte) ends the number like the terminating NUL of
/// a C string. Reading stops at the first byte that is not part of the number;
/// [`MemSize::len`] tells where. As in C, a suffix letter is taken even when
/// no digit precedes it (`"M"` reads as 0 and consumes one byte).
///
/// # Examples
///
/// ```
/// use kdump::memparse::{memparse, MemSize};
///
/// assert_eq!(memparse(b"256M@16M"), MemSize { value: 256 << 20, len: 4, overflow: false });
/// assert_eq!(memparse(b"0x1000"), MemSize { value: 0x1000, len: 6, overflow: false });
/// assert_eq!(memparse(b"010k"), MemSize { value: 8 << 10, len: 4, overflow: false });
/// assert_eq!(memparse(b"high").len, 0);
/// ```
pub fn memparse(s: &[u8]) -> MemSize {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);

    // Base detection as in _parse_integer_fixup_radix(): "0x" only counts as
    // a prefix when a hexadecimal digit follows; otherwise a leading zero
    // means octal and the zero itself is the first digit.
    let (base, mut pos) = if at(0) == b'0' {
        if to_lower(at(1)) == b'x' && at(2).is_ascii_hexdigit() {
            (16u64, 2usize)
        } else {
            (8, 0)
        }
    } else {
        (10, 0)
    };

    let mut value: u64 = 0;
    let mut overflow = false;
    while let Some(d) = digit_value(at(pos)) {
        let d = u64::from(d);
        if d >= base {
            break;
        }
        match value.checked_mul(base).and_then(|v| v.checked_add(d)) {
            Some(v) => value = v,
            None => {
                overflow = true;
                value = value.wrapping_mul(base).wrapping_add(d);
            }
        }
        pos = pos.wrapping_add(1);
    }

    if let Some(shift) = suffix_shift(at(pos)) {
        if value.leading_zeros() < shift {
            overflow = true;
        }
        value = value.wrapping_shl(shift);
        pos = pos.wrapping_add(1);
    }

    MemSize {
        value,
        len: pos,
        overflow,
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn m(s: &str) -> (u64, usize) {
        let r = memparse(s.as_bytes());
        (r.value, r.len)
    }

    #[test]
    fn decimal_with_every_suffix() {
        assert_eq!(m("7"), (7, 1));
        assert_eq!(m("7k"), (7 * 1024, 2));
        assert_eq!(m("7K"), (7 * 1024, 2));
        assert_eq!(m("7m"), (7 << 20, 2));
        assert_eq!(m("7G"), (7 << 30, 2));
        assert_eq!(m("7t"), (7 << 40, 2));
        assert_eq!(m("7P"), (7 << 50, 2));
        assert_eq!(m("7e"), (7 << 60, 2));
    }

    #[test]
    fn radix_prefixes() {
        assert_eq!(m("0x10"), (16, 4));
        assert_eq!(m("0X1f"), (31, 4));
        assert_eq!(m("0xfM"), (15 << 20, 4));
        // "0x" without a hex digit: octal zero, stops at the 'x'.
        assert_eq!(m("0x"), (0, 1));
        assert_eq!(m("0xg"), (0, 1));
        assert_eq!(m("017"), (15, 3));
        // 8 is not an octal digit.
        assert_eq!(m("08"), (0, 1));
        assert_eq!(m("0"), (0, 1));
    }

    #[test]
    fn suffix_is_not_a_hex_digit_in_decimal() {
        // 'e' is a hex digit but the base is 10, so it is the exa suffix.
        assert_eq!(m("1e"), (1 << 60, 2));
        // In hexadecimal 'e' is a digit, and there is no suffix after it.
        assert_eq!(m("0x1e"), (0x1e, 4));
    }

    #[test]
    fn stops_at_the_first_foreign_byte() {
        assert_eq!(m("64M@16M"), (64 << 20, 3));
        assert_eq!(m("512M-2G:64M"), (512 << 20, 4));
        assert_eq!(m("1G,high"), (1 << 30, 2));
        assert_eq!(m("12\0 34"), (12, 2));
    }

    #[test]
    fn no_number_consumes_nothing() {
        assert_eq!(m(""), (0, 0));
        assert_eq!(m("high"), (0, 0));
        assert_eq!(m("-1"), (0, 0));
        assert_eq!(m(" 1"), (0, 0));
        assert_eq!(m("+1"), (0, 0));
    }

    #[test]
    fn lone_suffix_is_consumed() {
        // C reads no digits, then still takes the suffix letter: 0 shifted.
        assert_eq!(m("M"), (0, 1));
        assert_eq!(m("k@1"), (0, 1));
    }

    #[test]
    fn overflow_wraps_and_is_reported() {
        let r = memparse(b"18446744073709551615");
        assert_eq!((r.value, r.overflow), (u64::MAX, false));
        let r = memparse(b"18446744073709551616");
        assert_eq!((r.value, r.overflow), (0, true));
        // 99999999999999999999 mod 2^64, then shifted by 30 bits mod 2^64.
        let wrapped = (99_999_999_999_999_999_999u128 % (1u128 << 64)) as u64;
        let r = memparse(b"99999999999999999999G");
        assert_eq!(r.value, wrapped.wrapping_shl(30));
        assert!(r.overflow);
        assert_eq!(r.len, 21);
        let r = memparse(b"16E");
        assert_eq!((r.value, r.overflow), (0, true));
        let r = memparse(b"15E");
        assert_eq!((r.value, r.overflow), (15 << 60, false));
    }
}
