// SPDX-License-Identifier: GPL-2.0

//! Fuzz target: riscv64 purgatory relocation (`kdump::reloc::riscv`) on
//! arbitrary images, and against the upstream C function where C may run.
//!
//! The input is taken as the embedded purgatory image; the loader's section
//! headers are the image's own and the buffer is as long as they say,
//! capped, filled with the input's bytes. Every RELA section is applied by
//! the riscv rules. Nothing may panic or read or write out of bounds,
//! whatever the bytes; a refused section leaves the buffer unchanged. A
//! section Rust accepts has passed every check the C function skips, so C
//! runs on it too (unless it would name a nameless symbol by a section
//! header past the table, or read `e_shstrndx` past it, which Rust does not
//! need) and must succeed with the same bytes.

#![no_main]

use kdump::reloc::{buffer_len, shnum, Purgatory, Shdr, SHDR_SIZE};
use kdump_cref::c_riscv_apply_relocations_add;
use libfuzzer_sys::fuzz_target;

const SHT_RELA: u32 = 4;

fn le<const N: usize>(b: &[u8], at: u64) -> Option<[u8; N]> {
    let at = usize::try_from(at).ok()?;
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// `len` bytes of `image` repeated. Copied a slice at a time: a byte-wise
/// iterator costs a traced compare a byte, which for a 1 MiB buffer made
/// this target run at under 1,000 inputs a second.
fn repeat_to(image: &[u8], len: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(len);
    while !image.is_empty() && buf.len() < len {
        let take = image.len().min(len - buf.len());
        buf.extend_from_slice(&image[..take]);
    }
    buf
}

/// Whether C can read what it reads beyond the Rust checks for `relsec`:
/// `e_shstrndx`'s header, and the section header naming each nameless
/// symbol.
fn c_may_run(image: &[u8], n: u16, relsec: &Shdr, symtab: &Shdr) -> bool {
    let shstrndx = le::<2>(image, 0x3e).map_or(u16::MAX, u16::from_le_bytes);
    if shstrndx >= n {
        return false;
    }
    (0..relsec.size / 24).all(|k| {
        let Some(info) = le::<8>(image, relsec.offset + 24 * k + 8).map(u64::from_le_bytes) else {
            return false;
        };
        let sym = symtab.offset + 24 * (info >> 32);
        let name = le::<4>(image, sym).map(u32::from_le_bytes);
        let shndx = le::<2>(image, sym + 6).map(u16::from_le_bytes);
        matches!((name, shndx), (Some(nm), Some(sh)) if nm != 0 || sh < n)
    })
}

fuzz_target!(|image: &[u8]| {
    let n = shnum(image).unwrap_or(0);
    let shoff = image
        .get(0x28..0x30)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let Some(loaded) = usize::try_from(shoff)
        .ok()
        .and_then(|o| image.get(o..o.checked_add(usize::from(n) * SHDR_SIZE)?))
        .map(<[u8]>::to_vec)
    else {
        return;
    };
    let len = buffer_len(&loaded, n).unwrap_or(0).min(1 << 20);
    let mut buf = repeat_to(image, len);
    let Ok(p) = Purgatory::new(image, &loaded) else {
        return;
    };
    for i in 0..u64::from(p.shnum()) {
        let Some(rel) = p.shdr(i) else { continue };
        let (Some(target), Some(symtab)) =
            (p.loaded_shdr(rel.info.into()), p.shdr(rel.link.into()))
        else {
            continue;
        };
        if rel.kind != SHT_RELA {
            continue;
        }
        let before = buf.clone();
        match p.apply_rela_riscv(&mut buf, &target, &rel, &symtab) {
            Err(_) => assert_eq!(buf, before, "a refused section wrote to the buffer"),
            Ok(_) if c_may_run(image, n, &rel, &symtab) => {
                // C reads and writes 4 bytes for a 2-byte RVC place: room
                // after the buffer, which must come back unchanged.
                let mut c_buf = before.clone();
                c_buf.extend_from_slice(&[0xa5; 8]);
                let mut c_hdrs = loaded.clone();
                let c = c_riscv_apply_relocations_add(
                    image,
                    &mut c_hdrs,
                    &mut c_buf,
                    rel.info as usize,
                    i as usize,
                    rel.link as usize,
                );
                assert_eq!(c, 0, "Rust applied a section C refuses");
                assert_eq!(
                    &c_buf[..buf.len()],
                    &buf[..],
                    "C and Rust wrote different bytes"
                );
                assert_eq!(&c_buf[buf.len()..], &[0xa5; 8], "C wrote past the buffer");
            }
            Ok(_) => {}
        }
    }
});
