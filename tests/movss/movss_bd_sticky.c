/*
 * movss_bd_sticky: DR6.BD left set by earlier code, then the mov ss breakpoint plus int3 (the
 * XSA-265 shape: a #DB handler that trusts DR6 sees a stale BD). The processor never clears
 * DR6's BD bit itself, so the #DB in the int3 handler should still show it.
 */
#include "arch/x86/debugreg.h"
#include "kernel/ktap.h"
#include "kernel/outcome.h"
#include "lib/lib.h"
#include "lib/printf.h"
#include "tests/movss/movss.h"
#include "kernel/arch_rules.h"

extern const char mk_int3[], mk_int3_movss[], mk_int3_next[], mk_int3_after[];
extern const char mu_int3[], mu_int3_movss[], mu_int3_next[], mu_int3_after[];
extern const char mk_nop[], mk_nop_movss[], mk_nop_next[], mk_nop_after[];

/* the third case is the probe: the same breakpoint before a nop, where nothing can drop its #DB */
static const struct mss_case bd_cases[] = {
	{ "mk_int3", false, mk_int3, mk_int3_movss, mk_int3_next, mk_int3_after, NULL, VEC_BP },
	{ "mu_int3", true, mu_int3, mu_int3_movss, mu_int3_next, mu_int3_after, NULL, VEC_BP },
	{ "mk_nop", false, mk_nop, mk_nop_movss, mk_nop_next, mk_nop_after, NULL, 0 },
};

static enum exp_result run_bd(struct exp_ctx *ctx)
{
	if (!mss_user_ready())
		return exp_fail(ctx, "no user region for the ring-3 case");
	mss_run_cases(bd_cases, 3, DR6_RESET | DR6_BD, ctx);
	/* of the runs whose data-breakpoint #DB fired */
	u64 fired0 = mss_counts[0].runs - mss_counts[0].pos[POS_NO_DB];
	u64 fired1 = mss_counts[1].runs - mss_counts[1].pos[POS_NO_DB];
	u64 probe = mss_counts[2].runs - mss_counts[2].pos[POS_NO_DB];
	observation("mk_int3_bd_still_set", mss_counts[0].bd_seen, fired0);
	observation("mu_int3_bd_still_set", mss_counts[1].bd_seen, fired1);
	observation("mk_int3_db_in_handler_with_bd", mss_counts[0].pos[POS_HANDLER], fired0);
	report_rate(ctx, mss_total_runs(2), mss_counts[0].bd_seen + mss_counts[1].bd_seen);
	if (!probe)
		return exp_skip(ctx, "no hardware data breakpoints: a watched mov ss before a nop "
				"raised no #DB in %lu runs", mss_counts[2].runs);
	control("probe_db_fired_before_nop", probe);
	if (!fired0 && !fired1) /* Bochs: cpu/exception.cc drops the held #DB on delivery */
		return exp_skip(ctx, "mov ss's held #DB is dropped when int3 follows (%lu/%lu fired "
				"before a nop, 0/%lu before int3)", probe, mss_counts[2].runs,
				mss_total_runs(2));
	u64 no_db = mss_counts[0].pos[POS_NO_DB] + mss_counts[1].pos[POS_NO_DB];
	if (!control("db_fired", mss_total_runs(2) - no_db) || no_db)
		return exp_fail(ctx, "positive control: %lu runs raised no data-breakpoint #DB", no_db);
	return EXP_PASS;
}

EXPERIMENT(exp_movss_bd_sticky) = {
	.order = EXP_ORDER(FAMILY_MOVSS, 40),
	.name = "movss_bd_sticky",
	.description = "DR6.BD left set, then the mov ss breakpoint plus int3 (the XSA-265 shape)",
	.min_cpus = 1,
	.default_iterations = 10,
	.run = run_bd,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(movss_bd_sticky_rules) = {
	{ "movss_bd_sticky", "*_bd_still_set",
	  ON_INTEL(ALWAYS, SDM_DR6_STICKY), ON_AMD(ALWAYS, SDM_DR6_STICKY) },
	{ "movss_bd_sticky", "*_db_in_handler_with_bd",
	  ON_INTEL(ALLOWED, SDM_MOVSS_DATA_BP), ON_AMD(ALLOWED, SDM_MOVSS_DATA_BP) },
};
/* clang-format on */
