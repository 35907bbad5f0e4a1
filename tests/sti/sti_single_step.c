/*
 * sti_single_step: with RFLAGS.TF set, `sti; nop`: is the single-step #DB delivered after STI
 * (the shadow does not hold #DB) or only after the NOP? Run with IF=0 before STI (a shadow
 * opens) and IF=1 (none). Control: `mov ss; nop`, where the architecture holds #DB for one
 * instruction, shows that the detector sees a held #DB. Reference: `popf; nop; nop`, POPF setting
 * TF: the first NOP is the first instruction that runs with TF=1 and traps right after itself
 * with no shadow involved. When that reference is on time and STI's trap comes one instruction
 * late, the delay belongs to STI (its shadow held or suppressed the step), not to a late first
 * trap after TF is set. DR6.BS is checked on every #DB.
 */
#include "arch/x86/debugreg.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "kernel/outcome.h"
#include "tests/sti/sti.h"
#include "kernel/arch_rules.h"

enum { V_IF0, V_IF1, V_MOVSS, V_POPF, NV };

struct step_record { volatile u64 rip, dr6; volatile u32 count, active; };
static struct step_record rec[MAX_CPUS];
static struct outcomes oc;
static u32 o_next[NV], o_held[NV], o_other[NV];
static volatile u64 trials[NV], bad_count, no_bs;

static bool on_db(struct trap_frame *f)
{
	struct step_record *r = &rec[this_cpu_index()];
	if (!r->active)
		return false;
	if (r->count++ == 0) {
		r->rip = f->rip;
		r->dr6 = read_dr6();
	}
	write_dr6(DR6_RESET);
	f->rflags &= ~RFLAGS_TF; /* one step is all we want */
	return true;
}

static void one(u32 v)
{
	static const struct { sti_seq_fn seq; const char *next, *held; } s[NV] = {
		{ (sti_seq_fn)seq_step_sti, seq_step_sti_at_nop, seq_step_sti_after },
		{ (sti_seq_fn)seq_step_sti, seq_step_sti_at_nop, seq_step_sti_after },
		{ (sti_seq_fn)seq_step_movss, seq_step_movss_at_nop, seq_step_movss_after },
		{ (sti_seq_fn)seq_step_popf, seq_step_popf_after, seq_step_popf_after2 },
	};
	struct step_record *r = &rec[this_cpu_index()];
	r->count = 0;
	r->rip = r->dr6 = 0;
	r->active = 1;
	if (v == V_IF1)
		irq_enable();
	else
		irq_disable();
	s[v].seq();
	r->active = 0;
	irq_enable();
	if (r->count != 1)
		__atomic_add_fetch(&bad_count, 1, __ATOMIC_RELAXED);
	if (!(r->dr6 & DR6_BS))
		__atomic_add_fetch(&no_bs, 1, __ATOMIC_RELAXED);
	if (r->rip == RIP(s[v].next))
		outcome_hit(&oc, o_next[v]);
	else if (r->rip == RIP(s[v].held))
		outcome_hit(&oc, o_held[v]);
	else
		outcome_hit(&oc, o_other[v]);
	__atomic_add_fetch(&trials[v], 1, __ATOMIC_RELAXED);
}

static void worker(void *arg)
{
	const struct exp_ctx *ctx = arg;
	for (u64 i = 0; i < ctx->iterations && !exp_budget_spent(ctx); i++)
		for (u32 v = 0; v < NV; v++)
			one(v);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	static const char *const names[NV][3] = {
		{ "if0_db_after_sti", "if0_db_after_nop", "if0_db_elsewhere" },
		{ "if1_db_after_sti", "if1_db_after_nop", "if1_db_elsewhere" },
		{ "control_db_after_movss", "control_db_after_nop", "control_db_elsewhere" },
		{ "popf_db_after_first_nop", "popf_db_after_second_nop", "popf_db_elsewhere" },
	};
	outcomes_reset(&oc);
	for (u32 v = 0; v < NV; v++) {
		o_next[v] = outcome_define(&oc, names[v][0]);
		o_held[v] = outcome_define(&oc, names[v][1]);
		o_other[v] = outcome_define(&oc, names[v][2]);
		trials[v] = 0;
	}
	bad_count = no_bs = 0;
	trap_set_handler(VEC_DB, on_db);
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, worker, ctx, true);
	trap_set_handler(VEC_DB, NULL);

	u64 total = trials[V_IF0] + trials[V_IF1] + trials[V_MOVSS] + trials[V_POPF];
	outcomes_print(&oc);
	observation("db_held_by_sti_shadow", oc.count[o_held[V_IF0]], trials[V_IF0]);
	observation("db_held_after_sti_if1", oc.count[o_held[V_IF1]], trials[V_IF1]);
	observation("db_held_by_movss", oc.count[o_held[V_MOVSS]], trials[V_MOVSS]);
	/* the reference: a step right after the first instruction run with TF=1, no shadow */
	observation("popf_db_after_first_insn", oc.count[o_next[V_POPF]], trials[V_POPF]);
	diag("sti_step_delay=%s (popf reference on time %lu/%lu, sti step late %lu/%lu)",
	     !oc.count[o_held[V_IF0]] ? "none"
	     : oc.count[o_next[V_POPF]] == trials[V_POPF] ? "by_sti" : "not_sti_specific",
	     oc.count[o_next[V_POPF]], trials[V_POPF], oc.count[o_held[V_IF0]], trials[V_IF0]);
	diag("single_steps=%lu wrong_db_count=%lu db_without_bs=%lu", total, bad_count, no_bs);
	report_rate(ctx, total, total);
	if (bad_count)
		return exp_fail(ctx, "%lu steps did not raise exactly one #DB", bad_count);
	if (no_bs)
		return exp_fail(ctx, "%lu single-step #DBs without DR6.BS", no_bs);
	/* positive control: a #DB held by a shadow (MOV SS's) is seen as held */
	if (!control("db_held_by_movss_shadow", oc.count[o_held[V_MOVSS]]))
		return exp_fail(ctx, "positive control: no single-step #DB was held by mov ss");
	/* and one right after its instruction is seen as such (the reference, POPF's) */
	if (!control("db_on_time_after_popf", oc.count[o_next[V_POPF]]))
		return exp_fail(ctx, "positive control: no single-step #DB right after its instruction");
	if (oc.count[o_other[V_IF0]] + oc.count[o_other[V_IF1]] + oc.count[o_other[V_MOVSS]] +
	    oc.count[o_other[V_POPF]])
		return exp_fail(ctx, "#DB at an unexpected RIP");
	return EXP_PASS;
}

EXPERIMENT(exp_sti_single_step) = {
	.order = EXP_ORDER(FAMILY_STI, 30),
	.name = "sti_single_step",
	.description = "TF single step over sti;nop (IF=0 and IF=1), mov ss;nop and popf;nop;nop: after which instruction is #DB delivered",
	.min_cpus = 1,
	.default_iterations = 200,
	.budget_ms = 2000,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(sti_single_step_rules) = {
	/* STI's shadow is for maskable interrupts only: the single-step trap is not held */
	{ "sti_single_step", "db_held_by_sti_shadow",
	  ON_INTEL(NEVER, SDM_STI_NO_EXCEPTIONS), ON_AMD(NEVER, SDM_STI_NO_EXCEPTIONS) },
	{ "sti_single_step", "db_held_after_sti_if1",
	  ON_INTEL(NEVER, SDM_STI_NO_EXCEPTIONS), ON_AMD(NEVER, SDM_STI_NO_EXCEPTIONS) },
	{ "sti_single_step", "db_held_by_movss",
	  ON_INTEL(ALWAYS, SDM_MOVSS_STEP), ON_AMD(ALWAYS, SDM_MOVSS_STEP) },
	/* POPF setting TF: no trap after the POPF itself, one after the next instruction */
	{ "sti_single_step", "popf_db_after_first_insn",
	  ON_INTEL(ALWAYS, SDM_STEP_AFTER_TF_SET), ON_AMD(ALWAYS, SDM_STEP_AFTER_TF_SET) },
};
/* clang-format on */
