/* TSC / LAPIC timer calibration against CPUID, the ACPI PM timer, the HPET or PIT channel 2. */
#include "arch/x86/time.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "lib/printf.h"

#define PM_TIMER_HZ 3579545u
#define PIT_HZ 1193182u
#define CALIB_US 25000u
/* CPUID's TSC frequency is used only within this distance of the measured one. */
#define TSC_CPUID_TOLERANCE_PPM 5000u
/*
 * A reference clock that does not move for this many reads in a row is declared dead. A
 * read takes 0.1 us at the very least and the slowest clock (the PIT) ticks every 0.84 us,
 * so a live one moves within a few reads; at 1-3 us a read (the PIT's latch and two reads)
 * a dead one costs 1-3 s, not the 20-60 s of the 20 million reads before. Firmware can gate
 * the PIT's clock off (some laptops do).
 */
#define DEAD_POLLS 1000000u
/* A stamp whose two reference reads are further apart than this is taken again. */
#define STAMP_TIGHT_NS 20000u
#define STAMP_TRIES 1000u

struct time_info timeinfo;

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

static u64 pm_raw(const struct refclk *c) { return inl(c->port); }
static u64 hpet_raw(const struct refclk *c) { return c->hpet[30]; /* main counter, 0xf0 */ }

static u64 ref_read(struct refclk *c)
{
	u64 now = c->raw(c) & c->mask;
	c->count += (now - c->last) & c->mask;
	c->last = now;
	return c->count;
}
static u64 ref_ns(const struct refclk *c, u64 ticks)
{
	return muldiv64(ticks, c->ns_num, c->ns_den);
}
static u64 ref_ticks(const struct refclk *c, u64 ns) { return muldiv64(ns, c->ns_den, c->ns_num); }

/*
 * One end of the calibration window: the LAPIC count and the TSC, read between two reads of
 * the reference, whose midpoint (ref2 = their sum) stands for both. A vCPU descheduled
 * between the reads widens the bracket (gap), and the stamp is taken again; unbracketed, a
 * 15 ms gap once made tsc_hz 11% and apic_hz 60% too high, and a smaller one 14% and 29%
 * (uefi-q35-smp8 under TCG, its APs spinning in the firmware), and the reads' own cost
 * made apic_hz 0.25% too high on every boot.
 */
struct stamp {
	u64 tsc, ref2, gap;
	u32 apic;
};

static void stamp_take(struct refclk *c, struct stamp *s)
{
	u64 tight = ref_ticks(c, STAMP_TIGHT_NS);
	s->gap = ~0ull;
	for (u32 i = 0; i < STAMP_TRIES && s->gap > tight; i++) {
		u64 a = ref_read(c);
		u32 apic = apic_read(APIC_TIMER_CUR);
		u64 tsc = rdtsc_ordered();
		u64 b = ref_read(c);
		if (b - a < s->gap)
			*s = (struct stamp){
				.tsc = tsc, .ref2 = a + b, .gap = b - a, .apic = apic
			};
	}
}

/* What a window measured: TSC and LAPIC ticks over ref_ns, each end known to +-bound_ns. */
struct window {
	u64 tsc, ref_ns, bound_ns;
	u32 apic;
};

static bool calibrate_ref(struct refclk *c, struct window *w)
{
	struct stamp s0, s1;
	u64 want = ref_ticks(c, CALIB_US * 1000ull), polls = 0, prev;
	ref_read(c);
	stamp_take(c, &s0);
	prev = c->count;
	while (2 * c->count < s0.ref2 + 2 * want) {
		ref_read(c);
		if (c->count != prev)
			polls = 0, prev = c->count;
		else if (++polls > DEAD_POLLS)
			return false;
	}
	stamp_take(c, &s1);
	w->tsc = s1.tsc - s0.tsc;
	w->apic = s0.apic - s1.apic;
	w->ref_ns = ref_ns(c, s1.ref2 - s0.ref2) / 2;
	w->bound_ns = ref_ns(c, s0.gap + s1.gap) / 2;
	return true;
}

/* PIT channel 2 in mode 0 from 0xffff, its count latched and read: counting up from 0. */
static u64 pit_raw(const struct refclk *c)
{
	(void)c;
	outb(0x43, 0x80); /* latch channel 2's count */
	u32 lo = inb(0x42);
	return 0xffffu - (lo | (u32)inb(0x42) << 8);
}

/*
 * One window against c. The PIT's count wraps every 54.9 ms, and a wrap between two reads is
 * lost; OUT2 goes high when the count passes 0 and stays high, so a window with OUT2 still
 * low had no wrap at all. Polling OUT2 for a 25 ms one-shot instead once made both rates 5.7%
 * too high under TCG.
 */
static bool window_on(struct refclk *c, struct window *w)
{
	if (c->raw != pit_raw)
		return calibrate_ref(c, w);
	for (u32 attempt = 0; attempt < 3; attempt++) {
		outb(0x61, (inb(0x61) & ~0x02) | 0x01); /* gate on, speaker off */
		outb(0x43, 0xb0);                       /* channel 2, lo/hi, mode 0, binary */
		outb(0x42, 0xff);
		outb(0x42, 0xff);
		if (!calibrate_ref(c, w))
			return false;
		if (!(inb(0x61) & 0x20))
			return true;
	}
	return false;
}

/* Fills c for the PM timer, the HPET or the PIT; false when firmware has none. */
static bool ref_pm(const struct fw_info *fw, struct refclk *c)
{
	*c = (struct refclk){ .raw = pm_raw,
			      .port = (u16)fw->pm_timer_port,
			      .mask = fw->pm_timer_32bit ? 0xffffffffu : 0xffffffu,
			      .ns_num = 1000000000u,
			      .ns_den = PM_TIMER_HZ };
	return fw->have_pm_timer && fw->pm_timer_port;
}

static bool ref_hpet(const struct fw_info *fw, struct refclk *c)
{
	if (!fw->have_hpet)
		return false;
	volatile u64 *h = (volatile u64 *)fw->hpet_addr;
	u64 cap = h[0];
	u64 period_fs = cap >> 32; /* counter period in femtoseconds */
	if (period_fs == 0 || period_fs > 100000000ull)
		return false;
	h[2] |= 1; /* general configuration: enable the main counter */
	*c = (struct refclk){ .raw = hpet_raw,
			      .hpet = h,
			      .mask = (cap & (1u << 13)) ? ~0ull
							 : 0xffffffffull, /* COUNT_SIZE_CAP */
			      .ns_num = period_fs,
			      .ns_den = 1000000u };
	return true;
}

static void ref_pit(struct refclk *c)
{
	*c = (struct refclk){
		.raw = pit_raw, .mask = 0xffff, .ns_num = 1000000000u, .ns_den = PIT_HZ
	};
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

/* The rates a window gives, and how far off they can be (ppm). */
static void window_rates(const struct window *w, u64 *tsc_hz, u64 *apic_hz, u32 *bound_ppm)
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
static const char *calibrate(const struct fw_info *fw, enum clock_pref pref, struct window *w,
			     const char **why)
{
	bool any = pref == CLOCK_AUTO;
	struct refclk *c = &boot_ref;
	*why = NULL;
	if (any || pref == CLOCK_PMTIMER) {
		if (!ref_pm(fw, c)) {
			*why = "no ACPI PM timer in the FADT";
		} else if (window_on(c, w)) {
			return "pmtimer";
		} else {
			*why = "the ACPI PM timer never ticked";
			if (any)
				ksnprintf(timeinfo.problem, sizeof(timeinfo.problem), "%s", *why);
		}
	}
	if (any || pref == CLOCK_HPET) {
		if (!ref_hpet(fw, c))
			*why = "no usable HPET in ACPI";
		else if (window_on(c, w))
			return "hpet";
		else
			*why = "the HPET never counted";
	}
	if (any || pref == CLOCK_PIT) {
		ref_pit(c);
		if (window_on(c, w))
			return "pit";
		*why = "PIT channel 2 never counted";
	}
	c->raw = NULL;
	return NULL;
}

void time_init(const struct fw_info *fw, enum clock_pref pref)
{
	static const char *const names[] = { "auto", "pmtimer", "hpet", "pit" };
	struct window w = { 0 };
	const char *why;

	apic_timer_freerun();
	const char *src = calibrate(fw, pref, &w, &why);
	if (!src && pref != CLOCK_AUTO) {
		ksnprintf(timeinfo.problem, sizeof(timeinfo.problem),
			  "clock=%s: %s; calibrated against the first clock that counts",
			  names[pref], why);
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

static u64 median_u64(u64 *v, u32 n)
{
	for (u32 i = 1; i < n; i++)
		for (u32 j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u64 t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

bool time_recheck(u32 windows, struct time_recheck *out)
{
	u64 tsc[TIME_RECHECK_MAX], apic[TIME_RECHECK_MAX];
	u32 n = 0;
	*out = (struct time_recheck){ 0 };
	if (!boot_ref.raw)
		return false;
	for (; n < MIN(windows, TIME_RECHECK_MAX); n++) {
		struct window w;
		u32 bound;
		apic_timer_freerun();
		if (!window_on(&boot_ref, &w))
			break;
		window_rates(&w, &tsc[n], &apic[n], &bound);
		out->bound_ppm = MAX(out->bound_ppm, bound);
	}
	apic_write(APIC_TIMER_INIT, 0);
	if (n == 0)
		return false;
	out->windows = n;
	out->tsc_hz = median_u64(tsc, n);
	out->apic_hz = median_u64(apic, n);
	return n == MIN(windows, TIME_RECHECK_MAX);
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
