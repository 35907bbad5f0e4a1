/*
 * One run of the poke_strategy_* experiments (see poke_strategy.h): roles, the patcher loop,
 * executors, the event sender and the events' handlers, the watchdog's deadlock probe.
 * Reporting, verdicts and the plans are in poke_strategy_verdict.c.
 */
#include "tests/poke/poke_strategy.h"
#include "arch/x86/mce.h"
#include "kernel/hostreq.h"
#include "lib/lib.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "kernel/runner.h"
#include "kernel/stats.h"
#include "lib/printf.h"
#include "kernel/arch_rules.h"

#define VEC_PS_EVENT (VEC_EXP_FIRST + 0x3a)
#define VEC_PS_AIMED (VEC_EXP_FIRST + 0x3b) /* its own vector: never merged with the sender's */
/* An event counts as lost when the patcher handled none at all for this long (a merged NMI
 * or a vCPU starved by the host is not a loss). */
#define ACK_TIMEOUT_NS 1000000000ull
#define MAX_SAMPLES 4096

static struct ps_run *volatile cur;
static u64 lat_samples[MAX_SAMPLES];
static volatile u64 exec_done;
static bool exec_role[MAX_CPUS];

void ps_init(struct ps_run *r, const struct exp_ctx *ctx, enum poke_strategy s, u32 permille)
{
	struct ps_config *cfg = &r->cfg;
	*r = (struct ps_run){ .cfg = { .strategy = s,
				       .load = LOAD_NONE,
				       .max_gap_ns = 100000,
				       .aim_permille = 200,
				       .seed = ctx->seed,
				       .want_deadlocks = 4 },
			      .roles = { .sender = ~0u } };
	r->aim_rng = rng_seed(ctx->seed, 5);
	cfg->max_patches = ctx->iterations;
	cfg->end_tsc = rdtsc() + ctx->budget_tsc * permille / 1000;
	cfg->hard_end_tsc = cfg->end_tsc + 4 * (ctx->budget_tsc * permille / 1000);
	/* CPUs spinning in #BP with interrupts off starve an emulator's host of time the
	 * patcher and the watchdog need: two executors are enough for spin */
	cfg->max_executors = s == POKE_SPIN ? 2 : 0;
}

/* The run's positive controls, as far as the patcher can tell while it runs. */
static bool controls_reached(const struct ps_run *r)
{
	if (r->cfg.strategy == POKE_SPIN && r->cfg.load != LOAD_NONE)
		return r->res.deadlocks.count != 0;
	if (r->cfg.load != LOAD_NONE)
		return r->res.events.hit_int3[PW_DEPLOY] && r->res.events.hit_int3[PW_TAIL];
	struct poke_stats st;
	poke_stats_read(&st);
	return st.bp_window[PW_DEPLOY] && st.bp_window[PW_TAIL];
}

static bool go_on(const struct ps_run *r)
{
	if (READ_ONCE(r->stop) || r->res.patches >= r->cfg.max_patches)
		return false;
	u64 now = rdtsc();
	if (tsc_is_before(now, r->cfg.end_tsc))
		return true;
	return tsc_is_before(now, r->cfg.hard_end_tsc) && !controls_reached(r);
}

/* ---- event handlers on the patcher ---- */

static void call_site(struct ps_run *r)
{
	struct ps_events *ev = &r->res.events;
	struct poke_exec e;
	u64 site = poke_call_sites[0];
	enum poke_window w = poke_window_now();
	u64 before = poke_patcher_bps();
	ev->in_window[w]++;
	e.canary = rdtsc();
	bool returned = poke_exec_run(&e, site);
	ev->outcome[poke_classify(&e, site, returned, false)]++;
	if (poke_patcher_bps() != before)
		ev->hit_int3[w]++;
	__atomic_add_fetch(&ev->handled, 1, __ATOMIC_SEQ_CST);
}

static void ask_mce(struct ps_run *r);
static volatile u32 in_nmi, nmi_mce_pending, nmi_mce_done; /* LOAD_MCE_NMI, on the patcher */
static u64 mce_in_nmi;

static bool on_nmi(struct trap_frame *f)
{
	(void)f;
	struct ps_run *r = cur;
	struct cpu *c = this_cpu();
	if (!r || c->sample_request || c->index != r->roles.patcher)
		return false;
	if (r->cfg.load == LOAD_MCE_NMI && nmi_mce_pending) {
		nmi_mce_pending = 0;
		in_nmi = 1;
		ask_mce(r); /* the #MC comes while this NMI handler runs */
		in_nmi = 0;
		call_site(r);
		__atomic_add_fetch(&nmi_mce_done, 1, __ATOMIC_RELEASE);
		return true;
	}
	call_site(r);
	return true;
}

/*
 * The injected machine check (LOAD_MCE): the bank and MCIP are cleared first (a second #MC
 * while MCIP is set shuts the CPU down), then the handler calls through the site like the NMI
 * handler. One is outstanding at a time: the patcher waits for each before it goes on.
 */
static volatile u32 mce_seen;
static trap_handler_t saved_mc;

u64 ps_mce_in_nmi(void) { return mce_in_nmi; }

static bool on_mc(struct trap_frame *f)
{
	(void)f;
	struct ps_run *r = cur;
	if (!r || this_cpu_index() != r->roles.patcher)
		return false;
	wrmsr(MSR_MC_STATUS(PS_MCE_BANK), 0);
	wrmsr(MSR_MCG_STATUS, 0);
	mce_in_nmi += in_nmi;
	call_site(r);
	__atomic_add_fetch(&mce_seen, 1, __ATOMIC_RELEASE);
	return true;
}

static bool on_irq(struct trap_frame *f)
{
	(void)f;
	struct ps_run *r = cur;
	if (r && this_cpu_index() == r->roles.patcher)
		call_site(r);
	apic_eoi();
	return true;
}

/* ---- the watchdog's deadlock probe (boot CPU, every tick) ---- */

static void print_spinners(const struct ps_run *r, u64 now)
{
	const char *context = r->cfg.load == LOAD_NMI || r->cfg.load == LOAD_MCE_NMI
				      ? " patcher context=nmi"
			      : r->cfg.load == LOAD_MCE ? " patcher context=mce"
							: " patcher context=irq";
	for_each_online_cpu(i) {
		u64 since, site;
		if (poke_spin_state(i, &since, &site))
			diag("deadlock cpu=%u waiting_in_bp_ms=%lu bp_rip=0x%lx%s", i,
			     (s64)(now - since) > 0 ? tsc_to_ns(now - since) / 1000000u : 0,
			     site + 1, i == r->roles.patcher ? context : "");
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
	if (!r || !poke_spin_state(r->roles.patcher, &since, &site))
		return;
	struct ps_deadlocks *dl = &r->res.deadlocks;
	if (dl->count && since == last_since)
		return; /* the one already rescued, not out of its loop yet */
	last_since = since;
	u64 ns = (s64)(now - since) > 0 ? tsc_to_ns(now - since) : 0;
	u32 found = ++dl->count;
	dl->in_window[poke_window_now()]++;
	if (found == 1) {
		dl->detect_ns_first = ns;
		diag("deadlock detected by the watchdog: patcher cpu %u waits in its own #BP at "
		     "0x%lx, window %s, for %lu ms",
		     r->roles.patcher, site, poke_window_name(poke_window_now()), ns / 1000000u);
		print_spinners(r, now);
		watchdog_report_cpus(f);
		for_each_online_cpu(i)
			if (i != this_cpu_index() && !cpus[i].sample_request &&
			    poke_spin_rip(cpus[i].sampled_rip))
				diag("cpu %u rip=0x%lx is in the #BP wait loop (poke_spin_bp)", i,
				     cpus[i].sampled_rip);
	}
	if (ns > dl->detect_ns_max)
		dl->detect_ns_max = ns;
	if (found >= r->cfg.want_deadlocks || (dl->in_window[PW_DEPLOY] && dl->in_window[PW_TAIL]))
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	poke_spin_rescue();
}

/* ---- roles ---- */

static void spin_ns(u64 ns)
{
	u64 end = tsc_deadline_ns(ns);
	while (tsc_before(end))
		cpu_relax();
}

/* The boot CPU fires one event at a time at the patcher, a random gap after it was handled. */
static void event_sender(struct ps_run *r)
{
	struct ps_events *ev = &r->res.events;
	u64 rng = rng_seed(r->cfg.seed, 99);
	u32 icr = r->cfg.load == LOAD_NMI ? ICR_NMI : ICR_FIXED | VEC_PS_EVENT;
	while (!READ_ONCE(r->ready))
		cpu_relax();
	while ((r->cfg.load == LOAD_MCE || r->cfg.load == LOAD_MCE_NMI) && !READ_ONCE(r->stop))
		cpu_relax(); /* the patcher asks the host itself: the boot CPU only keeps out */
	while (!READ_ONCE(r->stop)) {
		u64 base = READ_ONCE(ev->handled), end = tsc_deadline_ns(ACK_TIMEOUT_NS);
		ipi_send_cpu(r->roles.patcher, icr);
		ev->sent++;
		while (READ_ONCE(ev->handled) == base && !READ_ONCE(r->stop) && tsc_before(end))
			cpu_relax();
		if (READ_ONCE(ev->handled) == base && !READ_ONCE(r->stop))
			ev->lost++;
		if (r->cfg.max_gap_ns)
			spin_ns(rng_next(&rng) % r->cfg.max_gap_ns);
	}
}

/* Short halts between bursts of calls, as in poke_run.c (not on the boot CPU, whose
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
	u64 rng = rng_seed(r->cfg.seed, me + 1), cnt[PO_N] = { 0 };
	u64 site = poke_call_sites[0], burst = ns_to_tsc(20000), burst_end = rdtsc() + burst;
	while (!READ_ONCE(r->ready))
		cpu_relax();
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		if (tsc_past(burst_end)) {
			rest(me);
			burst_end = rdtsc() + burst;
		}
		if (r->cfg.flags & POKE_IPI_NO_ACK)
			poke_sync_ack_thread();
		struct poke_exec e;
		e.canary = rng_next(&rng);
		poke_inv_reach();
		bool returned = poke_exec_run(&e, site);
		cnt[poke_classify(&e, site, returned, false)]++;
	}
	for (u32 o = 0; o < PO_N; o++)
		__atomic_add_fetch(&r->res.outcome[o], cnt[o], __ATOMIC_RELAXED);
	__atomic_add_fetch(&exec_done, 1, __ATOMIC_SEQ_CST);
}

/*
 * LOAD_MCE: right after a write step, while the int3 is live, the patcher asks the host for a
 * machine check on itself and waits for it (bounded) before it goes on, PS_MCE_PER_STEP times
 * after the int3 and after the tail write of each run. The first request without an answer
 * (no host: a real machine, a lab) ends the asking: the experiment then skips.
 */
static u32 mce_asked[POKE_NPHASES];
static enum host_status mce_status = HOST_DONE;

bool ps_mce_host_answered(void) { return mce_status == HOST_DONE; }

enum exp_result ps_run_mce_strategies(struct exp_ctx *ctx, const struct ps_plan *plan,
				      bool *skipped)
{
	*skipped = true;
	if (mce_banks() <= PS_MCE_BANK)
		return exp_skip(ctx, "no machine-check bank %u (CPUID MCE/MCA, MCG_CAP: %u banks)",
				PS_MCE_BANK, mce_banks());
	enum exp_result v = ps_run_strategies(ctx, plan);
	if (!ps_mce_host_answered() && !host_present()) {
		ctx->reason[0] = 0; /* the runs' own failures without a #MC say nothing */
		return exp_skip(ctx, "needs the host to inject machine checks (QEMU's monitor "
				     "through the harness): no answer");
	}
	*skipped = false;
	return v;
}

static void aim_mce(struct ps_run *r, enum poke_phase phase)
{
	if (mce_status != HOST_DONE || mce_asked[phase] >= PS_MCE_PER_STEP)
		return;
	mce_asked[phase]++;
	if (r->cfg.load == LOAD_MCE_NMI) { /* ask from an NMI this CPU sends itself */
		u32 done = nmi_mce_done;
		nmi_mce_pending = 1;
		ipi_send_cpu(r->roles.patcher, ICR_NMI);
		u64 end =
			tsc_deadline_ns(PS_MCE_ARRIVE_NS + (u64)PS_MCE_FIRST_ANSWER_MS * 1000000u);
		while (READ_ONCE(nmi_mce_done) == done && tsc_before(end))
			cpu_relax();
		return;
	}
	ask_mce(r);
}

/* Asks the host for a machine check on this CPU and waits (bounded) for it. */
static void ask_mce(struct ps_run *r)
{
	u32 before = mce_seen;
	u32 id = host_request("mce", this_cpu()->apic_id, "bank=%u status=0x%lx mcg_status=0x%lx",
			      PS_MCE_BANK, (u64)(MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN),
			      (u64)(MCG_STATUS_MCIP | MCG_STATUS_RIPV));
	mce_status = host_wait(id, host_present() ? PS_MCE_ANSWER_MS : PS_MCE_FIRST_ANSWER_MS);
	if (mce_status != HOST_DONE)
		return;
	r->res.events.sent++;
	u64 end = tsc_deadline_ns(PS_MCE_ARRIVE_NS);
	while (READ_ONCE(mce_seen) == before && tsc_before(end))
		cpu_relax();
	if (READ_ONCE(mce_seen) == before)
		r->res.events.lost++;
}

/* The patcher aims an event at itself right after a write step, while the int3 is live. */
static void aim(enum poke_phase phase)
{
	struct ps_run *r = cur;
	if ((r->cfg.load == LOAD_MCE || r->cfg.load == LOAD_MCE_NMI) &&
	    (phase == POKE_PH_INT3 || phase == POKE_PH_TAIL)) {
		aim_mce(r, phase);
		return;
	}
	if (r->cfg.load == LOAD_NONE || (phase != POKE_PH_INT3 && phase != POKE_PH_TAIL) ||
	    rng_next(&r->aim_rng) % 1000 >= r->cfg.aim_permille)
		return;
	r->res.events.aimed++;
	ipi_send_cpu(r->roles.patcher,
		     r->cfg.load == LOAD_NMI ? ICR_NMI : ICR_FIXED | VEC_PS_AIMED);
}

static void patcher(struct ps_run *r)
{
	struct ps_results *res = &r->res;
	struct poke_cfg engine_cfg = { .mode = POKE_MODE_DESC,
				       .flags = r->cfg.flags,
				       .strategy = r->cfg.strategy,
				       .max_restarts = r->cfg.max_restarts,
				       .step_hook = aim };
	u64 site = poke_call_sites[0];
	u8 state = 0;
	if (!poke_start(&engine_cfg)) {
		res->failed = ~0ull;
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
		return;
	}
	poke_traps_install();
	if (r->cfg.load == LOAD_NMI || r->cfg.load == LOAD_MCE_NMI)
		idt_set_ist(VEC_NMI, 0); /* NMIs nest on this stack through the #BP's IRET */
	__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
	u64 nsamples = 0;
	while (go_on(r)) {
		u8 insn[POKE_INSN_LEN];
		poke_gen(POKE_CALL, site, state ? POKE_TGT_A : POKE_TGT_B, insn);
		u64 t0 = rdtsc();
		bool ok = poke_one(site, insn);
		u64 dt = rdtsc() - t0;
		hist_add(&res->lat_hist, dt);
		hist_add(&res->restart_hist, poke_last_restarts());
		if (nsamples < MAX_SAMPLES)
			lat_samples[nsamples++] = dt;
		if (ok)
			state ^= 1;
		else if (poke_last_gave_up())
			res->gave_up++;
		else
			res->failed++;
		res->patches++;
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	/* the executors' last calls may still need this CPU's handlers */
	while (READ_ONCE(exec_done) < r->roles.executors)
		cpu_relax();
	if (r->cfg.load != LOAD_NONE)
		spin_ns(2000000); /* a last event may still be on its way */
	if (r->cfg.load == LOAD_NMI || r->cfg.load == LOAD_MCE_NMI)
		idt_set_ist(VEC_NMI, IST_NMI);
	res->lat_median = summarize(lat_samples, nsamples).median;
}

static void worker(void *arg)
{
	struct ps_run *r = arg;
	u32 me = this_cpu_index();
	if (me == r->roles.patcher)
		patcher(r);
	else if (me == r->roles.sender)
		event_sender(r);
	else if (exec_role[me])
		executor(r);
}

bool ps_exec(struct ps_run *r)
{
	u64 site = poke_call_sites[0];
	if (!poke_fixture_init() || !poke_sites_reset(&site, 1, false))
		return false;
	struct ps_roles *roles = &r->roles;
	roles->patcher = cpu_last_online();
	roles->sender = r->cfg.load == LOAD_NONE ? ~0u : this_cpu_index();
	roles->executors = 0;
	for_each_online_cpu(i) {
		exec_role[i] = i != roles->patcher && i != roles->sender &&
			       (!r->cfg.max_executors || roles->executors < r->cfg.max_executors);
		roles->executors += exec_role[i];
	}
	exec_done = 0;
	cur = r;
	if (r->cfg.load == LOAD_NMI)
		trap_set_handler(VEC_NMI, on_nmi);
	else if (r->cfg.load == LOAD_MCE || r->cfg.load == LOAD_MCE_NMI) {
		if (r->cfg.load == LOAD_MCE_NMI)
			trap_set_handler(VEC_NMI, on_nmi);
		nmi_mce_pending = in_nmi = 0;
		saved_mc = trap_get_handler(VEC_MC);
		trap_set_handler(VEC_MC, on_mc);
		memset(mce_asked, 0, sizeof(mce_asked));
		mce_seen = 0;
	} else if (r->cfg.load == LOAD_IRQ) {
		trap_set_handler(VEC_PS_EVENT, on_irq);
		trap_set_handler(VEC_PS_AIMED, on_irq);
	}
	if (r->cfg.strategy == POKE_SPIN)
		watchdog_set_hook(probe);
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, worker, r, true);
	watchdog_set_hook(NULL);
	bool started = r->res.failed != ~0ull;
	if (started) {
		poke_traps_remove();
		poke_stop();
	}
	trap_set_handler(VEC_NMI, NULL);
	trap_set_handler(VEC_PS_EVENT, NULL);
	trap_set_handler(VEC_PS_AIMED, NULL);
	if (r->cfg.load == LOAD_MCE || r->cfg.load == LOAD_MCE_NMI)
		trap_set_handler(VEC_MC, saved_mc);
	cur = NULL;
	if (!started)
		return false;
	struct ps_results *res = &r->res;
	poke_stats_read(&res->st);
	res->calls = res->events.calls = 0;
	for (u32 o = 0; o < PO_N; o++) {
		res->calls += res->outcome[o];
		res->events.calls += res->events.outcome[o];
	}
	return true;
}

/* clang-format off: a table laid out by hand */
ARCH_RULES(poke_strategy_rules) = {
	{ "poke_strategy_*", "*broken_call", ON_INTEL(NEVER, SDM_XMC), ON_AMD(NEVER, SDM_XMC) },
	/*
	 * The patching CPU's own store went through the alias mapping, and no serializing
	 * instruction came before it ran the bytes: the check that invalidates prefetched code on a
	 * store goes by linear address (SDM 13.6), which the alias does not share, so whether the
	 * old int3 still runs is the model's business.
	 */
	{ "poke_strategy_*", "*patcher_ran_own_removed_int3",
	  ON_INTEL(MODEL_SPECIFIC, SDM_SMC_LINEAR), ON_AMD(MODEL_SPECIFIC, SDM_SMC_LINEAR) },
	{ "poke_strategy_*", "*patcher_bp_deadlocked", CONTROL },
};
/* clang-format on */
