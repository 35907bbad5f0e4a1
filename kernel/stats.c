/* Heap sort and percentile summaries for latency samples. */
#include "kernel/stats.h"
#include "arch/x86/time.h"
#include "kernel/experiment.h"
#include "kernel/hist.h"

static void sift_down(u64 *v, u64 root, u64 n)
{
	for (;;) {
		u64 child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && v[child + 1] > v[child])
			child++;
		if (v[root] >= v[child])
			return;
		u64 t = v[root];
		v[root] = v[child];
		v[child] = t;
		root = child;
	}
}

static void heap_sort(u64 *v, u64 n)
{
	for (u64 i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (u64 end = n; end-- > 1;) {
		u64 t = v[0];
		v[0] = v[end];
		v[end] = t;
		sift_down(v, 0, end);
	}
}

struct summary summarize(u64 *v, u64 n)
{
	struct summary s = { n, 0, 0, 0, 0, v };
	if (!n)
		return s;
	heap_sort(v, n);
	s.min = v[0];
	s.median = v[n / 2];
	s.p99 = v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	s.max = v[n - 1];
	return s;
}

void diag_latency(const char *name, struct summary s)
{
	diag("%s_samples=%lu", name, s.n);
	diag("%s_cycles=min/median/p99/max %lu/%lu/%lu/%lu", name, s.min, s.median, s.p99, s.max);
	diag("%s_ns=min/median/p99/max %lu/%lu/%lu/%lu", name, tsc_to_ns(s.min),
	     tsc_to_ns(s.median), tsc_to_ns(s.p99), tsc_to_ns(s.max));
	if (s.sorted)
		hist_print_tsc_ns(name, s.sorted, s.n);
}
