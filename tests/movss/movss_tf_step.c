/*
 * movss_tf_step: TF set, then mov ss, ax; nop; nop at CPL 0 and 3. MOV SS holds the single-step
 * trap for one instruction, so the first #DB should come after the nop, not after mov ss.
 */
#include "arch/x86/debugreg.h"
#include "kernel/ktap.h"
#include "kernel/outcome.h"
#include "lib/lib.h"
#include "lib/printf.h"
#include "tests/movss/movss.h"
#include "kernel/arch_rules.h"

extern const char mk_tf[], mk_tf_movss[], mk_tf_next[], mk_tf_after[], mk_tf_after2[];
extern const char mu_tf[], mu_tf_movss[], mu_tf_next[], mu_tf_after[], mu_tf_after2[];

static const struct mss_case tf_cases[] = {
	{ "mk_tf", false, mk_tf, mk_tf_movss, mk_tf_next, mk_tf_after, mk_tf_after2, 0 },
	{ "mu_tf", true, mu_tf, mu_tf_movss, mu_tf_next, mu_tf_after, mu_tf_after2, 0 },
};

static enum exp_result run_tf(struct exp_ctx *ctx)
{
	if (!mss_user_ready())
		return exp_fail(ctx, "no user region for the ring-3 case");
	mss_run_cases(tf_cases, 2, DR6_RESET, ctx);
	for (u32 i = 0; i < 2; i++) {
		char obs[40];
		u64 stepped = mss_counts[i].runs - mss_counts[i].pos[POS_NO_DB]; /* a #DB came */
		ksnprintf(obs, sizeof(obs), "%s_step_after_next", tf_cases[i].name);
		observation(obs, mss_counts[i].pos[POS_AFTER], stepped);
		ksnprintf(obs, sizeof(obs), "%s_step_after_movss", tf_cases[i].name);
		observation(obs, mss_counts[i].pos[POS_NEXT], stepped);
	}
	report_rate(ctx, mss_total_runs(2), mss_total_runs(2));
	u64 lost = mss_counts[0].pos[POS_NO_DB] + mss_counts[1].pos[POS_NO_DB];
	if (!control("single_step_db", mss_total_runs(2) - lost))
		return exp_fail(ctx, "positive control: no single-step #DB");
	if (lost)
		return exp_fail(ctx, "%lu single steps raised no #DB", lost);
	return EXP_PASS;
}

EXPERIMENT(exp_movss_tf_step) = {
	.order = EXP_ORDER(FAMILY_MOVSS, 20),
	.name = "movss_tf_step",
	.description = "TF set, mov ss, ax; nop; nop at CPL 0 and 3: after which instruction is the first #DB",
	.min_cpus = 1,
	.default_iterations = 20,
	.run = run_tf,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(movss_tf_step_rules) = {
	{ "movss_tf_step", "*_step_after_next",
	  ON_INTEL(ALWAYS, SDM_MOVSS_STEP), ON_AMD(ALWAYS, SDM_MOVSS_STEP) },
	{ "movss_tf_step", "*_step_after_movss",
	  ON_INTEL(NEVER, SDM_MOVSS_STEP), ON_AMD(NEVER, SDM_MOVSS_STEP) },
};
/* clang-format on */
