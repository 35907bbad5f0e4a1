/*
 * movss_db_next: a data breakpoint on the MOV SS / POP SS operand, then one of nop, int3, int n,
 * icebp, a #UD, a #PF, cli or (ring 3) syscall, at CPL 0 and 3, plus POP SS in compatibility
 * mode. Where is the #DB the load raised delivered: at the next instruction, inside the handler
 * the next instruction entered (the CVE-2018-8897 class: a #DB on the first instruction of an
 * int3 / syscall handler, with user GS), or never? A plain load of the variable is the control
 * whose #DB is not held. Each trial's ordered events (vector, where by label, CPL, DR6, GS) form
 * a signature, tallied per case (movss_cases.c).
 */
#include "arch/x86/debugreg.h"
#include "kernel/ktap.h"
#include "kernel/outcome.h"
#include "lib/lib.h"
#include "lib/printf.h"
#include "tests/movss/movss.h"
#include "tests/movss/db_next_classify.h"
#include "kernel/arch_rules.h"

#define L(n) extern const char n[], n##_movss[], n##_next[], n##_after[]
L(mk_nop); L(mk_int3); L(mk_intn); L(mk_icebp); L(mk_ud); L(mk_pf); L(mk_cli); L(mk_load);
L(mu_nop); L(mu_int3); L(mu_intn); L(mu_icebp); L(mu_ud); L(mu_pf); L(mu_cli); L(mu_syscall);
L(mu_popss_nop); L(mu_popss_int3);
#define C(n, user, vec) { #n, user, n, n##_movss, n##_next, n##_after, NULL, vec }

static const struct mss_case db_cases[] = {
	C(mk_nop, false, 0), C(mk_int3, false, VEC_BP), C(mk_intn, false, 0xe8),
	C(mk_icebp, false, VEC_DB), C(mk_ud, false, VEC_UD), C(mk_pf, false, VEC_PF),
	C(mk_cli, false, 0), C(mk_load, false, VEC_BP),
	C(mu_nop, true, 0), C(mu_int3, true, VEC_BP), C(mu_intn, true, 0xe8),
	C(mu_icebp, true, VEC_DB), C(mu_ud, true, VEC_UD), C(mu_pf, true, VEC_PF),
	C(mu_cli, true, VEC_GP), C(mu_syscall, true, VEC_SYSCALL),
	C(mu_popss_nop, true, 0), C(mu_popss_int3, true, VEC_BP),
};
_Static_assert(ARRAY_SIZE(db_cases) <= MSS_MAX_CASES, "movss_db_next: too many cases");

static enum exp_result run_db_next(struct exp_ctx *ctx)
{
	if (!mss_user_ready())
		return exp_fail(ctx, "no user region for the ring-3 cases");
	u32 n = ARRAY_SIZE(db_cases), load = 7, nop = 0, syscall = 15;
	mss_run_cases(db_cases, n, DR6_RESET, ctx);
	u64 fired = 0;
	for (u32 i = 0; i < n; i++)
		fired += mss_counts[i].runs - mss_counts[i].pos[POS_NO_DB];
	for (u32 i = 0; i < n; i++) {
		const char *name = db_cases[i].name;
		char obs[48];
		struct db_next_obs o = db_next_observe(mss_counts[i].pos, mss_counts[i].runs,
							fired != 0);
		ksnprintf(obs, sizeof(obs), "%s_db_at_next", name);
		observation(obs, o.at_next, o.trials);
		if (db_cases[i].next_vector && db_cases[i].next_vector != VEC_DB) {
			ksnprintf(obs, sizeof(obs), "%s_db_in_handler", name);
			observation(obs, o.in_handler, o.trials);
		}
		ksnprintf(obs, sizeof(obs), "%s_db_held", name);
		observation(obs, o.held, o.trials);
		ksnprintf(obs, sizeof(obs), "%s_db_lost", name);
		observation(obs, o.lost, o.trials);
	}
	/* of the #DBs delivered at the SYSCALL entry (none where the #DB is never held) */
	observation("mu_syscall_db_with_user_gs", mss_counts[syscall].handler_user_gs,
		    mss_counts[syscall].pos[POS_HANDLER]);
	/* ICEBP (INT1) must raise #DB; a #UD means the opcode was not decoded as INT1 at all */
	for (u32 i = 0; i < n; i++)
		if (db_cases[i].fn == mk_icebp || db_cases[i].fn == mu_icebp) {
			char obs[48];
			ksnprintf(obs, sizeof(obs), "%s_raised_ud", db_cases[i].name);
			observation(obs, mss_counts[i].ud_seen, mss_counts[i].runs);
		}
	report_rate(ctx, mss_total_runs(n), fired);
	/* positive controls: the breakpoint fires after mov ss, and a plain load's #DB is seen */
	control("db_fired_after_movss", fired - (mss_counts[load].runs - mss_counts[load].pos[POS_NO_DB]));
	control("db_at_next_after_plain_load", mss_counts[load].pos[POS_NEXT]);
	/*
	 * One subtest per variant. Where the #DB lands is an observation, not a verdict; a variant
	 * fails when its trials did not all run and classify (every CPU, every iteration), and the
	 * two controls also when they miss: the breakpoint must fire after `mov ss; nop` at least
	 * once, and a plain load's #DB must come at the next instruction every time.
	 */
	struct ktap_sub sub;
	ktap_sub_begin(&sub, n);
	for (u32 i = 0; i < n; i++) {
		u64 r = mss_counts[i].runs, want = ctx->iterations * ctx->ncpus;
		ktap_sub_diag(&sub, "runs=%lu db_next=%lu db_handler=%lu db_lost=%lu", r,
			      mss_counts[i].pos[POS_NEXT], mss_counts[i].pos[POS_HANDLER], mss_counts[i].pos[POS_NO_DB]);
		const char *why = NULL;
		if (r != want)
			why = "not every trial ran";
		else if (i == nop && mss_counts[nop].pos[POS_NO_DB] == r)
			why = "positive control: the data breakpoint never fired";
		else if (i == load && mss_counts[load].pos[POS_NEXT] != r)
			why = "control: a plain load's #DB was not at the next instruction";
		ktap_sub_result(&sub, why ? EXP_FAIL : EXP_PASS, why, "%s", db_cases[i].name);
	}
	ktap_sub_end(&sub);
	if (mss_counts[nop].runs && mss_counts[nop].pos[POS_NO_DB] == mss_counts[nop].runs)
		return exp_fail(ctx, "positive control: the data breakpoint never fired after mov ss; nop");
	if (mss_counts[load].pos[POS_NEXT] != mss_counts[load].runs)
		return exp_fail(ctx, "control: a plain load's #DB was not delivered at the next instruction");
	return EXP_PASS;
}

EXPERIMENT(exp_movss_db_next) = {
	.order = EXP_ORDER(FAMILY_MOVSS, 10),
	.name = "movss_db_next",
	.description = "data breakpoint on the mov ss / pop ss operand, then nop/int3/int n/icebp/#UD/#PF/cli/syscall at CPL 0 and 3",
	.min_cpus = 1,
	.default_iterations = 10,
	.run = run_db_next,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(movss_db_next_rules) = {
	/* the control: a plain load's data-breakpoint #DB is a trap right after the load */
	{ "movss_db_next", "mk_load_db_at_next",
	  ON_INTEL(ALWAYS, SDM_DB_DATA_TRAP), ON_AMD(ALWAYS, SDM_DB_DATA_TRAP) },
	{ "movss_db_next", "mk_load_db_*",
	  ON_INTEL(NEVER, SDM_DB_DATA_TRAP), ON_AMD(NEVER, SDM_DB_DATA_TRAP) },
	/* every MOV SS / POP SS case: the #DB never comes before the next instruction ran */
	{ "movss_db_next", "*_db_at_next",
	  ON_INTEL(NEVER, SDM_MOVSS_DATA_BP), ON_AMD(NEVER, SDM_MOVSS_DATA_BP) },
	/*
	 * The next instruction faults (#UD, #PF, CLI's #GP at CPL 3) or is ICEBP (a privileged
	 * software exception): its delivery leaves no pending #DB, so it is lost, never delivered
	 * later (Linux's mov_ss_trap.c: "Any fault: drop the pending #DB trap").
	 */
	{ "movss_db_next", "*_ud_db_lost",
	  ON_INTEL(ALLOWED, SDM_DB_LOST), ON_AMD(ALLOWED, SDM_DB_LOST) },
	{ "movss_db_next", "*_pf_db_lost",
	  ON_INTEL(ALLOWED, SDM_DB_LOST), ON_AMD(ALLOWED, SDM_DB_LOST) },
	{ "movss_db_next", "*_icebp_db_lost",
	  ON_INTEL(ALLOWED, SDM_DB_LOST), ON_AMD(ALLOWED, SDM_DB_LOST) },
	{ "movss_db_next", "mu_cli_db_lost",
	  ON_INTEL(ALLOWED, SDM_DB_LOST), ON_AMD(ALLOWED, SDM_DB_LOST) },
	{ "movss_db_next", "*_ud_db_*",
	  ON_INTEL(NEVER, SDM_DB_DROPPED), ON_AMD(NEVER, SDM_DB_DROPPED) },
	{ "movss_db_next", "*_pf_db_*",
	  ON_INTEL(NEVER, SDM_DB_DROPPED), ON_AMD(NEVER, SDM_DB_DROPPED) },
	{ "movss_db_next", "*_icebp_db_*",
	  ON_INTEL(NEVER, SDM_DB_DROPPED), ON_AMD(NEVER, SDM_DB_DROPPED) },
	{ "movss_db_next", "mu_cli_db_*",
	  ON_INTEL(NEVER, SDM_DB_DROPPED), ON_AMD(NEVER, SDM_DB_DROPPED) },
	/* nop, cli at CPL 0, int3, int n, syscall: the #DB comes after the next instruction, on
	 * the first instruction of the handler it entered or after it */
	{ "movss_db_next", "*_db_in_handler",
	  ON_INTEL(ALLOWED, SDM_MOVSS_DATA_BP), ON_AMD(ALLOWED, SDM_MOVSS_DATA_BP) },
	{ "movss_db_next", "*_db_held",
	  ON_INTEL(ALWAYS, SDM_MOVSS_DATA_BP), ON_AMD(ALWAYS, SDM_MOVSS_DATA_BP) },
	{ "movss_db_next", "*_db_lost",
	  ON_INTEL(NEVER, SDM_MOVSS_DATA_BP), ON_AMD(NEVER, SDM_MOVSS_DATA_BP) },
	/* a #DB on the SYSCALL entry's first instruction runs before SWAPGS could */
	{ "movss_db_next", "mu_syscall_db_with_user_gs",
	  ON_INTEL(ALWAYS, SDM_SYSCALL_GS), ON_AMD(ALWAYS, SDM_SYSCALL_GS) },
	/* INT1 (F1) is a defined instruction that raises #DB: never #UD */
	{ "movss_db_next", "*_icebp_raised_ud",
	  ON_INTEL(NEVER, SDM_INT1_DB), ON_AMD(NEVER, SDM_INT1_DB) },
};
/* clang-format on */
