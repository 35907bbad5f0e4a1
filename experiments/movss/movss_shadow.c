/*
 * movss_shadow_nmi / movss_shadow_irq: victims loop `mov ss, ax; nop` (and `mov ss; mov ss;
 * nop`) with interrupts on, while driver CPUs send NMIs or fixed IPIs at seeded random times.
 * The handler places each event by its interrupted RIP (experiments/movss/shadow_classify.h):
 * at the instruction after MOV SS means it was delivered inside the shadow. In the double loop,
 * an event right after the second MOV SS (event_after_second_movss) says the second MOV SS,
 * run inside the first one's shadow, opened no shadow of its own. Positive controls: events
 * landed at the neighbouring boundaries of the loop, and, in a loop of the same shape with
 * popfq (no shadow) in the window, right after the window instruction.
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
#include "experiments/movss/shadow_classify.h"

#define VEC_MSS_IRQ (VEC_EXP_FIRST + 0x30)
extern const char mss_loop1_movss[], mss_loop1_next[], mss_loop1_after[];
extern const char mss_loop2_movss[], mss_loop2_between[], mss_loop2_next[], mss_loop2_after[];
extern const char mss_loopc_insn[], mss_loopc_next[], mss_loopc_after[];
extern void mss_loop1_fn(volatile u32 *stop) __asm__("mss_loop1");
extern void mss_loop2_fn(volatile u32 *stop) __asm__("mss_loop2");
extern void mss_loopc_fn(volatile u32 *stop) __asm__("mss_loopc");

enum { K_SINGLE, K_DOUBLE, K_CONTROL, NK }; /* loop kinds */
static const char *const bucket_name[SB_N] = {
	"at_movss", "in_shadow", "after_next", "between_movss", "after_second_movss", "elsewhere",
};
static struct shadow_labels labels[NK];
static volatile u64 hist[NK][SB_N]; /* [loop kind][bucket] */
static volatile u32 loop_kind, stop;
static bool use_nmi;

static u32 bucket(u64 rip) { return shadow_bucket(&labels[loop_kind], rip); }

static bool on_event(struct trap_frame *f)
{
	if (f->vector == VEC_NMI && this_cpu()->sample_request)
		return false;
	if (stop != SWEEP_DRAIN) /* a late event of the last sweep: taken, not counted */
		__atomic_add_fetch(&hist[loop_kind][bucket(f->rip)], 1, __ATOMIC_RELAXED);
	if (f->vector != VEC_NMI)
		apic_eoi();
	return true;
}

static void victim(void *arg)
{
	(void)arg;
	irq_enable();
	if (loop_kind == K_SINGLE)
		mss_loop1_fn(&stop);
	else if (loop_kind == K_DOUBLE)
		mss_loop2_fn(&stop);
	else
		mss_loopc_fn(&stop);
}

static u64 taken_in(u32 kind)
{
	u64 n = 0;
	for (u32 b = 0; b < SB_N; b++)
		n += hist[kind][b];
	return n;
}

/*
 * Sweeps one loop kind. On a loaded host a victim vCPU may hardly run while the sender's
 * rounds go by (the events merge), so sweeps repeat, with fresh seeds, until a sixth of the
 * rounds were taken or this kind's share of the budget is spent.
 */
static u64 drive(struct exp_ctx *ctx, u32 kind)
{
	loop_kind = kind;
	u64 sent = 0, share = ctx->budget_tsc / NK, t0 = rdtsc();
	for (u64 pass = 0; taken_in(kind) < ctx->iterations / 6 && rdtsc() - t0 < share; pass++) {
		struct sweep sw = { victim, &stop, use_nmi ? ICR_NMI : (ICR_FIXED | VEC_MSS_IRQ),
				    ctx->iterations, share - (rdtsc() - t0), ns_to_tsc(5000),
				    ctx->seed * 0x9e3779b97f4a7c15ull + 31 + kind + 7 * pass };
		sent += sweep_aps(&sw);
	}
	return sent;
}

static enum exp_result run(struct exp_ctx *ctx)
{
	labels[K_SINGLE] = (struct shadow_labels){ RIP(mss_loop1_movss), 0, RIP(mss_loop1_next),
						   RIP(mss_loop1_after) };
	labels[K_DOUBLE] = (struct shadow_labels){ RIP(mss_loop2_movss), RIP(mss_loop2_between),
						   RIP(mss_loop2_next), RIP(mss_loop2_after) };
	labels[K_CONTROL] = (struct shadow_labels){ RIP(mss_loopc_insn), 0, RIP(mss_loopc_next),
						    RIP(mss_loopc_after) };
	memset((void *)hist, 0, sizeof(hist));
	u32 vec = use_nmi ? VEC_NMI : VEC_MSS_IRQ;
	trap_set_handler(vec, on_event);
	u64 sent = 0;
	for (u32 k = 0; k < NK; k++)
		sent += drive(ctx, k);
	trap_set_handler(vec, NULL);
	static const u32 single[] = { SB_AT_INSN, SB_IN_WINDOW, SB_AFTER_NEXT, SB_ELSEWHERE };
	static const u32 twice[] = { SB_AT_INSN, SB_BETWEEN, SB_AFTER_SECOND, SB_AFTER_NEXT,
				     SB_ELSEWHERE };
	static const char *const prefix[NK] = { "single", "double", "control_popf" };
	u64 total[NK] = { 0, 0, 0 }, taken = 0;
	for (u32 k = 0; k < NK; k++) {
		for (u32 b = 0; b < SB_N; b++)
			total[k] += hist[k][b];
		taken += total[k];
	}
	for (u32 k = 0; k < NK; k++) {
		const u32 *list = k == K_DOUBLE ? twice : single;
		u32 n = k == K_DOUBLE ? ARRAY_SIZE(twice) : ARRAY_SIZE(single);
		for (u32 i = 0; i < n; i++)
			diag("outcome %s_%s=%lu", prefix[k],
			     k == K_CONTROL && list[i] == SB_IN_WINDOW ? "after_popf"
			     : k == K_CONTROL && list[i] == SB_AT_INSN ? "at_popf" : bucket_name[list[i]],
			     hist[k][list[i]]);
	}
	observation("event_in_movss_shadow", hist[K_SINGLE][SB_IN_WINDOW], total[K_SINGLE]);
	observation("event_between_two_movss", hist[K_DOUBLE][SB_BETWEEN], total[K_DOUBLE]);
	observation("event_after_second_movss", hist[K_DOUBLE][SB_AFTER_SECOND], total[K_DOUBLE]);
	/* an event sent while the previous one is still pending merges with it (IRR, NMI latch) */
	diag("events_sent=%lu events_taken=%lu merged=%lu", sent, taken, sent - taken);
	report_rate(ctx, taken, hist[K_SINGLE][SB_IN_WINDOW] + hist[K_DOUBLE][SB_BETWEEN]);
	/* positive controls: events land next to the window, and right after a one-instruction
	 * window that has no shadow (the boundary the MOV SS case asks about) */
	u64 near = hist[K_SINGLE][SB_AT_INSN] + hist[K_SINGLE][SB_AFTER_NEXT] +
		   hist[K_DOUBLE][SB_AT_INSN] + hist[K_DOUBLE][SB_AFTER_NEXT];
	bool near_ok = control("event_next_to_movss", near);
	bool window_ok = control("event_right_after_popf", hist[K_CONTROL][SB_IN_WINDOW]);
	if (!near_ok)
		return exp_fail(ctx, "positive control: no event landed next to the mov ss window");
	if (!window_ok)
		return exp_fail(ctx, "positive control: no event landed right after popfq, so an "
				"event inside the mov ss shadow could not have been seen either");
	if (taken > sent)
		return exp_fail(ctx, "more events taken (%lu) than sent (%lu)", taken, sent);
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
