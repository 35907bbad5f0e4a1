/*
 * poke_strategy_nmi: NMIs fired at the patching CPU (an AP) with random gaps, so they land in
 * every protocol window, each NMI handler calling through the site being patched while other
 * CPUs call it too; the same load for each strategy of the engine (seed 004):
 *   emulate   the patcher's #BP emulates, like any CPU: must complete, every call intact
 *   rollback  deploy window: old first byte back, the poke restarts; tail window: the
 *             handler writes tail and first byte (roll forward): must complete, intact
 *   spin      negative control, twice: with the #BPs only on other CPUs (no NMIs) it must
 *             complete; with NMIs on the patcher it must deadlock, and passes only when the
 *             watchdog detected that (how long it took, the stuck RIPs) and ended it
 * Controls: NMIs whose call hit the live int3, per window (deploy, tail), non-zero for each.
 * poke= on the command line restricts the strategies run.
 */
#include "experiments/poke/poke_strategy.h"
#include "kernel/outcome.h"

static struct ps_run run_state;
static u64 pokes, hits;

static enum exp_result one(struct exp_ctx *ctx, enum poke_strategy s, enum ps_load load,
			   u32 permille, const char *p, u64 *emulate_median)
{
	struct ps_run *r = &run_state;
	ps_init(r, ctx, s, permille);
	r->load = load;
	if (!ps_exec(r))
		return exp_fail(ctx, "%s: could not set up the site, the stubs or the engine", p);
	ps_report(r, p);
	pokes += r->patches;
	hits += r->ev_hit[PW_DEPLOY] + r->ev_hit[PW_TAIL];
	if (s == POKE_EMULATE)
		*emulate_median = r->lat_median;
	else
		ps_vs_emulate(r, *emulate_median, p);
	if (s == POKE_SPIN && load != LOAD_NONE)
		return ps_verdict_deadlock(ctx, r, p);
	return ps_verdict_complete(ctx, r, p);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	enum exp_result v = EXP_PASS, w;
	u64 em = 0;
	pokes = hits = 0;
	if (ps_selected(POKE_EMULATE)) {
		w = one(ctx, POKE_EMULATE, LOAD_NMI, 250, "emulate_", &em);
		v = v == EXP_PASS ? w : v;
	}
	if (ps_selected(POKE_ROLLBACK)) {
		w = one(ctx, POKE_ROLLBACK, LOAD_NMI, 250, "rollback_", &em);
		v = v == EXP_PASS ? w : v;
	}
	if (ps_selected(POKE_SPIN)) {
		w = one(ctx, POKE_SPIN, LOAD_NONE, 150, "spin_others_", &em);
		v = v == EXP_PASS ? w : v;
		w = one(ctx, POKE_SPIN, LOAD_NMI, 350, "spin_nmi_", &em);
		v = v == EXP_PASS ? w : v;
	}
	report_rate(ctx, pokes, hits); /* hits: events that met the live int3 on the patcher */
	return v;
}

EXPERIMENT(exp_poke_strategy_nmi) = {
	.order = EXP_ORDER(FAMILY_POKE, 130),
	.name = "poke_strategy_nmi",
	.description = "NMIs on the patcher hit the live int3: emulate, rollback, spin (must deadlock, detected)",
	.min_cpus = 2,
	.default_iterations = 100000,
	.budget_ms = 800,
	.run = run,
};
