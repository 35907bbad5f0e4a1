/* TSC and LAPIC timer frequencies, calibrated once at boot, and delays built on the TSC. */
#ifndef RACEBED_TIME_H
#define RACEBED_TIME_H

#include "arch/x86/acpi.h"
#include "arch/x86/clock_pref.h"
#include "arch/x86/cpu.h"

struct time_info {
	u64 tsc_hz;
	const char *tsc_source;  /* "cpuid15", "cpuid16", "pmtimer", "hpet", "pit", "guess" */
	u64 apic_hz;             /* LAPIC timer input clock with divide-by-1; 0 when unknown */
	u32 calib_us;            /* length of the calibration window */
	const char *clock; /* the reference clock measured against: "pmtimer", "hpet", "pit" */
	/* each end of the window lies between two reads of the clock: rates right within this */
	u32 calib_bound_ppm;
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
void time_init(const struct fw_info *fw, enum clock_pref pref);
/*
 * Measures the TSC and LAPIC timer rates again against the clock the boot calibrated against
 * (clock's, whichever tsc_source says): `windows` windows of the boot's length, each end
 * bracketed as at boot, their rates in out[]. Leaves the LAPIC timer stopped and masked.
 * Returns the windows measured: fewer when there is no such clock or it stopped counting.
 */
struct time_rates {
	u64 tsc_hz, apic_hz;
	u32 bound_ppm;
};
u32 time_recheck(struct time_rates *out, u32 windows);
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
/* count events in tsc cycles, per second (0 when no time passed) */
static inline u64 tsc_rate(u64 count, u64 tsc)
{
	return tsc ? muldiv64(count, timeinfo.tsc_hz, tsc) : 0;
}
/*
 * TSC deadlines: end = rdtsc() + cycles, or tsc_deadline_ns(ns). The checks compare the signed
 * difference, so they stay right across a TSC wrap. Each reads the TSC once.
 */
static inline u64 tsc_deadline_ns(u64 ns) { return rdtsc() + ns_to_tsc(ns); }
/* Whether the TSC value t is before end. */
static inline bool tsc_is_before(u64 t, u64 end) { return (s64)(t - end) < 0; }
/* Whether the TSC has not reached end yet / has reached it. */
static inline bool tsc_before(u64 end) { return tsc_is_before(rdtsc(), end); }
static inline bool tsc_past(u64 end) { return !tsc_before(end); }
/*
 * A spin loop's deadline check that reads the TSC only every TSC_POLL_EVERY turns: under QEMU
 * TCG each guest RDTSC is a call into QEMU's clock code (cpu_get_ticks: 12-22% of QEMU's time
 * in perf at smp 8 with loops reading it every turn), taken from the vCPUs doing the work.
 * `turn` is the loop's own counter, starting at 0.
 */
#define TSC_POLL_EVERY 32
static inline bool tsc_before_polled(u64 end, u32 *turn)
{
	return (++*turn & (TSC_POLL_EVERY - 1)) || tsc_before(end);
}
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
