/* Nested KTAP subtests (see ktap.h). */
#include "kernel/ktap.h"
#include "kernel/runner.h"
#include "lib/lib.h"
#include "lib/printf.h"

#define INDENT "    "

static struct ktap_sub *open_block; /* the block being printed, for ktap_sub_abort() */
static u32 failed_cases;            /* since ktap_sub_reset(): the running experiment's */
static char first_failed[96];

void ktap_sub_reset(void)
{
	failed_cases = 0;
	first_failed[0] = 0;
	open_block = NULL;
}

u32 ktap_sub_failed(const char **first)
{
	if (first)
		*first = first_failed;
	return failed_cases;
}

void ktap_sub_begin(struct ktap_sub *s, u32 plan)
{
	const char *name = runner_current();
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->plan = plan;
	open_block = s;
	kprintf(INDENT "KTAP version 1\n" INDENT "# Subtest: %s\n" INDENT "1..%u\n", name, plan);
}

void ktap_sub_diag(const struct ktap_sub *s, const char *fmt, ...)
{
	(void)s;
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kprintf(INDENT "# %s\n", buf);
}

static void note_failure(struct ktap_sub *s, const char *cname)
{
	s->failed++;
	if (!s->first_failed[0])
		ksnprintf(s->first_failed, sizeof(s->first_failed), "%s", cname);
	if (!failed_cases++)
		ksnprintf(first_failed, sizeof(first_failed), "%s.%s", s->name, cname);
}

void ktap_sub_result(struct ktap_sub *s, enum exp_result r, const char *reason, const char *fmt, ...)
{
	char cname[48];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(cname, sizeof(cname), fmt, ap);
	va_end(ap);
	u32 n = ++s->done;
	if (n > s->plan) /* a caller bug: keep the block valid KTAP, but say so */
		kprintf(INDENT "# %s: case %u beyond the plan of %u\n", s->name, n, s->plan);
	if (r == EXP_SKIP) {
		kprintf(INDENT "ok %u %s # SKIP %s\n", n, cname, reason ? reason : "");
	} else if (r == EXP_PASS) {
		kprintf(INDENT "ok %u %s\n", n, cname);
	} else {
		if (reason)
			kprintf(INDENT "# %s: failed: %s\n", cname, reason);
		kprintf(INDENT "not ok %u %s\n", n, cname);
		note_failure(s, cname);
	}
}

u32 ktap_sub_end(struct ktap_sub *s)
{
	while (s->done < s->plan) {
		char cname[24];
		ksnprintf(cname, sizeof(cname), "case%u", s->done + 1);
		ktap_sub_result(s, EXP_FAIL, "never reported by the experiment", "%s", cname);
	}
	open_block = NULL;
	return s->failed;
}

void ktap_sub_abort(const char *why)
{
	struct ktap_sub *s = open_block;
	if (!s)
		return;
	open_block = NULL;
	while (s->done < s->plan) {
		u32 n = ++s->done;
		kprintf(INDENT "ok %u case%u # SKIP not run: %s\n", n, n, why);
	}
}
