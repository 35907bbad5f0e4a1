/*
 * tsc_sync: every CPU's TSC against the boot CPU's, by round trips. The boot CPU reads its TSC
 * (t0) and pings; the other CPU reads its own (t1) and answers; the boot CPU reads t2 once the
 * answer is in. If the two counters agree, causality gives t0 <= t1 <= t2, so the other CPU's
 * offset lies in [t1 - t2, t1 - t0] on every round, and the tightest bounds over the rounds
 * prove an offset when they leave 0 out.
 *
 * Why: racebed subtracts TSCs read on two CPUs all the time. The race engine aims from the
 * timestamps a victim publishes, read against the sender's own counter (tests/common/race.h);
 * the first-hit times, the poke sync and IPI latencies are cross-CPU differences. An offset
 * between CPUs makes all of them wrong without any error. That the counters agree is the
 * testbed's promise, so this is an invariant: a proven offset fails the run, with its size.
 *
 * SDM/APM: SDM vol. 3B 17.17 (Time-Stamp Counter): the TSC and IA32_TSC_ADJUST (MSR 3BH) are
 * kept per logical processor; a WRMSR to either changes only the CPU that runs it, and the SDM
 * warns that making all logical processors agree that way may be difficult. Firmware can
 * leave the counters apart (a TSC_ADJUST other than 0 is printed). RDTSC "is not serializing
 * or ordered with other instructions": each read here is fenced on both sides. AMD (the TCG
 * guest's vendor): no APM text on agreement across processors was at hand here, and none is
 * needed: no architectural verdict rests on this experiment, it has no observation; that the
 * counters agree is what racebed's own timing needs.
 *
 * Negative control: a known offset (ten times the tightest bracket, at least 10 us) put on one
 * CPU through IA32_TSC_ADJUST where it exists, else added to its reads in software, must be
 * found inside the bounds and proven; the counters must agree again after.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "kernel/experiment.h"
#include "kernel/outcome.h"

#define ROUNDS 2000
#define PER_CPU_NS 20000000ull /* a CPU's share of round trips: 20 ms at most */
#define CONTROL_MIN_NS 10000ull

/* what one CPU measured against the boot CPU: its offset lies in [lo, hi] (cycles) */
struct skew {
	s64 lo, hi;
	u32 rounds;
};

static volatile u64 ping, pong_seq, pong_tsc, injected;
static volatile u32 stop, ready;
static u64 tsc_adjust[MAX_CPUS];

/* RDTSC after every earlier load and store, before every later one (SDM: MFENCE; LFENCE). */
static inline u64 tsc_fenced(void)
{
	u64 lo, hi;
	__asm__ volatile("mfence; lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return lo | hi << 32;
}

static bool has_tsc_adjust(void)
{
	return cpuid(0, 0).eax >= 7 && ((cpuid(7, 0).ebx >> 1) & 1); /* CPUID.07H:EBX.TSC_ADJUST */
}

/* Moves this CPU's TSC by *arg cycles through IA32_TSC_ADJUST: exact, and undone exactly. */
static void adjust_by(void *arg)
{
	wrmsr(MSR_TSC_ADJUST, rdmsr(MSR_TSC_ADJUST) + *(const u64 *)arg);
}

/* On the other CPU: answers each ping with its TSC; spins without PAUSE (TCG: sti_self_aim.c). */
static void responder(void *arg)
{
	(void)arg;
	if (has_tsc_adjust())
		tsc_adjust[this_cpu_index()] = rdmsr(MSR_TSC_ADJUST);
	u64 seen = 0;
	__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	while (!READ_ONCE(stop)) {
		u64 p = READ_ONCE(ping);
		if (p == seen)
			continue;
		seen = p;
		pong_tsc = tsc_fenced() + injected;
		__atomic_store_n(&pong_seq, p, __ATOMIC_RELEASE);
	}
}

/* Round trips with that CPU for PER_CPU_NS at most, their bounds added to s. */
static void measure_once(u32 cpu, u64 add, struct skew *s)
{
	stop = ready = 0;
	ping = pong_seq = 0;
	injected = add;
	smp_call_one(cpu, responder, NULL, false);
	/* the rounds' time starts once the responder runs (a halted vCPU takes its time to wake) */
	u32 turn = 0;
	u64 end = tsc_deadline_ns(PER_CPU_NS * 5);
	while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE) && tsc_before_polled(end, &turn))
		;
	end = tsc_deadline_ns(PER_CPU_NS);
	for (u64 k = 1; k <= ROUNDS; k++) {
		u64 t0 = tsc_fenced();
		__atomic_store_n(&ping, k, __ATOMIC_RELEASE);
		while (__atomic_load_n(&pong_seq, __ATOMIC_ACQUIRE) != k)
			if (!tsc_before_polled(end, &turn))
				goto out;
		u64 t2 = tsc_fenced();
		s64 t1 = (s64)pong_tsc;
		s->lo = MAX(s->lo, t1 - (s64)t2);
		s->hi = MIN(s->hi, t1 - (s64)t0);
		s->rounds++;
	}
out:
	stop = 1;
	smp_wait_one(cpu);
}

/*
 * Every round's bounds hold, so those of several runs add up: a run the host starved (a vCPU
 * off its host CPU: 3 rounds in 20 ms under TCG once, and a CPU of an idle make run once got
 * 3 rounds in four runs, an 8 ms bracket) is followed by others, until the bracket is within
 * RESOLVED_NS or ATTEMPTS runs. A CPU left wider is counted as unresolved: checked to its
 * bracket only.
 */
#define ATTEMPTS 12
#define ROUNDS_ENOUGH (ROUNDS / 4)
#define RESOLVED_NS 10000ull
static struct skew measure(u32 cpu, u64 add)
{
	struct skew s = { .lo = -(1ll << 62), .hi = 1ll << 62 };
	u64 resolved = ns_to_tsc(RESOLVED_NS);
	for (u32 a = 0; a < ATTEMPTS && (s.rounds < ROUNDS_ENOUGH || (u64)(s.hi - s.lo) > resolved);
	     a++)
		measure_once(cpu, add, &s);
	return s;
}

/* The offset the bounds prove (0: none, they hold 0). */
static s64 proven(const struct skew *s) { return s->lo > 0 ? s->lo : s->hi < 0 ? s->hi : 0; }

static s64 cycles_ns(s64 c) { return c < 0 ? -(s64)tsc_to_ns((u64)-c) : (s64)tsc_to_ns((u64)c); }

/*
 * One run of the control: add cycles put on cpu (through IA32_TSC_ADJUST when hw, and taken
 * off again exactly; else added to its reads), measured. A run the host starves brackets the
 * offset too widely to prove it (10 ms once, uefi beside a busy loop): the caller then takes
 * it again, up to CONTROL_RUNS runs, with an offset ten times that bracket.
 */
#define CONTROL_RUNS 3
static struct skew control_run(u32 cpu, u64 add, bool hw)
{
	if (!hw)
		return measure(cpu, add);
	u64 back = -add;
	smp_call_one(cpu, adjust_by, &add, true);
	struct skew c = measure(cpu, 0);
	smp_call_one(cpu, adjust_by, &back, true);
	return c;
}

static enum exp_result run(struct exp_ctx *ctx)
{
	u32 me = this_cpu_index(), checked = 0, bad = 0, first = me, min_rounds = ROUNDS;
	u32 unresolved = 0;
	u64 widest = 0, tightest = ~0ull;
	s64 worst = 0;
	for_each_online_cpu(c) {
		if (c == me)
			continue;
		struct skew s = measure(c, 0);
		if (!s.rounds)
			return exp_fail(ctx, "cpu %u never answered a ping", c);
		if (first == me)
			first = c;
		checked++;
		min_rounds = MIN(min_rounds, s.rounds);
		widest = MAX(widest, (u64)(s.hi - s.lo));
		tightest = MIN(tightest, (u64)(s.hi - s.lo));
		unresolved += (u64)(s.hi - s.lo) > ns_to_tsc(RESOLVED_NS);
		s64 p = proven(&s);
		if (p) {
			bad++;
			diag("tsc_sync cpu=%u offset_cycles=[%ld,%ld] proven_ns=%ld tsc_adjust=%ld",
			     c, s.lo, s.hi, cycles_ns(p), (s64)tsc_adjust[c]);
			if (p > worst || -p > worst)
				worst = p < 0 ? -p : p;
		} else if (tsc_adjust[c]) {
			diag("tsc_sync cpu=%u tsc_adjust=%ld (the counters agree all the same)", c,
			     (s64)tsc_adjust[c]);
		}
	}
	diag("tsc_sync cpus=%u rounds_min=%u bracket_ns_tightest=%lu bracket_ns_widest=%lu "
	     "cpus_offset=%u worst_proven_ns=%ld cpus_unresolved=%u invariant_tsc=%u",
	     checked, min_rounds, tsc_to_ns(tightest), tsc_to_ns(widest), bad, cycles_ns(worst),
	     unresolved,
	     (cpuid(0x80000000u, 0).eax >= 0x80000007u) ? (cpuid(0x80000007u, 0).edx >> 8) & 1 : 0);

	/*
	 * The control: an offset put on the first other CPU must be proven, and inside the bounds
	 * give or take the bracket of a run without it (the counters' own offset, unproven, lies
	 * in that). Through IA32_TSC_ADJUST where the CPU has it (the counter itself moves, and
	 * moves back exactly), else added to that CPU's reads in software (QEMU TCG drops a WRMSR
	 * to IA32_TSC and has no TSC_ADJUST). Then the counters must agree again.
	 */
	struct skew c0 = measure(first, 0);
	if (!c0.rounds)
		return exp_fail(ctx, "cpu %u never answered a ping", first);
	s64 slack = c0.hi - c0.lo;
	u64 add = MAX(ns_to_tsc(CONTROL_MIN_NS), 10 * (u64)slack);
	bool hw = has_tsc_adjust();
	struct skew c1;
	for (u32 k = 0;; k++) {
		c1 = control_run(first, add, hw);
		s64 width = c1.hi - c1.lo;
		if (!c1.rounds || width < (s64)add / 2 || k + 1 == CONTROL_RUNS)
			break;
		add = 10 * (u64)width; /* starved by the host: an offset its bracket resolves */
	}
	struct skew c2 = measure(first, 0);
	bool found = c1.rounds && proven(&c1) > 0 && c1.lo <= (s64)add + slack &&
		     (s64)add - slack <= c1.hi;
	diag("control_offset cpu=%u by=%s injected_cycles=%lu offset_cycles=[%ld,%ld] "
	     "after_cycles=[%ld,%ld]",
	     first, hw ? "tsc_adjust" : "software", add, c1.lo, c1.hi, c2.lo, c2.hi);
	if (!control("injected_tsc_offset_found", found))
		return exp_fail(ctx,
				"negative control: an offset of %lu cycles put in on cpu %u was "
				"not found ([%ld,%ld])",
				add, first, c1.lo, c1.hi);
	if (proven(&c2))
		return exp_fail(ctx, "cpu %u's TSC stayed apart after the control: [%ld,%ld]",
				first, c2.lo, c2.hi);
	if (bad)
		return exp_fail(
			ctx,
			"%u of %u CPUs' TSCs proven apart from the boot CPU's, by up to %ld ns",
			bad, checked, cycles_ns(worst));
	return EXP_PASS;
}

EXPERIMENT(exp_tsc_sync) = {
	.order = EXP_ORDER(FAMILY_CORE, 65),
	.name = "tsc_sync",
	.description = "every CPU's TSC agrees with the boot CPU's: round trips prove no offset",
	.min_cpus = 2,
	.default_iterations = 1,
	.run = run,
};
