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
#include "tests/poke/poke_strategy.h"

static const struct ps_plan plan = {
	.load = LOAD_NMI, .permille = 250, .spin = true, .vs_emulate = true
};

static enum exp_result run(struct exp_ctx *ctx) { return ps_run_strategies(ctx, &plan); }

EXPERIMENT(exp_poke_strategy_nmi) = {
	.order = EXP_ORDER(FAMILY_POKE, 130),
	.name = "poke_strategy_nmi",
	.description = "NMIs on the patcher hit the live int3: emulate, rollback, spin (must deadlock, detected)",
	.min_cpus = 2,
	.default_iterations = 100000,
	.budget_ms = 800,
	.run = run,
};
