/* The run record for the QR codes (see record.h and docs/run-record.md). */
#include "kernel/record.h"
#include "lib/lib.h"
#include "lib/printf.h"

/* room kept at the end for the truncation line */
#define TAIL 64

static char text[RECORD_MAX];
static u32 used, lost;
static bool marked; /* the truncation line is there */

static void PRINTF_FMT(1, 2) add(const char *fmt, ...)
{
	char line[320];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	u32 n = (u32)strlen(line);
	if (lost || used + n + TAIL >= sizeof(text)) {
		lost += n;
		return;
	}
	memcpy(text + used, line, n + 1);
	used += n;
}

/* A reason on one line: newlines become spaces. */
static const char *one_line(const char *s, char *buf, size_t len)
{
	ksnprintf(buf, len, "%s", s ? s : "");
	for (char *c = buf; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	return buf;
}

void record_reset(void)
{
	used = lost = 0;
	marked = false;
	text[0] = 0;
}

void record_begin(const struct platform *p)
{
	char fields[256];
	record_reset();
	platform_format(fields, sizeof(fields), p);
	add("racebed-record %u\nP %s\n", RECORD_VERSION, fields);
}

void record_observation(const char *name, u64 hits, u64 trials, enum arch_verdict v)
{
	static const char letter[] = { 'u', 'n', 'a', 'l', 'm', 'c' };
	add("O %s %lu %lu %c\n", name, hits, trials, (u32)v < sizeof(letter) ? letter[v] : 'u');
}

void record_result(enum record_result r, const char *name, const char *reason)
{
	char buf[160];
	if (r == RECORD_OK)
		add("ok %s\n", name);
	else
		add("%s %s %s\n", r == RECORD_SKIP ? "skip" : "not ok", name,
		    one_line(reason, buf, sizeof(buf)));
}

void record_end(u32 passed, u32 failed, u32 skipped, u32 deviations)
{
	add("D %u\nT %u %u %u %u\n", deviations, passed, failed, skipped,
	    passed + failed + skipped);
}

const char *record_text(u32 *len)
{
	if (lost && !marked) {
		ksnprintf(text + used, TAIL, "! truncated %u bytes\n", lost);
		used += (u32)strlen(text + used);
		marked = true;
	}
	*len = used;
	return text;
}
