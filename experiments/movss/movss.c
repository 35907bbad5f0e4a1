/*
 * MOV SS / POP SS with a data breakpoint on the SS operand (CVE-2018-8897 class). Every case
 * runs on every CPU; each trial's ordered events (vector, where by label, CPL, DR6, GS) form a
 * signature, tallied per case. movss_db_next: the next instruction is nop, int3, int n, icebp,
 * a #UD, a #PF, cli or (ring 3) syscall, at CPL 0 and 3, plus POP SS in compatibility mode; a
 * plain load of the variable is the control whose #DB is not held. movss_tf_step: TF single
 * step over mov ss. movss_consecutive: mov ss; mov ss. movss_bd_sticky: DR6.BD left set.
 */
#include "arch/x86/smp.h"
#include "arch/x86/user.h"
#include "kernel/ktap.h"
#include "kernel/outcome.h"
#include "lib/printf.h"
#include "lib/lib.h"
#include "arch/x86/spinlock.h"
#include "experiments/movss/movss.h"

#define L(n) extern const char n[], n##_movss[], n##_next[], n##_after[]
L(mk_nop); L(mk_int3); L(mk_intn); L(mk_icebp); L(mk_ud); L(mk_pf); L(mk_cli); L(mk_load);
L(mk_twice); L(mk_tf); L(mu_nop); L(mu_int3); L(mu_intn); L(mu_icebp); L(mu_ud); L(mu_pf);
L(mu_cli); L(mu_syscall); L(mu_tf); L(mu_popss_nop); L(mu_popss_int3);
extern const char mk_twice_after2[], mk_tf_after2[], mu_tf_after2[];
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
static const struct mss_case tf_cases[] = {
	{ "mk_tf", false, mk_tf, mk_tf_movss, mk_tf_next, mk_tf_after, mk_tf_after2, 0 },
	{ "mu_tf", true, mu_tf, mu_tf_movss, mu_tf_next, mu_tf_after, mu_tf_after2, 0 },
};
static const struct mss_case twice_case =
	{ "mk_twice", false, mk_twice, mk_twice_movss, mk_twice_next, mk_twice_after, mk_twice_after2, 0 };
/* the third case is the probe: the same breakpoint before a nop, where nothing can drop its #DB */
static const struct mss_case bd_cases[] = { C(mk_int3, false, VEC_BP), C(mu_int3, true, VEC_BP),
					    C(mk_nop, false, 0) };

#define MAX_CASES 20
struct job { const struct mss_case *cases; u32 ncases; u64 dr6; u64 iterations; };
static struct mss_tally tally[MAX_CASES];
static volatile u64 pos_count[MAX_CASES][POS_OTHER + 2]; /* +1: no data-breakpoint #DB */
static volatile u64 handler_user_gs[MAX_CASES], bd_seen[MAX_CASES], runs[MAX_CASES];
static struct spinlock tally_lock;

static void worker(void *arg)
{
	const struct job *j = arg;
	for (u64 it = 0; it < j->iterations; it++) {
		for (u32 i = 0; i < j->ncases; i++) {
			const struct mss_case *c = &j->cases[i];
			struct mss_trial t;
			char sig[96];
			mss_run(c, j->dr6, &t);
			mss_signature(c, &t, sig, sizeof(sig));
			const struct mss_event *db = mss_find_db(&t);
			u32 p = db ? mss_position(c, db) : POS_OTHER + 1;
			__atomic_add_fetch(&pos_count[i][p], 1, __ATOMIC_RELAXED);
			if (db && db->cpl == 0 && db->gs_swapped)
				__atomic_add_fetch(&handler_user_gs[i], 1, __ATOMIC_RELAXED);
			if (db && (db->dr6 & (1u << 13)))
				__atomic_add_fetch(&bd_seen[i], 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&runs[i], 1, __ATOMIC_RELAXED);
			spin_lock(&tally_lock);
			mss_tally_add(&tally[i], sig);
			spin_unlock(&tally_lock);
		}
	}
}

/* Runs the cases on every CPU and prints the per-case signature tallies. */
static void run_cases(const struct mss_case *cases, u32 n, u64 dr6, struct exp_ctx *ctx)
{
	memset(tally, 0, sizeof(tally));
	memset((void *)pos_count, 0, sizeof(pos_count));
	memset((void *)handler_user_gs, 0, sizeof(handler_user_gs));
	memset((void *)bd_seen, 0, sizeof(bd_seen));
	memset((void *)runs, 0, sizeof(runs));
	struct job j = { cases, n, dr6, ctx->iterations };
	mss_install();
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, worker, &j, true);
	mss_remove();
	for (u32 i = 0; i < n; i++)
		mss_tally_print(cases[i].name, &tally[i]);
}

static u64 total_runs(u32 n)
{
	u64 s = 0;
	for (u32 i = 0; i < n; i++)
		s += runs[i];
	return s;
}

static enum exp_result run_db_next(struct exp_ctx *ctx)
{
	if (!mss_user_ready())
		return exp_fail(ctx, "no user region for the ring-3 cases");
	u32 n = ARRAY_SIZE(db_cases);
	run_cases(db_cases, n, 0xffff0ff0, ctx);
	u64 fired = 0;
	for (u32 i = 0; i < n; i++) {
		const char *name = db_cases[i].name;
		char obs[48];
		u64 r = runs[i];
		if (db_cases[i].next_vector && db_cases[i].next_vector != VEC_DB) {
			ksnprintf(obs, sizeof(obs), "%s_db_in_handler", name);
			observation(obs, pos_count[i][POS_HANDLER], r);
		}
		ksnprintf(obs, sizeof(obs), "%s_db_held", name);
		observation(obs, r - pos_count[i][POS_NEXT] - pos_count[i][POS_OTHER + 1], r);
		ksnprintf(obs, sizeof(obs), "%s_db_lost", name);
		observation(obs, pos_count[i][POS_OTHER + 1], r);
		fired += r - pos_count[i][POS_OTHER + 1];
	}
	observation("mu_syscall_db_with_user_gs", handler_user_gs[15], runs[15]);
	report_rate(ctx, total_runs(n), fired);
	u32 load = 7, nop = 0;
	/* positive controls: the breakpoint fires after mov ss, and a plain load's #DB is seen */
	control("db_fired_after_movss", fired - (runs[load] - pos_count[load][POS_OTHER + 1]));
	control("db_at_next_after_plain_load", pos_count[load][POS_NEXT]);
	/*
	 * One subtest per variant. Where the #DB lands is an observation, not a verdict; a variant
	 * fails when its trials did not all run and classify (every CPU, every iteration), and the
	 * two controls also when they miss: the breakpoint must fire after `mov ss; nop` at least
	 * once, and a plain load's #DB must come at the next instruction every time.
	 */
	struct ktap_sub sub;
	ktap_sub_begin(&sub, n);
	for (u32 i = 0; i < n; i++) {
		u64 r = runs[i], want = ctx->iterations * ctx->ncpus;
		ktap_sub_diag(&sub, "runs=%lu db_next=%lu db_handler=%lu db_lost=%lu", r,
			      pos_count[i][POS_NEXT], pos_count[i][POS_HANDLER], pos_count[i][POS_OTHER + 1]);
		const char *why = NULL;
		if (r != want)
			why = "not every trial ran";
		else if (i == nop && pos_count[nop][POS_OTHER + 1] == r)
			why = "positive control: the data breakpoint never fired";
		else if (i == load && pos_count[load][POS_NEXT] != r)
			why = "control: a plain load's #DB was not at the next instruction";
		ktap_sub_result(&sub, why ? EXP_FAIL : EXP_PASS, why, "%s", db_cases[i].name);
	}
	ktap_sub_end(&sub);
	if (runs[nop] && pos_count[nop][POS_OTHER + 1] == runs[nop])
		return exp_fail(ctx, "positive control: the data breakpoint never fired after mov ss; nop");
	if (pos_count[load][POS_NEXT] != runs[load])
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

static enum exp_result run_tf(struct exp_ctx *ctx)
{
	if (!mss_user_ready())
		return exp_fail(ctx, "no user region for the ring-3 case");
	run_cases(tf_cases, 2, 0xffff0ff0, ctx);
	for (u32 i = 0; i < 2; i++) {
		char obs[40];
		ksnprintf(obs, sizeof(obs), "%s_step_after_next", tf_cases[i].name);
		observation(obs, pos_count[i][POS_AFTER], runs[i]);
		ksnprintf(obs, sizeof(obs), "%s_step_after_movss", tf_cases[i].name);
		observation(obs, pos_count[i][POS_NEXT], runs[i]);
	}
	report_rate(ctx, total_runs(2), total_runs(2));
	u64 lost = pos_count[0][POS_OTHER + 1] + pos_count[1][POS_OTHER + 1];
	if (!control("single_step_db", total_runs(2) - lost))
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

static enum exp_result run_twice(struct exp_ctx *ctx)
{
	run_cases(&twice_case, 1, 0xffff0ff0, ctx);
	observation("db_after_first_movss", pos_count[0][POS_NEXT], runs[0]);
	observation("db_after_second_movss", pos_count[0][POS_AFTER], runs[0]);
	observation("db_after_nop", pos_count[0][POS_AFTER2], runs[0]);
	report_rate(ctx, runs[0], runs[0] - pos_count[0][POS_OTHER + 1]);
	if (!control("db_fired", runs[0] - pos_count[0][POS_OTHER + 1]))
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

static enum exp_result run_bd(struct exp_ctx *ctx)
{
	if (!mss_user_ready())
		return exp_fail(ctx, "no user region for the ring-3 case");
	run_cases(bd_cases, 3, 0xffff0ff0 | (1u << 13), ctx);
	u64 fired[3];
	for (u32 i = 0; i < 3; i++)
		fired[i] = runs[i] - pos_count[i][POS_OTHER + 1];
	/* BD is read in a #DB handler: over the runs whose #DB was delivered (else Unreached) */
	observation("mk_int3_bd_still_set", bd_seen[0], fired[0]);
	observation("mu_int3_bd_still_set", bd_seen[1], fired[1]);
	observation("mk_int3_db_in_handler_with_bd", pos_count[0][POS_HANDLER], runs[0]);
	report_rate(ctx, total_runs(2), bd_seen[0] + bd_seen[1]);
	if (!fired[2])
		return exp_skip(ctx, "no hardware data breakpoints: a watched mov ss before a nop "
				"raised no #DB in %lu runs", runs[2]);
	control("probe_db_fired_before_nop", fired[2]);
	if (!fired[0] && !fired[1])
		return exp_skip(ctx, "mov ss's held #DB is dropped when int3 follows (%lu/%lu fired "
				"before a nop, 0/%lu before int3)", fired[2], runs[2], total_runs(2));
	u64 no_db = pos_count[0][POS_OTHER + 1] + pos_count[1][POS_OTHER + 1];
	if (!control("db_fired", total_runs(2) - no_db) || no_db)
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
