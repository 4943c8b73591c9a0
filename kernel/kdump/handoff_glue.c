// SPDX-License-Identifier: GPL-2.0
/*
 * What the Rust panic-path handoff (kernel/kdump/handoff.rs) needs from C:
 * crash_setup_regs(), which is inline assembly, raw_smp_processor_id(),
 * which is a macro, and the kexec lock, which kernel/kexec_internal.h
 * declares for kernel/ only. Nothing here sleeps, allocates or locks.
 */
#include <linux/atomic.h>
#include <linux/kdump_rust.h>
#include <linux/kexec.h>
#include <linux/objtool.h>
#include <linux/smp.h>

#include "../kexec_internal.h"

/*
 * Its inline assembly saves the registers in place (on x86 it pushes and
 * pops the flags), as in C's __crash_kexec().
 */
void kdump_crash_setup_regs(struct pt_regs *fixed, struct pt_regs *regs)
{
	crash_setup_regs(fixed, regs);
}

STACK_FRAME_NON_STANDARD(kdump_crash_setup_regs);

atomic_t *kdump_kexec_lock_word(void)
{
	return &__kexec_lock;
}

int kdump_this_cpu(void)
{
	return raw_smp_processor_id();
}
