/*
 * Event sweeps: every online AP runs a victim loop while the boot CPU sends it events (fixed
 * IPIs or NMIs) after seeded random delays, sweeping the loop's instruction boundaries.
 */
#ifndef RACEBED_SWEEP_H
#define RACEBED_SWEEP_H

#include "arch/x86/percpu.h"

/* *stop while a sweep runs: victims loop, then stop; last, events still in flight drain. */
enum { SWEEP_RUN, SWEEP_STOP, SWEEP_DRAIN };

struct sweep {
	cpu_fn_t victim;        /* runs on each AP until *stop becomes non-zero */
	volatile u32 *stop;     /* SWEEP_RUN / SWEEP_STOP / SWEEP_DRAIN */
	u32 icr;                /* what to send: ICR_NMI or ICR_FIXED | vector */
	u64 rounds;             /* one event per AP per round ... */
	u64 budget_tsc;         /* ... until this much time has passed */
	u64 max_delay_tsc;      /* random delay before each event: [0, max) */
	u64 seed;
};

/*
 * Runs the sweep from the boot CPU; returns the number of events sent. Before returning it
 * leaves *stop at SWEEP_DRAIN for SWEEP_DRAIN_US: an event sent just before the stop can still be
 * in flight (seen under KVM), and the caller's handler, still installed, must take it without
 * counting it (as a later sweep's or as an unexpected interrupt).
 */
#define SWEEP_DRAIN_US 2000
u64 sweep_aps(const struct sweep *s);

#endif
