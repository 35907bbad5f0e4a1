/*
 * Negative controls for the testbed itself, run only when named in tests=: a crash on an AP
 * must produce a full report and exit code 2; a hang must become a TIMEOUT with every stuck
 * CPU's RIP (one of them spinning with interrupts off, found only by NMI).
 */
#include "arch/x86/paging.h"
#include "arch/x86/smp.h"
#include "kernel/experiment.h"

static void fault_here(void *arg)
{
	(void)arg;
	*(volatile u64 *)UNMAPPED_TEST_ADDR = 0xdead;
}

static enum exp_result run_crash(struct exp_ctx *ctx)
{
	(void)ctx;
	u32 target = cpu_last_online(); /* an AP when there is one */
	smp_call_one(target, fault_here, NULL, true);
	return exp_fail(ctx, "the deliberate page fault did not end the run");
}

EXPERIMENT(exp_selftest_crash) = {
	.order = EXP_ORDER(FAMILY_SELFTEST, 10),
	.name = "selftest_crash",
	.description = "negative control: a page fault on an AP ends the run as a crash with a report",
	.min_cpus = 1,
	.default_iterations = 1,
	.manual = true,
	.run = run_crash,
};

static volatile u32 forever;

static void spin_irqs_off(void *arg)
{
	(void)arg;
	__asm__ volatile("cli");
	while (!forever)
		__asm__ volatile("pause");
}

static enum exp_result run_hang(struct exp_ctx *ctx)
{
	struct cpumask others;
	cpumask_online(&others);
	cpumask_unset(&others, this_cpu_index());
	smp_call(&others, spin_irqs_off, NULL, false);
	while (!forever)
		__asm__ volatile("pause");
	return exp_fail(ctx, "the hang ended");
}

EXPERIMENT(exp_selftest_hang) = {
	.order = EXP_ORDER(FAMILY_SELFTEST, 20),
	.name = "selftest_hang",
	.description = "negative control: a hang (APs with interrupts off) must become a TIMEOUT",
	.min_cpus = 1,
	.default_iterations = 1,
	.manual = true,
	.run = run_hang,
};
