/*
 * poke_patcher_pairs: every online CPU takes a turn as the patcher (one live `call rel32` site
 * flipped with the int3 protocol) while every other one calls through the site, so every
 * ordered (patcher, executor) pair is exercised: the sync IPIs go from each CPU to each other,
 * the boot CPU executes and takes #BPs while an AP patches. One `# pair P->E` line per pair
 * (trials: E's calls in P's turn; hits: E's #BP emulations then). Every call of every turn
 * must land in one of the two targets with a real call frame, every write and sync succeed,
 * three syncs a batch; a pair whose executor met no int3 is flagged (zero_hits), not failed.
 */
#include "tests/poke/poke.h"
#include "arch/x86/smp.h"
#include "kernel/outcome.h"
#include "lib/printf.h"

static struct poke_run run_state;

struct totals { u64 patches, calls, broken, overlapped, emul, turns, pairs, pairs_hit; };

/* One patcher's turn: its pair lines and totals; NULL, or why the turn broke an invariant. */
static const char *turn(struct exp_ctx *ctx, u32 patcher, u64 share, struct totals *t)
{
	static char why[120];
	struct poke_run *r = &run_state;
	u64 before[MAX_CPUS];
	for_each_online_cpu(c)
		before[c] = poke_exec_calls(c);
	poke_run_init(r, ctx, share);
	r->patcher_cpu = patcher;
	if (!poke_run_exec(r))
		return "could not set up the site or the target stubs";
	t->turns++;
	for_each_online_cpu(e) {
		if (e == patcher)
			continue;
		u64 calls = poke_exec_calls(e) - before[e], emul = poke_cpu_emulations(e);
		diag("pair %u->%u trials=%lu hits=%lu%s", patcher, e, calls, emul,
		     emul ? "" : " zero_hits");
		t->pairs++;
		t->pairs_hit += emul != 0;
	}
	t->patches += r->patches;
	t->calls += r->calls;
	t->broken += poke_bad_outcomes(r);
	t->overlapped += r->overlapped;
	t->emul += r->st.emul_call + r->st.emul_jmp + r->st.emul_nop;
	const char *broke = poke_run_broken(r);
	if (!broke)
		return NULL;
	ksnprintf(why, sizeof(why), "patcher %u: %s", patcher, broke);
	return why;
}

static enum exp_result run(struct exp_ctx *ctx)
{
	struct totals t = { 0 };
	char failed[128] = ""; /* the first broken turn (turn()'s message buffer is reused) */
	u32 n = cpus_online();
	for_each_online_cpu(p) {
		const char *why = turn(ctx, p, 1000 / n, &t);
		if (why && !failed[0])
			ksnprintf(failed, sizeof(failed), "%s", why);
	}
	diag("pairs=%lu pairs_hit=%lu pairs_zero=%lu", t.pairs, t.pairs_hit, t.pairs - t.pairs_hit);
	diag("patcher_turns=%lu patches=%lu calls=%lu bp_emulations=%lu", t.turns, t.patches,
	     t.calls, t.emul);
	observation("broken_call", t.broken, t.calls);
	report_rate(ctx, t.patches, t.emul);
	if (failed[0])
		return exp_fail(ctx, "%s", failed);
	if (t.turns != n || t.pairs != (u64)n * (n - 1))
		return exp_fail(ctx, "%lu patcher turns and %lu pairs for %u CPUs", t.turns, t.pairs, n);
	if (!control("writes_racing_calls", t.overlapped))
		return exp_fail(ctx, "positive control: no write raced a call in flight");
	if (!control("bp_emulations", t.emul))
		return exp_fail(ctx, "positive control: no #BP was emulated in %lu patches", t.patches);
	return EXP_PASS;
}

EXPERIMENT(exp_poke_patcher_pairs) = {
	.order = EXP_ORDER(FAMILY_POKE, 200),
	.name = "poke_patcher_pairs",
	.description = "every CPU patches a live call site in turn while the others call it: every (patcher, executor) pair",
	.min_cpus = 2,
	.default_iterations = 100000,
	.budget_ms = 480,
	.run = run,
};
