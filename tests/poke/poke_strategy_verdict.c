/*
 * Reporting and verdicts of the poke_strategy_* experiments, the poke= selection and the
 * standard plan (every selected strategy under one load).
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

u64 ps_broken(const struct ps_run *r) { return broken_in(r->outcome) + broken_in(r->ev_out); }

u64 ps_violations(const struct ps_run *r)
{
	u64 n = 0;
	for (u32 k = 0; k < INV_N; k++)
		n += r->st.inv_violations[k];
	return n;
}
/*
 * Executors only (no events): one that meets the int3 in the deploy window waits there until
 * the poke is done, so a poke whose deploy window caught it has no executor left to meet the
 * tail. When every poke caught every executor (Bochs: the executor always calls within the deploy
 * window's sync), the tail window cannot be reached: said so, not failed.
 */
static bool tail_unreachable(const struct ps_run *r)
{
	if (r->load != LOAD_NONE)
		/* rollback under a storm: every poke rolled back in deploy until it gave up */
		return r->strategy == POKE_ROLLBACK && r->patches && r->gave_up >= r->patches &&
		       !r->ev_hit[PW_TAIL];
	return r->patches && r->executors &&
	       r->st.bp_window[PW_DEPLOY] >= r->patches * r->executors && !r->st.bp_window[PW_TAIL];
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
		if (dead || (w == PW_TAIL && tail_unreachable(r)))
			diag("outcome %s=%lu", name, r->ev_hit[w]);
		else
			control(name, r->ev_hit[w]);
	}
	if (r->load != LOAD_NONE && tail_unreachable(r))
		diag("%stail_window=unreachable: every poke (%lu) gave up, rolled back in its deploy "
		     "window", p, r->patches);
	if (dead) {
		ksnprintf(name, sizeof(name), "%sevent_hit_int3", p);
		control(name, r->ev_hit[PW_DEPLOY] + r->ev_hit[PW_TAIL]);
	}
	if (r->load == LOAD_NONE)
		for (u32 w = PW_DEPLOY; w <= PW_TAIL; w++) {
			ksnprintf(name, sizeof(name), "%sother_cpu_bp_%s", p, poke_window_name(w));
			if (w == PW_TAIL && tail_unreachable(r))
				diag("outcome %s=%lu", name, r->st.bp_window[w]);
			else
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
		diag("%sfirst_violation=%s cpu=%u phase=%s", p, inv_names[r->st.inv_first],
		     r->st.inv_first_cpu, phase_name(r->st.inv_first_phase));
	ksnprintf(name, sizeof(name), "%spoke_latency", p);
	hist_print(name, "cycles", &r->lat_hist);
	ksnprintf(name, sizeof(name), "%srestarts_per_poke", p);
	hist_print(name, "count", &r->restart_hist);
	ksnprintf(name, sizeof(name), "%sbroken_call", p);
	observation(name, ps_broken(r), r->calls + r->ev_calls);
	if (r->load == LOAD_NONE || r->strategy == POKE_SPIN)
		return;
	/* the patching CPU's own #BP after it had written the new first byte (through the
	 * alias, not serialized since): it ran an int3 its own store had already removed */
	u64 all = 0, late = 0;
	for (u32 w = 0; w < PW_N; w++)
		for (u32 a = 0; a < PA_N; a++) {
			all += r->st.patcher_bp[w][a];
			late += w == PW_FIRST ? r->st.patcher_bp[w][a] : 0;
		}
	ksnprintf(name, sizeof(name), "%spatcher_ran_own_removed_int3", p);
	observation(name, late, all);
}

void ps_vs_emulate(const struct ps_run *r, u64 emulate_median, const char *p)
{
	if (!emulate_median)
		return;
	u64 x100 = r->lat_median * 100 / emulate_median;
	diag("%spoke_latency_vs_emulate=%lu.%02lu (median %lu vs %lu cycles)", p, x100 / 100,
	     x100 % 100, r->lat_median, emulate_median);
}

/* The invariants every strategy run keeps, whatever it is meant to show. */
static enum exp_result run_invariants_held(struct exp_ctx *ctx, const struct ps_run *r,
					   const char *p)
{
	if (r->failed || r->st.sync_timeouts)
		return exp_fail(ctx, "%s: %lu pokes failed, %lu syncs timed out", p, r->failed,
				r->st.sync_timeouts);
	if (!r->patches || (r->executors && !r->calls))
		return exp_fail(ctx, "%s: nothing ran: %lu pokes, %lu calls", p, r->patches, r->calls);
	if (ps_violations(r))
		return exp_fail(ctx, "%s: cpumask invariant broken (%s on cpu %u, phase %s)", p,
				inv_names[r->st.inv_first], r->st.inv_first_cpu,
				phase_name(r->st.inv_first_phase));
	return EXP_PASS;
}

enum exp_result ps_verdict_complete(struct exp_ctx *ctx, const struct ps_run *r, const char *p)
{
	enum exp_result v = run_invariants_held(ctx, r, p);
	if (v != EXP_PASS)
		return v;
	if (ps_broken(r))
		return exp_fail(ctx, "%s: %lu broken calls", p, ps_broken(r));
	if (r->deadlocks || r->ev_lost)
		return exp_fail(ctx, "%s: %u deadlocks, %lu events never completed", p, r->deadlocks,
				r->ev_lost);
	const volatile u64 *hit = r->load == LOAD_NONE ? r->st.bp_window : r->ev_hit;
	if (tail_unreachable(r)) {
		diag("%stail_window=unreachable: every poke (%lu) caught its %u executor(s) in the "
		     "deploy window, where they waited through the tail", p, r->patches, r->executors);
		return EXP_PASS;
	}
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
	enum exp_result v = run_invariants_held(ctx, r, p);
	if (v != EXP_PASS)
		return v;
	if (!r->deadlocks)
		return exp_fail(ctx, "%s: negative control: no deadlock detected (%lu events hit the "
				"int3 on the patcher)", p, r->ev_hit[PW_DEPLOY] + r->ev_hit[PW_TAIL]);
	return EXP_PASS;
}

/* ---- the standard plan: every selected strategy under one load ---- */

static struct ps_run run_state;

/* One strategy under one load: its report, its figures added to the plan's, its verdict. */
static enum exp_result run_one_strategy(struct exp_ctx *ctx, enum poke_strategy s,
					enum ps_load load, u32 permille, const char *p,
					u64 *emulate_median, u64 *pokes, u64 *hits)
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
		w = run_one_strategy(ctx, POKE_EMULATE, load, 250, "emulate_", &em, &pokes, &hits);
		v = v == EXP_PASS ? w : v;
	}
	if (ps_selected(POKE_ROLLBACK)) {
		w = run_one_strategy(ctx, POKE_ROLLBACK, load, 250, "rollback_", &em, &pokes, &hits);
		v = v == EXP_PASS ? w : v;
	}
	if (ps_selected(POKE_SPIN)) {
		w = run_one_strategy(ctx, POKE_SPIN, LOAD_NONE, 150, "spin_others_", &em, &pokes, &hits);
		v = v == EXP_PASS ? w : v;
		w = run_one_strategy(ctx, POKE_SPIN, load, 300,
				     load == LOAD_NMI ? "spin_nmi_" : "spin_irq_", &em, &pokes, &hits);
		v = v == EXP_PASS ? w : v;
	}
	report_rate(ctx, pokes, hits); /* hits: events that met the live int3 on the patcher */
	return v;
}
