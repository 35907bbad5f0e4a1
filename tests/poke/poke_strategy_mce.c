/*
 * poke_strategy_mce: the third asynchronous event of seed 004 (hpa: "we still have to deal
 * with #MC and what not"), a machine check on the patching CPU while the int3 is live. The
 * kernel cannot raise an asynchronous #MC itself (`int $18` enters the gate synchronously:
 * no bank status, no MCIP), so the patcher asks the host (kernel/hostreq.h: QEMU's monitor,
 * HMP `mce`, through the harness) right after writing the int3 and right after writing the
 * tail, and waits for the #MC: it arrives while the int3 is live, in the deploy or the tail
 * window. Its handler clears the bank and MCIP, then calls through the site being patched,
 * as poke_strategy_nmi's NMI handler does. Each strategy in turn (poke_strategy_verdict.c):
 * emulate and rollback must complete with every call intact, with machine checks in both
 * windows; spin must deadlock in its own #BP inside the #MC handler (`patcher context=mce`),
 * and the watchdog's probe must find it and end it. Without a host answering (a real machine,
 * a lab board) it skips: nothing raised the #MC.
 */
#include "tests/poke/poke_strategy.h"

static const struct ps_plan plan = {
	.load = LOAD_MCE,
	.permille = 250,
	.spin = true,
	.vs_emulate = false, /* a poke's time holds the host's round trips for its #MCs */
};

static enum exp_result run(struct exp_ctx *ctx)
{
	bool skipped;
	return ps_run_mce_strategies(ctx, &plan, &skipped);
}

EXPERIMENT(exp_poke_strategy_mce) = {
	.order = EXP_ORDER(FAMILY_POKE, 160),
	.name = "poke_strategy_mce",
	.description =
		"host-injected #MC on the patcher right after each write step, the int3 live: emulate, rollback, spin (must deadlock, detected)",
	.min_cpus = 2,
	.default_iterations = 100000,
	.budget_ms = 800,
	.run = run,
};
