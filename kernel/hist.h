/*
 * Log2 latency histograms: bucket K counts samples in [2^K, 2^(K+1)), a separate count for
 * zeros. Printed as `# hist NAME unit=ns|cycles n=N K:C ...` (docs/output-format.md).
 */
#ifndef RACEBED_HIST_H
#define RACEBED_HIST_H

#include "lib/types.h"

struct hist {
	volatile u64 n, zero;
	volatile u64 bucket[64];
};

void hist_reset(struct hist *h);
/* Adds one sample (atomic: several CPUs may add to one histogram). */
void hist_add(struct hist *h, u64 v);
/* Prints the histogram as it is (unit names what the samples are: "ns" or "cycles"). */
void hist_print(const char *name, const char *unit, const struct hist *h);
/* Prints TSC-cycle samples v[0..n) as a histogram in ns. */
void hist_print_tsc_ns(const char *name, const u64 *v, u64 n);

#endif
