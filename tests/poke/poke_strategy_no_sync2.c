/*
 * poke_strategy_no_sync2: the mail's ablation ("the second sync we currently do is not
 * actually necessary per the hardware guys"): the int3 protocol without the sync between the
 * tail and the new first byte, under the poke_strategy_nmi load (NMIs on the patcher calling
 * the site, executors on the other CPUs), for emulate and rollback. Whether any call broke (a
 * torn or wrong target, a bad frame, an unexpected trap) is an observation of this platform,
 * never assumed either way. The invariant checker must see
 * every skipped sync (invariant 1: a write step with no sync after it), which makes this its
 * negative control for invariant 1; the other two invariants must hold. Rollback's
 * roll-forwards skip that sync by design in every run (forward_without_sync2).
 */
#include "tests/poke/poke_strategy.h"
#include "kernel/outcome.h"
#include "lib/printf.h"
#include "kernel/arch_rules.h"

static void skip_sync2(struct ps_config *cfg) { cfg->flags = POKE_SKIP_SYNC2; }

/* The ablation's observations, then its verdict (not ps_verdict_complete: damage may be seen). */
static enum exp_result check(struct exp_ctx *ctx, const struct ps_run *r, const char *p)
{
	const struct ps_results *res = &r->res;
	const struct poke_stats *st = &res->st;
	u64 calls = res->calls + res->events.calls;
	char name[64];
	ksnprintf(name, sizeof(name), "%sdamage_without_sync2", p);
	observation(name, ps_broken(r), calls);
	/* an int3 executed after the sync that removed it: TCG's stale translations show this
	 * with the full protocol too (poke_call_flip), so it is not attributed to the ablation */
	ksnprintf(name, sizeof(name), "%sstale_int3_without_sync2", p);
	observation(name, res->outcome[PO_STALE_BP] + res->events.outcome[PO_STALE_BP], calls);
	if (res->failed || st->sync_timeouts || !res->patches)
		return exp_fail(ctx, "%s: %lu pokes, %lu failed, %lu syncs timed out", p,
				res->patches, res->failed, st->sync_timeouts);
	if (st->inv_violations[INV_SET_EACH_EVENT] != st->batches)
		return exp_fail(ctx, "%s: invariant checker saw %lu skipped syncs in %lu pokes", p,
				st->inv_violations[INV_SET_EACH_EVENT], st->batches);
	if (st->inv_violations[INV_CLEAR_BEFORE_IRET] || st->inv_violations[INV_CLEARED_BY_HANDLER])
		return exp_fail(ctx, "%s: cpumask invariant 2 or 3 broken", p);
	if (!res->events.hit_int3[PW_DEPLOY] || !res->events.hit_int3[PW_TAIL])
		return exp_fail(ctx,
				"%s: positive control: no NMI hit the live int3 in the deploy "
				"(%lu) or tail (%lu) window",
				p, res->events.hit_int3[PW_DEPLOY], res->events.hit_int3[PW_TAIL]);
	return EXP_PASS;
}

/* emulate and rollback under the NMI load without the second sync; report_rate: broken calls */
static const struct ps_plan plan = { .load = LOAD_NMI,
				     .permille = 480,
				     .configure = skip_sync2,
				     .verdict = check,
				     .hits = ps_broken };

static enum exp_result run(struct exp_ctx *ctx) { return ps_run_strategies(ctx, &plan); }

EXPERIMENT(exp_poke_strategy_no_sync2) = {
	.order = EXP_ORDER(FAMILY_POKE, 170),
	.name = "poke_strategy_no_sync2",
	.description = "ablation: no second sync under NMIs on the patcher (emulate, rollback): damage seen?",
	.min_cpus = 2,
	.default_iterations = 100000,
	.budget_ms = 400,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(poke_strategy_no_sync2_rules) = {
	{ "poke_strategy_no_sync2", "*damage_without_sync2",
	  ON_INTEL(MODEL_SPECIFIC, SDM_XMC_UNSYNCED), ON_AMD(MODEL_SPECIFIC, SDM_XMC_UNSYNCED) },
	{ "poke_strategy_no_sync2", "*stale_int3_without_sync2",
	  ON_INTEL(NEVER, SDM_XMC), ON_AMD(NEVER, SDM_XMC) },
};
/* clang-format on */
