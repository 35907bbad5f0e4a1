/* Minimal check macros for the host-side unit tests (built with ASan and UBSan). */
#ifndef RACEBED_CHECK_H
#define RACEBED_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_pass, check_fail;

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (cond) {                                                                \
			check_pass++;                                                      \
		} else {                                                                   \
			check_fail++;                                                      \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                          \
	} while (0)

#define CHECK_STR(got, want)                                                               \
	do {                                                                               \
		const char *g_ = (got), *w_ = (want);                                      \
		if (strcmp(g_, w_) == 0) {                                                 \
			check_pass++;                                                      \
		} else {                                                                   \
			check_fail++;                                                      \
			fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, g_, w_); \
		}                                                                          \
	} while (0)

/* Prints the one-line verdict and returns the process exit status. */
static inline int check_report(const char *name)
{
	printf("unit %s: %d checks passed, %d failed\n", name, check_pass, check_fail);
	return check_fail ? 1 : 0;
}

#endif
