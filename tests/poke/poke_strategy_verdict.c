/*
 * Reporting and verdicts of the poke_strategy_* experiments, the poke= selection and
 * their plans (every selected strategy under one load, ps_run_strategies).
 */
#include "tests/poke/poke_strategy.h"
#include "arch/x86/time.h"
#include "kernel/cmdline.h"
#include "kernel/outcome.h"
#include "lib/printf.h"

bool ps_selected(enum poke_strategy s)
{
	const struct cmdline *cl = cmdline_active();
	static const u32 bit[POKE_NSTRATEGIES] = { CMDLINE_POKE_EMULATE, CMDLINE_POKE_ROLLBACK,
						   CMDLINE_POKE_SPIN };
	return !cl || !cl->poke || (cl->poke & bit[s]);
}

/* ---- reporting ---- */

static u64 broken_in(const u64 *out)
{
	u64 n = 0;
	for (u32 o = PO_BAD_FRAME; o < PO_N; o++)
		n += o == PO_STALE_BP ? 0 : out[o];
	return n;
}

u64 ps_broken(const struct ps_run *r)
{
	return broken_in(r->res.outcome) + broken_in(r->res.events.outcome);
}

u64 ps_violations(const struct ps_run *r)
{
	u64 n = 0;
	for (u32 k = 0; k < INV_N; k++)
		n += r->res.st.inv_violations[k];
	return n;
}

static u64 events_hit_int3(const struct ps_run *r)
{
	return r->res.events.hit_int3[PW_DEPLOY] + r->res.events.hit_int3[PW_TAIL];
}

static const char *const out_names[PO_N] = {
	"target_a", "target_b", "nop", "jmp", "bad_frame", "bad_target", "torn_target",
	"poisoned_descriptor", "stale_int3", "unexpected_bp", "ud", "gp", "pf_other",
};

static const char *const phase_names[POKE_NPHASES] = { "idle", "int3", "tail", "first",
							"retire" };

static const char *phase_name(u32 ph) { return ph < POKE_NPHASES ? phase_names[ph] : "?"; }

static const char *const inv_names[INV_N] = { "set_after_each_event", "cleared_before_iret",
					      "cleared_by_ipi_or_bp" };

/* The engine's #BPs on the patcher, per window and action (outcomes). */
static void report_patcher_bps(const struct poke_stats *st, const char *p)
{
	for (u32 w = PW_DEPLOY; w < PW_N; w++)
		for (u32 a = 0; a < PA_N; a++)
			if (st->patcher_bp[w][a])
				diag("outcome %spatcher_bp_%s_%s=%lu", p, poke_window_name(w),
				     poke_action_name(a), st->patcher_bp[w][a]);
}

/*
 * The controls each run must reach (ps_verdict_*): per window, except spin's deadlock run,
 * which ends at its first hit (its windows are outcomes, the control is the sum).
 */
/*
 * Executors only (no events): one that meets the int3 in the deploy window waits there until
 * the poke is done, so a poke whose deploy window caught it has no executor left to meet the
 * tail. When every poke caught every executor (Bochs: the executor always calls within the
 * deploy window's sync), the tail window cannot be reached: said so, not failed. Under a storm,
 * rollback's every poke may roll back in deploy until it gives up: no tail either.
 */
static bool tail_unreachable(const struct ps_run *r)
{
	const struct ps_results *res = &r->res;
	if (r->cfg.load != LOAD_NONE)
		return r->cfg.strategy == POKE_ROLLBACK && res->patches &&
		       res->gave_up >= res->patches && !res->events.hit_int3[PW_TAIL];
	return res->patches && r->roles.executors &&
	       res->st.bp_window[PW_DEPLOY] >= res->patches * r->roles.executors &&
	       !res->st.bp_window[PW_TAIL];
}

static void report_controls(const struct ps_run *r, const char *p)
{
	const struct ps_results *res = &r->res;
	enum ps_load load = r->cfg.load;
	bool dead = r->cfg.strategy == POKE_SPIN && load != LOAD_NONE;
	char name[64];
	for (u32 w = PW_DEPLOY; w <= PW_TAIL && load != LOAD_NONE; w++) {
		ksnprintf(name, sizeof(name), "%sevent_hit_int3_%s", p, poke_window_name(w));
		if (dead || (w == PW_TAIL && tail_unreachable(r)))
			diag("outcome %s=%lu", name, res->events.hit_int3[w]);
		else
			control(name, res->events.hit_int3[w]);
	}
	if (load != LOAD_NONE && tail_unreachable(r))
		diag("%stail_window=unreachable: every poke (%lu) gave up, rolled back in its deploy "
		     "window",
		     p, res->patches);
	if (dead) {
		ksnprintf(name, sizeof(name), "%sevent_hit_int3", p);
		control(name, events_hit_int3(r));
	}
	if (load == LOAD_NONE)
		for (u32 w = PW_DEPLOY; w <= PW_TAIL; w++) {
			ksnprintf(name, sizeof(name), "%sother_cpu_bp_%s", p, poke_window_name(w));
			if (w == PW_TAIL && tail_unreachable(r))
				diag("outcome %s=%lu", name, res->st.bp_window[w]);
			else
				control(name, res->st.bp_window[w]);
		}
}

static void report_figures(const struct ps_run *r, const char *p)
{
	const struct ps_results *res = &r->res;
	const struct ps_events *ev = &res->events;
	const struct poke_stats *st = &res->st;
	diag("%sstrategy=%s pokes=%lu failed=%lu gave_up=%lu restarts=%lu restarts_max=%lu "
	     "poke_median_cycles=%lu",
	     p, poke_strategy_name(r->cfg.strategy), res->patches, res->failed, res->gave_up,
	     st->restarts, st->restarts_max, res->lat_median);
	diag("%sevents_sent=%lu aimed=%lu handled=%lu lost=%lu in_idle=%lu in_deploy=%lu "
	     "in_tail=%lu in_first=%lu event_calls=%lu calls=%lu executors=%u",
	     p, ev->sent, ev->aimed, ev->handled, ev->lost, ev->in_window[PW_IDLE],
	     ev->in_window[PW_DEPLOY], ev->in_window[PW_TAIL], ev->in_window[PW_FIRST], ev->calls,
	     res->calls, r->roles.executors);
	diag("%sbp_emulations=%lu spins=%lu rescues=%lu forward_without_sync2=%lu syncs=%lu "
	     "sync_timeouts=%lu",
	     p, st->emul_call + st->emul_jmp + st->emul_nop, st->spins, st->rescues,
	     st->sync2_skipped_by_forward, st->syncs, st->sync_timeouts);
	diag("%sinvariant_checks=%lu %s=%lu %s=%lu %s=%lu", p, st->inv_checks, inv_names[0],
	     st->inv_violations[0], inv_names[1], st->inv_violations[1], inv_names[2],
	     st->inv_violations[2]);
	if (ps_violations(r))
		diag("%sfirst_violation=%s cpu=%u phase=%s", p, inv_names[st->inv_first],
		     st->inv_first_cpu, phase_name(st->inv_first_phase));
}

void ps_report(const struct ps_run *r, const char *p)
{
	const struct ps_results *res = &r->res;
	char name[64];
	report_patcher_bps(&res->st, p);
	for (u32 o = 0; o < PO_N; o++)
		if (o == PO_A || o == PO_B || res->outcome[o] + res->events.outcome[o])
			diag("outcome %scalls_%s=%lu", p, out_names[o],
			     res->outcome[o] + res->events.outcome[o]);
	report_controls(r, p);
	report_figures(r, p);
	ksnprintf(name, sizeof(name), "%spoke_latency", p);
	hist_print(name, "cycles", &res->lat_hist);
	ksnprintf(name, sizeof(name), "%srestarts_per_poke", p);
	hist_print(name, "count", &res->restart_hist);
	ksnprintf(name, sizeof(name), "%sbroken_call", p);
	observation(name, ps_broken(r), res->calls + res->events.calls);
	if (r->cfg.load == LOAD_NONE || r->cfg.strategy == POKE_SPIN)
		return;
	/* the patching CPU's own #BP after it had written the new first byte (through the
	 * alias, not serialized since): it ran an int3 its own store had already removed */
	u64 all = 0, late = 0;
	for (u32 w = 0; w < PW_N; w++)
		for (u32 a = 0; a < PA_N; a++) {
			all += res->st.patcher_bp[w][a];
			late += w == PW_FIRST ? res->st.patcher_bp[w][a] : 0;
		}
	ksnprintf(name, sizeof(name), "%spatcher_ran_own_removed_int3", p);
	observation(name, late, all);
}

void ps_vs_emulate(const struct ps_run *r, u64 emulate_median, const char *p)
{
	u64 median = r->res.lat_median;
	if (!emulate_median)
		return;
	u64 x100 = median * 100 / emulate_median;
	diag("%spoke_latency_vs_emulate=%lu.%02lu (median %lu vs %lu cycles)", p, x100 / 100,
	     x100 % 100, median, emulate_median);
}

/* The invariants every strategy run keeps, whatever it is meant to show. */
static enum exp_result run_invariants_held(struct exp_ctx *ctx, const struct ps_run *r,
					   const char *p)
{
	const struct ps_results *res = &r->res;
	if (res->failed || res->st.sync_timeouts)
		return exp_fail(ctx, "%s: %lu pokes failed, %lu syncs timed out", p, res->failed,
				res->st.sync_timeouts);
	if (!res->patches || (r->roles.executors && !res->calls))
		return exp_fail(ctx, "%s: nothing ran: %lu pokes, %lu calls", p, res->patches,
				res->calls);
	if (ps_violations(r))
		return exp_fail(ctx, "%s: cpumask invariant broken (%s on cpu %u, phase %s)", p,
				inv_names[res->st.inv_first], res->st.inv_first_cpu,
				phase_name(res->st.inv_first_phase));
	return EXP_PASS;
}

enum exp_result ps_verdict_complete(struct exp_ctx *ctx, const struct ps_run *r, const char *p)
{
	const struct ps_results *res = &r->res;
	enum exp_result v = run_invariants_held(ctx, r, p);
	if (v != EXP_PASS)
		return v;
	if (ps_broken(r))
		return exp_fail(ctx, "%s: %lu broken calls", p, ps_broken(r));
	if (res->deadlocks.count || res->events.lost)
		return exp_fail(ctx, "%s: %u deadlocks, %lu events never completed", p,
				res->deadlocks.count, res->events.lost);
	const volatile u64 *hit =
		r->cfg.load == LOAD_NONE ? res->st.bp_window : res->events.hit_int3;
	if (tail_unreachable(r)) {
		diag("%stail_window=unreachable: every poke (%lu) caught its %u executor(s) in the "
		     "deploy window, where they waited through the tail",
		     p, res->patches, r->roles.executors);
		return EXP_PASS;
	}
	if (!hit[PW_DEPLOY] || !hit[PW_TAIL])
		return exp_fail(ctx, "%s: positive control: no event hit the live int3 in the "
				"deploy (%lu) or tail (%lu) window", p, hit[PW_DEPLOY], hit[PW_TAIL]);
	return EXP_PASS;
}

enum exp_result ps_verdict_deadlock(struct exp_ctx *ctx, const struct ps_run *r, const char *p)
{
	const struct ps_deadlocks *dl = &r->res.deadlocks;
	diag("%sdeadlocks_detected=%u detect_ms_first=%lu detect_ms_max=%lu in_deploy=%u "
	     "in_tail=%u",
	     p, dl->count, dl->detect_ns_first / 1000000u, dl->detect_ns_max / 1000000u,
	     dl->in_window[PW_DEPLOY], dl->in_window[PW_TAIL]);
	u64 spun = 0;
	for (u32 w = 0; w < PW_N; w++)
		spun += r->res.st.patcher_bp[w][PA_SPUN];
	char name[64];
	ksnprintf(name, sizeof(name), "%spatcher_bp_deadlocked", p);
	observation(name, dl->count, spun);
	enum exp_result v = run_invariants_held(ctx, r, p);
	if (v != EXP_PASS)
		return v;
	if (!dl->count)
		return exp_fail(ctx,
				"%s: negative control: no deadlock detected (%lu events hit the "
				"int3 on the patcher)",
				p, events_hit_int3(r));
	return EXP_PASS;
}

/* ---- the plans: every selected strategy under one load ---- */

static struct ps_run run_state;

/* The sums over a plan's runs. */
struct plan_sums {
	u64 emulate_median; /* emulate's median poke latency (0: not run) */
	u64 pokes, hits;    /* report_rate's figures */
};

/* The standard verdict: spin under events must deadlock (detected), every other run complete. */
static enum exp_result standard_verdict(struct exp_ctx *ctx, const struct ps_run *r, const char *p)
{
	if (r->cfg.strategy == POKE_SPIN && r->cfg.load != LOAD_NONE)
		return ps_verdict_deadlock(ctx, r, p);
	return ps_verdict_complete(ctx, r, p);
}

/* One strategy under one load: its report, its figures added to the plan's, its verdict. */
static enum exp_result run_one_strategy(struct exp_ctx *ctx, const struct ps_plan *plan,
					enum poke_strategy s, enum ps_load load, u32 permille,
					const char *p, struct plan_sums *sums)
{
	struct ps_run *r = &run_state;
	ps_init(r, ctx, s, permille);
	r->cfg.load = load;
	if (plan->configure)
		plan->configure(&r->cfg);
	if (!ps_exec(r))
		return exp_fail(ctx, "%s: could not set up the site, the stubs or the engine", p);
	ps_report(r, p);
	sums->pokes += r->res.patches;
	sums->hits += plan->hits ? plan->hits(r) : events_hit_int3(r);
	if (s == POKE_EMULATE)
		sums->emulate_median = r->res.lat_median;
	else if (plan->vs_emulate)
		ps_vs_emulate(r, sums->emulate_median, p);
	return (plan->verdict ? plan->verdict : standard_verdict)(ctx, r, p);
}

enum exp_result ps_run_strategies(struct exp_ctx *ctx, const struct ps_plan *plan)
{
	enum exp_result v = EXP_PASS, w;
	enum ps_load load = plan->load;
	struct plan_sums sums = { 0 };
	if (!plan->spin && !ps_selected(POKE_EMULATE) && !ps_selected(POKE_ROLLBACK))
		return exp_skip(ctx, "poke= selects neither emulate nor rollback");
	if (ps_selected(POKE_EMULATE)) {
		w = run_one_strategy(ctx, plan, POKE_EMULATE, load, plan->permille, "emulate_",
				     &sums);
		v = v == EXP_PASS ? w : v;
	}
	if (ps_selected(POKE_ROLLBACK)) {
		w = run_one_strategy(ctx, plan, POKE_ROLLBACK, load, plan->permille, "rollback_",
				     &sums);
		v = v == EXP_PASS ? w : v;
	}
	if (plan->spin && ps_selected(POKE_SPIN)) {
		w = run_one_strategy(ctx, plan, POKE_SPIN, LOAD_NONE, 150, "spin_others_", &sums);
		v = v == EXP_PASS ? w : v;
		w = run_one_strategy(ctx, plan, POKE_SPIN, load, 300,
				     load == LOAD_NMI   ? "spin_nmi_"
				     : load == LOAD_MCE ? "spin_mce_"
							: "spin_irq_",
				     &sums);
		v = v == EXP_PASS ? w : v;
	}
	report_rate(ctx, sums.pokes, sums.hits);
	return v;
}
