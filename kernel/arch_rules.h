/*
 * What the architecture says about each observation, next to what the platform did.
 *
 * Each experiment's file holds its own rules (ARCH_RULES, a linker section), and a family's
 * shared file the rules common to several of its experiments: an experiment name or glob, an
 * observation glob, and per vendor a claim: the verdict, the manual section it comes from and
 * the manual's own words there (kernel/arch_quotes.h). observation() looks the rule up
 * (arch_rule_match), takes the claim of the vendor the CPU reports (arch_vendor_of), prints it
 * on the line and records a deviation when the platform contradicts it
 * (docs/output-format.md; every rule and quote: docs/arch-rules.md, made by
 * tools/arch-rules.py from the kernel's .arch_rules section).
 */
#ifndef RACEBED_ARCH_RULES_H
#define RACEBED_ARCH_RULES_H

#include "lib/types.h"
#include "kernel/arch_quotes.h"

enum arch_verdict {
	ARCH_UNKNOWN,        /* no rule: printed as arch=unknown (the harness rejects it) */
	ARCH_NEVER,          /* architecturally forbidden */
	ARCH_ALWAYS,         /* architecturally required */
	ARCH_ALLOWED,        /* either outcome is architectural */
	ARCH_MODEL_SPECIFIC, /* the manuals leave it to the implementation */
	ARCH_CONTROL,        /* a testbed measurement (a control), no architectural claim */
};

/* Whose manual decides: AMD's APM on AMD (and Hygon) CPUs, Intel's SDM on every other. */
enum arch_vendor { ARCH_INTEL, ARCH_AMD, ARCH_VENDORS };

/* One manual's word on an observation. */
struct arch_claim {
	enum arch_verdict verdict;
	const char *ref;   /* one token: SDM-3A-7.8.3, APM-2-8.9, ...; "none" for a control */
	const char *quote; /* the manual's words at ref (at most 25); "" for a control */
};

struct arch_rule {
	const char *experiment;  /* glob over experiment names */
	const char *observation; /* glob over observation names */
	struct arch_claim claim[ARCH_VENDORS];
};

/*
 * In a table: { "experiment", "observation", ON_INTEL(NEVER, SDM_x), ON_AMD(NEVER, APM_y) },
 * where SDM_x / APM_y name a quote of kernel/arch_quotes.h (its ref and its words). Where the
 * APM says nothing about it, ON_AMD cites the SDM's quote (the ref shows which manual).
 * CONTROL: a testbed measurement on every vendor.
 */
#define ON_INTEL(v, quote) .claim[ARCH_INTEL] = { ARCH_##v, quote }
#define ON_AMD(v, quote) .claim[ARCH_AMD] = { ARCH_##v, quote }
#define CONTROL .claim = { { ARCH_CONTROL, "none", "" }, { ARCH_CONTROL, "none", "" } }

#define ARCH_RULES(ident)                                                                    \
	static const struct arch_rule ident[]                                                \
		__attribute__((used, section(".arch_rules"), aligned(8)))

/* The rule of [first, end) for (experiment, observation), or NULL: the first one naming the
 * experiment exactly, else the first family-wide glob. */
const struct arch_rule *arch_rule_match(const struct arch_rule *first, const struct arch_rule *end,
					const char *experiment, const char *observation);
/* The vendor whose manual applies to a CPUID vendor string ("AuthenticAMD", ...). */
enum arch_vendor arch_vendor_of(const char *cpuid_vendor);
const char *arch_vendor_name(enum arch_vendor v); /* "intel", "amd" */
/* The claim of rule r (may be NULL) for vendor v; NULL when there is no rule. */
const struct arch_claim *arch_claim_of(const struct arch_rule *r, enum arch_vendor v);
const char *arch_verdict_name(enum arch_verdict v);
/* The platform's word: Never (0 hits), Always (hits = trials), Sometimes, Unreached (0 trials:
 * the observation's precondition never occurred, so the run says nothing about it). */
const char *arch_word(u64 hits, u64 trials);
/* True when a platform word (Never/Sometimes/Always) contradicts the verdict. */
bool arch_deviates(enum arch_verdict v, u64 hits, u64 trials);

#endif
