// SPDX-License-Identifier: GPL-2.0

//! riscv64 purgatory in Rust: the part that runs between the old and the
//! new kernel on the kexec_file_load path, called by `purgatory_start`
//! (entry.S) before it jumps to the new kernel.
//!
//! It is the Rust twin of purgatory.c. The loader (kernel/kexec_file.c)
//! writes the table of loaded regions and their SHA-256 digest into the two
//! `.kexec-purgatory` symbols; `purgatory()` hashes the regions as they now
//! lie in memory with the `no_std` core's SHA-256 and returns to entry.S,
//! which enters the new kernel, only if the digest matches. On a mismatch
//! it never returns, as in C. That function and the two symbols are shared
//! with x86_64 (kernel/kdump/purgatory_main.rs); riscv64 needs nothing
//! else.
//!
//! The object is built freestanding (see Makefile.rust) with the medany
//! code model, as the C objects are: everything it reaches, code or data,
//! is reached PC-relative, so it carries only relocation types
//! arch_kexec_apply_relocations_add() applies. It defines every symbol it
//! uses except the string functions the other objects of purgatory.ro
//! provide, and `purgatory.chk` fails to link if it ever references
//! anything else: a reachable Rust panic would show up there as an
//! undefined `core::panicking` symbol.

#![no_std]
// The SHA-256 block loop starts a page in purgatory (rust/kdump/sha256.rs,
// `kdump_purgatory`): rustc_align needs fn_align, which this object's
// rustc command (Makefile.rust) may enable, as it is outside the kernel's
// -Zallow-features list.
#![feature(fn_align)]
#![deny(clippy::indexing_slicing)]
#![deny(clippy::unwrap_used)]
#![deny(clippy::expect_used)]
#![deny(clippy::panic)]
#![deny(clippy::arithmetic_side_effects)]

// The core's modules, compiled into this object with purgatory's flags.
// Only what purgatory calls is used.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../rust/kdump/sha256.rs"]
mod sha256;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../rust/kdump/purgatory.rs"]
mod check;

// The loader's symbols and purgatory(), shared with x86_64.
#[allow(unreachable_pub)]
#[path = "../../../kernel/kdump/purgatory_main.rs"]
mod shared;
