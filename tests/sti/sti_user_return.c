/*
 * sti_user_return: the kernel's exits to user mode that rely on the STI shadow (the seed's
 * `sti; sysexit`): with an IRQ pending and IF=0, `sti; sysretq` and `sti; iretq` into ring 3.
 * The shadow should hold the IRQ until the first user instruction (taken at CPL 3); without
 * it the IRQ is taken at the SYSRETQ / IRETQ itself, in ring 0 with the user GS already
 * loaded (the paranoid entry copes). Baseline: plain IRETQ with IF set only in the user flags.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/user.h"
#include "kernel/outcome.h"
#include "lib/printf.h"
#include "tests/sti/sti.h"
#include "kernel/arch_rules.h"

extern const char ring3_blob_start[], ring3_blob_end[], ring3_int_exit[];

enum { M_SYSRET, M_IRET, M_PLAIN, NM };
static const struct { const char *name; enum user_entry_mode mode; const char *insn; } modes[NM] = {
	{ "sysretq", USER_ENTER_STI_SYSRETQ, user_sti_sysretq },
	{ "iretq", USER_ENTER_STI_IRETQ, user_sti_iretq },
	{ "plain_iretq", USER_ENTER_IRETQ, NULL },
};
static struct outcomes oc;
static u32 o_before[NM], o_user[NM], o_late[NM], o_other[NM];
static volatile u64 trials[NM], failures;

static void one(u32 m)
{
	u64 entry = user_addr(ring3_blob_start, ring3_int_exit), r = 0;
	struct sti_trial t;
	irq_disable();
	sti_record_begin();
	bool pending = sti_make_pending();
	if (pending) {
		r = user_run_mode(modes[m].mode, entry, RFLAGS_IF, 41, 0);
		sti_drain();
	}
	sti_record_end(&t);
	irq_enable();
	if (!pending || r != 42 || t.irq_count + t.late_irq_count != 1) {
		__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
		return;
	}
	u32 o = t.late_irq_count ? o_late[m]
		: (modes[m].insn && t.irq_rip == (u64)modes[m].insn && !(t.irq_cs & 3)) ? o_before[m]
		: (t.irq_rip == entry && (t.irq_cs & 3) == 3) ? o_user[m] : o_other[m];
	outcome_hit(&oc, o);
	__atomic_add_fetch(&trials[m], 1, __ATOMIC_RELAXED);
}

static void worker(void *arg)
{
	const struct exp_ctx *ctx = arg;
	for (u64 i = 0; i < ctx->iterations && !exp_budget_spent(ctx); i++)
		for (u32 m = 0; m < NM; m++)
			one(m);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	static char names[NM][4][40];
	if (!user_available() || !user_blob(ring3_blob_start, ring3_blob_end))
		return exp_fail(ctx, "no user region");
	outcomes_reset(&oc);
	for (u32 m = 0; m < NM; m++) {
		ksnprintf(names[m][0], 40, "%s_irq_at_exit_insn", modes[m].name);
		ksnprintf(names[m][1], 40, "%s_irq_at_first_user_insn", modes[m].name);
		ksnprintf(names[m][2], 40, "%s_irq_late", modes[m].name);
		ksnprintf(names[m][3], 40, "%s_irq_elsewhere", modes[m].name);
		o_before[m] = outcome_define(&oc, names[m][0]);
		o_user[m] = outcome_define(&oc, names[m][1]);
		o_late[m] = outcome_define(&oc, names[m][2]);
		o_other[m] = outcome_define(&oc, names[m][3]);
		trials[m] = 0;
	}
	failures = 0;
	sti_handlers_install();
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, worker, ctx, true);
	sti_handlers_remove();
	outcomes_print(&oc);
	observation("irq_before_sysretq", oc.count[o_before[M_SYSRET]], trials[M_SYSRET]);
	observation("irq_before_iretq", oc.count[o_before[M_IRET]], trials[M_IRET]);
	observation("plain_iretq_irq_at_first_user_insn", oc.count[o_user[M_PLAIN]], trials[M_PLAIN]);
	report_rate(ctx, trials[0] + trials[1] + trials[2],
		    oc.count[o_before[M_SYSRET]] + oc.count[o_before[M_IRET]]);
	if (failures)
		return exp_fail(ctx, "%lu trials: IRQ not pending, not taken once, or wrong user result",
				failures);
	/* positive control: an IRQ taken at the first user instruction is seen as such */
	if (!control("irq_at_first_user_insn_after_plain_iretq", oc.count[o_user[M_PLAIN]]))
		return exp_fail(ctx, "positive control: no IRQ was taken at the first user instruction");
	if (oc.count[o_other[0]] + oc.count[o_other[1]] + oc.count[o_other[2]])
		return exp_fail(ctx, "IRQ taken at an unexpected place");
	return EXP_PASS;
}

EXPERIMENT(exp_sti_user_return) = {
	.order = EXP_ORDER(FAMILY_STI, 60),
	.name = "sti_user_return",
	.description = "IRQ pending at sti;sysretq and sti;iretq to ring 3: taken in the kernel or at the first user instruction",
	.min_cpus = 1,
	.default_iterations = 200,
	.budget_ms = 2000,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(sti_user_return_rules) = {
	{ "sti_user_return", "irq_before_*",
	  ON_INTEL(NEVER, SDM_STI_INHIBIT), ON_AMD(NEVER, APM_STI_SHADOW) },
	/* IRETQ has no shadow; on which boundary a pending IRQ is recognized varies */
	{ "sti_user_return", "plain_iretq_irq_at_first_user_insn",
	  ON_INTEL(MODEL_SPECIFIC, SDM_IRQ_BOUNDARY), ON_AMD(MODEL_SPECIFIC, SDM_IRQ_BOUNDARY) },
};
/* clang-format on */
