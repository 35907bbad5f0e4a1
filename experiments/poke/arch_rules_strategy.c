/* What the manuals say about the poke_strategy_* / poke_alias_cost / poke_inv_control
 * observations (see kernel/arch_rules.h). */
#include "kernel/arch_rules.h"

/*
 * SDM-3A-8.1.3 (APM-2-7.6.1 alike): code written by one CPU and executed by another needs the
 * executing CPU to serialize after the write; the int3 protocol's syncs provide that, so with
 * the protocol whole no call may run a mix of old and new bytes, and no CPU may execute an
 * int3 after the sync that followed its removal. Leaving out the second sync goes outside the
 * manuals' recipe: whether anything breaks then is the implementation's business. Deadlocks,
 * restarts and the invariant checker's verdicts are the testbed's own measurements.
 */
ARCH_RULES(poke_strategy_rules) = {
	{ "poke_strategy_no_sync2", "*damage_without_sync2", ARCH_MODEL_SPECIFIC, "SDM-3A-8.1.3" },
	{ "poke_strategy_no_sync2", "*stale_int3_without_sync2", ARCH_NEVER, "SDM-3A-8.1.3" },
	{ "poke_strategy_*", "*broken_call", ARCH_NEVER, "SDM-3A-8.1.3" },
	/* a CPU's own store (through the alias: the SMC check goes by physical address,
	 * SDM-3A-11.6), then a branch (the call through the site) before it runs the bytes: the
	 * SDM's "option 1" for self-modifying code, after which the new bytes must run */
	{ "poke_strategy_*", "*patcher_ran_own_removed_int3", ARCH_NEVER, "SDM-3A-8.1.3" },
	{ "poke_strategy_*", "*patcher_bp_deadlocked", ARCH_CONTROL, "none" },
	{ "poke_strategy_storm", "rollback_poke_*", ARCH_CONTROL, "none" },
	{ "poke_inv_control", "broken_call", ARCH_NEVER, "SDM-3A-8.1.3" },
	{ "poke_inv_control", "*_detected", ARCH_CONTROL, "none" },
};
