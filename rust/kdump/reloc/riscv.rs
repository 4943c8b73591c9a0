// SPDX-License-Identifier: GPL-2.0

//! riscv64 purgatory relocation.
