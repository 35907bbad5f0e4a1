/*
 * nmi_storm: every CPU sends NMIs to every other CPU for a fixed time while also counting its
 * own progress. Sent vs handled gives the merge rate (an NMI sent while one is already pending
 * on the target merges with it); every CPU must keep making progress.
 */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "kernel/outcome.h"
#include "arch/x86/trap.h"
#include "arch/x86/spinlock.h"

/* sent[] by the sending CPU (each CPU writes only its own slot: with three or more CPUs, a
 * count per target had senders' increments racing, and lost ones made handled > sent on Bochs) */
static volatile u64 sent[MAX_CPUS], handled[MAX_CPUS], progress[MAX_CPUS];
static volatile u64 end_tsc;
static struct cpu_barrier bar;

static bool on_nmi(struct trap_frame *f)
{
	(void)f;
	if (this_cpu()->sample_request)
		return false;
	handled[this_cpu_index()]++;
	return true;
}

static void storm(void *arg)
{
	(void)arg;
	u32 me = this_cpu_index();
	cpu_barrier_wait(&bar);
	while (tsc_before(end_tsc)) {
		for_each_online_cpu(c) {
			if (c == me)
				continue;
			ipi_send_cpu(c, ICR_NMI);
			sent[me]++;
		}
		progress[me]++;
	}
}

static enum exp_result run(struct exp_ctx *ctx)
{
	for (u32 i = 0; i < MAX_CPUS; i++)
		sent[i] = handled[i] = progress[i] = 0;
	cpu_barrier_init(&bar, ctx->ncpus);
	end_tsc = rdtsc() + ctx->budget_tsc;
	trap_set_handler(VEC_NMI, on_nmi);
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, storm, NULL, true);
	udelay(20000); /* let the last NMIs land */
	trap_set_handler(VEC_NMI, NULL);
	u64 s = 0, h = 0, stalled = 0, min_progress = ~0ull;
	for_each_online_cpu(i) {
		s += sent[i];
		h += handled[i];
		min_progress = MIN(min_progress, (u64)progress[i]);
		stalled += progress[i] == 0;
	}
	diag("nmis_sent=%lu nmis_handled=%lu merged=%lu merge_permille=%lu min_cpu_progress=%lu", s, h,
	     s > h ? s - h : 0, s ? (s - MIN(s, h)) * 1000 / s : 0, min_progress);
	report_rate(ctx, s, h);
	if (h > s)
		return exp_fail(ctx, "more NMIs handled (%lu) than sent (%lu)", h, s);
	if (stalled)
		return exp_fail(ctx, "%lu CPUs made no progress under the storm", stalled);
	if (!control("nmis_handled", h))
		return exp_fail(ctx, "positive control: no NMI was handled");
	return EXP_PASS;
}

EXPERIMENT(exp_nmi_storm) = {
	.order = EXP_ORDER(FAMILY_NMI, 10),
	.name = "nmi_storm",
	.description = "every CPU NMIs every other CPU for a fixed time: sent, handled, merge rate, progress",
	.min_cpus = 2,
	.default_iterations = 1,
	.budget_ms = 500,
	.run = run,
};
