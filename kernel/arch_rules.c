/* Looking up architectural verdicts for observations (see arch_rules.h). */
#include "kernel/arch_rules.h"
#include "lib/glob.h"

extern const struct arch_rule __arch_rules_start[], __arch_rules_end[];

const struct arch_rule *arch_rule_find(const char *experiment, const char *observation)
{
	for (const struct arch_rule *r = __arch_rules_start; r < __arch_rules_end; r++)
		if (glob_match(r->experiment, experiment) && glob_match(r->observation, observation))
			return r;
	return NULL;
}

const char *arch_verdict_name(enum arch_verdict v)
{
	static const char *const names[] = { "unknown", "never", "always", "allowed",
					     "model-specific", "control" };
	return (u32)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
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
