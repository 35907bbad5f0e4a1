/*
 * Event sweeps: every online AP runs a victim loop while the boot CPU sends it events (fixed
 * IPIs or NMIs) after seeded random delays, sweeping the loop's instruction boundaries.
 */
#ifndef RACEBED_SWEEP_H
#define RACEBED_SWEEP_H

#include "arch/x86/percpu.h"

struct sweep {
	cpu_fn_t victim;        /* runs on each AP until *stop becomes non-zero */
	volatile u32 *stop;
	u32 icr;                /* what to send: ICR_NMI or ICR_FIXED | vector */
	u64 rounds;             /* one event per AP per round ... */
	u64 budget_tsc;         /* ... until this much time has passed */
	u64 max_delay_tsc;      /* random delay before each event: [0, max) */
	u64 seed;
};

/* Runs the sweep from the boot CPU; returns the number of events sent. */
u64 sweep_aps(const struct sweep *s);

#endif
