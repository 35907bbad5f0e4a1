/*
 * poke_call_flip: every other CPU calls through one live `call rel32` site in a tight loop
 * while the patcher flips its target between two functions as fast as the int3 protocol
 * allows. Every call must land in exactly one of the two targets with the return address and
 * stack of a real call (canary intact), with no unexpected trap; #BP emulations must happen.
 */
#include "tests/poke/poke.h"
#include "kernel/outcome.h"

static struct poke_run run_state;

static enum exp_result run(struct exp_ctx *ctx)
{
	struct poke_run *r = &run_state;
	u64 idle = poke_idle_sync_median_tsc();
	poke_run_init(r, ctx, 900);
	r->bcast_probe = true;
	if (!poke_run_exec(r))
		return exp_fail(ctx, "could not set up the site or the target stubs");
	poke_run_report(ctx, r, "");
	poke_report_sync_vs_broadcast(r, idle, "");
	observation("broken_call", poke_bad_outcomes(r), r->calls);
	observation("stale_int3_after_sync", r->outcome[PO_STALE_BP], r->calls);
	observation("both_targets_seen", r->outcome[PO_A] && r->outcome[PO_B], 1);
	observation("patch_with_bp_emulation", r->emulated_writes, r->writes);
	report_rate(ctx, r->patches, r->st.emul_call);
	return poke_run_verdict(ctx, r, true);
}

EXPERIMENT(exp_poke_call_flip) = {
	.order = EXP_ORDER(FAMILY_POKE, 10),
	.name = "poke_call_flip",
	.description = "call rel32 target flipped under CPUs calling through it: old or new target, real call frame",
	.min_cpus = 2,
	.default_iterations = 100000,
	.budget_ms = 900,
	.run = run,
};
