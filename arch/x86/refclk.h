/* Reference clocks for the TSC / LAPIC timer calibration (arch/x86/time.c). */
#ifndef RACEBED_REFCLK_H
#define RACEBED_REFCLK_H

#include "arch/x86/acpi.h"
#include "lib/types.h"

/*
 * A free-running reference clock (PM timer, HPET or PIT), read as a 64-bit count: a narrower
 * counter's wraps are folded in, so it must be read at least once per wrap (4.6 s for the
 * 24-bit PM timer). One tick lasts ns_num / ns_den ns.
 */
struct refclk {
	u64 (*raw)(const struct refclk *c);
	u64 mask, last, count;
	u64 ns_num, ns_den;
	u16 port;
	volatile u64 *hpet;
};

/* What a window measured: TSC and LAPIC ticks over ref_ns, each end known to +-bound_ns. */
struct calib_window {
	u64 tsc, ref_ns, bound_ns;
	u32 apic;
};

/* Fills c for the PM timer or the HPET; false when firmware has none (or an unusable HPET). */
bool refclk_pm(const struct fw_info *fw, struct refclk *c);
bool refclk_hpet(const struct fw_info *fw, struct refclk *c);
/* Fills c for PIT channel 2 (its count latched and read; it runs only inside a window). */
void refclk_pit(struct refclk *c);
/*
 * One window of ns (at most 50 ms for the PIT) against c: the TSC and the LAPIC current count
 * (counting down) at each end, each end read between two reads of c. False when c never moved.
 */
bool refclk_window(struct refclk *c, u64 ns, struct calib_window *w);

#endif
