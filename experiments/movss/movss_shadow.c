/*
 * movss_shadow_nmi / movss_shadow_irq: victims loop `mov ss, ax; nop` (and `mov ss; mov ss;
 * nop`) with interrupts on, while driver CPUs send NMIs or fixed IPIs at seeded random times.
 * The handler places each event by its interrupted RIP: at the instruction after MOV SS means
 * it was delivered inside the shadow. Positive control: events landed at the neighbouring
 * boundaries of the loop.
 */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/trap.h"
#include "kernel/outcome.h"
#include "kernel/experiment.h"
#include "lib/lib.h"
#include "experiments/common/sweep.h"

#define VEC_MSS_IRQ (VEC_EXP_FIRST + 0x30)
extern const char mss_loop1[], mss_loop1_movss[], mss_loop1_next[], mss_loop1_after[];
extern const char mss_loop2[], mss_loop2_movss[], mss_loop2_between[], mss_loop2_next[],
	mss_loop2_after[];
extern void mss_loop1_fn(volatile u32 *stop) __asm__("mss_loop1");
extern void mss_loop2_fn(volatile u32 *stop) __asm__("mss_loop2");

enum { B_AT_MOVSS, B_IN_SHADOW, B_AFTER, B_BETWEEN, B_SECOND_SHADOW, B_ELSEWHERE, NB };
static const char *const bucket_name[NB] = {
	"at_movss", "in_shadow", "after_next", "between_movss", "in_second_shadow", "elsewhere",
};
static volatile u64 hist[2][NB]; /* [loop kind][bucket] */
static volatile u32 loop_kind, stop;
static bool use_nmi;

static u32 bucket(u64 rip)
{
	if (loop_kind == 0) {
		if (rip == RIP(mss_loop1_movss)) return B_AT_MOVSS;
		if (rip == RIP(mss_loop1_next)) return B_IN_SHADOW;
		if (rip == RIP(mss_loop1_after)) return B_AFTER;
	} else {
		if (rip == RIP(mss_loop2_movss)) return B_AT_MOVSS;
		if (rip == RIP(mss_loop2_between)) return B_BETWEEN;
		if (rip == RIP(mss_loop2_next)) return B_SECOND_SHADOW;
		if (rip == RIP(mss_loop2_after)) return B_AFTER;
	}
	return B_ELSEWHERE;
}

static bool on_event(struct trap_frame *f)
{
	if (f->vector == VEC_NMI && this_cpu()->sample_request)
		return false;
	__atomic_add_fetch(&hist[loop_kind][bucket(f->rip)], 1, __ATOMIC_RELAXED);
	if (f->vector != VEC_NMI)
		apic_eoi();
	return true;
}

static void victim(void *arg)
{
	(void)arg;
	irq_enable();
	if (loop_kind == 0)
		mss_loop1_fn(&stop);
	else
		mss_loop2_fn(&stop);
}

static u64 drive(struct exp_ctx *ctx, u32 kind)
{
	loop_kind = kind;
	struct sweep sw = { victim, &stop, use_nmi ? ICR_NMI : (ICR_FIXED | VEC_MSS_IRQ),
			    ctx->iterations, ctx->budget_tsc / 2, ns_to_tsc(5000),
			    ctx->seed * 0x9e3779b97f4a7c15ull + 31 + kind };
	return sweep_aps(&sw);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	memset((void *)hist, 0, sizeof(hist));
	u32 vec = use_nmi ? VEC_NMI : VEC_MSS_IRQ;
	trap_set_handler(vec, on_event);
	u64 sent = drive(ctx, 0);
	sent += drive(ctx, 1);
	trap_set_handler(vec, NULL);
	static const u32 single[] = { B_AT_MOVSS, B_IN_SHADOW, B_AFTER, B_ELSEWHERE };
	static const u32 twice[] = { B_AT_MOVSS, B_BETWEEN, B_SECOND_SHADOW, B_AFTER, B_ELSEWHERE };
	u64 total[2] = { 0, 0 };
	for (u32 k = 0; k < 2; k++)
		for (u32 b = 0; b < NB; b++)
			total[k] += hist[k][b];
	for (u32 i = 0; i < ARRAY_SIZE(single); i++)
		diag("outcome single_%s=%lu", bucket_name[single[i]], hist[0][single[i]]);
	for (u32 i = 0; i < ARRAY_SIZE(twice); i++)
		diag("outcome double_%s=%lu", bucket_name[twice[i]], hist[1][twice[i]]);
	observation("event_in_movss_shadow", hist[0][B_IN_SHADOW], total[0]);
	observation("event_between_two_movss", hist[1][B_BETWEEN], total[1]);
	observation("event_in_second_movss_shadow", hist[1][B_SECOND_SHADOW], total[1]);
	/* an event sent while the previous one is still pending merges with it (IRR, NMI latch) */
	diag("events_sent=%lu events_taken=%lu merged=%lu", sent, total[0] + total[1],
	     sent - (total[0] + total[1]));
	report_rate(ctx, total[0] + total[1], hist[0][B_IN_SHADOW] + hist[1][B_BETWEEN]);
	u64 near = hist[0][B_AT_MOVSS] + hist[0][B_AFTER] + hist[1][B_AT_MOVSS] + hist[1][B_AFTER];
	if (near == 0)
		return exp_fail(ctx, "positive control: no event landed next to the mov ss window");
	if (total[0] + total[1] > sent)
		return exp_fail(ctx, "more events taken (%lu) than sent (%lu)", total[0] + total[1], sent);
	return EXP_PASS;
}

static enum exp_result run_nmi(struct exp_ctx *ctx) { use_nmi = true; return run(ctx); }
static enum exp_result run_irq(struct exp_ctx *ctx) { use_nmi = false; return run(ctx); }

EXPERIMENT(exp_movss_shadow_nmi) = {
	.order = EXP_ORDER(FAMILY_MOVSS, 50),
	.name = "movss_shadow_nmi",
	.description = "NMIs swept across mov ss; nop loops: delivered inside the MOV SS shadow?",
	.min_cpus = 2,
	.default_iterations = 3000,
	.budget_ms = 3000,
	.run = run_nmi,
};

EXPERIMENT(exp_movss_shadow_irq) = {
	.order = EXP_ORDER(FAMILY_MOVSS, 60),
	.name = "movss_shadow_irq",
	.description = "fixed IPIs swept across mov ss; nop loops: delivered inside the MOV SS shadow?",
	.min_cpus = 2,
	.default_iterations = 3000,
	.budget_ms = 3000,
	.run = run_irq,
};
