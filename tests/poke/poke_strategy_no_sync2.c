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

static struct ps_run run_state;

static enum exp_result check(struct exp_ctx *ctx, const struct ps_run *r, const char *p)
{
	char name[64];
	ksnprintf(name, sizeof(name), "%sdamage_without_sync2", p);
	observation(name, ps_broken(r), r->calls + r->ev_calls);
	/* an int3 executed after the sync that removed it: TCG's stale translations show this
	 * with the full protocol too (poke_call_flip), so it is not attributed to the ablation */
	ksnprintf(name, sizeof(name), "%sstale_int3_without_sync2", p);
	observation(name, r->outcome[PO_STALE_BP] + r->ev_out[PO_STALE_BP], r->calls + r->ev_calls);
	if (r->failed || r->st.sync_timeouts || !r->patches)
		return exp_fail(ctx, "%s: %lu pokes, %lu failed, %lu syncs timed out", p, r->patches,
				r->failed, r->st.sync_timeouts);
	if (r->st.inv_violations[INV_SET_EACH_EVENT] != r->st.batches)
		return exp_fail(ctx, "%s: invariant checker saw %lu skipped syncs in %lu pokes", p,
				r->st.inv_violations[INV_SET_EACH_EVENT], r->st.batches);
	if (r->st.inv_violations[INV_CLEAR_BEFORE_IRET] || r->st.inv_violations[INV_CLEARED_BY_HANDLER])
		return exp_fail(ctx, "%s: cpumask invariant 2 or 3 broken", p);
	if (!r->ev_hit[PW_DEPLOY] || !r->ev_hit[PW_TAIL])
		return exp_fail(ctx, "%s: positive control: no NMI hit the live int3 in the deploy "
				"(%lu) or tail (%lu) window", p, r->ev_hit[PW_DEPLOY], r->ev_hit[PW_TAIL]);
	return EXP_PASS;
}

static enum exp_result run(struct exp_ctx *ctx)
{
	struct ps_run *r = &run_state;
	enum exp_result v = EXP_PASS;
	u64 pokes = 0, broken = 0;
	if (!ps_selected(POKE_EMULATE) && !ps_selected(POKE_ROLLBACK))
		return exp_skip(ctx, "poke= selects neither emulate nor rollback");
	for (u32 s = POKE_EMULATE; s <= POKE_ROLLBACK; s++) {
		if (!ps_selected(s))
			continue;
		const char *p = s == POKE_EMULATE ? "emulate_" : "rollback_";
		ps_init(r, ctx, s, 480);
		r->load = LOAD_NMI;
		r->flags = POKE_SKIP_SYNC2;
		if (!ps_exec(r))
			return exp_fail(ctx, "%s: could not set up the site, the stubs or the engine", p);
		ps_report(r, p);
		enum exp_result w = check(ctx, r, p);
		v = v == EXP_PASS ? w : v;
		pokes += r->patches;
		broken += ps_broken(r);
	}
	report_rate(ctx, pokes, broken);
	return v;
}

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
