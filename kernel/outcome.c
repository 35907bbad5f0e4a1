/* Outcome histograms and observations in KTAP diagnostics. */
#include "kernel/outcome.h"
#include "arch/x86/cpu.h"
#include "arch/x86/time.h"
#include "kernel/arch_rules.h"
#include "kernel/console.h"
#include "kernel/platform.h"
#include "kernel/record.h"
#include "kernel/results.h"
#include "kernel/runner.h"
#include "lib/lib.h"
#include "lib/printf.h"

u32 outcome_define(struct outcomes *o, const char *name)
{
	u32 i = o->n < OUTCOME_MAX ? o->n++ : OUTCOME_MAX - 1;
	o->name[i] = name;
	o->count[i] = 0;
	return i;
}

void outcomes_reset(struct outcomes *o)
{
	o->n = 0;
}

void outcomes_print(const struct outcomes *o)
{
	for (u32 i = 0; i < o->n; i++)
		diag("outcome %s=%lu", o->name[i], o->count[i]);
}

/* Deviations seen in this run, as "experiment.observation" (the first ones, all counted). */
static char deviations[96][72];
static u32 ndeviations;

extern const struct arch_rule __arch_rules_start[], __arch_rules_end[];

void observation(const char *name, u64 hits, u64 trials)
{
	const char *word = arch_word(hits, trials);
	const char *exp = runner_current();
	const struct arch_rule *r = arch_rule_match(__arch_rules_start, __arch_rules_end, exp, name);
	enum arch_vendor vendor = arch_vendor_of(the_platform.vendor);
	const struct arch_claim *c = arch_claim_of(r, vendor);
	enum arch_verdict v = c ? c->verdict : ARCH_UNKNOWN;
	diag("observation %s=%s %lu/%lu arch=%s ref=%s vendor=%s", name, word, hits, trials,
	     arch_verdict_name(v), c && c->ref ? c->ref : "none", arch_vendor_name(vendor));
	results_note_observation(exp, name, hits, trials, v);
	record_observation(name, hits, trials, v);
	if (arch_deviates(v, hits, trials)) {
		if (ndeviations < ARRAY_SIZE(deviations))
			ksnprintf(deviations[ndeviations], sizeof(deviations[0]), "%s.%s", exp, name);
		ndeviations++;
		results_note_deviation(exp, name); /* for the results screen */
	}
}

bool control(const char *name, u64 count)
{
	diag("control %s=%lu", name, count);
	return count != 0;
}

u32 deviations_count(void) { return ndeviations; }

/* One line however long (diag() lines are bounded): printed piece by piece. */
void deviations_print(void)
{
	if (ndeviations == 0) {
		diag("deviations: none");
		return;
	}
	kprintf("# deviations: ");
	for (u32 i = 0; i < MIN(ndeviations, (u32)ARRAY_SIZE(deviations)); i++)
		kprintf("%s%s", i ? "," : "", deviations[i]);
	if (ndeviations > ARRAY_SIZE(deviations))
		kprintf(",... (%u in all)", ndeviations);
	kprintf("\n");
}

/* The experiment's time so far, less what it (and anything else) spent printing. */
void report_rate(const struct exp_ctx *ctx, u64 trials, u64 hits)
{
	u64 elapsed = rdtsc() - ctx->start_tsc;
	u64 printing = console_print_cycles() - ctx->start_print_cycles;
	u64 ns = tsc_to_ns(elapsed > printing ? elapsed - printing : 0) + 1;
	diag("trials=%lu hits=%lu ms=%lu trials_per_s=%lu hits_per_s=%lu", trials, hits,
	     ns / 1000000u, muldiv64(trials, 1000000000u, ns), muldiv64(hits, 1000000000u, ns));
}
