/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C prototypes of the crash-dump functions implemented in Rust
 * (kernel/kdump/, rust/kdump/). Each keeps the name of its Rust face and the
 * signature of the C function it mirrors.
 */
#ifndef _LINUX_KDUMP_RUST_H
#define _LINUX_KDUMP_RUST_H

#ifdef CONFIG_CRASH_DUMP_RUST

/**
 * kdump_rust_memparse() - parse a size with a K/M/G/T/P/E suffix, in Rust
 * @ptr: NUL-terminated string where parsing begins
 * @retptr: if not NULL, set to the first character after the parsed size
 *
 * The Rust core's twin of memparse(): same bases (0x hexadecimal, leading 0
 * octal, decimal), same suffixes in either case, same value for numbers that
 * do not fit in 64 bits (they wrap) and same end position.
 *
 * Context: Any context; does not sleep or allocate.
 * Return: The parsed value, or 0 if @ptr does not start with a number.
 */
unsigned long long kdump_rust_memparse(const char *ptr, char **retptr);

#endif /* CONFIG_CRASH_DUMP_RUST */

#endif /* _LINUX_KDUMP_RUST_H */
