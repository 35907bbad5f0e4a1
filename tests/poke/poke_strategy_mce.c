/*
 * poke_strategy_mce: the third asynchronous event of seed 004, a machine check (#MC) on the
 * patching CPU while the int3 is live. The kernel has no way to raise an asynchronous #MC
 * itself: `int $18` enters the #MC gate synchronously (not a machine check: no MCi_STATUS,
 * no MCIP, at a point the code chose), and QEMU injects one only from its monitor (`mce CPU
 * BANK STATUS MCG_STATUS ADDR MISC`), which the harness does not drive. So this load is
 * skipped, saying so, after reporting what the CPU advertises.
 */
#include "tests/poke/poke_strategy.h"
#include "arch/x86/cpu.h"

static enum exp_result run(struct exp_ctx *ctx)
{
	u32 edx = cpuid(1, 0).edx;
	diag("cpuid_mce=%u cpuid_mca=%u", (edx >> 7) & 1, (edx >> 14) & 1);
	return exp_skip(ctx, "no asynchronous #MC from inside the kernel (QEMU's monitor 'mce' is "
			"host-driven)");
}

EXPERIMENT(exp_poke_strategy_mce) = {
	.order = EXP_ORDER(FAMILY_POKE, 160),
	.name = "poke_strategy_mce",
	.description = "#MC on the patcher while the int3 is live (skipped: needs host-driven injection)",
	.min_cpus = 2,
	.default_iterations = 1,
	.budget_ms = 10,
	.run = run,
};
