/*
 * sti_hlt_wakeup: with a fixed IRQ already pending and IF=0, `sti; hlt` must take the IRQ
 * only after HLT began (it wakes HLT). Also `sti; nop` and `sti; mwait`. The negative
 * control `sti; nop; hlt` puts HLT outside the shadow: the detector must see the IRQ taken
 * before HLT there, and the bounding timer must end the lost sleep. An IRQ still pending after
 * the sequence (taken only in the drain window) is counted as late, not lost.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "kernel/outcome.h"
#include "lib/printf.h"
#include "kernel/runner.h"
#include "tests/sti/sti_classify.h"
#include "tests/sti/sti.h"
#include "kernel/arch_rules.h"

#define BOUND_NS 2000000ull /* a lost wakeup sleeps until this one-shot timer: 2 ms */

enum { V_HLT, V_NOP, V_MWAIT, V_CONTROL, NVARIANTS };

struct variant {
	const char *name;
	const char *obs;      /* observation: IRQ taken before the shadowed instruction */
	sti_seq_fn seq;
	const char *at_label; /* RIP when the IRQ is taken before the shadowed instruction */
	const char *after;    /* RIP when it is taken after it */
	u32 idx_before, idx_after, idx_late, idx_other;
};

static struct variant variants[NVARIANTS] = {
	{ "hlt", "irq_before_hlt", (sti_seq_fn)seq_sti_hlt, seq_sti_hlt_at_hlt, seq_sti_hlt_after, 0, 0, 0, 0 },
	{ "nop", "irq_before_nop", (sti_seq_fn)seq_sti_nop, seq_sti_nop_at_nop, seq_sti_nop_after, 0, 0, 0, 0 },
	{ "mwait", "irq_before_mwait", (sti_seq_fn)seq_sti_mwait, seq_sti_mwait_at_mwait, seq_sti_mwait_after, 0, 0, 0, 0 },
	{ "control_nop_hlt", "control_irq_before_hlt", (sti_seq_fn)seq_sti_nop_hlt, seq_sti_nop_hlt_at_hlt,
	  seq_sti_nop_hlt_after, 0, 0, 0, 0 },
};

static struct outcomes oc;
static volatile u64 trials[NVARIANTS], not_pending, wrong_count, bound_wakes[NVARIANTS];
static bool have_mwait;
static u64 monitor_line[8] __attribute__((aligned(64)));

static void classify(struct variant *v, u32 vi, const struct sti_trial *t)
{
	if (t->irq_count + t->late_irq_count != 1)
		__atomic_add_fetch(&wrong_count, 1, __ATOMIC_RELAXED);
	const struct sti_labels l = { 0, RIP(v->at_label), RIP(v->after) };
	const u32 outcome[] = { [STI_IRQ_BEFORE] = v->idx_before, [STI_IRQ_AFTER] = v->idx_after,
				[STI_IRQ_LATE] = v->idx_late, [STI_IRQ_ELSEWHERE] = v->idx_other };
	outcome_hit(&oc, outcome[sti_irq_classify(&l, t->irq_rip, t->late_irq_count != 0)]);
	if (t->bound_fired)
		__atomic_add_fetch(&bound_wakes[vi], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&trials[vi], 1, __ATOMIC_RELAXED);
}

static void worker(void *arg)
{
	const struct exp_ctx *ctx = arg;
	bool bsp = this_cpu_index() == 0;
	if (bsp)
		watchdog_pause(); /* the bounding timer uses this CPU's LAPIC timer */
	sti_bound_prepare(BOUND_NS);
	for (u64 it = 0; it < ctx->iterations && !exp_budget_spent(ctx); it++) {
		for (u32 vi = 0; vi < NVARIANTS; vi++) {
			if (vi == V_MWAIT && !have_mwait)
				continue;
			if (vi == V_CONTROL && it >= 20)
				continue; /* each control trial sleeps the whole bound */
			if (vi == V_MWAIT)
				__asm__ volatile("monitor" ::"a"(monitor_line), "c"(0), "d"(0));
			struct sti_trial t;
			if (!sti_trial_run(variants[vi].seq, &t)) {
				__atomic_add_fetch(&not_pending, 1, __ATOMIC_RELAXED);
				continue;
			}
			classify(&variants[vi], vi, &t);
		}
	}
	irq_enable();
	if (bsp)
		watchdog_resume();
}

static void define_outcomes(void)
{
	static char names[NVARIANTS][4][40];
	outcomes_reset(&oc);
	for (u32 i = 0; i < NVARIANTS; i++) {
		struct variant *v = &variants[i];
		ksnprintf(names[i][0], 40, "%s_irq_before", v->name);
		ksnprintf(names[i][1], 40, "%s_irq_after", v->name);
		ksnprintf(names[i][2], 40, "%s_irq_late", v->name);
		ksnprintf(names[i][3], 40, "%s_irq_elsewhere", v->name);
		v->idx_before = outcome_define(&oc, names[i][0]);
		v->idx_after = outcome_define(&oc, names[i][1]);
		v->idx_late = outcome_define(&oc, names[i][2]);
		v->idx_other = outcome_define(&oc, names[i][3]);
	}
}

static enum exp_result run(struct exp_ctx *ctx)
{
	have_mwait = (cpuid(1, 0).ecx >> 3) & 1;
	define_outcomes();
	for (u32 i = 0; i < NVARIANTS; i++)
		trials[i] = bound_wakes[i] = 0;
	not_pending = wrong_count = 0;
	sti_handlers_install();
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, worker, ctx, true);
	sti_handlers_remove();

	u64 total = 0, shadow_hits = 0;
	for (u32 i = 0; i < NVARIANTS; i++)
		total += trials[i];
	outcomes_print(&oc);
	for (u32 i = 0; i < NVARIANTS; i++) {
		const struct variant *v = &variants[i];
		observation(v->obs, oc.count[v->idx_before], trials[i]);
		if (i != V_CONTROL) {
			char late[40];
			ksnprintf(late, sizeof(late), "irq_late_%s", v->name);
			observation(late, oc.count[v->idx_late], trials[i]);
		}
		if (i != V_CONTROL)
			shadow_hits += oc.count[v->idx_after];
	}
	observation("mwait_available", have_mwait, 1);
	diag("irq_pending_confirmed=%lu not_pending=%lu wrong_irq_count=%lu bound_wakes_hlt=%lu "
	     "bound_wakes_control=%lu", total, not_pending, wrong_count, bound_wakes[V_HLT],
	     bound_wakes[V_CONTROL]);
	report_rate(ctx, total, shadow_hits);
	if (not_pending)
		return exp_fail(ctx, "%lu trials: the self-IPI never became pending", not_pending);
	if (wrong_count)
		return exp_fail(ctx, "%lu trials took the IRQ other than exactly once", wrong_count);
	/* positive controls: the detector sees an IRQ taken before HLT when no shadow covers it,
	 * and the bounding timer ends such a lost sleep */
	bool before_seen = control("irq_before_hlt_outside_shadow",
				   oc.count[variants[V_CONTROL].idx_before]);
	bool bound_seen = control("bound_timer_ended_lost_sleep", bound_wakes[V_CONTROL]);
	if (trials[V_CONTROL] == 0 || !before_seen)
		return exp_fail(ctx, "negative control never showed an IRQ taken before HLT");
	if (!bound_seen)
		return exp_fail(ctx, "the bounding timer never ended a lost sleep in the control");
	return EXP_PASS;
}

EXPERIMENT(exp_sti_hlt_wakeup) = {
	.order = EXP_ORDER(FAMILY_STI, 10),
	.name = "sti_hlt_wakeup",
	.description = "IRQ pending at sti;hlt / sti;nop / sti;mwait: taken before or after the shadowed instruction",
	.min_cpus = 1,
	.default_iterations = 300,
	.budget_ms = 3000,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(sti_hlt_wakeup_rules) = {
	{ "sti_hlt_wakeup", "irq_before_*",
	  ON_INTEL(NEVER, SDM_STI_INHIBIT), ON_AMD(NEVER, APM_STI_SHADOW) },
	/* taken only after the sequence: on which boundary a pending IRQ is recognized varies */
	{ "sti_hlt_wakeup", "irq_late_*",
	  ON_INTEL(MODEL_SPECIFIC, SDM_IRQ_BOUNDARY), ON_AMD(MODEL_SPECIFIC, SDM_IRQ_BOUNDARY) },
	{ "sti_hlt_wakeup", "control_*", CONTROL },
	{ "sti_hlt_wakeup", "mwait_available", CONTROL },
};
/* clang-format on */
