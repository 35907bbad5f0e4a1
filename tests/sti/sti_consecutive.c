/*
 * sti_consecutive: does a shadow exist after STI that follows STI, or after STI executed with
 * IF already 1? Intel documents only the first of consecutive STIs as inhibiting, and only an
 * STI that sets IF. Part 1: an IRQ pending before `sti; sti; hlt`. Part 2: a driver CPU sends
 * fixed IPIs at seeded random times to victims looping `sti; hlt` with IF=1, and, as the
 * control, `cli; sti; hlt`; an IRQ taken at the HLT means no shadow covered it.
 */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "kernel/outcome.h"
#include "kernel/runner.h"
#include "tests/sti/sti.h"
#include "tests/common/sweep.h"
#include "kernel/arch_rules.h"

#define BOUND_NS 2000000ull
#define VEC_LOOP_IRQ (VEC_EXP_FIRST + 0x20)
#define LOOP_ROUNDS 1500 /* IPIs per victim and loop kind, unless its budget share runs out */

extern void seq_if1_loop_fn(volatile u32 *stop) __asm__("seq_if1_loop");
extern void seq_if0_loop_fn(volatile u32 *stop) __asm__("seq_if0_loop");

static struct outcomes oc;
static u32 o_ss_before, o_ss_at_sti2, o_ss_after, o_ss_late, o_if1_at_hlt, o_if1_woke,
	o_if1_other, o_if0_at_hlt, o_if0_woke, o_if0_other;
static volatile u64 ss_trials, not_pending, wrong_count;
static volatile u32 loop_kind; /* 1: IF=1 loop running, 0: IF=0 control */
static volatile u32 stop_loop;
static volatile u64 loop_irqs[2];

static void part1(void *arg)
{
	const struct exp_ctx *ctx = arg;
	bool bsp = this_cpu_index() == 0;
	if (bsp)
		watchdog_pause();
	sti_bound_prepare(BOUND_NS);
	for (u64 i = 0; i < ctx->iterations && !exp_budget_spent(ctx); i++) {
		struct sti_trial t;
		if (!sti_trial_run((sti_seq_fn)seq_sti_sti_hlt, &t)) {
			__atomic_add_fetch(&not_pending, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (t.irq_count + t.late_irq_count != 1)
			__atomic_add_fetch(&wrong_count, 1, __ATOMIC_RELAXED);
		u32 o = t.late_irq_count ? o_ss_late
			: t.irq_rip == RIP(seq_sti_sti_hlt_at_hlt) ? o_ss_before
			: t.irq_rip == RIP(seq_sti_sti_hlt_at_sti2) ? o_ss_at_sti2 : o_ss_after;
		outcome_hit(&oc, o);
		__atomic_add_fetch(&ss_trials, 1, __ATOMIC_RELAXED);
	}
	irq_enable();
	if (bsp)
		watchdog_resume();
}

static bool on_loop_irq(struct trap_frame *f)
{
	if (stop_loop == SWEEP_DRAIN) { /* a late event of the last sweep: taken, not counted */
		apic_eoi();
		return true;
	}
	u32 k = loop_kind;
	u64 at_hlt = k ? RIP(seq_if1_loop_at_hlt) : RIP(seq_if0_loop_at_hlt);
	u64 after = k ? RIP(seq_if1_loop_after) : RIP(seq_if0_loop_after);
	u32 o = f->rip == at_hlt ? (k ? o_if1_at_hlt : o_if0_at_hlt)
		: f->rip == after ? (k ? o_if1_woke : o_if0_woke) : (k ? o_if1_other : o_if0_other);
	outcome_hit(&oc, o);
	__atomic_add_fetch(&loop_irqs[k], 1, __ATOMIC_RELAXED);
	apic_eoi();
	return true;
}

static void victim_loop(void *arg)
{
	(void)arg;
	irq_disable();
	if (loop_kind)
		seq_if1_loop_fn(&stop_loop);
	else
		seq_if0_loop_fn(&stop_loop);
	irq_enable();
}

/* The BSP sends IPIs at random delays to each victim in turn; each loop kind gets a third of
 * the budget. */
static void part2(struct exp_ctx *ctx, u32 kind)
{
	loop_kind = kind;
	struct sweep sw = {
		victim_loop,         &stop_loop,       ICR_FIXED | VEC_LOOP_IRQ,      LOOP_ROUNDS,
		ctx->budget_tsc / 3, ns_to_tsc(30000), rng_seed(ctx->seed, 77 + kind)
	};
	sweep_aps(&sw);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	outcomes_reset(&oc);
	o_ss_before = outcome_define(&oc, "sti_sti_irq_before_hlt");
	o_ss_at_sti2 = outcome_define(&oc, "sti_sti_irq_at_second_sti");
	o_ss_after = outcome_define(&oc, "sti_sti_irq_after_hlt");
	o_ss_late = outcome_define(&oc, "sti_sti_irq_late");
	o_if1_at_hlt = outcome_define(&oc, "if1_loop_irq_at_hlt");
	o_if1_woke = outcome_define(&oc, "if1_loop_irq_woke_hlt");
	o_if1_other = outcome_define(&oc, "if1_loop_irq_elsewhere");
	o_if0_at_hlt = outcome_define(&oc, "if0_loop_irq_at_hlt");
	o_if0_woke = outcome_define(&oc, "if0_loop_irq_woke_hlt");
	o_if0_other = outcome_define(&oc, "if0_loop_irq_elsewhere");
	ss_trials = not_pending = wrong_count = loop_irqs[0] = loop_irqs[1] = 0;

	sti_handlers_install();
	trap_set_handler(VEC_LOOP_IRQ, on_loop_irq);
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, part1, ctx, true);
	bool loops = ctx->ncpus >= 2;
	if (loops) {
		part2(ctx, 1);
		part2(ctx, 0);
	}
	trap_set_handler(VEC_LOOP_IRQ, NULL);
	sti_handlers_remove();

	outcomes_print(&oc);
	observation("irq_before_hlt_after_sti_sti", oc.count[o_ss_before], ss_trials);
	observation("irq_at_hlt_after_if1_sti", oc.count[o_if1_at_hlt], loop_irqs[1]);
	observation("irq_at_hlt_after_if0_sti", oc.count[o_if0_at_hlt], loop_irqs[0]);
	diag("sti_sti_trials=%lu loop_irqs_if1=%lu loop_irqs_if0=%lu%s", ss_trials, loop_irqs[1],
	     loop_irqs[0], loops ? "" : " (loops need 2 cpus)");
	report_rate(ctx, ss_trials + loop_irqs[0] + loop_irqs[1],
		    oc.count[o_ss_before] + oc.count[o_if1_at_hlt]);
	if (not_pending || wrong_count)
		return exp_fail(ctx, "%lu trials without a pending IRQ, %lu not taken exactly once",
				not_pending, wrong_count);
	if (oc.count[o_if0_at_hlt])
		return exp_fail(ctx, "control: IRQ taken at HLT right after an IF-setting STI");
	bool if1_hit = !loops || control("irqs_in_if1_loop", loop_irqs[1]);
	bool if0_hit = !loops || control("irqs_in_if0_loop", loop_irqs[0]);
	if (loops && (!if0_hit || !if1_hit))
		return exp_fail(ctx, "positive control: the loops took no IRQs");
	return EXP_PASS;
}

EXPERIMENT(exp_sti_consecutive) = {
	.order = EXP_ORDER(FAMILY_STI, 40),
	.name = "sti_consecutive",
	.description = "sti;sti;hlt and STI with IF=1: is there a shadow?",
	.min_cpus = 1,
	.default_iterations = 300,
	.budget_ms = 4000,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
ARCH_RULES(sti_consecutive_rules) = {
	/* the second STI runs with IF=1 and opens no shadow; the first one's ends before HLT */
	{ "sti_consecutive", "irq_before_hlt_after_sti_sti", ARCH_ALWAYS, "SDM-2B-STI" },
	{ "sti_consecutive", "irq_at_hlt_after_if1_sti", ARCH_ALLOWED, "SDM-2B-STI" },
	{ "sti_consecutive", "irq_at_hlt_after_if0_sti", ARCH_NEVER, "SDM-2B-STI" },
};
