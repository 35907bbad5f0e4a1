/* Outcome histograms and observations in KTAP diagnostics. */
#include "kernel/outcome.h"
#include "arch/x86/cpu.h"
#include "arch/x86/time.h"
#include "kernel/console.h"

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

void observation(const char *name, u64 hits, u64 trials)
{
	const char *word = trials == 0 ? "Unreached" : hits == 0 ? "Never"
			 : hits == trials ? "Always" : "Sometimes";
	diag("observation %s=%s %lu/%lu", name, word, hits, trials);
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
