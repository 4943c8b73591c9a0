// SPDX-License-Identifier: GPL-2.0

//! Fuzz target: purgatory relocation (`kdump::reloc`) on arbitrary images.
//!
//! The input is taken as the embedded purgatory image; the loader's section
//! headers are the image's own (or, when the image has none, the raw input)
//! and the buffer is as long as they say, capped. Every RELA section is
//! applied. Nothing may panic or read or write out of bounds, whatever the
//! bytes; when a section is refused the buffer must be unchanged.

#![no_main]

use kdump::reloc::{buffer_len, shnum, Purgatory, SHDR_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|image: &[u8]| {
    let n = shnum(image).unwrap_or(0);
    let shoff = image
        .get(0x28..0x30)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let table = usize::try_from(shoff)
        .ok()
        .and_then(|o| image.get(o..o.checked_add(usize::from(n) * SHDR_SIZE)?))
        .unwrap_or(image);
    let loaded = table.to_vec();
    let len = buffer_len(&loaded, n).unwrap_or(0).min(1 << 20);
    let mut buf = vec![0x5au8; len];
    let Ok(p) = Purgatory::new(image, &loaded) else {
        return;
    };
    for i in 0..u64::from(p.shnum()) {
        let (Some(rel), Some(target), Some(symtab)) = (
            p.shdr(i),
            p.loaded_shdr(u64::from(p.shdr(i).map_or(0, |h| h.info))),
            p.shdr(u64::from(p.shdr(i).map_or(0, |h| h.link))),
        ) else {
            continue;
        };
        if rel.kind != 4 {
            continue;
        }
        let before = buf.clone();
        if p.apply_rela_x86_64(&mut buf, &target, &rel, &symtab)
            .is_err()
        {
            assert_eq!(buf, before, "a refused section wrote to the buffer");
        }
    }
});
