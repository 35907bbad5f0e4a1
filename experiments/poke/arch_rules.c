/*
 * What the manuals say about the text-poke observations (see kernel/arch_rules.h).
 *
 * SDM-3A-8.1.3 (handling self- and cross-modifying code): a processor that executes code
 *   another one modified must, after seeing the writer's flag, execute a serializing
 *   instruction; then it runs the new code. Without that, what it runs is model-specific
 *   (unsynchronized XMC can even fault: "unexpected or unpredictable execution behavior").
 *   Self-modifying code followed by a jump to it (the patcher calling its own site) runs the
 *   new code. The int3 protocol rests on exactly these rules: its syncs make every CPU
 *   serialize after each step, so once the last sync is acked no CPU may run the int3.
 * Outcomes of the testbed's own software choices (which targets were seen, batching speed,
 * where NMIs landed, a descriptor read without a reference) are controls, not claims.
 */
#include "kernel/arch_rules.h"

ARCH_RULES(poke_rules) = {
	/* the full protocol */
	{ "poke_*", "broken_*", ARCH_NEVER, "SDM-3A-8.1.3" },
	{ "poke_*", "stale_int3_after_sync", ARCH_NEVER, "SDM-3A-8.1.3" },
	{ "poke_*", "both_*_seen", ARCH_CONTROL, "none" },
	{ "poke_*", "patch_with_bp_emulation", ARCH_CONTROL, "none" },
	{ "poke_batch", "batch_faster_than_single", ARCH_CONTROL, "none" },
	{ "poke_emulate_modes", "atomic_refuses_misaligned_rel32", ARCH_CONTROL, "none" },
	{ "poke_nmi_patcher", "nmi_*", ARCH_CONTROL, "none" },
	{ "poke_nmi_patcher", "self_call_bp_after_int3", ARCH_ALWAYS, "SDM-3A-8.1.3" },
	{ "poke_nmi_patcher", "self_call_bp_after_tail", ARCH_ALWAYS, "SDM-3A-8.1.3" },
	{ "poke_nmi_patcher", "self_call_bp_after_first", ARCH_NEVER, "SDM-3A-8.1.3" },

	/* ablations: no int3 at all (torn_rel32, bytewise), or one sync / the refcount left out */
	{ "poke_*", "stale_descriptor_seen*", ARCH_CONTROL, "none" },
	{ "poke_*", "other_damage_seen*", ARCH_MODEL_SPECIFIC, "SDM-3A-8.1.3" },
	{ "poke_torn_rel32", "torn_call_seen_inline", ARCH_MODEL_SPECIFIC, "SDM-3A-8.1.3" },
	{ "poke_torn_rel32", "torn_call_seen_xline", ARCH_ALLOWED, "SDM-3A-8.1.3" },
	{ "poke_torn_rel32", "stale_int3_seen*", ARCH_NEVER, "SDM-3A-8.1.3" },
	{ "poke_bytewise", "torn_call_seen", ARCH_ALLOWED, "SDM-3A-8.1.3" },
	{ "poke_bytewise", "stale_int3_seen", ARCH_NEVER, "SDM-3A-8.1.3" },
	/* sync 1 or 2 left out: the executor may mix old and new bytes; sync 3 still follows */
	{ "poke_no_sync[12]", "torn_call_seen", ARCH_ALLOWED, "SDM-3A-8.1.3" },
	{ "poke_no_sync[12]", "stale_int3_seen", ARCH_NEVER, "SDM-3A-8.1.3" },
	/* sync 3 left out: nothing serializes the executor after the int3 is removed */
	{ "poke_no_sync3", "torn_call_seen", ARCH_NEVER, "SDM-3A-8.1.3" },
	{ "poke_no_sync3", "stale_int3_seen", ARCH_ALLOWED, "SDM-3A-8.1.3" },
	/* no refcount: every sync is there; the handler's unreferenced read is a software race */
	{ "poke_no_refcount", "torn_call_seen", ARCH_NEVER, "SDM-3A-8.1.3" },
	{ "poke_no_refcount", "stale_int3_seen", ARCH_ALLOWED, "SDM-3A-8.1.3" },

	/* poke_sdm_flag: the recipe followed (CPUID after the flag) vs not */
	{ "poke_sdm_flag", "old_code_cpuid_*", ARCH_NEVER, "SDM-3A-8.1.3" },
	{ "poke_sdm_flag", "old_code_plain_*", ARCH_ALLOWED, "SDM-3A-8.1.3" },
};
