/*
 * sti_if_in_shadow: TODO what is tested: the run, the window, what each trial counts.
 *
 * Why: TODO what would break (entry code, a patcher, a hypervisor) if the CPU did otherwise.
 *
 * Seed: TODO the mail, CVE, XSA or erratum it comes from, with its link (or: none).
 *
 * SDM/APM: TODO what the manuals say, section by section (quotes of at most 25 words); the
 * ARCH_RULES at the end of this file carry the verdicts.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "kernel/arch_rules.h"
#include "kernel/experiment.h"
#include "kernel/outcome.h"

static volatile u32 initial_id[MAX_CPUS];
static volatile u64 answered;

/* One trial, on the CPU under test. */
static void hello(void *arg)
{
	(void)arg;
	initial_id[this_cpu_index()] = cpuid(1, 0).ebx >> 24;
	__atomic_add_fetch(&answered, 1, __ATOMIC_RELEASE);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	u64 trials = 0, same = 0;
	answered = 0;
	for (u64 n = 0; n < ctx->iterations && !exp_budget_spent(ctx); n++) {
		for_each_online_cpu(i) {
			initial_id[i] = ~0u;
			smp_call_one(i, hello, NULL, true);
			trials++;
			same += initial_id[i] == (cpus[i].apic_id & 0xff);
		}
	}
	diag("hello from %lu of %lu calls", answered, trials);
	/* `# observation NAME=Never|Sometimes|Always HITS/TRIALS arch=... ref=...` */
	observation("initial_apic_id_is_firmware_apic_id", same, trials);
	report_rate(ctx, trials, same);
	/* the verdict: the calls the testbed made must all have come back */
	if (!control("answered", answered) || answered != trials)
		return exp_fail(ctx, "%lu of %lu calls answered", answered, trials);
	return EXP_PASS;
}

EXPERIMENT(exp_sti_if_in_shadow) = {
	.order = EXP_ORDER(FAMILY_STI, 70),
	.name = "sti_if_in_shadow",
	.description = "TODO: what it checks, in one line (make docs puts it in the READMEs)",
	.min_cpus = 1,
	.default_iterations = 3,
	.budget_ms = 1000,
	.run = run,
};

/* What the manuals say about each observation (kernel/arch_rules.h): verdict and section. */
/* TODO: one rule per observation (this one is the template's). */
ARCH_RULES(sti_if_in_shadow_rules) = {
	/* software may have rewritten the local APIC ID where the model lets it */
	{ "sti_if_in_shadow", "initial_apic_id_is_firmware_apic_id", ARCH_MODEL_SPECIFIC, "SDM-3A-10.4.6" },
};
