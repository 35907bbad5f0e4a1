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
	observation("db_after_first_movss", k->pos[POS_NEXT], k->runs);
	/* where a #DB held past the first MOV SS comes: only runs where it was held count (none
	 * when every #DB comes right after the first MOV SS: Unreached, not Never) */
	u64 held = k->runs - k->pos[POS_NEXT] - k->pos[POS_NO_DB];
	observation("db_after_second_movss", k->pos[POS_AFTER], held);
	observation("db_after_nop", k->pos[POS_AFTER2], held);
	report_rate(ctx, mss_counts[0].runs, mss_counts[0].runs - mss_counts[0].pos[POS_NO_DB]);
	if (!control("db_fired", mss_counts[0].runs - mss_counts[0].pos[POS_NO_DB]))
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
ARCH_RULES(movss_consecutive_rules) = {
	{ "movss_consecutive", "db_after_first_movss", ARCH_NEVER, "SDM-3A-6.8.3" },
	{ "movss_consecutive", "db_after_second_movss", ARCH_ALLOWED, "SDM-2B-POP" },
	{ "movss_consecutive", "db_after_nop", ARCH_ALLOWED, "SDM-2B-POP" },
};
