/*
 * Rules shared by every poke_* experiment (kernel/arch_rules.h): the int3 protocol's promises,
 * which hold whichever experiment drives it, and the testbed's own controls. An experiment's
 * file may refine them with rules naming it exactly.
 */
#include "kernel/arch_rules.h"

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
ARCH_RULES(poke_rules_rules) = {
	/* the full protocol */
	{ "poke_*", "broken_*", ARCH_NEVER, "SDM-3A-8.1.3" },
	{ "poke_*", "stale_int3_after_sync", ARCH_NEVER, "SDM-3A-8.1.3" },
	{ "poke_*", "both_*_seen", ARCH_CONTROL, "none" },
	{ "poke_*", "patch_with_bp_emulation", ARCH_CONTROL, "none" },
	/* ablations: no int3 at all (torn_rel32, bytewise), or one sync / the refcount left out */
	{ "poke_*", "stale_descriptor_seen*", ARCH_CONTROL, "none" },
	{ "poke_*", "other_damage_seen*", ARCH_MODEL_SPECIFIC, "SDM-3A-8.1.3" },
};
