// SPDX-License-Identifier: GPL-2.0

//! Fuzz target: the arm64 `Image` header checks (`kdump::arm64_image`)
//! never panic on any input and give the verdict of the upstream C
//! `image_probe()` and `image_load()` (compiled for the host from the base
//! tarball): the same refusals, and for an `Image` both accept, the load
//! size and entry offset C uses.

#![no_main]

use kdump::arm64_image::{probe, Cpu, Header};
use kdump_cref::image::{c_image_load, c_image_probe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte: the CPU (bits 0-4); the rest: the kernel given to
    // kexec_file_load().
    let Some((&cpu, kernel)) = data.split_first() else {
        return;
    };
    let f = [0, 1, 2, 3, 4].map(|i| cpu & (1 << i) != 0);
    let c = c_image_probe(kernel);
    let rust = probe(kernel);
    assert_eq!(rust.is_ok(), c == 0, "probe: C {c}, Rust {rust:?}");
    if let Err(e) = rust {
        assert!(!e.field().is_empty());
        return;
    }
    let cpu = Cpu {
        big_endian: f[0],
        mixed_endian: f[1],
        granule_4k: f[2],
        granule_16k: f[3],
        granule_64k: f[4],
    };
    let rust = Header::parse(kernel).and_then(|h| h.check(&cpu));
    match (c_image_load(kernel, f), rust) {
        (Err(e), Err(_)) => assert_eq!(e, -22),
        (Ok((kbuf, start)), Ok(img)) => {
            let wrapped = img.image_size.wrapping_add(img.text_offset);
            assert_eq!(img.load_size().unwrap_or(wrapped), kbuf.memsz);
            assert_eq!(start, kbuf.mem.wrapping_add(img.text_offset));
        }
        (c, rust) => panic!("load on {f:?}: C {c:?}, Rust {rust:?}"),
    }
});
