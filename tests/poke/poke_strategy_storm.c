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

static struct ps_run run_state;

static enum exp_result run(struct exp_ctx *ctx)
{
	struct ps_run *r = &run_state;
	enum exp_result v = EXP_PASS;
	u64 em = 0, pokes = 0, restarts = 0;
	if (!ps_selected(POKE_EMULATE) && !ps_selected(POKE_ROLLBACK))
		return exp_skip(ctx, "poke= selects neither emulate nor rollback");
	for (u32 s = POKE_EMULATE; s <= POKE_ROLLBACK; s++) {
		if (!ps_selected(s))
			continue;
		const char *p = s == POKE_EMULATE ? "emulate_" : "rollback_";
		ps_init(r, ctx, s, 480);
		r->load = LOAD_NMI;
		r->max_gap_ns = 0;
		r->aim_permille = 0; /* the storm alone */
		if (!ps_exec(r))
			return exp_fail(ctx, "%s: could not set up the site, the stubs or the engine", p);
		ps_report(r, p);
		pokes += r->patches;
		restarts += r->st.restarts;
		if (s == POKE_EMULATE) {
			em = r->lat_median;
			enum exp_result w = ps_verdict_complete(ctx, r, p);
			v = v == EXP_PASS ? w : v;
			continue;
		}
		ps_vs_emulate(r, em, p);
		observation("rollback_poke_gave_up", r->gave_up, r->patches);
		observation("rollback_poke_restarted", r->st.restarts ? 1 : 0, 1);
		if (r->failed || r->st.sync_timeouts || ps_broken(r) || ps_violations(r))
			v = exp_fail(ctx, "rollback: %lu failed pokes, %lu sync timeouts, %lu broken "
				     "calls, %lu invariant violations", r->failed, r->st.sync_timeouts,
				     ps_broken(r), ps_violations(r));
		else if (!r->st.restarts && v == EXP_PASS)
			v = exp_fail(ctx, "rollback: positive control: no restart under the storm");
	}
	report_rate(ctx, pokes, restarts);
	return v;
}

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
