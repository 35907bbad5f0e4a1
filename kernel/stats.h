/* Summaries of sample arrays: min, median, p99, max. */
#ifndef RACEBED_STATS_H
#define RACEBED_STATS_H

#include "lib/types.h"

struct summary { u64 n, min, median, p99, max; };

/* Sorts v in place (n small enough for an insertion-free heap sort) and summarises it. */
struct summary summarize(u64 *v, u64 n);
/* Prints `# NAME_cycles=min/median/p99/max NAME_ns=...` for a TSC-cycle summary. */
void diag_latency(const char *name, struct summary s);

#endif
