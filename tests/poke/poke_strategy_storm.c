/*
 * poke_strategy_storm: an NMI storm on the patching CPU (the next NMI as soon as the last one
 * was handled, no gap), each NMI handler calling through the site: the load under which
 * hpa's roll-back can livelock, since every deployment of the int3 may be rolled back before
 * its first sync completes. emulate and rollback side by side: restarts per poke (histogram,
 * max) and pokes that gave up after max_restarts (256) are the livelock's signature; poke
 * latency against emulate. Emulate must complete every poke; rollback's give-ups are an
 * observation, not a failure (the site is left unchanged and consistent). Spin is not run
 * here: it deadlocks at the first hit (poke_strategy_nmi shows that).
 */
#include "tests/poke/poke_strategy.h"
#include "kernel/outcome.h"
#include "kernel/arch_rules.h"

/* The storm alone: the next NMI as soon as the last one was handled, none aimed. */
static void storm(struct ps_config *cfg)
{
	cfg->max_gap_ns = 0;
	cfg->aim_permille = 0;
}

/* emulate must complete; rollback's give-ups are an observation, its restarts a control. */
static enum exp_result check(struct exp_ctx *ctx, const struct ps_run *r, const char *p)
{
	const struct ps_results *res = &r->res;
	if (r->cfg.strategy == POKE_EMULATE)
		return ps_verdict_complete(ctx, r, p);
	observation("rollback_poke_gave_up", res->gave_up, res->patches);
	observation("rollback_poke_restarted", res->st.restarts ? 1 : 0, 1);
	if (res->failed || res->st.sync_timeouts || ps_broken(r) || ps_violations(r))
		return exp_fail(ctx,
				"rollback: %lu failed pokes, %lu sync timeouts, %lu broken "
				"calls, %lu invariant violations",
				res->failed, res->st.sync_timeouts, ps_broken(r), ps_violations(r));
	if (!res->st.restarts)
		return exp_fail(ctx, "rollback: positive control: no restart under the storm");
	return EXP_PASS;
}

static u64 restarts(const struct ps_run *r) { return r->res.st.restarts; }

/* emulate and rollback under the storm; report_rate counts the restarts */
static const struct ps_plan plan = { .load = LOAD_NMI,
				     .permille = 480,
				     .configure = storm,
				     .vs_emulate = true,
				     .verdict = check,
				     .hits = restarts };

static enum exp_result run(struct exp_ctx *ctx) { return ps_run_strategies(ctx, &plan); }

EXPERIMENT(exp_poke_strategy_storm) = {
	.order = EXP_ORDER(FAMILY_POKE, 150),
	.name = "poke_strategy_storm",
	.description = "NMI storm on the patcher: rollback restarts per poke (livelock) vs emulate",
	.min_cpus = 2,
	.default_iterations = 100000,
	.budget_ms = 400,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(poke_strategy_storm_rules) = {
	{ "poke_strategy_storm", "rollback_poke_*", CONTROL },
};
/* clang-format on */
