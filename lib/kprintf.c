/* kprintf: format into a stack buffer, then write through the registered sink. */
#include "lib/lib.h"
#include "lib/printf.h"

static kprintf_sink_t sink;

void kprintf_set_sink(kprintf_sink_t s) { sink = s; }

void kvprintf(const char *fmt, va_list ap)
{
	char buf[1024];
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	size_t len = n < 0 ? 0 : MIN((size_t)n, sizeof(buf) - 1);
	kprintf_sink_t s = sink;
	if (s)
		s(buf, len);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}
