/*
 * The reference clocks a calibration window is measured against (ACPI PM timer, HPET, PIT
 * channel 2), read as 64-bit counts, and the bracketed window itself.
 */
#include "arch/x86/refclk.h"
#include "arch/x86/apic.h"
#include "arch/x86/time.h"

#define PM_TIMER_HZ 3579545u
#define PIT_HZ 1193182u
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

static bool window_once(struct refclk *c, u64 ns, struct calib_window *w)
{
	struct stamp s0, s1;
	u64 want = ref_ticks(c, ns), polls = 0, prev;
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
 * The PIT's count wraps every 54.9 ms, and a wrap between two reads is lost; OUT2 goes high
 * when the count passes 0 and stays high, so a window with OUT2 still low had no wrap at all.
 * Polling OUT2 for a 25 ms one-shot instead once made both rates 5.7% too high under TCG.
 */
bool refclk_window(struct refclk *c, u64 ns, struct calib_window *w)
{
	if (c->raw != pit_raw)
		return window_once(c, ns, w);
	for (u32 attempt = 0; attempt < 3; attempt++) {
		outb(0x61, (inb(0x61) & ~0x02) | 0x01); /* gate on, speaker off */
		outb(0x43, 0xb0);                       /* channel 2, lo/hi, mode 0, binary */
		outb(0x42, 0xff);
		outb(0x42, 0xff);
		if (!window_once(c, ns, w))
			return false;
		if (!(inb(0x61) & 0x20))
			return true;
	}
	return false;
}

bool refclk_pm(const struct fw_info *fw, struct refclk *c)
{
	*c = (struct refclk){ .raw = pm_raw,
			      .port = (u16)fw->pm_timer_port,
			      .mask = fw->pm_timer_32bit ? 0xffffffffu : 0xffffffu,
			      .ns_num = 1000000000u,
			      .ns_den = PM_TIMER_HZ };
	return fw->have_pm_timer && fw->pm_timer_port;
}

bool refclk_hpet(const struct fw_info *fw, struct refclk *c)
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

void refclk_pit(struct refclk *c)
{
	*c = (struct refclk){
		.raw = pit_raw, .mask = 0xffff, .ns_num = 1000000000u, .ns_den = PIT_HZ
	};
}
