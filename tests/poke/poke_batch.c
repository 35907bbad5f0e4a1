/*
 * poke_batch: the batch-vs-single curve. At 1, 4, 16, 64 and 256 live call sites (the first
 * one crossing a page, the others poke_seq.S's batch sites), the patcher runs rounds under
 * the same executors: all the sites as one batch (three syncs), then up to 16 of them one at
 * a time (three syncs each), the next ones in turn. Each round gives the time per site of
 * both, so both sides meet the same host load; one `# batch_curve` line per point: the
 * medians over the rounds of the site patches/s of each side and of the rounds' ratios.
 * Every round must keep every call intact.
 *
 * What bounds the curve: a batch of N sites costs three syncs and 3N stores, a single poke
 * three syncs and three stores, so the ratio tends to N only while N stores cost little
 * beside three syncs. Each point prints the mean time per store of each write step
 * (`store_ns_per_site`); before the curve the boot CPU times a store into a site it has just
 * run against one into the same page's padding, never run, with every other CPU idle
 * (`# smc_store`). Under QEMU 7.2 TCG the first grows with the number of vCPUs and the
 * second does not (tests/poke/README.md gives the QEMU source).
 */
#include "patching/alias.h"
#include "tests/poke/poke.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/time.h"
#include "kernel/outcome.h"
#include "lib/printf.h"
#include "kernel/arch_rules.h"
#include "kernel/stats.h"

static const u32 curve[] = { 1, 4, 16, 64, 256 };
#define NPOINTS (sizeof(curve) / sizeof(curve[0]))
/* a point gets at least this share of the budget (a slow sync at smp 8 overruns earlier
 * points; each point completes at least one round) */
#define MIN_SHARE_PERMILLE 80
#define REPORTED_POINT 64 /* the point the summary line and the observation use */
#define SINGLES_PER_ROUND 16
#define MAX_ROUNDS 1024

static struct poke_run run_state;
static u64 rounds[2][MAX_ROUNDS], ratios[MAX_ROUNDS];

struct point {
	u64 batch_per_s, single_per_s, ratio100, nrounds;
	u64 sync_ns, store_ns; /* sync median; mean stores of one site (int3 + tail + first) */
};

#define SMC_SAMPLES 256
static u64 smc[2][SMC_SAMPLES];

/* TSC cycles of one store of the byte already at p, drained (MFENCE) before the clock is
 * read again: on hardware a store into fetched code clears the pipeline at that point. */
static u64 timed_store(volatile u8 *p)
{
	u64 t0 = rdtsc_ordered();
	*p = *p;
	__asm__ volatile("mfence" ::: "memory");
	return rdtsc_ordered() - t0;
}

/*
 * `# smc_store`: the boot CPU runs a quiet site (so its code has been fetched, or translated
 * under an emulator), stores into the same page's padding (int3 filler that never runs:
 * poke_seq.S), then the site's own first byte, through the alias.
 */
static void smc_store_probe(void)
{
	u64 site = POKE_BATCH_SITE(POKE_NBATCH_SITES - 1);
	volatile u8 *code = poke_alias_map(site), *pad = poke_alias_map(site + 64);
	if (!code || !pad) {
		diag("smc_store none: the site's page has no writable alias");
		return;
	}
	for (u32 i = 0; i < SMC_SAMPLES; i++) {
		struct poke_exec e = { .canary = i };
		poke_exec_run(&e, site);
		smc[0][i] = timed_store(pad);
		smc[1][i] = timed_store(code);
	}
	struct summary cold = summarize(smc[0], SMC_SAMPLES), live = summarize(smc[1], SMC_SAMPLES);
	diag("smc_store cpus=%u samples=%u run_code_median_ns=%lu padding_median_ns=%lu "
	     "run_code_p99_ns=%lu",
	     cpus_online(), SMC_SAMPLES, tsc_to_ns(live.median), tsc_to_ns(cold.median),
	     tsc_to_ns(live.p99));
}

static u64 per_s(u64 tsc) { return tsc ? muldiv64(1, 1000000000u, tsc_to_ns(tsc) + 1) : 0; }

/* Medians over the rounds: site patches/s of each side, and of the rounds' single/batch ratios */
static void summarize_rounds(const struct poke_run *r, struct point *pt)
{
	u32 n = r->nrounds;
	for (u32 i = 0; i < n; i++)
		ratios[i] = rounds[0][i] ? rounds[1][i] * 100 / rounds[0][i] : 0;
	pt->nrounds = n;
	pt->batch_per_s = n ? per_s(summarize(rounds[0], n).median) : 0;
	pt->single_per_s = n ? per_s(summarize(rounds[1], n).median) : 0;
	pt->ratio100 = n ? summarize(ratios, n).median : 0;
}

/* One point: nsites sites as one batch, then single pokes, in rounds; share in permille. */
static enum exp_result point(struct exp_ctx *ctx, u32 nsites, u64 share, struct point *pt)
{
	struct poke_run *r = &run_state;
	poke_run_init(r, ctx, share);
	r->nsites = nsites;
	r->sites[0] = PADDR(poke_xpage_site);
	for (u32 i = 1; i < nsites; i++)
		r->sites[i] = POKE_BATCH_SITE(i - 1);
	r->per_batch = nsites;
	r->singles_per_round = SINGLES_PER_ROUND;
	r->round_tsc[0] = rounds[0];
	r->round_tsc[1] = rounds[1];
	r->max_rounds = MAX_ROUNDS;
	r->bcast_probe = nsites == 1; /* the point reporting sync_vs_broadcast */
	if (!poke_run_exec(r))
		return exp_fail(ctx, "could not set up the sites or the target stubs");
	char prefix[24];
	ksnprintf(prefix, sizeof(prefix), "sites%u_", nsites);
	poke_run_report(ctx, r, prefix);
	summarize_rounds(r, pt);
	pt->sync_ns = tsc_to_ns(r->sync_median_tsc);
	for (u32 s = 0; s < PS_N; s++)
		pt->store_ns += poke_store_ns_per_site(&r->st, s);
	if (!r->nrounds)
		return exp_fail(ctx, "%u sites: no round of a batch and single pokes completed",
				nsites);
	/* few sites: the #BP may never be met in a short point */
	return poke_run_verdict(ctx, r, nsites >= 16);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	enum exp_result res = EXP_PASS;
	u64 broken = 0, calls = 0;
	struct point at = { 0 };
	u64 idle = poke_idle_sync_median_tsc();
	smc_store_probe();
	u64 deadline = rdtsc() + ctx->budget_tsc;
	for (u32 p = 0; p < NPOINTS; p++) {
		u32 n = curve[p];
		/* the rest of the budget split evenly over the points still to run (a round of
		 * 256 sites takes about as long as one of 64: its 16 single pokes dominate) */
		u64 now = rdtsc(), remain = (s64)(deadline - now) > 0 ? deadline - now : 0;
		u64 share = ctx->budget_tsc ? remain * 1000 / ctx->budget_tsc / (NPOINTS - p) : 0;
		struct point pt = { 0 };
		enum exp_result e = point(ctx, n, MAX(share, MIN_SHARE_PERMILLE), &pt);
		if (n == 1)
			poke_report_sync_vs_broadcast(&run_state, idle, "sites1_");
		broken += poke_bad_outcomes(&run_state);
		calls += run_state.calls;
		if (res == EXP_PASS)
			res = e;
		diag("batch_curve sites=%u single_per_s=%lu batch_per_s=%lu ratio=%lu.%02lu "
		     "rounds=%lu",
		     n, pt.single_per_s, pt.batch_per_s, pt.ratio100 / 100, pt.ratio100 % 100,
		     pt.nrounds);
		if (n == REPORTED_POINT)
			at = pt;
	}
	diag("sites=%u batch_site_patches_per_s=%lu single_site_patches_per_s=%lu ratio=%lu.%02lu "
	     "sync_median_ns=%lu store_ns_per_site=%lu",
	     REPORTED_POINT, at.batch_per_s, at.single_per_s, at.ratio100 / 100, at.ratio100 % 100,
	     at.sync_ns, at.store_ns);
	observation("broken_call", broken, calls);
	observation("batch_faster_than_single", at.ratio100 > 100, 1);
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
