/*
 * Waiting that leaves the CPU halted between checks, so that under an emulator with more vCPUs
 * than host cores the CPUs doing the work get the host. The event's interrupt (or VEC_CALL)
 * wakes the waiter; a one-shot LAPIC timer on this CPU bounds the wait (on the boot CPU the
 * watchdog's periodic tick does).
 */
#ifndef RACEBED_WAIT_H
#define RACEBED_WAIT_H

#include "arch/x86/spinlock.h"

/*
 * Spins (no halting: usable with interrupts off or in NMI context) until *p >= want; false
 * when timeout_ns passed first.
 */
bool spin_until_ge(volatile u64 *p, u64 want, u64 timeout_ns);
/* Returns false when *p did not become `want` within timeout_ns. */
bool wait_eq_halt(volatile u64 *p, u64 want, u64 timeout_ns);
/*
 * Spins up to spin_ns for *p == want (a short wait then costs no wake-up IPI and no halt
 * exit), then waits halted like wait_eq_halt; false when timeout_ns passed first.
 */
bool wait_eq_spin_halt(volatile u64 *p, u64 want, u64 spin_ns, u64 timeout_ns);
/* Like cpu_barrier_wait, but waiters halt and the last arrival wakes them with VEC_CALL. */
void cpu_barrier_wait_halt(struct cpu_barrier *b);
/* Like cpu_barrier_wait, but a waiter gives up after timeout_ns (false; the barrier is then
 * spent: cpu_barrier_init it again before its next use). */
bool cpu_barrier_wait_ns(struct cpu_barrier *b, u64 timeout_ns);
/* Sends VEC_CALL to a CPU (by index): wakes it from a halting wait. */
void wake_cpu(u32 cpu);

#endif
