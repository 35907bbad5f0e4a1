/*
 * sti_shadow_nmi: victims run `cli; <IRQ pending>; sti; hlt` trials while driver CPUs fire
 * NMIs at them after seeded random delays, sweeping the window. The NMI handler records the
 * interrupted RIP. An NMI at the HLT (after STI ran) landed inside the shadow; the pending IRQ
 * is then either taken before HLT (the NMI's IRET dropped the shadow: a lost wakeup, ended by
 * the bounding timer or the next NMI) or after HLT began.
 */
#include "arch/x86/apic.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "kernel/outcome.h"
#include "kernel/wait.h"
#include "experiments/sti/sti_classify.h"
#include "experiments/sti/sti.h"

#define BOUND_NS 1000000ull

static struct outcomes oc;
static u32 o_no_nmi, o_nmi_before_sti, o_nmi_at_hlt_irq_before, o_nmi_at_hlt_irq_after,
	o_nmi_after_hlt, o_nmi_elsewhere, o_no_nmi_irq_before;
static struct cpumask victims;
static u32 victim_list[MAX_CPUS], nvictims;
static volatile u32 victims_done;
static volatile u64 nmis_sent, not_pending, lost_irq, lost_wake_bound, trials_total;
static volatile u64 trial_cycles; /* a victim's measured trial length, for the drivers' sweep */

static void classify(const struct sti_trial *t)
{
	if (t->irq_count + t->late_irq_count != 1)
		__atomic_add_fetch(&lost_irq, 1, __ATOMIC_RELAXED);
	const struct sti_labels l = { RIP(seq_sti_hlt_at_sti), RIP(seq_sti_hlt_at_hlt),
				      RIP(seq_sti_hlt_after) };
	if (t->bound_fired && t->irq_rip == l.at_next)
		__atomic_add_fetch(&lost_wake_bound, 1, __ATOMIC_RELAXED);
	const u32 outcome[] = {
		[STI_NO_NMI] = o_no_nmi,
		[STI_NO_NMI_IRQ_BEFORE] = o_no_nmi_irq_before,
		[STI_NMI_BEFORE_STI] = o_nmi_before_sti,
		[STI_NMI_IN_SHADOW_IRQ_BEFORE] = o_nmi_at_hlt_irq_before,
		[STI_NMI_IN_SHADOW_IRQ_AFTER] = o_nmi_at_hlt_irq_after,
		[STI_NMI_AFTER] = o_nmi_after_hlt,
		[STI_NMI_ELSEWHERE] = o_nmi_elsewhere,
	};
	outcome_hit(&oc, outcome[sti_nmi_classify(&l, t->nmi_count != 0, t->nmi_rip, t->irq_rip)]);
}

static void victim(const struct exp_ctx *ctx)
{
	u64 t0 = rdtsc(), n = 0;
	sti_bound_prepare(BOUND_NS);
	for (; n < ctx->iterations && !exp_budget_spent(ctx); n++) {
		struct sti_trial t;
		if (!sti_trial_run((sti_seq_fn)seq_sti_hlt, &t)) {
			__atomic_add_fetch(&not_pending, 1, __ATOMIC_RELAXED);
			continue;
		}
		classify(&t);
		if (n == 64)
			trial_cycles = (rdtsc() - t0) / 64;
	}
	irq_enable();
	__atomic_add_fetch(&trials_total, n, __ATOMIC_RELAXED);
	__atomic_add_fetch(&victims_done, 1, __ATOMIC_RELEASE);
}

static void driver(const struct exp_ctx *ctx, u32 k)
{
	u64 rng = ctx->seed * 0x9e3779b97f4a7c15ull + k + 1;
	while (READ_ONCE(victims_done) < nvictims) {
		u64 span = READ_ONCE(trial_cycles);
		if (!span)
			span = ns_to_tsc(20000);
		u32 v = victim_list[rng_next(&rng) % nvictims];
		delay_cycles(rng_next(&rng) % (2 * span));
		ipi_send_cpu(v, ICR_NMI);
		__atomic_add_fetch(&nmis_sent, 1, __ATOMIC_RELAXED);
	}
}

static void worker(void *arg)
{
	const struct exp_ctx *ctx = arg;
	u32 me = this_cpu_index();
	if (cpumask_test(&victims, me))
		victim(ctx);
	else
		driver(ctx, me);
}

static void define_outcomes(void)
{
	outcomes_reset(&oc);
	o_no_nmi = outcome_define(&oc, "no_nmi_irq_after_hlt");
	o_no_nmi_irq_before = outcome_define(&oc, "no_nmi_irq_before_hlt");
	o_nmi_before_sti = outcome_define(&oc, "nmi_before_sti");
	o_nmi_at_hlt_irq_before = outcome_define(&oc, "nmi_in_shadow_irq_before_hlt");
	o_nmi_at_hlt_irq_after = outcome_define(&oc, "nmi_in_shadow_irq_after_hlt");
	o_nmi_after_hlt = outcome_define(&oc, "nmi_after_hlt");
	o_nmi_elsewhere = outcome_define(&oc, "nmi_elsewhere_in_trial");
}

/* Drivers: a quarter of the CPUs (at least one, never the only CPU); the BSP is a driver. */
static void pick_roles(void)
{
	u32 n = cpus_online(), ndrivers = MAX(1u, n / 4), seen = 0;
	cpumask_clear(&victims);
	nvictims = 0;
	for_each_online_cpu(i) {
		if (seen++ >= ndrivers) {
			cpumask_set(&victims, i);
			victim_list[nvictims++] = i;
		}
	}
}

static enum exp_result run(struct exp_ctx *ctx)
{
	define_outcomes();
	pick_roles();
	victims_done = 0;
	nmis_sent = not_pending = lost_irq = lost_wake_bound = trials_total = trial_cycles = 0;
	sti_handlers_install();
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, worker, ctx, true);
	sti_handlers_remove();

	u64 in_shadow = oc.count[o_nmi_at_hlt_irq_before] + oc.count[o_nmi_at_hlt_irq_after];
	u64 near = in_shadow + oc.count[o_nmi_before_sti] + oc.count[o_nmi_after_hlt];
	u64 no_nmi = oc.count[o_no_nmi] + oc.count[o_no_nmi_irq_before];
	outcomes_print(&oc);
	observation("nmi_in_shadow", in_shadow, near);
	observation("irq_before_hlt_after_nmi", oc.count[o_nmi_at_hlt_irq_before], in_shadow);
	observation("irq_before_hlt_without_nmi", oc.count[o_no_nmi_irq_before], no_nmi);
	diag("victims=%u drivers=%u nmis_sent=%lu nmis_near_window=%lu lost_wakeups_ended_by_bound=%lu",
	     nvictims, cpus_online() - nvictims, nmis_sent, near, lost_wake_bound);
	report_rate(ctx, trials_total, in_shadow);
	if (not_pending || lost_irq)
		return exp_fail(ctx, "%lu trials without a pending IRQ, %lu with the IRQ not taken once",
				not_pending, lost_irq);
	if (!control("nmi_next_to_shadow", near))
		return exp_fail(ctx, "positive control: no NMI landed at STI, HLT or after HLT");
	return EXP_PASS;
}

EXPERIMENT(exp_sti_shadow_nmi) = {
	.order = EXP_ORDER(FAMILY_STI, 20),
	.name = "sti_shadow_nmi",
	.description = "NMIs swept across cli; sti; hlt with an IRQ pending: does the NMI's IRET drop the STI shadow?",
	.min_cpus = 2,
	.default_iterations = 20000,
	.budget_ms = 5000,
	.run = run,
};
