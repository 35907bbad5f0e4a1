/*
 * poke_batch: the same 17 live call sites (one of them crossing a page) patched as one batch
 * per three syncs, then one site at a time (three syncs each), under the same executors:
 * site patches per second of each, and their ratio. Both must keep every call intact.
 */
#include "experiments/poke/poke.h"
#include "arch/x86/time.h"
#include "kernel/outcome.h"

#define NSITES (POKE_NCALL_SITES + 1)

static struct poke_run run_state;

static u64 rate(const struct poke_run *r)
{
	return muldiv64(r->patches, 1000000000u, tsc_to_ns(r->patch_tsc) + 1);
}

static enum exp_result phase(struct exp_ctx *ctx, u32 per_batch, const char *prefix, u64 *out)
{
	struct poke_run *r = &run_state;
	poke_run_init(r, ctx, 440);
	r->nsites = NSITES;
	for (u32 i = 0; i < POKE_NCALL_SITES; i++)
		r->sites[i] = poke_call_sites[i];
	r->sites[POKE_NCALL_SITES] = PADDR(poke_xpage_site);
	r->per_batch = per_batch;
	if (!poke_run_exec(r))
		return exp_fail(ctx, "could not set up the sites or the target stubs");
	poke_run_report(ctx, r, prefix);
	*out = rate(r);
	return poke_run_verdict(ctx, r, true);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	u64 batch_rate = 0, single_rate = 0;
	enum exp_result a = phase(ctx, NSITES, "batch_", &batch_rate);
	u64 broken = poke_bad_outcomes(&run_state), calls = run_state.calls;
	enum exp_result b = phase(ctx, 1, "single_", &single_rate);
	broken += poke_bad_outcomes(&run_state);
	calls += run_state.calls;
	u64 ratio100 = single_rate ? batch_rate * 100 / single_rate : 0;
	diag("sites=%u batch_site_patches_per_s=%lu single_site_patches_per_s=%lu ratio=%lu.%02lu",
	     NSITES, batch_rate, single_rate, ratio100 / 100, ratio100 % 100);
	observation("broken_call", broken, calls);
	observation("batch_faster_than_single", ratio100 > 100, 1);
	report_rate(ctx, calls, broken);
	return a != EXP_PASS ? a : b;
}

EXPERIMENT(exp_poke_batch) = {
	.order = EXP_ORDER(FAMILY_POKE, 30),
	.name = "poke_batch",
	.description = "17 live sites per batch (three syncs) vs one at a time: throughput ratio",
	.min_cpus = 2,
	.default_iterations = 1000000,
	.budget_ms = 1100,
	.run = run,
};
