/* TSC / LAPIC timer calibration against CPUID, the ACPI PM timer, the HPET or PIT channel 2. */
#include "arch/x86/time.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "lib/printf.h"

#define PM_TIMER_HZ 3579545u
#define PIT_HZ 1193182u
#define CALIB_US 25000u
/* CPUID's TSC frequency is used only within this distance of the measured one. */
#define TSC_CPUID_TOLERANCE_PPM 20000u
/* A reference clock that does not move for this many polls is declared dead. */
#define DEAD_POLLS 20000000u

struct time_info timeinfo;

/*
 * One calibration window: TSC and LAPIC current count at its start and end, and the reference
 * time it really lasted (ns; 0: CALIB_US). A vCPU descheduled inside the window overshoots the
 * reference's target: counting the target instead of what elapsed made tsc_hz 11% and apic_hz
 * 60% too high once (uefi-q35-smp8 under TCG, a 15 ms gap).
 */
struct window { u64 tsc0, tsc1, ref_ns; u32 apic0, apic1; };

static void window_start(struct window *w)
{
	w->apic0 = apic_read(APIC_TIMER_CUR);
	w->tsc0 = rdtsc_ordered();
}
static void window_end(struct window *w)
{
	w->tsc1 = rdtsc_ordered();
	w->apic1 = apic_read(APIC_TIMER_CUR);
}

static bool calibrate_pm(const struct fw_info *fw, struct window *w)
{
	u32 mask = fw->pm_timer_32bit ? 0xffffffffu : 0xffffffu;
	u32 want = (u32)((u64)PM_TIMER_HZ * CALIB_US / 1000000u);
	u32 start = inl((u16)fw->pm_timer_port) & mask, now = start, polls = 0;
	/* align to a tick edge */
	while ((now = inl((u16)fw->pm_timer_port) & mask) == start)
		if (++polls > DEAD_POLLS)
			return false;
	window_start(w);
	start = inl((u16)fw->pm_timer_port) & mask; /* read after the window's start */
	u32 elapsed;
	for (polls = 0;; polls++) {
		u32 t = inl((u16)fw->pm_timer_port) & mask;
		elapsed = (t - start) & mask;
		if (elapsed >= want)
			break;
		if (t == now && polls > DEAD_POLLS)
			return false;
		if (t != now)
			polls = 0;
		now = t;
	}
	window_end(w);
	w->ref_ns = (u64)elapsed * 1000000000ull / PM_TIMER_HZ;
	return true;
}

static bool calibrate_hpet(const struct fw_info *fw, struct window *w)
{
	volatile u64 *h = (volatile u64 *)fw->hpet_addr;
	u64 period_fs = h[0] >> 32; /* capabilities: counter period in femtoseconds */
	if (period_fs == 0 || period_fs > 100000000ull)
		return false;
	h[2] |= 1; /* general configuration: enable the main counter */
	u64 want = (u64)CALIB_US * 1000000000ull / period_fs;
	u64 start = h[30], polls = 0; /* main counter at 0xf0 */
	while (h[30] == start)
		if (++polls > DEAD_POLLS)
			return false;
	window_start(w);
	start = h[30];
	u64 elapsed;
	while ((elapsed = h[30] - start) < want)
		;
	window_end(w);
	w->ref_ns = elapsed * period_fs / 1000000u;
	return true;
}

static bool calibrate_pit(struct window *w)
{
	u32 count = (u32)((u64)PIT_HZ * CALIB_US / 1000000u);
	outb(0x61, (inb(0x61) & ~0x02) | 0x01); /* gate on, speaker off */
	outb(0x43, 0xb0);                      /* channel 2, lo/hi, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	window_start(w);
	for (u32 polls = 0; !(inb(0x61) & 0x20); polls++)
		if (polls > DEAD_POLLS)
			return false;
	window_end(w);
	return true;
}

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

void time_init(const struct fw_info *fw)
{
	struct window w = { 0 };
	u64 ref_ns = 0;
	const char *src = NULL;

	apic_write(APIC_TIMER_DIV, 0xb); /* divide by 1 */
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | APIC_TIMER_ONESHOT);
	apic_write(APIC_TIMER_INIT, 0xffffffffu);

	if (fw->have_pm_timer && fw->pm_timer_port) {
		if (calibrate_pm(fw, &w))
			src = "pmtimer";
		else
			ksnprintf(timeinfo.problem, sizeof(timeinfo.problem), "ACPI PM timer never ticked");
	}
	if (!src && fw->have_hpet && calibrate_hpet(fw, &w))
		src = "hpet";
	if (!src) {
		if (calibrate_pit(&w))
			src = "pit";
		else
			ksnprintf(timeinfo.problem, sizeof(timeinfo.problem),
				  "no reference clock ticked (PM timer, HPET, PIT)");
	}
	apic_write(APIC_TIMER_INIT, 0);

	ref_ns = w.ref_ns ? w.ref_ns : CALIB_US * 1000ull; /* the PIT's one-shot: its target */
	timeinfo.calib_us = CALIB_US;
	bool have_cpuid = from_cpuid();
	if (src) {
		timeinfo.apic_hz = (u64)(w.apic0 - w.apic1) * 1000000000ull / ref_ns;
		u64 measured = (w.tsc1 - w.tsc0) * 1000000000ull / ref_ns;
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
