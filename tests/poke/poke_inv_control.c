/*
 * poke_inv_control: negative control of the run-time check of hpa's cpumask invariants 2 and
 * 3. The sync IPI handler is made not to clear its bit (POKE_IPI_NO_ACK) and the executors
 * clear it from thread context instead, before each call through the live site: no IRET
 * follows that clear before the CPU reaches the poked instruction (invariant 2), and the bit
 * was cleared by neither the IPI nor the #BP handler (invariant 3). The checker must report
 * both, with a CPU and a phase; the experiment passes exactly when it did.
 */
#include "tests/poke/poke_strategy.h"
#include "kernel/outcome.h"
#include "kernel/arch_rules.h"

static struct ps_run run_state;

static enum exp_result run(struct exp_ctx *ctx)
{
	struct ps_run *r = &run_state;
	ps_init(r, ctx, POKE_EMULATE, 900);
	r->cfg.flags = POKE_IPI_NO_ACK;
	if (!ps_exec(r))
		return exp_fail(ctx, "could not set up the site, the stubs or the engine");
	ps_report(r, "");
	u64 v2 = r->res.st.inv_violations[INV_CLEAR_BEFORE_IRET];
	u64 v3 = r->res.st.inv_violations[INV_CLEARED_BY_HANDLER];
	observation("thread_clear_detected", v2 ? 1 : 0, 1);
	observation("clear_outside_handlers_detected", v3 ? 1 : 0, 1);
	report_rate(ctx, r->res.st.syncs, v2 + v3);
	if (!r->res.patches || !r->res.calls || r->res.st.sync_timeouts)
		return exp_fail(ctx, "nothing ran: %lu pokes, %lu calls, %lu syncs timed out",
				r->res.patches, r->res.calls, r->res.st.sync_timeouts);
	if (!v2 || !v3)
		return exp_fail(ctx, "negative control: the checker missed it (invariant 2: %lu, "
				"invariant 3: %lu violations)", v2, v3);
	return EXP_PASS;
}

EXPERIMENT(exp_poke_inv_control) = {
	.order = EXP_ORDER(FAMILY_POKE, 190),
	.name = "poke_inv_control",
	.description = "negative control: sync bits cleared in thread context must be reported as invariant 2/3 violations",
	.min_cpus = 2,
	.default_iterations = 100000,
	.budget_ms = 150,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(poke_inv_control_rules) = {
	{ "poke_inv_control", "broken_call", ON_INTEL(NEVER, SDM_XMC), ON_AMD(NEVER, SDM_XMC) },
	{ "poke_inv_control", "*_detected", CONTROL },
};
/* clang-format on */
