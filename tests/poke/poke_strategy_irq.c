/*
 * poke_strategy_irq: the patching CPU (an AP) runs the int3 protocol with interrupts enabled,
 * and fixed IPIs fired at it with random gaps run an IRQ handler that calls through the site
 * being patched (the mail's "interrupts on the processor doing the patching"), while other
 * CPUs call it too; each strategy in turn, as poke_strategy_nmi. The patcher waits for its
 * syncs halted with interrupts enabled, so IRQs land in the deploy and tail windows; an IRQ
 * that spins in its #BP still answers the watchdog's sampling NMI (its RIP is printed).
 */
#include "tests/poke/poke_strategy.h"

static const struct ps_plan plan = {
	.load = LOAD_IRQ, .permille = 250, .spin = true, .vs_emulate = true
};

static enum exp_result run(struct exp_ctx *ctx) { return ps_run_strategies(ctx, &plan); }

EXPERIMENT(exp_poke_strategy_irq) = {
	.order = EXP_ORDER(FAMILY_POKE, 140),
	.name = "poke_strategy_irq",
	.description = "IRQs on the patcher (interrupts on) hit the live int3: emulate, rollback, spin (must deadlock)",
	.min_cpus = 2,
	.default_iterations = 100000,
	.budget_ms = 800,
	.run = run,
};
