// SPDX-License-Identifier: GPL-2.0
/*
 * crash_kexec() and __crash_kexec() with the Rust handoff
 * (kernel/kdump/handoff.rs) behind them, and what that needs from C: the
 * kexec lock, which kernel/kexec_internal.h declares for kernel/ only.
 * Nothing here sleeps, allocates or locks.
 *
 * The registers the dump records are captured here, by crash_setup_regs(),
 * in a frame that stays live until the jump, as upstream captures them
 * inline in __crash_kexec(): a debugger (drgn, gdb) unwinds the crashed
 * thread from them through live frames. crash_setup_regs() is inline
 * assembly, which Rust cannot inline; captured in a function that returns
 * to Rust, they would describe a frame the later calls overwrite.
 */
#include <linux/atomic.h>
#include <linux/crash_core.h>
#include <linux/kdump_rust.h>
#include <linux/kexec.h>
#include <linux/objtool.h>
#include <linux/smp.h>

#include "../kexec_internal.h"

void __crash_kexec(struct pt_regs *regs)
{
	struct pt_regs fixed_regs;

	crash_setup_regs(&fixed_regs, regs);
	kdump_rust_crash_kexec_locked(&fixed_regs);
}

/* crash_setup_regs() pushes and pops the flags on x86, as upstream's does. */
STACK_FRAME_NON_STANDARD(__crash_kexec);

void crash_kexec(struct pt_regs *regs)
{
	struct pt_regs fixed_regs;

	crash_setup_regs(&fixed_regs, regs);
	kdump_rust_crash_kexec(raw_smp_processor_id(), &fixed_regs);
}

STACK_FRAME_NON_STANDARD(crash_kexec);

atomic_t *kdump_kexec_lock_word(void)
{
	return &__kexec_lock;
}
