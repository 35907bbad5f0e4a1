/* Summaries of sample arrays: min, median, p99, max, and their log2 histogram. */
#ifndef RACEBED_STATS_H
#define RACEBED_STATS_H

#include "lib/types.h"

struct summary {
	u64 n, min, median, p99, max;
	const u64 *sorted; /* the summarised samples (sorted in place), for the histogram */
};

/* Sorts v in place (n small enough for an insertion-free heap sort) and summarises it. */
struct summary summarize(u64 *v, u64 n);
/*
 * Prints `# NAME_cycles=min/median/p99/max`, `# NAME_ns=...` and the samples' log2 histogram
 * `# hist NAME unit=ns ...` for a TSC-cycle summary.
 */
void diag_latency(const char *name, struct summary s);

#endif
