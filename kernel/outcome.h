/*
 * Reporting for race experiments: outcome histograms (`# outcome NAME=COUNT`), observations
 * (`# observation NAME=Never|Sometimes|Always|Unreached HITS/TRIALS`) and the trial rate.
 */
#ifndef RACEBED_OUTCOME_H
#define RACEBED_OUTCOME_H

#include "kernel/experiment.h"

#define OUTCOME_MAX 16

struct outcomes {
	u32 n;
	const char *name[OUTCOME_MAX];
	volatile u64 count[OUTCOME_MAX];
};

/* Registers an outcome name and returns its index (call before trials start). */
u32 outcome_define(struct outcomes *o, const char *name);
static inline void outcome_hit(struct outcomes *o, u32 idx)
{
	__atomic_add_fetch(&o->count[idx], 1, __ATOMIC_RELAXED);
}
void outcomes_reset(struct outcomes *o);
void outcomes_print(const struct outcomes *o);
/*
 * `# observation NAME=WORD HITS/TRIALS arch=VERDICT ref=REF vendor=V`: WORD is Never (0 hits),
 * Always (hits == trials), Sometimes, or Unreached when trials == 0. trials counts the times
 * the observation's precondition occurred (a #DB that must fire first, say), not the attempts:
 * a window never reached is Unreached, never Never. The verdict is the rule's claim for the CPU
 * vendor of the run (V: intel or amd). A contradiction is recorded as a deviation (printed at
 * the end of the run).
 */
void observation(const char *name, u64 hits, u64 trials);
/* `# control NAME=COUNT`: a positive control. Returns count != 0 (the window was hit). */
bool control(const char *name, u64 count);
/* `# deviations: EXP.OBS,...` or `# deviations: none`, for the end of the run. */
void deviations_print(void);
/* Number of deviations recorded so far. */
u32 deviations_count(void);
/* `# trials=N hits=H ms=T trials_per_s=R hits_per_s=S`, time since the experiment started
 * less the time spent printing (so diagnostics printed before it do not count). */
void report_rate(const struct exp_ctx *ctx, u64 trials, u64 hits);

#endif
