/*
 * sti_lost_wakeup_latency: idle CPUs run the classic `cli; check for work; sti; hlt` loop
 * while the boot CPU hands them work with an IPI at seeded random times and other CPUs storm
 * them with NMIs. Reports the IPI-to-wake latency distribution, how often the wake IRQ was
 * consumed before HLT (the shadow lost under an NMI), and how many of those sleeps only the
 * bounding timer ended.
 */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "kernel/outcome.h"
#include "kernel/stats.h"
#include "tests/sti/sti.h"
#include "kernel/arch_rules.h"

#define BOUND_NS 1000000ull
#define MAX_SAMPLES 8192

static struct outcomes oc;
static u32 o_woke, o_before_nmi, o_before_bound, o_before_other;
static volatile u32 role[MAX_CPUS]; /* 0 waker, 1 stormer, 2 idler */
static volatile u64 work[MAX_CPUS], sent_tsc[MAX_CPUS];
static volatile u32 stop;
static u64 samples[MAX_SAMPLES];
static volatile u64 nsamples, wakes_sent, nmis_sent, bound_only;
static u32 idlers[MAX_CPUS], nidlers;

static void classify(const struct sti_trial *t)
{
	if (!t->irq_count)
		return; /* woken by an NMI or the timer with no work IRQ: just loop */
	if (t->irq_rip != RIP(seq_sti_hlt_at_hlt)) {
		outcome_hit(&oc, o_woke);
	} else if (t->nmi_count && t->nmi_rip == RIP(seq_sti_hlt_after)) {
		outcome_hit(&oc, o_before_nmi);
	} else if (t->bound_fired) {
		outcome_hit(&oc, o_before_bound);
		__atomic_add_fetch(&bound_only, 1, __ATOMIC_RELAXED);
	} else {
		outcome_hit(&oc, o_before_other);
	}
}

static void idle_loop(void)
{
	u32 me = this_cpu_index();
	sti_bound_prepare(BOUND_NS);
	for (;;) {
		irq_disable();
		if (READ_ONCE(work[me])) { /* work first: a wake that raced with stop still counts */
			u64 lat = rdtsc() - sent_tsc[me];
			u64 slot = __atomic_fetch_add(&nsamples, 1, __ATOMIC_RELAXED);
			if (slot < MAX_SAMPLES)
				samples[slot] = lat;
			__atomic_store_n(&work[me], 0, __ATOMIC_RELEASE);
			continue;
		}
		if (READ_ONCE(stop))
			break;
		sti_record_begin();
		sti_bound_start();
		((sti_seq_fn)seq_sti_hlt)();
		sti_bound_stop();
		struct sti_trial rec;
		sti_record_end(&rec);
		classify(&rec);
	}
	irq_enable();
}

static void waker(const struct exp_ctx *ctx)
{
	u64 rng = rng_seed(ctx->seed, 5), span = ns_to_tsc(50000);
	for (u64 n = 0; n < ctx->iterations && !exp_budget_spent(ctx);) {
		u32 v = idlers[rng_next(&rng) % nidlers];
		delay_cycles(rng_next(&rng) % span);
		if (READ_ONCE(work[v]))
			continue;
		sent_tsc[v] = rdtsc();
		__atomic_store_n(&work[v], 1, __ATOMIC_RELEASE);
		ipi_send_cpu(v, ICR_FIXED | VEC_STI_IRQ);
		wakes_sent++;
		n++;
	}
}

static void stormer(const struct exp_ctx *ctx, u32 me)
{
	u64 rng = rng_seed(ctx->seed, 1000 + me), span = ns_to_tsc(20000);
	while (!READ_ONCE(stop)) {
		delay_cycles(rng_next(&rng) % span);
		ipi_send_cpu(idlers[rng_next(&rng) % nidlers], ICR_NMI);
		__atomic_add_fetch(&nmis_sent, 1, __ATOMIC_RELAXED);
	}
}

static void worker(void *arg)
{
	const struct exp_ctx *ctx = arg;
	u32 me = this_cpu_index();
	if (role[me] == 2)
		idle_loop();
	else if (role[me] == 1)
		stormer(ctx, me);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	outcomes_reset(&oc);
	o_woke = outcome_define(&oc, "wake_irq_after_hlt");
	o_before_nmi = outcome_define(&oc, "wake_irq_before_hlt_then_nmi_woke");
	o_before_bound = outcome_define(&oc, "wake_irq_before_hlt_then_bound_timer_woke");
	o_before_other = outcome_define(&oc, "wake_irq_before_hlt_then_other");
	u32 n = cpus_online(), nstorm = MAX(1u, (n - 1) / 3), k = 0;
	nidlers = 0;
	for_each_online_cpu(i) {
		role[i] = i == 0 ? 0 : k++ < nstorm ? 1 : 2;
		if (role[i] == 2)
			idlers[nidlers++] = i;
		work[i] = 0;
	}
	stop = 0;
	nsamples = wakes_sent = nmis_sent = bound_only = 0;
	sti_handlers_install();
	struct cpumask others;
	cpumask_online(&others);
	cpumask_unset(&others, 0);
	smp_call(&others, worker, ctx, false);
	waker(ctx);
	/* let the last wakes land (a loaded host may delay them), then stop everyone */
	for (u32 i = 0; i < nidlers; i++)
		for (u64 end = tsc_deadline_ns(2000000000ull);
		     READ_ONCE(work[idlers[i]]) && tsc_before(end);)
			cpu_relax();
	stop = 1;
	for (u32 i = 0; i < nidlers; i++)
		ipi_send_cpu(idlers[i], ICR_FIXED | VEC_CALL);
	smp_wait(&others);
	sti_handlers_remove();

	u64 got = nsamples, before = oc.count[o_before_nmi] + oc.count[o_before_bound] +
				     oc.count[o_before_other];
	u64 classified = before + oc.count[o_woke];
	outcomes_print(&oc);
	observation("wake_irq_before_hlt", before, classified);
	observation("wake_only_from_bound_timer", bound_only, classified);
	diag("idlers=%u stormers=%u wakes_sent=%lu wakes_seen=%lu nmis_sent=%lu", nidlers, nstorm,
	     wakes_sent, got, nmis_sent);
	diag_latency("wake", summarize(samples, MIN(got, (u64)MAX_SAMPLES)));
	report_rate(ctx, got, before);
	if (got != wakes_sent)
		return exp_fail(ctx, "%lu wakes sent, %lu seen: a wakeup was lost for good", wakes_sent, got);
	if (!control("wakeups", got))
		return exp_fail(ctx, "positive control: no wakeup happened");
	return EXP_PASS;
}

EXPERIMENT(exp_sti_lost_wakeup_latency) = {
	.order = EXP_ORDER(FAMILY_STI, 50),
	.name = "sti_lost_wakeup_latency",
	.description = "IPI-to-wake latency of cli;check;sti;hlt idlers under an NMI storm",
	.min_cpus = 3,
	.default_iterations = 5000,
	.budget_ms = 3000,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(sti_lost_wakeup_latency_rules) = {
	/* a lost wakeup needs an NMI in the STI shadow ending it: both model-specific */
	{ "sti_lost_wakeup_latency", "*",
	  ON_INTEL(MODEL_SPECIFIC, SDM_STI_NMI), ON_AMD(MODEL_SPECIFIC, APM_STI_NMI) },
};
/* clang-format on */
