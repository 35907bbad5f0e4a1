/*
 * sti_consecutive: does a shadow exist after STI that follows STI, or after STI executed with
 * IF already 1? Intel documents only the first of consecutive STIs as inhibiting, and only an
 * STI that sets IF. Part 1: an IRQ pending before `sti; sti; hlt`. Part 2: a driver CPU sends
 * fixed IPIs at seeded random times to victims looping `sti; hlt` with IF=1, `cli; sti; hlt`,
 * and, as the control that the HLT boundary can be hit, `cli; sti; nop; hlt`; an IRQ taken at
 * the HLT means no shadow covered it.
 */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "kernel/outcome.h"
#include "kernel/runner.h"
#include "tests/sti/sti.h"
#include "tests/common/sweep.h"
#include "kernel/arch_rules.h"

#define BOUND_NS 2000000ull
#define VEC_LOOP_IRQ (VEC_EXP_FIRST + 0x20)
#define LOOP_ROUNDS 1500 /* IPIs per victim and loop kind, unless its budget share runs out */
#define PAD_NS 200000    /* IF=0 before each STI of the IF=0 loops: IPIs sent then stay pending */

extern void seq_if1_loop_fn(volatile u32 *stop) __asm__("seq_if1_loop");
extern void seq_sti_hlt_fn(void) __asm__("seq_sti_hlt");
extern void seq_sti_nop_hlt_fn(void) __asm__("seq_sti_nop_hlt");

/*
 * The part-2 loops: IF=1 `sti; hlt` (asm), and two with IF=0 before STI, whose padding makes the
 * swept IPIs arrive while IF=0 (then pending at the STI, which the victim checks in IRR): `cli;
 * sti; hlt` (the shadow covers HLT) and the control `cli; sti; nop; hlt` (the shadow ends before
 * HLT, so a pending IRQ can and must land at the HLT boundary: the detector sees that boundary).
 */
enum { K_IF0, K_IF1, K_IF0_NOP, NK };

static struct outcomes oc;
static u32 o_ss_before, o_ss_at_sti2, o_ss_after, o_ss_late, o_at_hlt[NK], o_woke[NK], o_other[NK];
static volatile u64 ss_trials, not_pending, wrong_count;
static volatile u32 loop_kind;
static volatile u32 stop_loop;
static volatile u64 loop_irqs[NK], pending_irqs[NK], pending_at_hlt[NK];
/* per CPU: the loop's IRQ was pending in IRR just before STI (read by the IRQ handler) */
static struct { volatile u32 pending; } __attribute__((aligned(64))) lcpu[MAX_CPUS];

static u64 loop_label(u32 k, bool after)
{
	switch (k) {
	case K_IF1: return after ? RIP(seq_if1_loop_after) : RIP(seq_if1_loop_at_hlt);
	case K_IF0: return after ? RIP(seq_sti_hlt_after) : RIP(seq_sti_hlt_at_hlt);
	default: return after ? RIP(seq_sti_nop_hlt_after) : RIP(seq_sti_nop_hlt_at_hlt);
	}
}

static bool loop_irq_in_irr(void)
{
	u32 v = VEC_LOOP_IRQ;
	return (apic_read(APIC_IRR0 + (v / 32) * 0x10) >> (v % 32)) & 1;
}

static void part1(void *arg)
{
	const struct exp_ctx *ctx = arg;
	bool bsp = this_cpu_index() == 0;
	if (bsp)
		watchdog_pause();
	sti_bound_prepare(BOUND_NS);
	for (u64 i = 0; i < ctx->iterations && !exp_budget_spent(ctx); i++) {
		struct sti_trial t;
		if (!sti_trial_run((sti_seq_fn)seq_sti_sti_hlt, &t)) {
			__atomic_add_fetch(&not_pending, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (t.irq_count + t.late_irq_count != 1)
			__atomic_add_fetch(&wrong_count, 1, __ATOMIC_RELAXED);
		u32 o = t.late_irq_count ? o_ss_late
			: t.irq_rip == RIP(seq_sti_sti_hlt_at_hlt) ? o_ss_before
			: t.irq_rip == RIP(seq_sti_sti_hlt_at_sti2) ? o_ss_at_sti2 : o_ss_after;
		outcome_hit(&oc, o);
		__atomic_add_fetch(&ss_trials, 1, __ATOMIC_RELAXED);
	}
	irq_enable();
	if (bsp)
		watchdog_resume();
}

static bool on_loop_irq(struct trap_frame *f)
{
	if (stop_loop == SWEEP_DRAIN) { /* a late event of the last sweep: taken, not counted */
		apic_eoi();
		return true;
	}
	u32 k = loop_kind;
	bool at_hlt = f->rip == loop_label(k, false);
	outcome_hit(&oc, at_hlt ? o_at_hlt[k] : f->rip == loop_label(k, true) ? o_woke[k] : o_other[k]);
	__atomic_add_fetch(&loop_irqs[k], 1, __ATOMIC_RELAXED);
	if (lcpu[this_cpu_index()].pending) { /* the IRQ that was pending at the STI */
		lcpu[this_cpu_index()].pending = 0;
		__atomic_add_fetch(&pending_irqs[k], 1, __ATOMIC_RELAXED);
		if (at_hlt)
			__atomic_add_fetch(&pending_at_hlt[k], 1, __ATOMIC_RELAXED);
	}
	apic_eoi();
	return true;
}

static void victim_loop(void *arg)
{
	(void)arg;
	u32 k = loop_kind;
	u64 pad = ns_to_tsc(PAD_NS);
	irq_disable();
	if (k == K_IF1)
		seq_if1_loop_fn(&stop_loop);
	while (k != K_IF1 && !stop_loop) {
		delay_cycles(pad);
		lcpu[this_cpu_index()].pending = loop_irq_in_irr();
		if (k == K_IF0)
			seq_sti_hlt_fn();
		else
			seq_sti_nop_hlt_fn();
		lcpu[this_cpu_index()].pending = 0;
	}
	irq_enable();
}

/* The BSP sends IPIs at random delays to each victim in turn; each loop kind gets a quarter
 * of the budget. */
static void part2(struct exp_ctx *ctx, u32 kind)
{
	loop_kind = kind;
	struct sweep sw = {
		victim_loop,         &stop_loop,       ICR_FIXED | VEC_LOOP_IRQ,      LOOP_ROUNDS,
		ctx->budget_tsc / 4, ns_to_tsc(30000), rng_seed(ctx->seed, 77 + kind)
	};
	sweep_aps(&sw);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	outcomes_reset(&oc);
	o_ss_before = outcome_define(&oc, "sti_sti_irq_before_hlt");
	o_ss_at_sti2 = outcome_define(&oc, "sti_sti_irq_at_second_sti");
	o_ss_after = outcome_define(&oc, "sti_sti_irq_after_hlt");
	o_ss_late = outcome_define(&oc, "sti_sti_irq_late");
	static const char *const kn[NK][3] = {
		[K_IF0] = { "if0_loop_irq_at_hlt", "if0_loop_irq_woke_hlt", "if0_loop_irq_elsewhere" },
		[K_IF1] = { "if1_loop_irq_at_hlt", "if1_loop_irq_woke_hlt", "if1_loop_irq_elsewhere" },
		[K_IF0_NOP] = { "if0_nop_loop_irq_at_hlt", "if0_nop_loop_irq_woke_hlt",
				"if0_nop_loop_irq_elsewhere" },
	};
	for (u32 k = 0; k < NK; k++) {
		o_at_hlt[k] = outcome_define(&oc, kn[k][0]);
		o_woke[k] = outcome_define(&oc, kn[k][1]);
		o_other[k] = outcome_define(&oc, kn[k][2]);
		loop_irqs[k] = pending_irqs[k] = pending_at_hlt[k] = 0;
	}
	ss_trials = not_pending = wrong_count = 0;

	sti_handlers_install();
	trap_set_handler(VEC_LOOP_IRQ, on_loop_irq);
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, part1, ctx, true);
	bool loops = ctx->ncpus >= 2;
	if (loops) {
		part2(ctx, K_IF1);
		part2(ctx, K_IF0);
		part2(ctx, K_IF0_NOP);
	}
	trap_set_handler(VEC_LOOP_IRQ, NULL);
	sti_handlers_remove();

	outcomes_print(&oc);
	observation("irq_before_hlt_after_sti_sti", oc.count[o_ss_before], ss_trials);
	observation("irq_at_hlt_after_if1_sti", oc.count[o_at_hlt[K_IF1]], loop_irqs[K_IF1]);
	/* IF=0 loops: only IRQs pending at the STI can land at the HLT boundary at all */
	observation("irq_at_hlt_after_if0_sti", pending_at_hlt[K_IF0], pending_irqs[K_IF0]);
	observation("irq_at_hlt_after_if0_sti_nop", pending_at_hlt[K_IF0_NOP], pending_irqs[K_IF0_NOP]);
	diag("sti_sti_trials=%lu loop_irqs_if1=%lu loop_irqs_if0=%lu loop_irqs_if0_nop=%lu%s",
	     ss_trials, loop_irqs[K_IF1], loop_irqs[K_IF0], loop_irqs[K_IF0_NOP],
	     loops ? "" : " (loops need 2 cpus)");
	diag("pending_at_sti if0=%lu if0_nop=%lu", pending_irqs[K_IF0], pending_irqs[K_IF0_NOP]);
	report_rate(ctx, ss_trials + loop_irqs[K_IF0] + loop_irqs[K_IF1] + loop_irqs[K_IF0_NOP],
		    oc.count[o_ss_before] + oc.count[o_at_hlt[K_IF1]]);
	if (not_pending || wrong_count)
		return exp_fail(ctx, "%lu trials without a pending IRQ, %lu not taken exactly once",
				not_pending, wrong_count);
	if (oc.count[o_at_hlt[K_IF0]])
		return exp_fail(ctx, "control: IRQ taken at HLT right after an IF-setting STI");
	bool if1_hit = !loops || control("irqs_in_if1_loop", loop_irqs[K_IF1]);
	bool if0_hit = !loops || control("irqs_in_if0_loop", loop_irqs[K_IF0]);
	if (loops && (!if0_hit || !if1_hit))
		return exp_fail(ctx, "positive control: the loops took no IRQs");
	/* the HLT boundary is reachable: with no shadow over HLT, pending IRQs land there */
	if (loops && !control("irq_at_hlt_without_shadow", pending_at_hlt[K_IF0_NOP]))
		return exp_fail(ctx, "positive control: no IRQ landed at HLT after sti; nop");
	return EXP_PASS;
}

EXPERIMENT(exp_sti_consecutive) = {
	.order = EXP_ORDER(FAMILY_STI, 40),
	.name = "sti_consecutive",
	.description = "sti;sti;hlt and STI with IF=1: is there a shadow?",
	.min_cpus = 1,
	.default_iterations = 300,
	.budget_ms = 4000,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(sti_consecutive_rules) = {
	/* only the first STI of a sequence is guaranteed to delay interrupts (the 2016 footnote;
	 * the later STI page gives a shadow only to an STI that finds IF = 0) */
	{ "sti_consecutive", "irq_before_hlt_after_sti_sti",
	  ON_INTEL(ALLOWED, SDM_STI_STI), ON_AMD(ALLOWED, SDM_STI_STI) },
	/* an STI that finds IF = 1 opens no shadow */
	{ "sti_consecutive", "irq_at_hlt_after_if1_sti",
	  ON_INTEL(ALLOWED, SDM_STI_INHIBIT), ON_AMD(ALLOWED, APM_STI_SHADOW) },
	{ "sti_consecutive", "irq_at_hlt_after_if0_sti",
	  ON_INTEL(NEVER, SDM_STI_INHIBIT), ON_AMD(NEVER, APM_STI_SHADOW) },
	/* the control: the shadow covers only the NOP, a pending IRQ is taken before HLT */
	{ "sti_consecutive", "irq_at_hlt_after_if0_sti_nop",
	  ON_INTEL(ALWAYS, SDM_STI_INHIBIT), ON_AMD(ALWAYS, APM_STI_SHADOW) },
};
/* clang-format on */
