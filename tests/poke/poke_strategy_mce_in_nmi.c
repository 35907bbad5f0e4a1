/*
 * poke_strategy_mce_in_nmi: the #MC handler itself racing the poke, inside an NMI handler.
 * Seed 004 names NMI and #MC on the patching CPU together; the worst of both is a machine
 * check taken while the patcher's NMI handler is running: two handlers on the patching CPU,
 * nested, each calling through the site whose int3 is live. Right after writing the int3 and
 * right after the tail, the patcher sends itself an NMI; its handler asks the host for a
 * machine check (kernel/hostreq.h: QEMU's monitor through the harness) and waits for it,
 * so the #MC arrives inside the NMI handler and calls through the site, then the NMI handler
 * calls through it too. Emulate and rollback in turn must complete with every call intact;
 * the positive control is the number of #MCs taken inside the NMI handler. Spin is left out:
 * it deadlocks at the first call (poke_strategy_mce shows that). Skips without a host.
 */
#include "tests/poke/poke_strategy.h"
#include "kernel/outcome.h"

static const struct ps_plan plan = {
	.load = LOAD_MCE_NMI,
	.permille = 400,
	.spin = false,
	.vs_emulate = false, /* a poke's time holds the host's round trips for its #MCs */
};

static enum exp_result run(struct exp_ctx *ctx)
{
	bool skipped;
	u64 before = ps_mce_in_nmi();
	enum exp_result v = ps_run_mce_strategies(ctx, &plan, &skipped);
	if (skipped)
		return v;
	if (!control("mce_inside_nmi_handler", ps_mce_in_nmi() - before) && v == EXP_PASS)
		return exp_fail(ctx,
				"positive control: no machine check came inside the NMI handler");
	return v;
}

EXPERIMENT(exp_poke_strategy_mce_in_nmi) = {
	.order = EXP_ORDER(FAMILY_POKE, 165),
	.name = "poke_strategy_mce_in_nmi",
	.description =
		"host-injected #MC inside the patcher's NMI handler, both calling through the live site: emulate, rollback",
	.min_cpus = 2,
	.default_iterations = 100000,
	.budget_ms = 800,
	.run = run,
};
