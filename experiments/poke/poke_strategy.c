/*
 * Driver of the poke_strategy_* experiments (see poke_strategy.h): roles, the patcher loop,
 * executors, the event driver and handlers, the watchdog's deadlock probe, reporting.
 */
#include "experiments/poke/poke_strategy.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "kernel/cmdline.h"
#include "kernel/outcome.h"
#include "kernel/runner.h"
#include "kernel/stats.h"
#include "lib/printf.h"

#define VEC_PS_EVENT (VEC_EXP_FIRST + 0x3a)
#define VEC_PS_AIMED (VEC_EXP_FIRST + 0x3b) /* its own vector: never merged with the driver's */
/* An event counts as lost when the patcher handled none at all for this long (a merged NMI
 * or a vCPU starved by the host is not a loss). */
#define ACK_TIMEOUT_NS 1000000000ull
#define MAX_SAMPLES 4096

static struct ps_run *volatile cur;
static u64 lat_samples[MAX_SAMPLES];
static volatile u64 exec_done;
static bool exec_role[MAX_CPUS];

bool ps_selected(enum poke_strategy s)
{
	const struct cmdline *cl = cmdline_active();
	static const u32 bit[POKE_NSTRATEGIES] = { CMDLINE_POKE_EMULATE, CMDLINE_POKE_ROLLBACK,
						   CMDLINE_POKE_SPIN };
	return !cl || !cl->poke || (cl->poke & bit[s]);
}

void ps_hist_add(u64 *h, u64 v)
{
	u32 k = 0;
	if (v)
		for (k = 1; v >> k; k++)
			;
	h[k]++; /* k = floor(log2 v) + 1 */
}

void ps_hist_print(const char *name, const char *unit, const u64 *h)
{
	char buf[480];
	u64 n = 0;
	u32 len = 0;
	for (u32 k = 0; k < PS_HIST; k++)
		n += h[k];
	len += (u32)ksnprintf(buf, sizeof(buf), "hist %s unit=%s n=%lu", name, unit, n);
	for (u32 k = 0; k < PS_HIST && len < sizeof(buf) - 24; k++) {
		if (!h[k])
			continue;
		if (k == 0)
			len += (u32)ksnprintf(buf + len, sizeof(buf) - len, " z:%lu", h[k]);
		else
			len += (u32)ksnprintf(buf + len, sizeof(buf) - len, " %u:%lu", k - 1, h[k]);
	}
	diag("%s", buf);
}

void ps_init(struct ps_run *r, const struct exp_ctx *ctx, enum poke_strategy s, u32 permille)
{
	*r = (struct ps_run){ .strategy = s, .load = LOAD_NONE, .max_gap_ns = 100000,
		.aim_permille = 200, .seed = ctx->seed, .want_deadlocks = 4, .driver = ~0u };
	r->aim_rng = ctx->seed * 0x9e3779b97f4a7c15ull + 5;
	r->max_patches = ctx->iterations;
	r->end_tsc = rdtsc() + ctx->budget_tsc * permille / 1000;
	r->hard_end_tsc = r->end_tsc + 4 * (ctx->budget_tsc * permille / 1000);
	/* CPUs spinning in #BP with interrupts off starve an emulator's host of time the
	 * patcher and the watchdog need: two executors are enough for spin */
	r->max_executors = s == POKE_SPIN ? 2 : 0;
}

/* The run's positive controls, as far as the patcher can tell while it runs. */
static bool controls_reached(const struct ps_run *r)
{
	if (r->strategy == POKE_SPIN && r->load != LOAD_NONE)
		return r->deadlocks != 0;
	if (r->load != LOAD_NONE)
		return r->ev_hit[PW_DEPLOY] && r->ev_hit[PW_TAIL];
	struct poke_stats st;
	poke_stats_read(&st);
	return st.bp_window[PW_DEPLOY] && st.bp_window[PW_TAIL];
}

static bool go_on(const struct ps_run *r)
{
	if (READ_ONCE(r->stop) || r->patches >= r->max_patches)
		return false;
	u64 now = rdtsc();
	if ((s64)(now - r->end_tsc) < 0)
		return true;
	return (s64)(now - r->hard_end_tsc) < 0 && !controls_reached(r);
}

/* ---- event handlers on the patcher ---- */

static void call_site(struct ps_run *r)
{
	struct poke_exec e;
	u64 site = poke_call_sites[0];
	enum poke_window w = poke_window_now();
	u64 before = poke_patcher_bps();
	r->ev_window[w]++;
	e.canary = rdtsc();
	bool returned = poke_exec_run(&e, site);
	r->ev_out[poke_classify(&e, site, returned, false)]++;
	if (poke_patcher_bps() != before)
		r->ev_hit[w]++;
	__atomic_add_fetch(&r->ev_handled, 1, __ATOMIC_SEQ_CST);
}

static bool on_nmi(struct trap_frame *f)
{
	(void)f;
	struct ps_run *r = cur;
	struct cpu *c = this_cpu();
	if (!r || c->sample_request || c->index != r->patcher)
		return false;
	call_site(r);
	return true;
}

static bool on_irq(struct trap_frame *f)
{
	(void)f;
	struct ps_run *r = cur;
	if (r && this_cpu_index() == r->patcher)
		call_site(r);
	apic_eoi();
	return true;
}

/* ---- the watchdog's deadlock probe (boot CPU, every tick) ---- */

static void print_spinners(const struct ps_run *r, u64 now)
{
	for_each_online_cpu(i) {
		u64 since, site;
		if (poke_spin_state(i, &since, &site))
			diag("deadlock cpu=%u waiting_in_bp_ms=%lu bp_rip=0x%lx%s", i,
			     (s64)(now - since) > 0 ? tsc_to_ns(now - since) / 1000000u : 0, site + 1,
			     i == r->patcher ? (r->load == LOAD_NMI ? " patcher context=nmi"
								     : " patcher context=irq") : "");
	}
}

/*
 * The patching CPU waiting in its own #BP is a deadlock by construction: only it removes
 * its int3s. Found: report when it began, every CPU's RIP (the patcher, inside an NMI, has
 * NMIs blocked and cannot answer the sampling NMI; its #BP RIP is printed instead), then
 * end it by completing the patch from here.
 */
static void probe(struct trap_frame *f)
{
	static u64 last_since;
	struct ps_run *r = cur;
	u64 since, site, now = rdtsc();
	if (!r || !poke_spin_state(r->patcher, &since, &site))
		return;
	if (r->deadlocks && since == last_since)
		return; /* the one already rescued, not out of its loop yet */
	last_since = since;
	u64 ns = (s64)(now - since) > 0 ? tsc_to_ns(now - since) : 0;
	u32 n = ++r->deadlocks;
	r->deadlock_window[poke_window_now()]++;
	if (n == 1) {
		r->detect_ns_first = ns;
		diag("deadlock detected by the watchdog: patcher cpu %u waits in its own #BP at "
		     "0x%lx, window %s, for %lu ms", r->patcher, site, poke_window_name(poke_window_now()),
		     ns / 1000000u);
		print_spinners(r, now);
		watchdog_report_cpus(f);
		for_each_online_cpu(i)
			if (i != this_cpu_index() && !cpus[i].sample_request &&
			    poke_spin_rip(cpus[i].sampled_rip))
				diag("cpu %u rip=0x%lx is in the #BP wait loop (poke_spin_bp)", i,
				     cpus[i].sampled_rip);
	}
	if (ns > r->detect_ns_max)
		r->detect_ns_max = ns;
	if (n >= r->want_deadlocks ||
	    (r->deadlock_window[PW_DEPLOY] && r->deadlock_window[PW_TAIL]))
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	poke_spin_rescue();
}

/* ---- roles ---- */

static void spin_ns(u64 ns)
{
	u64 end = rdtsc() + ns_to_tsc(ns);
	while ((s64)(rdtsc() - end) < 0)
		cpu_relax();
}

static void driver(struct ps_run *r)
{
	u64 rng = r->seed * 0x9e3779b97f4a7c15ull + 99;
	u32 icr = r->load == LOAD_NMI ? ICR_NMI : ICR_FIXED | VEC_PS_EVENT;
	while (!READ_ONCE(r->ready))
		cpu_relax();
	while (!READ_ONCE(r->stop)) {
		u64 base = READ_ONCE(r->ev_handled), end = rdtsc() + ns_to_tsc(ACK_TIMEOUT_NS);
		ipi_send_cpu(r->patcher, icr);
		r->ev_sent++;
		while (READ_ONCE(r->ev_handled) == base && !READ_ONCE(r->stop) &&
		       (s64)(rdtsc() - end) < 0)
			cpu_relax();
		if (READ_ONCE(r->ev_handled) == base && !READ_ONCE(r->stop))
			r->ev_lost++;
		if (r->max_gap_ns)
			spin_ns(rng_next(&rng) % r->max_gap_ns);
	}
}

/* Short halts between bursts of calls, as in poke_driver.c (not on the boot CPU, whose
 * LAPIC timer is the watchdog's). */
static void rest(u32 me)
{
	if (me == 0 || !timeinfo.apic_hz)
		return;
	irq_disable();
	apic_timer_oneshot(VEC_CALL, muldiv64(50000, timeinfo.apic_hz, 1000000000u) + 1);
	safe_halt();
	apic_timer_stop();
}

static void executor(struct ps_run *r)
{
	u32 me = this_cpu_index();
	u64 rng = r->seed * 0x9e3779b97f4a7c15ull + me + 1, cnt[PO_N] = { 0 };
	u64 site = poke_call_sites[0], burst = ns_to_tsc(20000), burst_end = rdtsc() + burst;
	while (!READ_ONCE(r->ready))
		cpu_relax();
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		if ((s64)(rdtsc() - burst_end) > 0) {
			rest(me);
			burst_end = rdtsc() + burst;
		}
		if (r->flags & POKE_IPI_NO_ACK)
			poke_sync_ack_thread();
		struct poke_exec e;
		e.canary = rng_next(&rng);
		poke_inv_reach();
		bool returned = poke_exec_run(&e, site);
		cnt[poke_classify(&e, site, returned, false)]++;
	}
	for (u32 o = 0; o < PO_N; o++)
		__atomic_add_fetch(&r->outcome[o], cnt[o], __ATOMIC_RELAXED);
	__atomic_add_fetch(&exec_done, 1, __ATOMIC_SEQ_CST);
}

/* The patcher aims an event at itself right after a write step, while the int3 is live. */
static void aim(enum poke_phase phase)
{
	struct ps_run *r = cur;
	if (r->load == LOAD_NONE || (phase != POKE_PH_INT3 && phase != POKE_PH_TAIL) ||
	    rng_next(&r->aim_rng) % 1000 >= r->aim_permille)
		return;
	r->ev_aimed++;
	ipi_send_cpu(r->patcher, r->load == LOAD_NMI ? ICR_NMI : ICR_FIXED | VEC_PS_AIMED);
}

static void patcher(struct ps_run *r)
{
	struct poke_cfg cfg = { .mode = POKE_MODE_DESC, .flags = r->flags,
		.strategy = r->strategy, .max_restarts = r->max_restarts, .step_hook = aim };
	u64 site = poke_call_sites[0];
	u8 state = 0;
	if (!poke_start(&cfg)) {
		r->failed = ~0ull;
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
		return;
	}
	poke_traps_install();
	if (r->load == LOAD_NMI)
		idt_set_ist(VEC_NMI, 0); /* NMIs nest on this stack through the #BP's IRET */
	__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
	u64 n = 0;
	while (go_on(r)) {
		u8 insn[POKE_INSN_LEN];
		poke_gen(POKE_CALL, site, state ? POKE_TGT_A : POKE_TGT_B, insn);
		u64 t0 = rdtsc();
		bool ok = poke_one(site, insn);
		u64 dt = rdtsc() - t0;
		ps_hist_add(r->lat_hist, dt);
		ps_hist_add(r->restart_hist, poke_last_restarts());
		if (n < MAX_SAMPLES)
			lat_samples[n++] = dt;
		if (ok)
			state ^= 1;
		else if (poke_last_gave_up())
			r->gave_up++;
		else
			r->failed++;
		r->patches++;
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	/* the executors' last calls may still need this CPU's handlers */
	while (READ_ONCE(exec_done) < r->executors)
		cpu_relax();
	if (r->load != LOAD_NONE)
		spin_ns(2000000); /* a last event may still be on its way */
	if (r->load == LOAD_NMI)
		idt_set_ist(VEC_NMI, IST_NMI);
	r->lat_median = summarize(lat_samples, n).median;
}

static void worker(void *arg)
{
	struct ps_run *r = arg;
	u32 me = this_cpu_index();
	if (me == r->patcher)
		patcher(r);
	else if (me == r->driver)
		driver(r);
	else if (exec_role[me])
		executor(r);
}

bool ps_exec(struct ps_run *r)
{
	u64 site = poke_call_sites[0];
	if (!poke_fixture_init() || !poke_sites_reset(&site, 1, false))
		return false;
	r->patcher = cpu_last_online();
	r->driver = r->load == LOAD_NONE ? ~0u : this_cpu_index();
	r->executors = 0;
	for_each_online_cpu(i) {
		exec_role[i] = i != r->patcher && i != r->driver &&
			       (!r->max_executors || r->executors < r->max_executors);
		r->executors += exec_role[i];
	}
	exec_done = 0;
	cur = r;
	if (r->load == LOAD_NMI)
		trap_set_handler(VEC_NMI, on_nmi);
	else if (r->load == LOAD_IRQ) {
		trap_set_handler(VEC_PS_EVENT, on_irq);
		trap_set_handler(VEC_PS_AIMED, on_irq);
	}
	if (r->strategy == POKE_SPIN)
		watchdog_set_hook(probe);
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, worker, r, true);
	watchdog_set_hook(NULL);
	bool started = r->failed != ~0ull;
	if (started) {
		poke_traps_remove();
		poke_stop();
	}
	trap_set_handler(VEC_NMI, NULL);
	trap_set_handler(VEC_PS_EVENT, NULL);
	trap_set_handler(VEC_PS_AIMED, NULL);
	cur = NULL;
	if (!started)
		return false;
	poke_stats_read(&r->st);
	r->calls = r->ev_calls = 0;
	for (u32 o = 0; o < PO_N; o++) {
		r->calls += r->outcome[o];
		r->ev_calls += r->ev_out[o];
	}
	return true;
}

/* ---- reporting ---- */

static u64 broken_in(const u64 *out)
{
	u64 n = 0;
	for (u32 o = PO_BAD_FRAME; o < PO_N; o++)
		n += o == PO_STALE_BP ? 0 : out[o];
	return n;
}

u64 ps_broken(const struct ps_run *r) { return broken_in(r->outcome) + broken_in(r->ev_out); }

u64 ps_violations(const struct ps_run *r)
{
	u64 n = 0;
	for (u32 k = 0; k < INV_N; k++)
		n += r->st.inv_violations[k];
	return n;
}

static const char *const out_names[PO_N] = {
	"target_a", "target_b", "nop", "jmp", "bad_frame", "bad_target", "torn_target",
	"poisoned_descriptor", "stale_int3", "unexpected_bp", "ud", "gp", "pf_other",
};

static const char *const inv_names[INV_N] = { "set_after_each_event", "cleared_before_iret",
					      "cleared_by_ipi_or_bp" };

void ps_report(const struct ps_run *r, const char *p)
{
	char name[64];
	for (u32 w = PW_DEPLOY; w < PW_N; w++)
		for (u32 a = 0; a < PA_N; a++)
			if (r->st.patcher_bp[w][a])
				diag("outcome %spatcher_bp_%s_%s=%lu", p, poke_window_name(w),
				     poke_action_name(a), r->st.patcher_bp[w][a]);
	for (u32 o = 0; o < PO_N; o++)
		if (o == PO_A || o == PO_B || r->outcome[o] + r->ev_out[o])
			diag("outcome %scalls_%s=%lu", p, out_names[o], r->outcome[o] + r->ev_out[o]);
	/* the controls each run must reach (ps_verdict_*): per window, except spin's deadlock
	 * run, which ends at its first hit (its windows are outcomes, the control is the sum) */
	bool dead = r->strategy == POKE_SPIN && r->load != LOAD_NONE;
	for (u32 w = PW_DEPLOY; w <= PW_TAIL && r->load != LOAD_NONE; w++) {
		ksnprintf(name, sizeof(name), "%sevent_hit_int3_%s", p, poke_window_name(w));
		if (dead)
			diag("outcome %s=%lu", name, r->ev_hit[w]);
		else
			control(name, r->ev_hit[w]);
	}
	if (dead) {
		ksnprintf(name, sizeof(name), "%sevent_hit_int3", p);
		control(name, r->ev_hit[PW_DEPLOY] + r->ev_hit[PW_TAIL]);
	}
	if (r->load == LOAD_NONE)
		for (u32 w = PW_DEPLOY; w <= PW_TAIL; w++) {
			ksnprintf(name, sizeof(name), "%sother_cpu_bp_%s", p, poke_window_name(w));
			control(name, r->st.bp_window[w]);
		}
	diag("%sstrategy=%s pokes=%lu failed=%lu gave_up=%lu restarts=%lu restarts_max=%lu "
	     "poke_median_cycles=%lu", p, poke_strategy_name(r->strategy), r->patches, r->failed,
	     r->gave_up, r->st.restarts, r->st.restarts_max, r->lat_median);
	diag("%sevents_sent=%lu aimed=%lu handled=%lu lost=%lu in_idle=%lu in_deploy=%lu in_tail=%lu "
	     "in_first=%lu event_calls=%lu calls=%lu executors=%u", p, r->ev_sent, r->ev_aimed, r->ev_handled,
	     r->ev_lost, r->ev_window[PW_IDLE], r->ev_window[PW_DEPLOY], r->ev_window[PW_TAIL],
	     r->ev_window[PW_FIRST], r->ev_calls, r->calls, r->executors);
	diag("%sbp_emulations=%lu spins=%lu rescues=%lu forward_without_sync2=%lu syncs=%lu "
	     "sync_timeouts=%lu", p, r->st.emul_call + r->st.emul_jmp + r->st.emul_nop,
	     r->st.spins, r->st.rescues, r->st.sync2_skipped_by_forward, r->st.syncs,
	     r->st.sync_timeouts);
	diag("%sinvariant_checks=%lu %s=%lu %s=%lu %s=%lu", p, r->st.inv_checks, inv_names[0],
	     r->st.inv_violations[0], inv_names[1], r->st.inv_violations[1], inv_names[2],
	     r->st.inv_violations[2]);
	if (ps_violations(r))
		diag("%sfirst_violation=%s cpu=%u phase=%u", p, inv_names[r->st.inv_first],
		     r->st.inv_first_cpu, r->st.inv_first_phase);
	ksnprintf(name, sizeof(name), "%spoke_latency", p);
	ps_hist_print(name, "cycles", r->lat_hist);
	ksnprintf(name, sizeof(name), "%srestarts_per_poke", p);
	ps_hist_print(name, "count", r->restart_hist);
	ksnprintf(name, sizeof(name), "%sbroken_call", p);
	observation(name, ps_broken(r), r->calls + r->ev_calls);
}

void ps_vs_emulate(const struct ps_run *r, u64 emulate_median, const char *p)
{
	if (!emulate_median)
		return;
	u64 x100 = r->lat_median * 100 / emulate_median;
	diag("%spoke_latency_vs_emulate=%lu.%02lu (median %lu vs %lu cycles)", p, x100 / 100,
	     x100 % 100, r->lat_median, emulate_median);
}

static enum exp_result common(struct exp_ctx *ctx, const struct ps_run *r, const char *p)
{
	if (r->failed || r->st.sync_timeouts)
		return exp_fail(ctx, "%s: %lu pokes failed, %lu syncs timed out", p, r->failed,
				r->st.sync_timeouts);
	if (!r->patches || (r->executors && !r->calls))
		return exp_fail(ctx, "%s: nothing ran: %lu pokes, %lu calls", p, r->patches, r->calls);
	if (ps_violations(r))
		return exp_fail(ctx, "%s: cpumask invariant broken (%s on cpu %u)", p,
				inv_names[r->st.inv_first], r->st.inv_first_cpu);
	return EXP_PASS;
}

enum exp_result ps_verdict_complete(struct exp_ctx *ctx, const struct ps_run *r, const char *p)
{
	enum exp_result v = common(ctx, r, p);
	if (v != EXP_PASS)
		return v;
	if (ps_broken(r))
		return exp_fail(ctx, "%s: %lu broken calls", p, ps_broken(r));
	if (r->deadlocks || r->ev_lost)
		return exp_fail(ctx, "%s: %u deadlocks, %lu events never completed", p, r->deadlocks,
				r->ev_lost);
	const volatile u64 *hit = r->load == LOAD_NONE ? r->st.bp_window : r->ev_hit;
	if (!hit[PW_DEPLOY] || !hit[PW_TAIL])
		return exp_fail(ctx, "%s: positive control: no event hit the live int3 in the "
				"deploy (%lu) or tail (%lu) window", p, hit[PW_DEPLOY], hit[PW_TAIL]);
	return EXP_PASS;
}

enum exp_result ps_verdict_deadlock(struct exp_ctx *ctx, const struct ps_run *r, const char *p)
{
	diag("%sdeadlocks_detected=%u detect_ms_first=%lu detect_ms_max=%lu in_deploy=%u "
	     "in_tail=%u", p, r->deadlocks, r->detect_ns_first / 1000000u,
	     r->detect_ns_max / 1000000u, r->deadlock_window[PW_DEPLOY], r->deadlock_window[PW_TAIL]);
	u64 spun = 0;
	for (u32 w = 0; w < PW_N; w++)
		spun += r->st.patcher_bp[w][PA_SPUN];
	char name[64];
	ksnprintf(name, sizeof(name), "%spatcher_bp_deadlocked", p);
	observation(name, r->deadlocks, spun);
	enum exp_result v = common(ctx, r, p);
	if (v != EXP_PASS)
		return v;
	if (!r->deadlocks)
		return exp_fail(ctx, "%s: negative control: no deadlock detected (%lu events hit the "
				"int3 on the patcher)", p, r->ev_hit[PW_DEPLOY] + r->ev_hit[PW_TAIL]);
	return EXP_PASS;
}

/* ---- the standard plan: every selected strategy under one load ---- */

static struct ps_run run_state;

static enum exp_result one(struct exp_ctx *ctx, enum poke_strategy s, enum ps_load load,
			   u32 permille, const char *p, u64 *emulate_median, u64 *pokes, u64 *hits)
{
	struct ps_run *r = &run_state;
	ps_init(r, ctx, s, permille);
	r->load = load;
	if (!ps_exec(r))
		return exp_fail(ctx, "%s: could not set up the site, the stubs or the engine", p);
	ps_report(r, p);
	*pokes += r->patches;
	*hits += r->ev_hit[PW_DEPLOY] + r->ev_hit[PW_TAIL];
	if (s == POKE_EMULATE)
		*emulate_median = r->lat_median;
	else
		ps_vs_emulate(r, *emulate_median, p);
	if (s == POKE_SPIN && load != LOAD_NONE)
		return ps_verdict_deadlock(ctx, r, p);
	return ps_verdict_complete(ctx, r, p);
}

enum exp_result ps_run_strategies(struct exp_ctx *ctx, enum ps_load load)
{
	enum exp_result v = EXP_PASS, w;
	u64 em = 0, pokes = 0, hits = 0;
	if (ps_selected(POKE_EMULATE)) {
		w = one(ctx, POKE_EMULATE, load, 250, "emulate_", &em, &pokes, &hits);
		v = v == EXP_PASS ? w : v;
	}
	if (ps_selected(POKE_ROLLBACK)) {
		w = one(ctx, POKE_ROLLBACK, load, 250, "rollback_", &em, &pokes, &hits);
		v = v == EXP_PASS ? w : v;
	}
	if (ps_selected(POKE_SPIN)) {
		w = one(ctx, POKE_SPIN, LOAD_NONE, 150, "spin_others_", &em, &pokes, &hits);
		v = v == EXP_PASS ? w : v;
		w = one(ctx, POKE_SPIN, load, 300, load == LOAD_NMI ? "spin_nmi_" : "spin_irq_", &em,
			&pokes, &hits);
		v = v == EXP_PASS ? w : v;
	}
	report_rate(ctx, pokes, hits); /* hits: events that met the live int3 on the patcher */
	return v;
}
