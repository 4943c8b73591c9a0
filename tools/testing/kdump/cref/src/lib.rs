// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers around the upstream C functions that `build.rs` compiles for
//! the host, for differential tests against the `kdump` core.

use std::ffi::{c_char, c_int, c_ulonglong, CString};

pub mod kexec_elf;

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
pub fn c_parse_crashkernel(
    cmdline: &[u8],
    system_ram: u64,
    high_low: bool,
    default_low: u64,
) -> CParse {
    let end = cmdline
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(cmdline.len());
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
    CParse {
        ret,
        size,
        base,
        low_size,
        high,
    }
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
    (
        v,
        usize::try_from(used).expect("end pointer before the start"),
    )
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
        let mut s = CSha256State {
            state: [0; 8],
            count: 0,
            buf: [0; 64],
        };
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
        let seed = std::env::var("KDUMP_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default);
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

/// `struct purgatory_info` of include/linux/kexec.h.
#[repr(C)]
struct CPurgatoryInfo {
    ehdr: *const u8,
    sechdrs: *mut u8,
    purgatory_buf: *mut u8,
}

extern "C" {
    fn arch_kexec_apply_relocations_add(
        pi: *mut CPurgatoryInfo,
        section: *mut u8,
        relsec: *const u8,
        symtabsec: *const u8,
    ) -> c_int;
    fn riscv_kexec_apply_relocations_add(
        pi: *mut CPurgatoryInfo,
        section: *mut u8,
        relsec: *const u8,
        symtabsec: *const u8,
    ) -> c_int;
}

/// Runs the upstream x86_64 `arch_kexec_apply_relocations_add()` on a
/// purgatory `image`, the loader's section headers `loaded` (whose header
/// `section` is the target) and the purgatory buffer `buf`, for the image's
/// relocation section `relsec` and symbol table `symtab`.
///
/// The C function trusts its input: callers must pass images whose tables,
/// indices and places are in bounds (the differential tests generate only
/// such images, and the checks of our Rust twin are tested separately).
pub fn c_apply_relocations_add(
    image: &[u8],
    loaded: &mut [u8],
    buf: &mut [u8],
    section: usize,
    relsec: usize,
    symtab: usize,
) -> i32 {
    let shoff = u64::from_le_bytes(image[0x28..0x30].try_into().unwrap()) as usize;
    let shdr = |i: usize| image[shoff + 64 * i..].as_ptr();
    assert!(
        64 * (section + 1) <= loaded.len() && shoff + 64 * (relsec.max(symtab) + 1) <= image.len()
    );
    let mut pi = CPurgatoryInfo {
        ehdr: image.as_ptr(),
        sechdrs: loaded.as_mut_ptr(),
        purgatory_buf: buf.as_mut_ptr(),
    };
    // SAFETY: the pointers are into live slices; the caller promises that
    // every offset the C code derives from them stays inside (see above).
    unsafe {
        arch_kexec_apply_relocations_add(
            &mut pi,
            loaded.as_mut_ptr().add(64 * section),
            shdr(relsec),
            shdr(symtab),
        )
    }
}

/// Runs the upstream riscv64 `arch_kexec_apply_relocations_add()`
/// (arch/riscv/kernel/machine_kexec_file.c) like
/// [`c_apply_relocations_add`], with the same duty on the caller: the C
/// function checks no index, offset or place.
pub fn c_riscv_apply_relocations_add(
    image: &[u8],
    loaded: &mut [u8],
    buf: &mut [u8],
    section: usize,
    relsec: usize,
    symtab: usize,
) -> i32 {
    let shoff = u64::from_le_bytes(image[0x28..0x30].try_into().unwrap()) as usize;
    let shdr = |i: usize| image[shoff + 64 * i..].as_ptr();
    assert!(
        64 * (section + 1) <= loaded.len() && shoff + 64 * (relsec.max(symtab) + 1) <= image.len()
    );
    let mut pi = CPurgatoryInfo {
        ehdr: image.as_ptr(),
        sechdrs: loaded.as_mut_ptr(),
        purgatory_buf: buf.as_mut_ptr(),
    };
    // SAFETY: the pointers are into live slices; the caller promises that
    // every offset the C code derives from them stays inside (see above).
    unsafe {
        riscv_kexec_apply_relocations_add(
            &mut pi,
            loaded.as_mut_ptr().add(64 * section),
            shdr(relsec),
            shdr(symtab),
        )
    }
}

/// What kexec_file_load() prepares before it applies purgatory relocations
/// (kexec_purgatory_setup_kbuf() and kexec_purgatory_setup_sechdrs() of
/// kernel/kexec_file.c): the loader's copy of the section headers, with the
/// allocated sections given final addresses from `mem` on and buffer
/// offsets, and the buffer holding their bytes.
pub struct Loaded {
    /// The loader's section headers (`pi->sechdrs`), `e_shnum * 64` bytes.
    pub sechdrs: Vec<u8>,
    /// The purgatory buffer (`pi->purgatory_buf`).
    pub buf: Vec<u8>,
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn align_up(x: u64, a: u64) -> u64 {
    if a <= 1 {
        x
    } else {
        x.div_ceil(a) * a
    }
}

/// Lays out `image` at physical address `mem` as the kernel's loader does.
pub fn load_purgatory(image: &[u8], mem: u64) -> Loaded {
    const SHF_ALLOC: u64 = 2;
    const SHT_NOBITS: u32 = 8;
    let shoff = le64(image, 0x28) as usize;
    let shnum = u16::from_le_bytes([image[0x3c], image[0x3d]]) as usize;
    let mut sechdrs = image[shoff..shoff + 64 * shnum].to_vec();
    let field = |h: &[u8], at: usize| le64(h, at);
    // kexec_purgatory_setup_kbuf(): buffer size.
    let (mut bufsz, mut bss_align) = (0u64, 1u64);
    for i in 0..shnum {
        let h = &sechdrs[64 * i..64 * i + 64];
        let (flags, size, align) = (field(h, 8), field(h, 32), field(h, 48));
        let kind = u32::from_le_bytes(h[4..8].try_into().unwrap());
        if flags & SHF_ALLOC == 0 {
            continue;
        }
        if kind != SHT_NOBITS {
            bufsz = align_up(bufsz, align) + size;
        } else {
            bss_align = bss_align.max(align);
        }
    }
    bufsz = align_up(bufsz, bss_align);
    let mut buf = vec![0u8; bufsz as usize];
    // kexec_purgatory_setup_sechdrs(): copy and place.
    let (mut offset, mut bss_addr) = (0u64, mem + bufsz);
    for i in 0..shnum {
        let h = &mut sechdrs[64 * i..64 * i + 64];
        let (flags, file_off, size, align) =
            (field(h, 8), field(h, 24), field(h, 32), field(h, 48));
        let kind = u32::from_le_bytes(h[4..8].try_into().unwrap());
        if flags & SHF_ALLOC == 0 {
            continue;
        }
        if kind == SHT_NOBITS {
            bss_addr = align_up(bss_addr, align);
            h[16..24].copy_from_slice(&bss_addr.to_le_bytes());
            bss_addr += size;
            continue;
        }
        offset = align_up(offset, align);
        buf[offset as usize..(offset + size) as usize]
            .copy_from_slice(&image[file_off as usize..(file_off + size) as usize]);
        h[16..24].copy_from_slice(&(mem + offset).to_le_bytes());
        h[24..32].copy_from_slice(&offset.to_le_bytes());
        offset += size;
    }
    Loaded { sechdrs, buf }
}

/// `struct range`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CRange {
    /// First byte.
    pub start: u64,
    /// Last byte.
    pub end: u64,
}

extern "C" {
    fn cref_elf64_headers(
        nr_cpus: std::ffi::c_uint,
        notes: *const u64,
        vmcoreinfo: u64,
        need_kernel_map: c_int,
        text: std::ffi::c_ulong,
        end: std::ffi::c_ulong,
        text_pa: std::ffi::c_ulong,
        page_offset: std::ffi::c_ulong,
        mem: *mut u8,
        addr: *mut *mut std::ffi::c_void,
        sz: *mut std::ffi::c_ulong,
    ) -> c_int;
    fn cref_arm64_elf_headers(
        nr_cpus: std::ffi::c_uint,
        notes: *const u64,
        vmcoreinfo: u64,
        text: std::ffi::c_ulong,
        end: std::ffi::c_ulong,
        text_pa: std::ffi::c_ulong,
        page_offset: std::ffi::c_ulong,
        phys_offset: std::ffi::c_ulong,
        memblock: *const u64,
        nr_memblock: std::ffi::c_uint,
        crashk: *const u64,
        addr: *mut *mut std::ffi::c_void,
        sz: *mut std::ffi::c_ulong,
    ) -> c_int;
    fn crash_exclude_mem_range(mem: *mut u8, mstart: u64, mend: u64) -> c_int;
    fn free(p: *mut std::ffi::c_void);
}

/// The C header builders read the machine from globals of the shim (the
/// kernel's are per machine): one caller at a time, whatever test thread.
static MACHINE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Copies and frees the header a C builder returned.
///
/// # Safety
///
/// `addr` is NULL or a malloc'd buffer of `sz` bytes, not used afterwards.
unsafe fn take_header(
    ret: c_int,
    addr: *mut std::ffi::c_void,
    sz: std::ffi::c_ulong,
) -> (i32, Vec<u8>) {
    if ret != 0 || addr.is_null() {
        return (ret, Vec::new());
    }
    // SAFETY: forwarded from the function's safety section.
    let out = unsafe { std::slice::from_raw_parts(addr.cast::<u8>(), sz as usize).to_vec() };
    // SAFETY: as above.
    unsafe { free(addr) };
    (ret, out)
}

/// `struct crash_mem` with its flexible array, for the C functions.
pub struct CCrashMem {
    /// `max_nr_ranges`, `nr_ranges`, then the ranges, as u64 words.
    words: Vec<u64>,
}

impl CCrashMem {
    /// `ranges` in a `crash_mem` of `max` slots.
    pub fn new(ranges: &[CRange], max: usize) -> Self {
        assert!(ranges.len() <= max);
        let mut words = vec![0u64; 1 + 2 * max];
        words[0] = (max as u64) | ((ranges.len() as u64) << 32);
        for (i, r) in ranges.iter().enumerate() {
            words[1 + 2 * i] = r.start;
            words[2 + 2 * i] = r.end;
        }
        CCrashMem { words }
    }

    /// The ranges in use.
    pub fn ranges(&self) -> Vec<CRange> {
        let n = (self.words[0] >> 32) as usize;
        (0..n)
            .map(|i| CRange {
                start: self.words[1 + 2 * i],
                end: self.words[2 + 2 * i],
            })
            .collect()
    }

    /// Upstream `crash_exclude_mem_range()`.
    pub fn exclude(&mut self, mstart: u64, mend: u64) -> i32 {
        // SAFETY: `words` is a crash_mem header followed by max_nr_ranges
        // ranges, as the C function expects.
        unsafe { crash_exclude_mem_range(self.words.as_mut_ptr().cast(), mstart, mend) }
    }
}

/// The machine described by an ELF core header.
pub struct CCore<'a> {
    /// Physical addresses of the per-CPU notes.
    pub notes: &'a [u64],
    /// Physical address of the VMCOREINFO note.
    pub vmcoreinfo: u64,
    /// `_text`, `_end`, `__pa_symbol(_text)` if the kernel map is wanted.
    pub kernel_map: Option<(u64, u64, u64)>,
    /// `PAGE_OFFSET` for `__va()`.
    pub page_offset: u64,
}

/// Upstream `crash_prepare_elf64_headers()` on `mem`: (return value, the
/// header bytes).
pub fn c_elf64_headers(core: &CCore<'_>, mem: &mut CCrashMem) -> (i32, Vec<u8>) {
    let (text, end, pa) = core.kernel_map.unwrap_or((0, 0, 0));
    let mut addr: *mut std::ffi::c_void = std::ptr::null_mut();
    let mut sz: std::ffi::c_ulong = 0;
    let _one = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: every pointer is valid for the call; `notes` has nr_cpus
    // entries; on success the C function returns a calloc'd buffer of `sz`
    // bytes, copied and freed here.
    unsafe {
        let ret = cref_elf64_headers(
            core.notes.len() as _,
            core.notes.as_ptr(),
            core.vmcoreinfo,
            core.kernel_map.is_some() as c_int,
            text as _,
            end as _,
            pa as _,
            core.page_offset as _,
            mem.words.as_mut_ptr().cast(),
            &mut addr,
            &mut sz,
        );
        take_header(ret, addr, sz)
    }
}

/// An arm64 machine as its `prepare_elf_headers()` sees it.
pub struct CArm64<'a> {
    /// memblock memory ranges, `[start, end)` as for_each_mem_range() gives
    /// them.
    pub memblock: &'a [(u64, u64)],
    /// `crashk_res` (start, end), inclusive.
    pub crashk: (u64, u64),
    /// `crashk_low_res` (start, end), inclusive; `end == 0` if not reserved.
    pub crashk_low: (u64, u64),
    /// `PHYS_OFFSET` (`memstart_addr`); `core.page_offset` is
    /// `PAGE_OFFSET`, and `__va(x)` is `(x - PHYS_OFFSET) | PAGE_OFFSET`.
    pub phys_offset: u64,
}

/// Upstream arm64 `prepare_elf_headers()` (arch/arm64/kernel/
/// machine_kexec_file.c) with the upstream `crash_exclude_mem_range()` and
/// `crash_prepare_elf64_headers()`, `ELF_ARCH` `EM_AARCH64` and arm64's
/// `sizeof(note_buf_t)`: (return value, the header bytes). The kernel map
/// is always on, as arm64 asks for it.
pub fn c_arm64_prepare_elf_headers(core: &CCore<'_>, m: &CArm64<'_>) -> (i32, Vec<u8>) {
    let (text, end, pa) = core.kernel_map.unwrap_or((0, 0, 0));
    let memblock: Vec<u64> = m.memblock.iter().flat_map(|&(s, e)| [s, e]).collect();
    let crashk = [m.crashk.0, m.crashk.1, m.crashk_low.0, m.crashk_low.1];
    let mut addr: *mut std::ffi::c_void = std::ptr::null_mut();
    let mut sz: std::ffi::c_ulong = 0;
    assert_ne!(m.phys_offset, u64::MAX, "~0 selects x86_64 in the shim");
    let _one = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: every pointer is valid for the call and its arrays have the
    // lengths passed; on success the C function returns a malloc'd buffer
    // of `sz` bytes, copied and freed by take_header().
    unsafe {
        let ret = cref_arm64_elf_headers(
            core.notes.len() as _,
            core.notes.as_ptr(),
            core.vmcoreinfo,
            text as _,
            end as _,
            pa as _,
            core.page_offset as _,
            m.phys_offset as _,
            memblock.as_ptr(),
            m.memblock.len() as _,
            crashk.as_ptr(),
            &mut addr,
            &mut sz,
        );
        take_header(ret, addr, sz)
    }
}

/// The upstream `__crash_kexec()` and `crash_kexec()`, with their atomics
/// (`panic_cpu`, `__kexec_lock`) and `kexec_crash_image`, and machine steps
/// that report here.
///
/// The C functions share one global state, so one test at a time may use
/// them: take [`handoff::lock`] first.
pub mod handoff {
    use std::cell::{Cell, RefCell};
    use std::sync::atomic::AtomicI32;
    use std::sync::{Mutex, MutexGuard};

    /// One step of the machine, as the C code took it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Event {
        /// `crash_setup_regs()` with the id of the given registers (None for
        /// NULL).
        Regs(Option<u64>),
        /// `crash_save_vmcoreinfo()`.
        Vmcoreinfo,
        /// `machine_crash_shutdown()` with the id of the registers it got.
        Shutdown(u64),
        /// `machine_kexec()` of `kexec_crash_image` (true) or something else.
        Kexec(bool),
        /// Marks where a nested call (made from inside `machine_kexec()`)
        /// starts and ends.
        Nested(bool),
    }

    /// `struct pt_regs` of the shim: an id the steps pass along.
    #[repr(C)]
    pub struct CRegs {
        /// Identifies the register set.
        pub id: u64,
    }

    extern "C" {
        static panic_cpu: AtomicI32;
        static __kexec_lock: AtomicI32;
        static mut kexec_crash_image: *mut std::ffi::c_void;
        fn __crash_kexec(regs: *mut CRegs);
        fn crash_kexec(regs: *mut CRegs);
    }

    thread_local! {
        static CPU: Cell<i32> = const { Cell::new(0) };
        static EVENTS: RefCell<Vec<Event>> = const { RefCell::new(Vec::new()) };
        static INSIDE: RefCell<Option<Box<dyn FnOnce()>>> = RefCell::new(None);
    }

    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    /// Serialises the users of the C state.
    pub fn lock() -> MutexGuard<'static, ()> {
        ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The C `panic_cpu`.
    pub fn c_panic_cpu() -> &'static AtomicI32 {
        // SAFETY: a static `atomic_t` (one int) only accessed atomically.
        unsafe { &*std::ptr::addr_of!(panic_cpu) }
    }

    /// The C `__kexec_lock`.
    pub fn c_kexec_lock() -> &'static AtomicI32 {
        // SAFETY: as for `c_panic_cpu`.
        unsafe { &*std::ptr::addr_of!(__kexec_lock) }
    }

    /// Sets `kexec_crash_image` to a dummy image, or NULL.
    pub fn set_loaded(loaded: bool) {
        static IMAGE: u8 = 0;
        // SAFETY: the caller holds `lock()`; only the C functions read it.
        unsafe {
            kexec_crash_image = if loaded {
                std::ptr::addr_of!(IMAGE).cast_mut().cast()
            } else {
                std::ptr::null_mut()
            }
        };
    }

    /// What `raw_smp_processor_id()` returns on this thread.
    pub fn set_cpu(cpu: i32) {
        CPU.with(|c| c.set(cpu));
    }

    /// Runs `f` from inside the next `machine_kexec()` on this thread.
    pub fn set_inside(f: Box<dyn FnOnce()>) {
        INSIDE.with(|i| *i.borrow_mut() = Some(f));
    }

    /// Takes the events recorded on this thread.
    pub fn take_events() -> Vec<Event> {
        EVENTS.with(|e| std::mem::take(&mut *e.borrow_mut()))
    }

    /// Records an event (the nested-call markers come from the test).
    pub fn record(ev: Event) {
        EVENTS.with(|e| e.borrow_mut().push(ev));
    }

    fn regs_ptr(regs: Option<u64>, slot: &mut CRegs) -> *mut CRegs {
        match regs {
            Some(id) => {
                slot.id = id;
                slot
            }
            None => std::ptr::null_mut(),
        }
    }

    /// Upstream `__crash_kexec(regs)`.
    pub fn c_crash_kexec_locked(regs: Option<u64>) {
        let mut slot = CRegs { id: 0 };
        // SAFETY: the pointer is NULL or a live CRegs.
        unsafe { __crash_kexec(regs_ptr(regs, &mut slot)) }
    }

    /// Upstream `crash_kexec(regs)`.
    pub fn c_crash_kexec(regs: Option<u64>) {
        let mut slot = CRegs { id: 0 };
        // SAFETY: as above.
        unsafe { crash_kexec(regs_ptr(regs, &mut slot)) }
    }

    #[no_mangle]
    extern "C" fn cref_this_cpu() -> std::ffi::c_int {
        CPU.with(|c| c.get())
    }

    #[no_mangle]
    extern "C" fn cref_handoff_event(kind: std::ffi::c_int, arg: u64) {
        record(match kind {
            1 => Event::Regs((arg != u64::MAX).then_some(arg)),
            2 => Event::Vmcoreinfo,
            3 => Event::Shutdown(arg),
            4 => Event::Kexec(arg != 0),
            _ => panic!("unknown handoff event {kind}"),
        });
    }

    #[no_mangle]
    extern "C" fn cref_handoff_inside() {
        if let Some(f) = INSIDE.with(|i| i.borrow_mut().take()) {
            f();
        }
    }
}

/// The arm64 `Image` loader's checks: upstream `image_probe()` and
/// `image_load()` of arch/arm64/kernel/kexec_image.c.
pub mod image {
    use std::ffi::{c_char, c_int, c_long, c_ulong};
    use std::sync::Mutex;

    /// `struct kexec_buf` of the shim, as `image_load()` filled it.
    #[repr(C)]
    #[derive(Clone, Copy, Debug)]
    pub struct CKexecBuf {
        image: *mut u8,
        buffer: *mut u8,
        /// `bufsz`: the whole `Image`.
        pub bufsz: c_ulong,
        /// `mem`: where the shim placed the kernel.
        pub mem: c_ulong,
        /// `memsz`: `image_size + text_offset`.
        pub memsz: c_ulong,
        /// `buf_align`: `MIN_KIMG_ALIGN`.
        pub buf_align: c_ulong,
        buf_min: c_ulong,
        buf_max: c_ulong,
        top_down: bool,
    }

    extern "C" {
        fn cref_image_probe(buf: *const c_char, len: c_ulong) -> c_int;
        fn cref_image_load(
            kernel: *mut c_char,
            len: c_ulong,
            cpu: *const bool,
            kbuf: *mut CKexecBuf,
            start: *mut c_ulong,
        ) -> c_long;
    }

    /// The shim's CPU features are globals: one `image_load()` at a time.
    static ONE: Mutex<()> = Mutex::new(());

    /// Upstream `image_probe()`: 0 or a negative errno.
    pub fn c_image_probe(buf: &[u8]) -> i32 {
        // SAFETY: `buf` is valid for reads of its length; the C function
        // reads at most that many bytes.
        unsafe { cref_image_probe(buf.as_ptr().cast(), buf.len() as c_ulong) }
    }

    /// What upstream `image_load()` did with a kernel that passed the
    /// probe: `Err(errno)`, or the `kexec_buf` it gave `kexec_add_buffer()`
    /// and the entry point (`image->start`).
    pub fn c_image_load(kernel: &[u8], cpu: [bool; 5]) -> Result<(CKexecBuf, u64), i32> {
        // image_load() reads the header without a length check: the probe
        // made sure it is there.
        assert!(kernel.len() >= 64, "image_load() needs a whole header");
        let mut copy = kernel.to_vec();
        // SAFETY: all-zero bytes are a valid `struct kexec_buf` (null
        // pointers, integers, false).
        let mut kbuf: CKexecBuf = unsafe { std::mem::zeroed() };
        let mut start: c_ulong = 0;
        let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: `copy` is valid for its length and holds a whole header;
        // `cpu` has the five flags the wrapper reads; the outputs are
        // valid locals.
        let ret = unsafe {
            cref_image_load(
                copy.as_mut_ptr().cast(),
                copy.len() as c_ulong,
                cpu.as_ptr(),
                &mut kbuf,
                &mut start,
            )
        };
        if ret != 0 {
            return Err(ret as i32);
        }
        Ok((kbuf, start as u64))
    }
}
