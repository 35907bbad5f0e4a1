/* Log2 histograms (see hist.h). */
#include "kernel/hist.h"
#include "arch/x86/time.h"
#include "kernel/experiment.h"
#include "lib/printf.h"

void hist_reset(struct hist *h)
{
	h->n = h->zero = 0;
	for (u32 k = 0; k < 64; k++)
		h->bucket[k] = 0;
}

void hist_add(struct hist *h, u64 v)
{
	__atomic_add_fetch(&h->n, 1, __ATOMIC_RELAXED);
	if (!v)
		__atomic_add_fetch(&h->zero, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&h->bucket[63 - __builtin_clzll(v)], 1, __ATOMIC_RELAXED);
}

void hist_print(const char *name, const char *unit, const struct hist *h)
{
	char line[64 * 24 + 16];
	size_t len = 0;
	line[0] = 0;
	if (h->zero)
		len += (size_t)ksnprintf(line + len, sizeof(line) - len, " z:%lu", h->zero);
	for (u32 k = 0; k < 64 && len < sizeof(line); k++)
		if (h->bucket[k])
			len += (size_t)ksnprintf(line + len, sizeof(line) - len, " %u:%lu", k,
						 h->bucket[k]);
	diag("hist %s unit=%s n=%lu%s", name, unit, h->n, line);
}

void hist_print_tsc_ns(const char *name, const u64 *v, u64 n)
{
	struct hist h;
	hist_reset(&h);
	for (u64 i = 0; i < n; i++)
		hist_add(&h, tsc_to_ns(v[i]));
	hist_print(name, "ns", &h);
}
