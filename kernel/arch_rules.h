/*
 * What the architecture says about each observation, next to what the platform did.
 *
 * Each experiment's file holds its own rules (ARCH_RULES, a linker section), and a family's
 * shared file the rules common to several of its experiments: an experiment name or glob, an
 * observation glob, the verdict and the manual section it comes from. observation() looks the
 * rule up (arch_rule_match), prints it on the line and records a deviation when the platform
 * contradicts it (docs/output-format.md).
 */
#ifndef RACEBED_ARCH_RULES_H
#define RACEBED_ARCH_RULES_H

#include "lib/types.h"

enum arch_verdict {
	ARCH_UNKNOWN,        /* no rule: printed as arch=unknown (the harness rejects it) */
	ARCH_NEVER,          /* architecturally forbidden */
	ARCH_ALWAYS,         /* architecturally required */
	ARCH_ALLOWED,        /* either outcome is architectural */
	ARCH_MODEL_SPECIFIC, /* the manuals leave it to the implementation */
	ARCH_CONTROL,        /* a testbed measurement (a control), no architectural claim */
};

struct arch_rule {
	const char *experiment;  /* glob over experiment names */
	const char *observation; /* glob over observation names */
	enum arch_verdict verdict;
	const char *ref;         /* one token: SDM-3A-6.8.3, APM-2-8.9, ... */
};

#define ARCH_RULES(ident)                                                                    \
	static const struct arch_rule ident[]                                                \
		__attribute__((used, section(".arch_rules"), aligned(8)))

/* The rule of [first, end) for (experiment, observation), or NULL: the first one naming the
 * experiment exactly, else the first family-wide glob. */
const struct arch_rule *arch_rule_match(const struct arch_rule *first, const struct arch_rule *end,
					const char *experiment, const char *observation);
const char *arch_verdict_name(enum arch_verdict v);
/* The platform's word: Never (0 hits), Always (hits = trials), Sometimes, Unreached (0 trials). */
const char *arch_word(u64 hits, u64 trials);
/* True when a platform word (Never/Sometimes/Always) contradicts the verdict. */
bool arch_deviates(enum arch_verdict v, u64 hits, u64 trials);

#endif
