/*
 * movss_consecutive: mov ss; mov ss; nop with a data breakpoint on the operand. Only the first
 * of consecutive shadowing instructions is guaranteed to delay events: does the second one
 * extend the shadow (the #DB after the nop) or not (after the second mov ss)?
 */
#include "arch/x86/debugreg.h"
#include "kernel/ktap.h"
#include "kernel/outcome.h"
#include "lib/lib.h"
#include "lib/printf.h"
#include "tests/movss/movss.h"
#include "kernel/arch_rules.h"

extern const char mk_twice[], mk_twice_movss[], mk_twice_next[], mk_twice_after[],
	mk_twice_after2[];

static const struct mss_case twice_case = { "mk_twice", false, mk_twice, mk_twice_movss,
					   mk_twice_next, mk_twice_after, mk_twice_after2, 0 };

static enum exp_result run_twice(struct exp_ctx *ctx)
{
	mss_run_cases(&twice_case, 1, DR6_RESET, ctx);
	const struct mss_counts *k = &mss_counts[0];
	u64 fired = k->runs - k->pos[POS_NO_DB];
	/* where a #DB that fired came; where one held past the first MOV SS came (none held:
	 * Unreached) */
	observation("db_after_first_movss", k->pos[POS_NEXT], fired);
	observation("db_after_second_movss", k->pos[POS_AFTER], fired - k->pos[POS_NEXT]);
	observation("db_after_nop", k->pos[POS_AFTER2], fired - k->pos[POS_NEXT]);
	report_rate(ctx, k->runs, fired);
	if (!control("db_fired", fired))
		return exp_fail(ctx, "positive control: the data breakpoint never fired");
	return EXP_PASS;
}

EXPERIMENT(exp_movss_consecutive) = {
	.order = EXP_ORDER(FAMILY_MOVSS, 30),
	.name = "movss_consecutive",
	.description = "mov ss; mov ss; nop with a data breakpoint: does the second mov ss extend the shadow",
	.min_cpus = 1,
	.default_iterations = 20,
	.run = run_twice,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(movss_consecutive_rules) = {
	{ "movss_consecutive", "db_after_first_movss",
	  ON_INTEL(NEVER, SDM_MOVSS_DATA_BP), ON_AMD(NEVER, SDM_MOVSS_DATA_BP) },
	{ "movss_consecutive", "db_after_second_movss",
	  ON_INTEL(ALLOWED, SDM_SHADOW_SEQUENCE), ON_AMD(ALLOWED, SDM_SHADOW_SEQUENCE) },
	{ "movss_consecutive", "db_after_nop",
	  ON_INTEL(ALLOWED, SDM_SHADOW_SEQUENCE), ON_AMD(ALLOWED, SDM_SHADOW_SEQUENCE) },
};
/* clang-format on */
