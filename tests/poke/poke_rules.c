/*
 * Rules shared by every poke_* experiment (kernel/arch_rules.h): the int3 protocol's promises,
 * which hold whichever experiment drives it, and the testbed's own controls. An experiment's
 * file may refine them with rules naming it exactly.
 */
#include "kernel/arch_rules.h"

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(poke_rules_rules) = {
	/* the full protocol: every executor serializes (sync) after each step */
	{ "poke_*", "broken_*", ON_INTEL(NEVER, SDM_XMC), ON_AMD(NEVER, SDM_XMC) },
	{ "poke_*", "stale_int3_after_sync", ON_INTEL(NEVER, SDM_XMC), ON_AMD(NEVER, SDM_XMC) },
	{ "poke_*", "both_*_seen", CONTROL },
	{ "poke_*", "patch_with_bp_emulation", CONTROL },
	/* ablations: no int3 at all (torn_rel32, bytewise), or one sync / the refcount left out */
	{ "poke_*", "stale_descriptor_seen*", CONTROL },
	{ "poke_*", "other_damage_seen*",
	  ON_INTEL(MODEL_SPECIFIC, SDM_XMC_UNSYNCED), ON_AMD(MODEL_SPECIFIC, SDM_XMC_UNSYNCED) },
};
/* clang-format on */
