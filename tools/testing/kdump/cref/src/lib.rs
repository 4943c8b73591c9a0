// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers around the upstream C functions that `build.rs` compiles for
//! the host, for differential tests against the `kdump` core.

use std::ffi::{c_char, c_int, c_ulonglong, CString};

/// `struct sha256_state` of include/crypto/sha2.h.
#[repr(C)]
pub struct CSha256State {
    state: [u32; 8],
    count: u64,
    buf: [u8; 64],
}

extern "C" {
    fn cref_sha256_init(sctx: *mut CSha256State);
    fn sha256_update(sctx: *mut CSha256State, data: *const u8, len: std::ffi::c_uint);
    fn sha256_final(sctx: *mut CSha256State, out: *mut u8);
    fn memparse(ptr: *const c_char, retptr: *mut *mut c_char) -> c_ulonglong;
    fn cref_parse_crashkernel(
        cmdline: *mut c_char,
        system_ram: c_ulonglong,
        default_low: c_ulonglong,
        crash_size: *mut c_ulonglong,
        crash_base: *mut c_ulonglong,
        low_size: *mut c_ulonglong,
        high: *mut bool,
        high_low: c_int,
    ) -> c_int;
}

/// What the upstream `parse_crashkernel()` returned and left in its outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CParse {
    /// Return value: 0 or a negative errno.
    pub ret: i32,
    /// `crash_size`.
    pub size: u64,
    /// `crash_base`.
    pub base: u64,
    /// `low_size` (initialised to 0 as x86's caller does).
    pub low_size: u64,
    /// `high` (initialised to false as x86's caller does).
    pub high: bool,
}

/// Runs the upstream `parse_crashkernel()` on `cmdline` (cut at a NUL).
///
/// `high_low` passes non-NULL `low_size`/`high` pointers, as x86_64, arm64
/// and riscv64 do; `default_low` is `DEFAULT_CRASH_KERNEL_LOW_SIZE`.
pub fn c_parse_crashkernel(cmdline: &[u8], system_ram: u64, high_low: bool, default_low: u64) -> CParse {
    let end = cmdline.iter().position(|&b| b == 0).unwrap_or(cmdline.len());
    let cs = CString::new(&cmdline[..end]).expect("no interior NUL after the cut");
    let raw = cs.into_raw();
    let (mut size, mut base, mut low_size, mut high) = (u64::MAX, u64::MAX, 0u64, false);
    // SAFETY: `raw` is a valid NUL-terminated string owned by us until it is
    // turned back into a CString below; the out pointers are valid locals.
    let ret = unsafe {
        cref_parse_crashkernel(
            raw,
            system_ram,
            default_low,
            &mut size,
            &mut base,
            &mut low_size,
            &mut high,
            c_int::from(high_low),
        )
    };
    // SAFETY: `raw` came from CString::into_raw above and was not freed.
    drop(unsafe { CString::from_raw(raw) });
    CParse { ret, size, base, low_size, high }
}

/// Runs the upstream `memparse()` on `s`; returns (value, bytes consumed).
///
/// `s` is cut at its first NUL byte, as a C caller would see it.
pub fn c_memparse(s: &[u8]) -> (u64, usize) {
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    let cs = CString::new(&s[..end]).expect("no interior NUL after the cut");
    let mut endp: *mut c_char = std::ptr::null_mut();
    // SAFETY: `cs` is a valid NUL-terminated string that outlives the call,
    // and `endp` is a valid place for the end pointer.
    let v = unsafe { memparse(cs.as_ptr(), &mut endp) };
    // SAFETY: memparse() sets `endp` inside the string or at its NUL.
    let used = unsafe { endp.offset_from(cs.as_ptr()) };
    (v, usize::try_from(used).expect("end pointer before the start"))
}

/// The kernel's C SHA-256 (lib/crypto/sha256.c), incremental.
pub struct CSha256(CSha256State);

impl Default for CSha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl CSha256 {
    /// `sha256_init()`.
    pub fn new() -> Self {
        let mut s = CSha256State { state: [0; 8], count: 0, buf: [0; 64] };
        // SAFETY: `s` is a valid, writable `struct sha256_state`.
        unsafe { cref_sha256_init(&mut s) };
        CSha256(s)
    }

    /// `sha256_update()`, in pieces of at most `u32::MAX` bytes.
    pub fn update(&mut self, data: &[u8]) {
        for chunk in data.chunks(u32::MAX as usize) {
            // SAFETY: `chunk` is valid for reads of its length, which fits
            // the C `unsigned int`.
            unsafe { sha256_update(&mut self.0, chunk.as_ptr(), chunk.len() as std::ffi::c_uint) };
        }
    }

    /// `sha256_final()`.
    pub fn finalize(mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        // SAFETY: `out` has room for the 32-byte digest.
        unsafe { sha256_final(&mut self.0, out.as_mut_ptr()) };
        out
    }
}

/// The kernel's C SHA-256 of `data`.
pub fn c_sha256(data: &[u8]) -> [u8; 32] {
    let mut h = CSha256::new();
    h.update(data);
    h.finalize()
}

/// Small deterministic PRNG (xorshift64*) for the generators of the
/// differential tests: a million cases stay cheap and reproducible.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `KDUMP_SEED` if set, else from `default`.
    pub fn from_env(default: u64) -> Self {
        let seed = std::env::var("KDUMP_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default);
        Rng(seed | 1)
    }

    /// A generator with this seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One element of `set`.
    pub fn pick<T: Copy>(&mut self, set: &[T]) -> T {
        set[self.below(set.len())]
    }
}
