/*
 * poke_emulate_modes: the same call flips under the same load, once with the #BP handler
 * emulating from the patcher's reference-counted descriptor, once reading the rel32 itself
 * (written by one locked xchg, read by one aligned 4-byte load). Both must keep every call
 * intact; the cost of each (handler cycles, patches/s) is reported. ATOMIC mode must refuse a
 * site whose rel32 is not 4-byte aligned.
 */
#include "tests/poke/poke.h"
#include "arch/x86/time.h"
#include "kernel/ktap.h"
#include "kernel/outcome.h"
#include "kernel/arch_rules.h"

static struct poke_run run_state;

/* ATOMIC mode on the line-crossing site (rel32 misaligned) must fail before writing. */
static bool atomic_refuses_misaligned(void)
{
	u8 insn[POKE_INSN_LEN], before[POKE_INSN_LEN];
	u64 site = PADDR(poke_xline_site);
	struct poke_cfg cfg = { .mode = POKE_MODE_ATOMIC };
	if (!poke_fixture_init() || !poke_sites_reset(&site, 1, false) ||
	    !poke_gen(POKE_CALL, site, POKE_TGT_B, insn))
		return false;
	for (u32 i = 0; i < POKE_INSN_LEN; i++)
		before[i] = ((const volatile u8 *)site)[i];
	poke_start(&cfg);
	bool refused = !poke_one(site, insn);
	poke_stop();
	for (u32 i = 0; i < POKE_INSN_LEN; i++)
		refused &= ((const volatile u8 *)site)[i] == before[i];
	return refused;
}

struct cost { u64 cycles, per_s; };

static enum exp_result phase(struct exp_ctx *ctx, enum poke_mode mode, const char *prefix,
			     u64 *broken, u64 *calls, struct cost *cost)
{
	struct poke_run *r = &run_state;
	poke_run_init(r, ctx, 440);
	r->mode = mode;
	if (!poke_run_exec(r))
		return exp_fail(ctx, "could not set up the site or the target stubs");
	poke_run_report(ctx, r, prefix);
	*broken += poke_bad_outcomes(r);
	*calls += r->calls;
	u64 emul = r->st.emul_call + r->st.emul_jmp + r->st.emul_nop;
	cost->cycles = emul ? r->st.emul_cycles / emul : 0;
	cost->per_s = muldiv64(r->patches, 1000000000u, tsc_to_ns(r->patch_tsc) + 1);
	return poke_run_verdict(ctx, r, true);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	u64 broken = 0, calls = 0;
	bool refused = atomic_refuses_misaligned();
	struct cost d, at;
	enum exp_result a = phase(ctx, POKE_MODE_DESC, "desc_", &broken, &calls, &d);
	enum exp_result b = phase(ctx, POKE_MODE_ATOMIC, "atomic_", &broken, &calls, &at);
	diag("desc_vs_atomic: emul_cycles_mean=%lu/%lu patches_per_s=%lu/%lu", d.cycles, at.cycles,
	     d.per_s, at.per_s);
	/* one subtest per emulation mode, and one for ATOMIC mode's alignment check */
	struct ktap_sub sub;
	ktap_sub_begin(&sub, 3);
	ktap_sub_result(&sub, a, "calls broke or the protocol failed in DESC mode", "desc");
	ktap_sub_result(&sub, b, "calls broke or the protocol failed in ATOMIC mode", "atomic");
	ktap_sub_result(&sub, refused ? EXP_PASS : EXP_FAIL, "patched a misaligned rel32",
			"atomic_refuses_misaligned");
	ktap_sub_end(&sub);
	observation("broken_call", broken, calls);
	observation("atomic_refuses_misaligned_rel32", refused, 1);
	report_rate(ctx, calls, broken);
	if (!refused)
		return exp_fail(ctx, "ATOMIC mode patched a site whose rel32 is not 4-byte aligned");
	return a != EXP_PASS ? a : b;
}

EXPERIMENT(exp_poke_emulate_modes) = {
	.order = EXP_ORDER(FAMILY_POKE, 50),
	.name = "poke_emulate_modes",
	.description = "#BP emulation from a refcounted descriptor vs an atomic rel32 read: both intact, cost",
	.min_cpus = 2,
	.default_iterations = 100000,
	.budget_ms = 1100,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(poke_emulate_modes_rules) = {
	{ "poke_emulate_modes", "atomic_refuses_misaligned_rel32", CONTROL },
};
/* clang-format on */
