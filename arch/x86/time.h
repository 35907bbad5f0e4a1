/* TSC and LAPIC timer frequencies, calibrated once at boot, and delays built on the TSC. */
#ifndef RACEBED_TIME_H
#define RACEBED_TIME_H

#include "arch/x86/acpi.h"

struct time_info {
	u64 tsc_hz;
	const char *tsc_source;  /* "cpuid15", "cpuid16", "pmtimer", "hpet", "pit", "guess" */
	u64 apic_hz;             /* LAPIC timer input clock with divide-by-1; 0 when unknown */
	u32 calib_us;            /* length of the calibration window */
	char problem[120];       /* non-empty when a reference clock misbehaved */
	/*
	 * What CPUID 0x15/0x16 said when a reference clock measured the TSC too: a model's CPUID
	 * figure need not be the rate its TSC counts at (Bochs: 3500 MHz in leaf 0x16 of
	 * corei7_skylake_x, a TSC that counts simulated instructions). cpuid_disagrees: more than
	 * TSC_CPUID_TOLERANCE_PPM apart, and the measurement is used.
	 */
	u64 cpuid_hz;            /* 0: CPUID gave no frequency */
	const char *cpuid_source; /* "cpuid15" or "cpuid16" */
	bool cpuid_disagrees;
};
extern struct time_info timeinfo;

/* BSP, once, after the APIC and the HPET page are reachable. Never hangs. */
void time_init(const struct fw_info *fw);
/*
 * a * b / c with a 128-bit intermediate (mul + div; the quotient must fit 64 bits). c is
 * pinned to RCX: with "rm" the compiler may hand the divisor the very register that holds a
 * (RAX) when both are the same constant (ns_to_tsc(1000000000)), and MUL overwrites it.
 */
static inline u64 muldiv64(u64 a, u64 b, u64 c)
{
	u64 q, r;
	__asm__("mulq %3\n\tdivq %4" : "=a"(q), "=&d"(r) : "a"(a), "rm"(b), "c"(c) : "cc");
	return q;
}
static inline u64 tsc_to_ns(u64 cycles) { return muldiv64(cycles, 1000000000u, timeinfo.tsc_hz); }
static inline u64 ns_to_tsc(u64 ns) { return muldiv64(ns, timeinfo.tsc_hz, 1000000000u); }
/* Spins for a number of TSC cycles / microseconds. */
void delay_cycles(u64 cycles);
void udelay(u64 us);
/* Programs this CPU's LAPIC timer. count is in divide-by-1 ticks for one-shot/periodic. */
void apic_timer_oneshot(u32 vector, u64 ticks);
void apic_timer_periodic(u32 vector, u64 ticks);
void apic_timer_stop(void);
/*
 * Sets the divider and LVT for ticks without starting the timer; returns the count that
 * starts it when written to APIC_TIMER_INIT (0 stops it), for loops that rearm it often.
 */
u32 apic_timer_prepare(u32 vector, u64 ticks, u32 mode);

#endif
