/* Fixed-size CPU bitmaps indexed by logical CPU number. */
#ifndef RACEBED_CPUMASK_H
#define RACEBED_CPUMASK_H

#include "lib/types.h"

#define CPUMASK_WORDS (MAX_CPUS / 64)

struct cpumask { u64 bits[CPUMASK_WORDS]; };

static inline void cpumask_clear(struct cpumask *m)
{
	for (u32 i = 0; i < CPUMASK_WORDS; i++)
		m->bits[i] = 0;
}
static inline void cpumask_set(struct cpumask *m, u32 cpu)
{
	__atomic_or_fetch(&m->bits[cpu / 64], 1ull << (cpu % 64), __ATOMIC_SEQ_CST);
}
static inline void cpumask_unset(struct cpumask *m, u32 cpu)
{
	__atomic_and_fetch(&m->bits[cpu / 64], ~(1ull << (cpu % 64)), __ATOMIC_SEQ_CST);
}
static inline bool cpumask_test(const struct cpumask *m, u32 cpu)
{
	return (__atomic_load_n(&m->bits[cpu / 64], __ATOMIC_ACQUIRE) >> (cpu % 64)) & 1;
}
/* Bit count without libgcc (__builtin_popcountll needs __popcountdi2 without POPCNT). */
static inline u32 popcount64(u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (u32)((x * 0x0101010101010101ull) >> 56);
}
static inline u32 cpumask_weight(const struct cpumask *m)
{
	u32 n = 0;
	for (u32 i = 0; i < CPUMASK_WORDS; i++)
		n += popcount64(m->bits[i]);
	return n;
}

/* Iterate over the set bits below limit. */
#define for_each_cpu_in(cpu, mask, limit)                                                    \
	for (u32 cpu = 0; cpu < (limit); cpu++)                                              \
		if (cpumask_test((mask), cpu))

#endif
