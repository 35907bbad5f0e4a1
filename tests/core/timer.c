/*
 * timer: the LAPIC timer (one-shot, periodic, TSC-deadline) and the TSC agree within 1% (a
 * one-shot may come 5% late: the host's scheduling), measured on the boot CPU. The two are
 * calibrated in one window, so an error common to both (a window too short: the PIT's
 * one-shot once made both 5.7% high) cancels in that check; the rates are also measured
 * again against the reference clock, in 8 more windows.
 */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/time.h"
#include "arch/x86/trap.h"
#include "kernel/experiment.h"
#include "kernel/runner.h"
#include "kernel/stats.h"
#include "kernel/wait.h"

#define VEC_TICK (VEC_EXP_FIRST + 2)
#define INTERVAL_NS 50000000ull /* 50 ms: long enough that scheduling noise stays well below 1% */
#define MAX_ERR_PPM 10000       /* 1% */
#define SAMPLES 9
#define PERIODIC_TICKS 25
#define PERIODIC_ATTEMPTS 3
#define RECHECK_WINDOWS 8
#define PERIOD_NS 20000000ull /* periodic: 25 ticks in 0.5 s */

static volatile u64 tick_tsc;
static volatile u64 ticks;
static u64 tick_log[PERIODIC_TICKS];

static bool on_tick(struct trap_frame *f)
{
	(void)f;
	tick_tsc = rdtsc();
	if (ticks < ARRAY_SIZE(tick_log))
		tick_log[ticks] = tick_tsc;
	ticks++;
	apic_eoi();
	return true;
}

static s64 err_ppm(u64 measured_ns, u64 want_ns)
{
	return ((s64)measured_ns - (s64)want_ns) * 1000000 / (s64)want_ns;
}

/* Waits (interrupts on) for `n` ticks, bounded by 4 one-shot intervals each. */
static bool wait_ticks(u32 n)
{
	return spin_until_ge(&ticks, n, INTERVAL_NS * 4 * n);
}

/*
 * Spins until the tick and returns the TSC of the last turn that saw none: the interrupt was
 * taken after it. A vCPU held off the host CPU when the timer expired resumes and takes the
 * interrupt at once, so the turn before the gap bounds the expiry better than the handler's
 * TSC; a timer that is really late keeps the loop turning until it fires.
 */
static u64 wait_tick_polled(void)
{
	u64 end = tsc_deadline_ns(INTERVAL_NS * 4), last = rdtsc();
	for (;;) {
		u64 t = rdtsc();
		if (READ_ONCE(ticks))
			return last;
		if (!tsc_is_before(t, end))
			return 0;
		last = t;
	}
}

/*
 * One-shot: each sample gives the expiry within [last turn without the tick, handler], the
 * start within the TSC reads around the INIT write. Early is early whatever the host did, so
 * the check against it is strict (1%); lateness under a loaded host is scheduling, so only a
 * sample late beyond ONESHOT_LATE_PPM even by its last turn counts (a timer a divider off is
 * 100% late; a wrong apic_hz is the recheck's to catch). oneshot_err_ppm, the least late
 * sample by its handler, is printed as before.
 */
#define ONESHOT_LATE_PPM 50000
static bool measure_oneshot(s64 *handler_ppm, s64 *polled_ppm, s64 *early_ppm)
{
	u64 apic_ticks = timeinfo.apic_hz * INTERVAL_NS / 1000000000u;
	*handler_ppm = *polled_ppm = *early_ppm = 1ll << 40;
	for (u32 i = 0; i < SAMPLES; i++) {
		ticks = 0;
		u64 t0a = rdtsc_ordered();
		apic_timer_oneshot(VEC_TICK, apic_ticks);
		u64 t0b = rdtsc_ordered();
		u64 last = wait_tick_polled();
		if (!last)
			return false;
		*handler_ppm = MIN(*handler_ppm, err_ppm(tsc_to_ns(tick_tsc - t0b), INTERVAL_NS));
		*early_ppm = MIN(*early_ppm, err_ppm(tsc_to_ns(tick_tsc - t0a), INTERVAL_NS));
		if (tsc_is_before(t0b, last))
			*polled_ppm = MIN(*polled_ppm, err_ppm(tsc_to_ns(last - t0b), INTERVAL_NS));
		else
			*polled_ppm = MIN(*polled_ppm, -1000000);
	}
	return true;
}

/*
 * Periodic: tick i comes at t0 + k_i * P + L_i, late by L_i >= 0, and a vCPU held off for a
 * whole period takes one interrupt for several, so k_i counts periods, not interrupts. Host
 * load can make most ticks late at once: the median interval came out 3.8% short with two
 * host loops beside a TCG guest at smp 8. The slope between the least-late tick of the first
 * quarter and that of the last is P within (L_a + L_b) / span, and those are 13 periods apart
 * at least.
 */
static u32 least_late(const u64 *k, u32 lo, u32 hi, u64 period)
{
	u32 best = lo;
	for (u32 i = lo; i < hi; i++)
		if ((s64)(tick_log[i] - k[i] * period) < (s64)(tick_log[best] - k[best] * period))
			best = i;
	return best;
}

static bool measure_periodic(s64 *out, u64 *coalesced)
{
	const u32 n = PERIODIC_TICKS;
	u64 apic_ticks = timeinfo.apic_hz * PERIOD_NS / 1000000000u;
	u64 period = ns_to_tsc(PERIOD_NS), k[PERIODIC_TICKS];
	ticks = 0;
	apic_timer_periodic(VEC_TICK, apic_ticks);
	bool ok = wait_ticks(n);
	apic_timer_stop();
	if (!ok)
		return false;
	for (u32 i = 0; i < n; i++)
		k[i] = (tick_log[i] - tick_log[0] + period / 2) / period;
	*coalesced = k[n - 1] - (n - 1);
	for (u32 round = 0; round < 3; round++) {
		u32 a = least_late(k, 0, n / 4, period), b = least_late(k, n - n / 4, n, period);
		if (k[b] <= k[a])
			return false;
		period = (tick_log[b] - tick_log[a]) / (k[b] - k[a]);
	}
	*out = err_ppm(tsc_to_ns(period), PERIOD_NS);
	return true;
}

/* TSC-deadline: how late after the deadline the interrupt arrives (never early). */
static bool measure_deadline(u64 *late_ns, bool *early)
{
	apic_write(APIC_LVT_TIMER, VEC_TICK | APIC_TIMER_TSC_DEADLINE);
	u64 worst = 0;
	*early = false;
	for (u32 i = 0; i < SAMPLES; i++) {
		ticks = 0;
		u64 deadline = tsc_deadline_ns(INTERVAL_NS / 5);
		wrmsr(MSR_TSC_DEADLINE, deadline);
		if (!wait_ticks(1))
			return false;
		if (tsc_is_before(tick_tsc, deadline))
			*early = true;
		else
			worst = MAX(worst, tsc_to_ns(tick_tsc - deadline));
	}
	apic_timer_stop();
	*late_ns = worst;
	return true;
}

/* The rates measured again against the boot's reference clock: medians over the windows. */
struct recheck {
	u64 tsc_hz, apic_hz;
	u32 bound_ppm, windows;
};
static struct recheck measure_recheck(void)
{
	struct time_rates w[RECHECK_WINDOWS];
	u64 tsc[RECHECK_WINDOWS], apic[RECHECK_WINDOWS];
	struct recheck rc = { .windows = time_recheck(w, RECHECK_WINDOWS) };
	for (u32 i = 0; i < rc.windows; i++) {
		tsc[i] = w[i].tsc_hz;
		apic[i] = w[i].apic_hz;
		rc.bound_ppm = MAX(rc.bound_ppm, w[i].bound_ppm);
	}
	if (rc.windows) {
		rc.tsc_hz = summarize(tsc, rc.windows).median;
		rc.apic_hz = summarize(apic, rc.windows).median;
	}
	return rc;
}

static enum exp_result run(struct exp_ctx *ctx)
{
	if (!timeinfo.apic_hz)
		return exp_fail(ctx, "LAPIC timer frequency unknown (calibration failed)");
	watchdog_pause();
	trap_set_handler(VEC_TICK, on_tick);
	s64 oneshot = 0, oneshot_polled = 0, oneshot_early = 0, periodic = 0;
	u64 late = 0, coalesced = 0;
	bool early = false;
	bool ok1 = measure_oneshot(&oneshot, &oneshot_polled, &oneshot_early);
	/*
	 * A host that holds the vCPU off through a whole quarter of the run makes every tick
	 * there late (-18303 ppm once, clock-pit beside a busy loop): taken again, up to
	 * PERIODIC_ATTEMPTS runs. Lateness makes a right timer look wrong, never a wrong one right.
	 */
	u32 runs = 0;
	bool ok2;
	do {
		ok2 = measure_periodic(&periodic, &coalesced);
		runs++;
	} while (ok2 && runs < PERIODIC_ATTEMPTS &&
		 (periodic > MAX_ERR_PPM || periodic < -MAX_ERR_PPM));
	bool ok3 = !apic.has_tsc_deadline || measure_deadline(&late, &early);
	apic_timer_stop();
	struct recheck rc = measure_recheck();
	bool ok4 = rc.windows == RECHECK_WINDOWS;
	trap_set_handler(VEC_TICK, NULL);
	watchdog_resume();

	diag("tsc_hz=%lu apic_timer_hz=%lu source=%s", timeinfo.tsc_hz, timeinfo.apic_hz,
	     timeinfo.tsc_source);
	diag("oneshot_err_ppm=%ld oneshot_polled_err_ppm=%ld periodic_err_ppm=%ld "
	     "periodic_coalesced=%lu periodic_runs=%u",
	     oneshot, oneshot_polled, periodic, coalesced, runs);
	s64 tsc_err = rc.tsc_hz ? err_ppm(timeinfo.tsc_hz, rc.tsc_hz) : 0;
	s64 apic_err = rc.apic_hz ? err_ppm(timeinfo.apic_hz, rc.apic_hz) : 0;
	diag("recheck windows=%u tsc_hz=%lu apic_timer_hz=%lu bound_ppm=%u tsc_err_ppm=%ld "
	     "apic_err_ppm=%ld",
	     rc.windows, rc.tsc_hz, rc.apic_hz, rc.bound_ppm, tsc_err, apic_err);
	if (apic.has_tsc_deadline)
		diag("tsc_deadline_worst_late_ns=%lu early=%u", late, early);
	else
		diag("tsc_deadline=unsupported");
	if (!ok1 || !ok2 || !ok3)
		return exp_fail(
			ctx,
			"timer interrupts missing or unusable (oneshot %u periodic %u deadline %u)",
			ok1, ok2, ok3);
	if (oneshot_early < -MAX_ERR_PPM)
		return exp_fail(ctx, "one-shot LAPIC timer early by %ld ppm against the TSC",
				-oneshot_early);
	if (oneshot_polled > ONESHOT_LATE_PPM)
		return exp_fail(ctx, "one-shot LAPIC timer late by %ld ppm against the TSC",
				oneshot_polled);
	if (periodic > MAX_ERR_PPM || periodic < -MAX_ERR_PPM)
		return exp_fail(ctx, "periodic LAPIC timer off by %ld ppm against the TSC", periodic);
	if (early)
		return exp_fail(ctx, "TSC-deadline interrupt arrived before its deadline");
	if (!ok4)
		return exp_fail(ctx, "the reference clock (%s) stopped counting after %u windows",
				timeinfo.tsc_source, rc.windows);
	if (tsc_err > MAX_ERR_PPM || tsc_err < -MAX_ERR_PPM)
		return exp_fail(ctx,
				"tsc_hz off by %ld ppm from the reference clock measured again",
				tsc_err);
	if (apic_err > MAX_ERR_PPM || apic_err < -MAX_ERR_PPM)
		return exp_fail(
			ctx, "apic_timer_hz off by %ld ppm from the reference clock measured again",
			apic_err);
	return EXP_PASS;
}

EXPERIMENT(exp_timer) = {
	.order = EXP_ORDER(FAMILY_CORE, 60),
	.name = "timer",
	.description =
		"LAPIC timer one-shot/periodic/TSC-deadline agree with the TSC within 1% (a late one-shot: 5%), and both rates with the reference clock",
	.min_cpus = 1,
	.default_iterations = 1,
	.run = run,
};
