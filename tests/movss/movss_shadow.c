/*
 * movss_shadow_nmi / movss_shadow_irq: on the race engine (tests/common/race.h), every
 * ordered pair of CPUs takes a turn: the victim runs one window an iteration, in turn
 * `mov ss, ax; nop` (single), `mov ss; mov ss; nop` (double) and `popfq; nop` (control, no
 * shadow), behind the padding of the loop shape, while the sender fires NMIs or fixed IPIs at
 * it, blind and aimed. The handler places each event by its interrupted RIP
 * (tests/movss/shadow_classify.h): at the instruction after MOV SS means it was
 * delivered inside the shadow. In the double window, an event right after the second MOV SS
 * says the second MOV SS, run inside the first one's shadow, opened no shadow of its own.
 * The engine's hit is an event taken at one of the window's boundaries (not in the padding or
 * the loop around it). Positive controls: events landed next to the MOV SS window, and right
 * after popfq in the control window.
 */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/trap.h"
#include "kernel/outcome.h"
#include "kernel/experiment.h"
#include "lib/lib.h"
#include "tests/common/race.h"
#include "tests/movss/shadow_classify.h"
#include "kernel/arch_rules.h"

#define VEC_MSS_IRQ (VEC_EXP_FIRST + 0x30)
#define NSHAPES 5
#define PAIR_BUDGET_MS 12 /* every ordered pair's share of the budget, at least */

enum { K_SINGLE, K_DOUBLE, K_CONTROL, NK }; /* window kinds, run in turn */

extern const char mss_w1_movss[], mss_w1_next[], mss_w1_after[];
extern const char mss_w2_movss[], mss_w2_between[], mss_w2_next[], mss_w2_after[];
extern const char mss_wc_insn[], mss_wc_next[], mss_wc_after[];
#define SHAPES(w)                                                                             \
	extern void w##_plain(void), w##_cpuid4(void), w##_cpuid16(void), w##_cpuid64(void),  \
		w##_cpuid256(void)
SHAPES(mss_w1);
SHAPES(mss_w2);
SHAPES(mss_wc);
typedef void (*window_fn)(void);
static const window_fn windows[NK][NSHAPES] = {
	{ mss_w1_plain, mss_w1_cpuid4, mss_w1_cpuid16, mss_w1_cpuid64, mss_w1_cpuid256 },
	{ mss_w2_plain, mss_w2_cpuid4, mss_w2_cpuid16, mss_w2_cpuid64, mss_w2_cpuid256 },
	{ mss_wc_plain, mss_wc_cpuid4, mss_wc_cpuid16, mss_wc_cpuid64, mss_wc_cpuid256 },
};

static const char *const bucket_name[SB_N] = {
	"at_movss", "in_shadow", "after_next", "between_movss", "after_second_movss", "elsewhere",
};
static struct shadow_labels labels[NK];
static volatile u64 hist[NK][SB_N]; /* [window kind][bucket] */
static bool use_nmi;

/* Per victim CPU (written by that CPU only): the kind its current iteration runs, whether its
 * loop is on, the events it placed at a window boundary. */
static struct vstate { u32 kind, on; u64 iters, near; } __attribute__((aligned(64))) vs[MAX_CPUS];

static bool on_event(struct trap_frame *f)
{
	if (f->vector == VEC_NMI && this_cpu()->sample_request)
		return false;
	struct vstate *v = &vs[this_cpu_index()];
	if (v->on) { /* an event still in flight after the loop ended is taken, not counted */
		u32 b = shadow_bucket(&labels[v->kind], f->rip);
		__atomic_add_fetch(&hist[v->kind][b], 1, __ATOMIC_RELAXED);
		v->near += b != SB_ELSEWHERE;
	}
	race_event_seen();
	if (f->vector != VEC_NMI)
		apic_eoi();
	return true;
}

static void victim_begin(void)
{
	vs[this_cpu_index()].on = 1;
	irq_enable(); /* the IRQ case needs IF=1 in the window (the engine restores IF after) */
}

static void victim_end(void)
{
	irq_disable();
	vs[this_cpu_index()].on = 0;
}

static bool victim_iter(u32 shape)
{
	struct vstate *v = &vs[this_cpu_index()];
	u32 kind = (u32)(v->iters++ % NK);
	u64 near0 = v->near;
	WRITE_ONCE(v->kind, kind);
	race_publish();
	windows[kind][shape]();
	barrier();
	return READ_ONCE(v->near) != near0;
}

static struct race race = {
	.nshapes = NSHAPES,
	.shape_name = { "plain", "cpuid4", "cpuid16", "cpuid64", "cpuid256" },
	.victim_begin = victim_begin,
	.victim_end = victim_end,
	.victim_iter = victim_iter,
};

static void print_outcomes(void)
{
	static const u32 single[] = { SB_AT_INSN, SB_IN_WINDOW, SB_AFTER_NEXT, SB_ELSEWHERE };
	static const u32 twice[] = { SB_AT_INSN, SB_BETWEEN, SB_AFTER_SECOND, SB_AFTER_NEXT,
				     SB_ELSEWHERE };
	static const char *const prefix[NK] = { "single", "double", "control_popf" };
	for (u32 k = 0; k < NK; k++) {
		const u32 *list = k == K_DOUBLE ? twice : single;
		u32 n = k == K_DOUBLE ? ARRAY_SIZE(twice) : ARRAY_SIZE(single);
		for (u32 i = 0; i < n; i++)
			diag("outcome %s_%s=%lu", prefix[k],
			     k == K_CONTROL && list[i] == SB_IN_WINDOW ? "after_popf"
			     : k == K_CONTROL && list[i] == SB_AT_INSN ? "at_popf" : bucket_name[list[i]],
			     hist[k][list[i]]);
	}
}

static enum exp_result run(struct exp_ctx *ctx)
{
	labels[K_SINGLE] = (struct shadow_labels){ RIP(mss_w1_movss), 0, RIP(mss_w1_next),
						   RIP(mss_w1_after) };
	labels[K_DOUBLE] = (struct shadow_labels){ RIP(mss_w2_movss), RIP(mss_w2_between),
						   RIP(mss_w2_next), RIP(mss_w2_after) };
	labels[K_CONTROL] = (struct shadow_labels){ RIP(mss_wc_insn), 0, RIP(mss_wc_next),
						    RIP(mss_wc_after) };
	memset((void *)hist, 0, sizeof(hist));
	memset(vs, 0, sizeof(vs));
	race_budget_for_pairs(ctx, PAIR_BUDGET_MS);
	u32 vec = use_nmi ? VEC_NMI : VEC_MSS_IRQ;
	race.icr = use_nmi ? ICR_NMI : (ICR_FIXED | VEC_MSS_IRQ);
	trap_set_handler(vec, on_event);
	race_run(&race, ctx);
	trap_set_handler(vec, NULL);

	u64 total[NK] = { 0, 0, 0 }, taken = 0;
	for (u32 k = 0; k < NK; k++) {
		for (u32 b = 0; b < SB_N; b++)
			total[k] += hist[k][b];
		taken += total[k];
	}
	print_outcomes();
	observation("event_in_movss_shadow", hist[K_SINGLE][SB_IN_WINDOW], total[K_SINGLE]);
	observation("event_between_two_movss", hist[K_DOUBLE][SB_BETWEEN], total[K_DOUBLE]);
	observation("event_after_second_movss", hist[K_DOUBLE][SB_AFTER_SECOND], total[K_DOUBLE]);
	u64 sent = race_all_modes(race.trials);
	diag("events_sent=%lu events_taken=%lu unacked=%lu", sent, taken, race.unacked);
	report_rate(ctx, sent, hist[K_SINGLE][SB_IN_WINDOW] + hist[K_DOUBLE][SB_BETWEEN]);
	u64 near = hist[K_SINGLE][SB_AT_INSN] + hist[K_SINGLE][SB_AFTER_NEXT] +
		   hist[K_DOUBLE][SB_AT_INSN] + hist[K_DOUBLE][SB_AFTER_NEXT] +
		   hist[K_SINGLE][SB_IN_WINDOW] + hist[K_DOUBLE][SB_BETWEEN] +
		   hist[K_DOUBLE][SB_AFTER_SECOND];
	bool near_ok = control("event_at_movss_window", near);
	bool window_ok = control("event_right_after_popf", hist[K_CONTROL][SB_IN_WINDOW]);
	if (!near_ok)
		return exp_fail(ctx, "positive control: no event landed at a boundary of the mov ss window");
	if (!window_ok)
		return exp_fail(ctx, "positive control: no event landed right after popfq, so an "
				"event inside the mov ss shadow could not have been seen either");
	if (taken > sent)
		return exp_fail(ctx, "more events counted (%lu) than sent (%lu)", taken, sent);
	return EXP_PASS;
}

static enum exp_result run_nmi(struct exp_ctx *ctx) { use_nmi = true; return run(ctx); }
static enum exp_result run_irq(struct exp_ctx *ctx) { use_nmi = false; return run(ctx); }

EXPERIMENT(exp_movss_shadow_nmi) = {
	.order = EXP_ORDER(FAMILY_MOVSS, 50),
	.name = "movss_shadow_nmi",
	.description = "NMIs aimed and blind at mov ss; nop windows, every CPU pair: delivered inside the MOV SS shadow?",
	.min_cpus = 2,
	.default_iterations = 1000000,
	.budget_ms = 400,
	.run = run_nmi,
};

EXPERIMENT(exp_movss_shadow_irq) = {
	.order = EXP_ORDER(FAMILY_MOVSS, 60),
	.name = "movss_shadow_irq",
	.description = "fixed IPIs aimed and blind at mov ss; nop windows, every CPU pair: delivered inside the MOV SS shadow?",
	.min_cpus = 2,
	.default_iterations = 1000000,
	.budget_ms = 400,
	.run = run_irq,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(movss_shadow_rules) = {
	/* MOV SS blocks NMIs too (Intel's interruptibility state; AMD's "all interrupts") */
	{ "movss_shadow_nmi", "event_in_movss_shadow",
	  ON_INTEL(NEVER, SDM_POP_SS_NMI), ON_AMD(NEVER, SDM_POP_SS_NMI) },
	{ "movss_shadow_nmi", "event_between_two_movss",
	  ON_INTEL(NEVER, SDM_POP_SS_NMI), ON_AMD(NEVER, SDM_POP_SS_NMI) },
	{ "movss_shadow_irq", "event_in_movss_shadow",
	  ON_INTEL(NEVER, SDM_MOVSS_IRQ), ON_AMD(NEVER, SDM_MOVSS_IRQ) },
	{ "movss_shadow_irq", "event_between_two_movss",
	  ON_INTEL(NEVER, SDM_MOVSS_IRQ), ON_AMD(NEVER, SDM_MOVSS_IRQ) },
	{ "movss_shadow_*", "event_after_second_movss",
	  ON_INTEL(ALLOWED, SDM_SHADOW_SEQUENCE), ON_AMD(ALLOWED, SDM_SHADOW_SEQUENCE) },
};
/* clang-format on */
