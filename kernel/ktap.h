/*
 * Nested KTAP subtests: per-case results (a row of a matrix, a variant, a CPU) as a block
 * indented by 4 spaces inside the running experiment, printed before its result line:
 *
 *     KTAP version 1
 *     # Subtest: NAME
 *     1..PLAN
 *     # diagnostics of case 1
 *     ok 1 CASE
 *     ...
 *
 * Usage: ktap_sub_begin(&s, plan); then exactly `plan` ktap_sub_result() calls
 * (ktap_sub_diag() before a result belongs to it); then ktap_sub_end(). A failed case also
 * fails the experiment (the runner checks ktap_sub_failed()).
 */
#ifndef RACEBED_KTAP_H
#define RACEBED_KTAP_H

#include "kernel/experiment.h"

struct ktap_sub {
	const char *name;
	u32 plan, done, failed;
	char first_failed[48];
};

/* The block is named after the running experiment (KTAP: `# Subtest: NAME` must match the
 * parent's result line). */
void ktap_sub_begin(struct ktap_sub *s, u32 plan);
/* `    # ...` inside the block. */
void ktap_sub_diag(const struct ktap_sub *s, const char *fmt, ...) PRINTF_FMT(2, 3);
/* One case: `    ok N CASE`, `    not ok N CASE` or `    ok N CASE # SKIP reason` (reason may be
 * NULL for pass/fail; for a failure it is printed as a diagnostic before the result). */
void ktap_sub_result(struct ktap_sub *s, enum exp_result r, const char *reason, const char *fmt, ...)
	PRINTF_FMT(4, 5);
/* Closes the block: cases never reported are printed as failed, so the plan adds up. Returns
 * the number of failed cases. */
u32 ktap_sub_end(struct ktap_sub *s);

/* For the runner: failed cases since the last reset (the experiment's), and the name of the
 * first. An open block is closed by ktap_sub_abort() when the run crashes. */
void ktap_sub_reset(void);
u32 ktap_sub_failed(const char **first);
void ktap_sub_abort(const char *why);

#endif
