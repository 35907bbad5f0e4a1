/* The clock the TSC and LAPIC timer are calibrated against (clock= on the command line). */
#ifndef RACEBED_CLOCK_PREF_H
#define RACEBED_CLOCK_PREF_H

/* auto: the ACPI PM timer, else the HPET, else PIT channel 2 */
enum clock_pref { CLOCK_AUTO, CLOCK_PMTIMER, CLOCK_HPET, CLOCK_PIT, CLOCK_PREFS };
/* clock= words, and the clocks' names in the boot line (arch/x86/time.c) */
static const char *const clock_pref_names[CLOCK_PREFS] = { "auto", "pmtimer", "hpet", "pit" };

#endif
