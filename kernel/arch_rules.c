/*
 * Architectural verdicts for observations (see arch_rules.h): plain C over a rule array, so
 * host/unit/test_classify.c can test it (and the families' tables) on the host. The kernel's
 * linker-section walk is in kernel/outcome.c.
 */
#include "kernel/arch_rules.h"
#include "lib/glob.h"

static bool is_glob(const char *pattern)
{
	for (; *pattern; pattern++)
		if (*pattern == '*' || *pattern == '?' || *pattern == '[')
			return true;
	return false;
}

/*
 * A rule that names its experiment exactly (it sits in that experiment's file) wins over a
 * family-wide glob; within each kind the first match in link order wins.
 */
const struct arch_rule *arch_rule_match(const struct arch_rule *first, const struct arch_rule *end,
					const char *experiment, const char *observation)
{
	const struct arch_rule *by_glob = NULL;
	for (const struct arch_rule *r = first; r < end; r++) {
		if (!glob_match(r->experiment, experiment) || !glob_match(r->observation, observation))
			continue;
		if (!is_glob(r->experiment))
			return r;
		if (!by_glob)
			by_glob = r;
	}
	return by_glob;
}

_Static_assert(sizeof(struct arch_claim) == 24 && sizeof(struct arch_rule) == 64,
	       "struct arch_rule changed: update tools/arch-rules.py");

static bool same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

enum arch_vendor arch_vendor_of(const char *cpuid_vendor)
{
	if (same(cpuid_vendor, "AuthenticAMD") || same(cpuid_vendor, "HygonGenuine"))
		return ARCH_AMD;
	return ARCH_INTEL;
}

const char *arch_vendor_name(enum arch_vendor v)
{
	return v == ARCH_AMD ? "amd" : "intel";
}

const struct arch_claim *arch_claim_of(const struct arch_rule *r, enum arch_vendor v)
{
	return r ? &r->claim[v == ARCH_AMD ? ARCH_AMD : ARCH_INTEL] : NULL;
}

const char *arch_verdict_name(enum arch_verdict v)
{
	static const char *const names[] = { "unknown", "never", "always", "allowed",
					     "model-specific", "control" };
	return (u32)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
}

const char *arch_word(u64 hits, u64 trials)
{
	return trials == 0 ? "Unreached" : hits == 0 ? "Never" : hits == trials ? "Always"
								 : "Sometimes";
}

bool arch_deviates(enum arch_verdict v, u64 hits, u64 trials)
{
	if (trials == 0)
		return false;
	if (v == ARCH_NEVER)
		return hits != 0;
	if (v == ARCH_ALWAYS)
		return hits != trials;
	return false;
}
