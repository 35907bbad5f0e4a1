/*
 * poke_batch: the batch-vs-single curve. At 1, 4, 16, 64 and 256 live call sites (the first
 * one crossing a page, the others poke_seq.S's batch sites), the sites are patched as one
 * batch per three syncs, then one site at a time (three syncs each), under the same
 * executors: site patches per second of each and their ratio, one `# batch_curve` line per
 * point. Every phase must keep every call intact.
 */
#include "tests/poke/poke.h"
#include "arch/x86/cpu.h"
#include "arch/x86/time.h"
#include "kernel/outcome.h"
#include "lib/printf.h"
#include "kernel/arch_rules.h"

static const u32 curve[] = { 1, 4, 16, 64, 256 };
#define NPOINTS (sizeof(curve) / sizeof(curve[0]))
/* a phase gets at least this share of the budget (a slow sync at smp 8 overruns earlier
 * phases; each phase completes at least one batch or one site) */
#define MIN_SHARE_PERMILLE 40
#define REPORTED_POINT 64 /* the point the summary line and the observation use */

static struct poke_run run_state;

static u64 rate(const struct poke_run *r)
{
	return muldiv64(r->patches, 1000000000u, tsc_to_ns(r->patch_tsc) + 1);
}

/* One phase: nsites sites, per_batch at a time; share of the remaining budget in permille. */
static enum exp_result phase(struct exp_ctx *ctx, u32 nsites, u32 per_batch, u64 share,
			     const char *prefix, u64 *out)
{
	struct poke_run *r = &run_state;
	poke_run_init(r, ctx, share);
	r->nsites = nsites;
	r->sites[0] = PADDR(poke_xpage_site);
	for (u32 i = 1; i < nsites; i++)
		r->sites[i] = POKE_BATCH_SITE(i - 1);
	r->per_batch = per_batch;
	r->bcast_probe = nsites == 1 && per_batch == 1; /* the phase reporting sync_vs_broadcast */
	if (!poke_run_exec(r))
		return exp_fail(ctx, "could not set up the sites or the target stubs");
	poke_run_report(ctx, r, prefix);
	*out = rate(r);
	/* one site per batch with few sites: the #BP may never be met in a short phase */
	return poke_run_verdict(ctx, r, nsites >= 16);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	enum exp_result res = EXP_PASS;
	u64 broken = 0, calls = 0, ratio_at = 0, batch_at = 0, single_at = 0;
	u64 idle = poke_idle_sync_median_tsc();
	u64 deadline = rdtsc() + ctx->budget_tsc;
	for (u32 p = 0; p < NPOINTS; p++) {
		u32 n = curve[p];
		u64 rates[2] = { 0, 0 };
		for (u32 mode = 0; mode < 2; mode++) {
			/* the rest of the budget split evenly over the phases still to run */
			u64 left = 2 * (NPOINTS - p) - mode;
			u64 now = rdtsc(), remain = (s64)(deadline - now) > 0 ? deadline - now : 0;
			u64 share = ctx->budget_tsc ? remain * 1000 / ctx->budget_tsc / left : 0;
			share = MAX(share, MIN_SHARE_PERMILLE);
			char prefix[24];
			ksnprintf(prefix, sizeof(prefix), "%s%u_", mode ? "single" : "batch", n);
			enum exp_result e = phase(ctx, n, mode ? 1 : n, share, prefix,
						  &rates[mode]);
			if (mode && n == 1)
				poke_report_sync_vs_broadcast(&run_state, idle, prefix);
			broken += poke_bad_outcomes(&run_state);
			calls += run_state.calls;
			if (res == EXP_PASS)
				res = e;
		}
		u64 ratio100 = rates[1] ? rates[0] * 100 / rates[1] : 0;
		diag("batch_curve sites=%u single_per_s=%lu batch_per_s=%lu ratio=%lu.%02lu", n,
		     rates[1], rates[0], ratio100 / 100, ratio100 % 100);
		if (n == REPORTED_POINT) {
			ratio_at = ratio100;
			batch_at = rates[0];
			single_at = rates[1];
		}
	}
	diag("sites=%u batch_site_patches_per_s=%lu single_site_patches_per_s=%lu ratio=%lu.%02lu",
	     REPORTED_POINT, batch_at, single_at, ratio_at / 100, ratio_at % 100);
	observation("broken_call", broken, calls);
	observation("batch_faster_than_single", ratio_at > 100, 1);
	report_rate(ctx, calls, broken);
	return res;
}

EXPERIMENT(exp_poke_batch) = {
	.order = EXP_ORDER(FAMILY_POKE, 30),
	.name = "poke_batch",
	.description = "1..256 live sites per batch (three syncs) vs one at a time: the throughput curve",
	.min_cpus = 2,
	.default_iterations = 1000000,
	.budget_ms = 1100,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(poke_batch_rules) = {
	{ "poke_batch", "batch_faster_than_single", CONTROL },
};
/* clang-format on */
