// SPDX-License-Identifier: GPL-2.0

//! Pure logic of the crash-dump and kexec path.
//!
//! This crate has no kernel dependency: it uses `core` only, never allocates
//! and never calls out. The same source is built into the kernel (as the
//! `kdump` crate of `rust/Makefile`) and on the host by cargo, where its unit
//! tests, property tests and differential tests against the upstream C code
//! run.
//!
//! Modules are named after the kdump concept they implement.

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![deny(clippy::indexing_slicing)]
#![deny(clippy::unwrap_used)]
#![deny(clippy::expect_used)]
#![deny(clippy::panic)]
#![deny(clippy::arithmetic_side_effects)]

// Host tests may use std (Vec and friends); the library itself never does.
#[cfg(test)]
extern crate std;

pub mod cmdline;
pub mod elfcorehdr;
pub mod memparse;
pub mod purgatory;
pub mod reloc;
pub mod reserve;
pub mod sha256;
