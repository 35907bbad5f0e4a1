/*
 * sti_if_in_shadow: what RFLAGS says inside STI's shadow. On every CPU, with interrupts off,
 * `sti; pushfq` saves RFLAGS while the shadow still holds interrupts back, and `cli; pushfq`
 * saves it right after CLI; each trial counts whether IF was set in each copy.
 *
 * Why: entry and idle code (`sti; hlt`, `sti; sysretq`) and a handler that reads the
 * interrupted RFLAGS (an NMI or #DB in the shadow) take IF=1 to mean interrupts are on,
 * although none is recognized before the next instruction has run.
 *
 * Seed: none; the question behind sti_shadow_nmi (an NMI whose IRET returns into the shadow
 * with IF already 1 in its frame).
 *
 * SDM/APM: STI's operation is IF := 1, and the processor responds to maskable interrupts
 * "after the next instruction is executed" (SDM vol. 2B, STI): the flag is set at once, the
 * recognition waits. CLI clears IF (SDM vol. 2A, CLI): the control, which must read 0.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "kernel/arch_rules.h"
#include "kernel/experiment.h"
#include "kernel/outcome.h"

static volatile u64 trials[MAX_CPUS], if_in_shadow[MAX_CPUS], if_after_cli[MAX_CPUS];
static u64 per_cpu;

/* The trials of one CPU, interrupts off around each: RFLAGS saved in the shadow, after CLI. */
static void trials_here(void *arg)
{
	(void)arg;
	u32 me = this_cpu_index();
	for (u64 n = 0; n < per_cpu; n++) {
		u64 flags = irq_save(), in_shadow, after_cli;
		__asm__ volatile("sti\n\tpushfq\n\tpopq %0\n\tcli\n\tpushfq\n\tpopq %1"
				 : "=r"(in_shadow), "=r"(after_cli)::"memory");
		irq_restore(flags);
		if_in_shadow[me] += !!(in_shadow & RFLAGS_IF);
		if_after_cli[me] += !!(after_cli & RFLAGS_IF);
		trials[me]++;
	}
}

static enum exp_result run(struct exp_ctx *ctx)
{
	u64 n = 0, in_shadow = 0, after_cli = 0, cpus_run = 0;
	per_cpu = ctx->iterations;
	for_each_online_cpu(i) {
		trials[i] = if_in_shadow[i] = if_after_cli[i] = 0;
		smp_call_one(i, trials_here, NULL, true);
		n += trials[i];
		in_shadow += if_in_shadow[i];
		after_cli += if_after_cli[i];
		cpus_run++;
	}
	diag("cpus=%lu trials=%lu if_in_shadow=%lu if_after_cli=%lu", cpus_run, n, in_shadow,
	     after_cli);
	observation("if_set_in_sti_shadow", in_shadow, n);
	observation("if_set_after_cli", after_cli, n);
	report_rate(ctx, n, in_shadow);
	if (!control("trials", n))
		return exp_fail(ctx, "no trial ran");
	if (after_cli)
		return exp_fail(ctx, "control: IF read as set right after CLI in %lu of %lu",
				after_cli, n);
	return EXP_PASS;
}

EXPERIMENT(exp_sti_if_in_shadow) = {
	.order = EXP_ORDER(FAMILY_STI, 70),
	.name = "sti_if_in_shadow",
	.description = "pushfq in the STI shadow and after cli: is IF already set (every CPU)?",
	.min_cpus = 1,
	.default_iterations = 2000,
	.budget_ms = 1000,
	.run = run,
};

/* What the manuals say about each observation (kernel/arch_rules.h): verdict and section. */
/* clang-format off: a table laid out by hand */
ARCH_RULES(sti_if_in_shadow_rules) = {
	/* STI sets IF at once; only the recognition of interrupts waits one instruction */
	{ "sti_if_in_shadow", "if_set_in_sti_shadow",
	  ON_INTEL(ALWAYS, SDM_STI_SETS_IF), ON_AMD(ALWAYS, SDM_STI_SETS_IF) },
	{ "sti_if_in_shadow", "if_set_after_cli",
	  ON_INTEL(NEVER, SDM_CLI_CLEARS_IF), ON_AMD(NEVER, SDM_CLI_CLEARS_IF) },
};
/* clang-format on */
