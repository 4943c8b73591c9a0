// SPDX-License-Identifier: GPL-2.0

#include <linux/atomic.h>

/*
 * The atomic_t accessors the crash handoff uses on C's panic_cpu and kexec
 * lock, so that Rust gets the kernel memory model's orderings on every
 * architecture rather than C11's.
 */

bool rust_helper_atomic_try_cmpxchg(atomic_t *v, int *old, int new)
{
	return atomic_try_cmpxchg(v, old, new);
}

int rust_helper_atomic_cmpxchg_acquire(atomic_t *v, int old, int new)
{
	return atomic_cmpxchg_acquire(v, old, new);
}

void rust_helper_atomic_set(atomic_t *v, int i)
{
	atomic_set(v, i);
}

void rust_helper_atomic_set_release(atomic_t *v, int i)
{
	atomic_set_release(v, i);
}
