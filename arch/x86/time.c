/*
 * TSC / LAPIC timer calibration against CPUID and a reference clock (arch/x86/refclk.c: the
 * ACPI PM timer, the HPET or PIT channel 2), the recheck, delays, LAPIC timer programming.
 */
#include "arch/x86/time.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/refclk.h"
#include "lib/printf.h"

#define CALIB_US 25000u
/* CPUID's TSC frequency is used only within this distance of the measured one. */
#define TSC_CPUID_TOLERANCE_PPM 5000u
struct time_info timeinfo;

/* CPUID 0x15 (crystal ratio) or else 0x16 (base frequency): the TSC rate the model states. */
static bool from_cpuid(void)
{
	u32 max = cpuid(0, 0).eax;
	if (max >= 0x15) {
		struct cpuid_regs r = cpuid(0x15, 0);
		if (r.eax && r.ebx && r.ecx) {
			timeinfo.cpuid_hz = (u64)r.ecx * r.ebx / r.eax;
			timeinfo.cpuid_source = "cpuid15";
			return true;
		}
	}
	if (max >= 0x16) {
		struct cpuid_regs r = cpuid(0x16, 0);
		if (r.eax & 0xffff) {
			timeinfo.cpuid_hz = (u64)(r.eax & 0xffff) * 1000000u;
			timeinfo.cpuid_source = "cpuid16";
			return true;
		}
	}
	return false;
}

/* The rates a window gives, and how far off they can be (ppm). */
static void window_rates(const struct calib_window *w, u64 *tsc_hz, u64 *apic_hz, u32 *bound_ppm)
{
	*tsc_hz = muldiv64(w->tsc, 1000000000u, w->ref_ns);
	*apic_hz = muldiv64(w->apic, 1000000000u, w->ref_ns);
	*bound_ppm = (u32)MIN(muldiv64(w->bound_ns, 1000000u, w->ref_ns), 999999ull);
}

/* The LAPIC timer counting down from its top at divide-by-1, masked: the windows read it. */
static void apic_timer_freerun(void)
{
	apic_write(APIC_TIMER_DIV, 0xb);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | APIC_TIMER_ONESHOT);
	apic_write(APIC_TIMER_INIT, 0xffffffffu);
}

/* The clock the boot calibrated against, for time_recheck(). */
static struct refclk boot_ref;

/*
 * Calibrates against pref (auto: the first that counts of PM timer, HPET, PIT) and returns
 * its name, or NULL with *why saying what went wrong with the last one tried.
 */
static const char *calibrate(const struct fw_info *fw, enum clock_pref pref, struct calib_window *w,
			     const char **why)
{
	bool any = pref == CLOCK_AUTO;
	struct refclk *c = &boot_ref;
	*why = NULL;
	if (any || pref == CLOCK_PMTIMER) {
		if (!refclk_pm(fw, c)) {
			*why = "no ACPI PM timer in the FADT";
		} else if (refclk_window(c, CALIB_US * 1000ull, w)) {
			return clock_pref_names[CLOCK_PMTIMER];
		} else {
			*why = "the ACPI PM timer never ticked";
			if (any)
				ksnprintf(timeinfo.problem, sizeof(timeinfo.problem), "%s", *why);
		}
	}
	if (any || pref == CLOCK_HPET) {
		if (!refclk_hpet(fw, c))
			*why = "no usable HPET in ACPI";
		else if (refclk_window(c, CALIB_US * 1000ull, w))
			return clock_pref_names[CLOCK_HPET];
		else
			*why = "the HPET never counted";
	}
	if (any || pref == CLOCK_PIT) {
		refclk_pit(c);
		if (refclk_window(c, CALIB_US * 1000ull, w))
			return clock_pref_names[CLOCK_PIT];
		*why = "PIT channel 2 never counted";
	}
	c->raw = NULL;
	return NULL;
}

void time_init(const struct fw_info *fw, enum clock_pref pref)
{
	struct calib_window w = { 0 };
	const char *why;

	apic_timer_freerun();
	const char *src = calibrate(fw, pref, &w, &why);
	if (!src && pref != CLOCK_AUTO) {
		ksnprintf(timeinfo.problem, sizeof(timeinfo.problem),
			  "clock=%s: %s; calibrated against the first clock that counts",
			  clock_pref_names[pref], why);
		src = calibrate(fw, CLOCK_AUTO, &w, &why);
	}
	if (!src)
		ksnprintf(timeinfo.problem, sizeof(timeinfo.problem),
			  "no reference clock counted (PM timer, HPET, PIT)");
	apic_write(APIC_TIMER_INIT, 0);

	timeinfo.calib_us = CALIB_US;
	bool have_cpuid = from_cpuid();
	timeinfo.clock = src ? src : "none";
	if (src) {
		u64 measured;
		window_rates(&w, &measured, &timeinfo.apic_hz, &timeinfo.calib_bound_ppm);
		timeinfo.tsc_hz = measured;
		timeinfo.tsc_source = src;
		/*
		 * CPUID's figure is exact where it is right (no window error): used when the
		 * measurement confirms it, else the model's figure is not this TSC's rate.
		 */
		if (have_cpuid) {
			u64 diff = timeinfo.cpuid_hz > measured ? timeinfo.cpuid_hz - measured
								: measured - timeinfo.cpuid_hz;
			if (diff * 1000000u <= (u64)TSC_CPUID_TOLERANCE_PPM * measured) {
				timeinfo.tsc_hz = timeinfo.cpuid_hz;
				timeinfo.tsc_source = timeinfo.cpuid_source;
			} else {
				timeinfo.cpuid_disagrees = true;
			}
		}
	} else if (have_cpuid) {
		timeinfo.tsc_hz = timeinfo.cpuid_hz;
		timeinfo.tsc_source = timeinfo.cpuid_source;
	} else {
		timeinfo.tsc_hz = 2000000000ull; /* said loudly by the boot experiment */
		timeinfo.tsc_source = "guess";
	}
}

u32 time_recheck(struct time_rates *out, u32 windows)
{
	u32 n = 0;
	if (!boot_ref.raw)
		return 0;
	for (; n < windows; n++) {
		struct calib_window w;
		apic_timer_freerun();
		if (!refclk_window(&boot_ref, CALIB_US * 1000ull, &w))
			break;
		window_rates(&w, &out[n].tsc_hz, &out[n].apic_hz, &out[n].bound_ppm);
	}
	apic_write(APIC_TIMER_INIT, 0);
	return n;
}

void delay_cycles(u64 cycles)
{
	u64 end = rdtsc() + cycles;
	while (tsc_before(end))
		cpu_relax();
}

void udelay(u64 us)
{
	delay_cycles(ns_to_tsc(us * 1000));
}

/* Picks the smallest divider that fits ticks into the 32-bit count. */
u32 apic_timer_prepare(u32 vector, u64 ticks, u32 mode)
{
	static const u8 div_code[8] = { 0xb, 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa };
	u32 shift = 0;
	while (shift < 7 && (ticks >> shift) > 0xffffffffu)
		shift++;
	u64 count = ticks >> shift;
	if (count == 0)
		count = 1;
	if (count > 0xffffffffu)
		count = 0xffffffffu;
	apic_write(APIC_TIMER_DIV, div_code[shift]);
	apic_write(APIC_LVT_TIMER, vector | mode);
	return (u32)count;
}

static void apic_timer_program(u32 vector, u64 ticks, u32 mode)
{
	apic_write(APIC_TIMER_INIT, apic_timer_prepare(vector, ticks, mode));
}

void apic_timer_oneshot(u32 vector, u64 ticks) { apic_timer_program(vector, ticks, APIC_TIMER_ONESHOT); }
void apic_timer_periodic(u32 vector, u64 ticks) { apic_timer_program(vector, ticks, APIC_TIMER_PERIODIC); }
void apic_timer_stop(void)
{
	apic_write(APIC_TIMER_INIT, 0);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
}
