/*
 * poke_jmp_nop: a 5-byte NOP flipped to `jmp rel32` and back under CPUs running through it.
 * Every pass must either fall through the NOP or arrive at the jmp target with the stack of a
 * jmp (nothing pushed), with no unexpected trap; #BP emulations must happen.
 */
#include "tests/poke/poke.h"
#include "kernel/outcome.h"

static struct poke_run run_state;

static enum exp_result run(struct exp_ctx *ctx)
{
	struct poke_run *r = &run_state;
	poke_run_init(r, ctx, 900);
	r->jmp_nop = true;
	r->sites[0] = PADDR(poke_jsite);
	if (!poke_run_exec(r))
		return exp_fail(ctx, "could not set up the site or the target stubs");
	poke_run_report(ctx, r, "");
	observation("broken_pass", poke_bad_outcomes(r), r->calls);
	observation("stale_int3_after_sync", r->outcome[PO_STALE_BP], r->calls);
	observation("both_paths_seen", r->outcome[PO_NOP] && r->outcome[PO_JMP], 1);
	observation("patch_with_bp_emulation", r->emulated_writes, r->writes);
	report_rate(ctx, r->patches, r->st.emul_jmp + r->st.emul_nop);
	return poke_run_verdict(ctx, r, true);
}

EXPERIMENT(exp_poke_jmp_nop) = {
	.order = EXP_ORDER(FAMILY_POKE, 20),
	.name = "poke_jmp_nop",
	.description = "5-byte NOP <-> jmp rel32 flipped under CPUs running through it",
	.min_cpus = 2,
	.default_iterations = 100000,
	.budget_ms = 700,
	.run = run,
};
