/*
 * How arch/ reports to the layers above it without knowing them: a small table of hooks that
 * the kernel fills in at init. Every hook may be NULL (then arch/ does something safe alone).
 */
#ifndef RACEBED_ARCH_HOOKS_H
#define RACEBED_ARCH_HOOKS_H

#include "lib/types.h"

struct arch_hooks {
	/* What the machine is doing now (the running experiment), for crash reports. */
	const char *(*context)(void);
	/* A CPU faulted again while reporting a crash: stop waiting for output locks. */
	void (*crash_nested)(void);
	/* A crash report is printed: end the run. Must not return (arch/ halts if it does). */
	void (*crash_end)(void);
};

void arch_set_hooks(const struct arch_hooks *h);
extern const struct arch_hooks *arch_hooks;

#endif
