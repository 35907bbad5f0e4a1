/* Ticket-free test-and-test-and-set spinlock, and a sense-reversing barrier. */
#ifndef RACEBED_SPINLOCK_H
#define RACEBED_SPINLOCK_H

#include "arch/x86/cpu.h"

struct spinlock { volatile u32 locked; };

static inline bool spin_trylock(struct spinlock *l)
{
	return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}
static inline void spin_lock(struct spinlock *l)
{
	while (!spin_trylock(l))
		while (READ_ONCE(l->locked))
			cpu_relax();
}
static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

/* All `count` participants call barrier_wait; the last one in releases the others. */
struct cpu_barrier {
	volatile u32 arrived;
	volatile u32 generation;
	u32 count;
};
static inline void cpu_barrier_init(struct cpu_barrier *b, u32 count)
{
	b->arrived = 0;
	b->generation = 0;
	b->count = count;
}
/* Counts this CPU in. True for the last one in, which has released the others; the others
 * wait while the generation is still *gen. */
static inline bool cpu_barrier_arrive(struct cpu_barrier *b, u32 *gen)
{
	*gen = READ_ONCE(b->generation);
	if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) != b->count)
		return false;
	WRITE_ONCE(b->arrived, 0);
	__atomic_store_n(&b->generation, *gen + 1, __ATOMIC_RELEASE);
	return true;
}
static inline bool cpu_barrier_released(const struct cpu_barrier *b, u32 gen)
{
	return __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) != gen;
}
static inline void cpu_barrier_wait(struct cpu_barrier *b)
{
	u32 gen;
	if (cpu_barrier_arrive(b, &gen))
		return;
	while (!cpu_barrier_released(b, gen))
		cpu_relax();
}

#endif
