/*
 * poke_alias_cost: what keeping the writable alias mapped for the whole poke saves (seed 004:
 * the per-phase PTE set-up and teardown "would have to be removed" so that a roll-forward /
 * roll-back handler can always write). The boot CPU pokes one quiet site (no CPU calls it),
 * alternating blocks of pokes with the alias kept (the engine's way) and with it mapped
 * before and unmapped (PTE cleared, INVLPG) after each of the three write steps
 * (POKE_ALIAS_PER_PHASE): median poke latency of each, the difference, and the map/unmap
 * cycles counted inside the engine. No CPU runs the site, so the pokes skip their three
 * syncs (IPI round trips would bury the difference under TCG's scheduling noise). Beside it, the price of the other design for a handler
 * on the patching CPU: two LIDTs (switch to a poke IDT and back) per poke.
 */
#include "tests/poke/poke.h"
#include "arch/x86/cpu.h"
#include "kernel/outcome.h"
#include "kernel/stats.h"

#define BLOCK 16
#define MAX_SAMPLES 2048

static u64 samples[2][MAX_SAMPLES], lidt[256];

/* One block of pokes in one mode; false on a failed poke. */
static bool block(u32 mode, u64 *n, u64 *alias_cycles, u8 *state)
{
	u32 quiet = POKE_SKIP_SYNC1 | POKE_SKIP_SYNC2 | POKE_SKIP_SYNC3;
	struct poke_cfg cfg = { .mode = POKE_MODE_DESC,
		.flags = quiet | (mode ? POKE_ALIAS_PER_PHASE : 0) };
	u64 site = poke_call_sites[1];
	if (!poke_start(&cfg))
		return false;
	bool ok = true;
	for (u32 i = 0; i < BLOCK && ok; i++) {
		u8 insn[POKE_INSN_LEN];
		*state ^= 1;
		poke_gen(POKE_CALL, site, *state ? POKE_TGT_B : POKE_TGT_A, insn);
		u64 t0 = rdtsc();
		ok = poke_one(site, insn);
		u64 dt = rdtsc() - t0;
		if (*n < MAX_SAMPLES)
			samples[mode][(*n)++] = dt;
	}
	struct poke_stats st;
	poke_stats_read(&st);
	*alias_cycles += st.alias_map_cycles;
	poke_stop();
	return ok;
}

static u64 lidt_pair_median(void)
{
	struct PACKED { u16 limit; u64 base; } idt;
	__asm__ volatile("sidt %0" : "=m"(idt));
	for (u32 i = 0; i < ARRAY_SIZE(lidt); i++) {
		u64 t0 = rdtsc_ordered();
		__asm__ volatile("lidt %0\n\tlidt %0" ::"m"(idt) : "memory");
		lidt[i] = rdtsc_ordered() - t0;
	}
	return summarize(lidt, ARRAY_SIZE(lidt)).median;
}

static enum exp_result run(struct exp_ctx *ctx)
{
	u64 site = poke_call_sites[1], n[2] = { 0, 0 }, alias_cycles[2] = { 0, 0 };
	u8 state = 0;
	if (!poke_fixture_init() || !poke_sites_reset(&site, 1, false))
		return exp_fail(ctx, "could not set up the site or the target stubs");
	bool ok = true;
	while (ok && !exp_budget_spent(ctx) && n[1] < MAX_SAMPLES && n[0] + n[1] < ctx->iterations)
		for (u32 mode = 0; mode < 2 && ok; mode++)
			ok = block(mode, &n[mode], &alias_cycles[mode], &state);
	u64 lidt2 = lidt_pair_median();
	/* the site must hold the last instruction written */
	u64 target = 0;
	bool right = poke_decode(site, (const u8 *)site, &target) == POKE_CALL &&
		     target == (state ? POKE_TGT_B : POKE_TGT_A);
	u64 kept = summarize(samples[0], n[0]).median, per = summarize(samples[1], n[1]).median;
	diag("pokes_kept=%lu pokes_per_phase=%lu median_kept_cycles=%lu median_per_phase_cycles=%lu "
	     "saved_per_poke_cycles=%ld", n[0], n[1], kept, per, (s64)(per - kept));
	diag("map_unmap_cycles_per_poke=%lu (counted in the engine; kept: %lu) lidt_pair_cycles=%lu",
	     n[1] ? alias_cycles[1] / n[1] : 0, n[0] ? alias_cycles[0] / n[0] : 0, lidt2);
	report_rate(ctx, n[0] + n[1], 0);
	if (!ok || !right)
		return exp_fail(ctx, "a poke failed (%d) or the site is not what was written last (%d)",
				!ok, !right);
	if (!n[0] || !n[1] || !alias_cycles[1] || alias_cycles[0])
		return exp_fail(ctx, "positive control: %lu/%lu pokes, %lu/%lu map/unmap cycles",
				n[0], n[1], alias_cycles[0], alias_cycles[1]);
	return EXP_PASS;
}

EXPERIMENT(exp_poke_alias_cost) = {
	.order = EXP_ORDER(FAMILY_POKE, 180),
	.name = "poke_alias_cost",
	.description = "alias kept for the whole poke vs set up and torn down per phase: cycles saved per poke",
	.min_cpus = 2,
	.default_iterations = 4096,
	.budget_ms = 150,
	.run = run,
};
