/*
 * example: the template of an experiment, a hello world that runs only when named
 * (tests=example). `tools/new-experiment NAME FAMILY` copies it; each part below is one an
 * experiment's file has, in this order: the story, the run, the verdict, the registry entry, the
 * rules.
 *
 * What is tested: every online CPU in turn runs a function the boot CPU sends it and answers
 * with its initial APIC ID (CPUID.01H:EBX[31:24]), which is compared with the APIC ID the
 * firmware listed for it (ACPI MADT or MP table), the one IPIs are sent to.
 *
 * Why: the smallest run with every part: trials on several CPUs, an observation with the
 * architecture's answer, a positive control, a verdict that can fail.
 *
 * Seed: none. (Name the mail, CVE, XSA or erratum the experiment comes from, with its link.)
 *
 * SDM/APM: SDM vol. 3A 10.4.6: CPUID.01H:EBX[31:24] "is always the Initial APIC ID", even after
 * software changed the local APIC ID register, and whether software can change that register
 * "is processor model specific": the two may differ, hence model-specific below. (Quote at most
 * 25 words; the rule's ref names the section.)
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

EXPERIMENT(exp_example) = {
	.order = EXP_ORDER(FAMILY_CORE, 900),
	.name = "example",
	.description = "hello world and template: each CPU answers a call with its initial APIC ID",
	.min_cpus = 1,
	.default_iterations = 3,
	.budget_ms = 1000,
	.manual = true,
	.run = run,
};

/* What the manuals say about each observation (kernel/arch_rules.h): per vendor, the verdict
 * and the manual's words (a quote macro of kernel/arch_quotes.h: its section and <= 25 words). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(example_rules) = {
	/* software may have rewritten the local APIC ID where the model lets it */
	{ "example", "initial_apic_id_is_firmware_apic_id",
	  ON_INTEL(MODEL_SPECIFIC, SDM_APIC_ID_MODEL), ON_AMD(MODEL_SPECIFIC, SDM_APIC_ID_MODEL) },
};
/* clang-format on */
