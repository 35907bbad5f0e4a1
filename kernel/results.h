/*
 * What the results screen shows at the end of a run: the failing tests and the observations
 * that disagree with the architecture, recorded as the run goes, then rendered as one page of
 * text (kernel/results_screen.c puts it on the framebuffer).
 */
#ifndef RACEBED_RESULTS_H
#define RACEBED_RESULTS_H

#include "kernel/arch_rules.h"
#include "kernel/platform.h"

#define RESULTS_MAX_FAILURES 32
#define RESULTS_MAX_DEVIATIONS 32

/* A failed test and its one-line reason (the runner calls this for every `not ok`). */
void results_note_failure(const char *name, const char *reason);
/*
 * An observation that disagrees with what the architecture says (an arch= verdict of never or
 * always that the platform contradicted: docs/output-format.md), by experiment and observation
 * name. For the observation code (kernel/outcome.c) to call.
 */
void results_note_deviation(const char *experiment, const char *observation);
/*
 * An observation as kernel/outcome.c prints it: added up into the headlines it matches (the
 * answers at the top of the page, one line each: NMI inside the STI shadow, ...).
 */
void results_note_observation(const char *experiment, const char *name, u64 hits, u64 trials,
			      enum arch_verdict v);
/* Forgets everything noted (for the unit test). */
void results_reset(void);

struct results_totals {
	u32 passed, failed, skipped;
};

/*
 * Renders the results page into out (at most len bytes, NUL-terminated): lines separated by
 * '\n', none longer than cols characters, at most rows lines (lists are cut with a "... and N
 * more" line so the page never scrolls). Returns the number of lines.
 */
u32 results_render(char *out, size_t len, u32 cols, u32 rows, const struct results_totals *t,
		   const struct platform *p);

#endif
