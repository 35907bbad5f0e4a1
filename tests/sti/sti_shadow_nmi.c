/*
 * sti_shadow_nmi: on the race engine (tests/common/race.h), every ordered pair of CPUs takes
 * its turn, blind, aimed and stream, at a victim whose loop runs two kinds of iteration over
 * the same padding shapes (one consequence iteration every CONSEQUENCE_EVERY), after the loops
 * beside the race (the self-aimed and the peer loop in alternating chunks, the padded loop):
 *
 *   consequence  the victim loops `cli; <IRQ pending>; [padding]; sti; hlt` while the sender
 *                fires NMIs at it. The NMI handler records the interrupted RIP. An NMI at the
 *                HLT (after STI ran) landed inside the shadow; the pending IRQ is then either
 *                taken before HLT (the NMI's IRET dropped the shadow: a lost wakeup, which the
 *                IRQ handler ends by resuming after the HLT, so the loop never sleeps) or after
 *                HLT began.
 *   peer loop    the peer design's blind loop (sti_peer_loop.c, kvm-unit-tests' test_sti_nmi):
 *                `sti; nop; cli` and one NMI in flight, the boot CPU at the next CPU.
 *   detection    the shortest loop, `cli; [padding]; sti; nop; cli` with nothing pending: an
 *                NMI at the NOP landed in the shadow.
 *   self-aimed   every CPU sends NMIs to itself before `sti; nop; cli` (sti_self_aim.c): no
 *                second CPU, no handshake; the lead and the number of CPUs are learned.
 *
 * The race's aimed hits/s (NMIs in the shadow, both kinds) over the peer loop's in-shadow
 * NMIs/s is the race line's `gain_vs_peer_loop=`; the self-aimed loop's over the peer loop's,
 * the `# self_aimed` line's.
 */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "kernel/ktap.h"
#include "kernel/outcome.h"
#include "kernel/runner.h"
#include "lib/lib.h"
#include "lib/printf.h"
#include "tests/common/race.h"
#include "tests/sti/sti_classify.h"
#include "tests/sti/sti.h"
#include "kernel/arch_rules.h"

#define BOUND_NS 1000000ull

static struct outcomes oc;
static u32 o[STC_N];
static volatile u64 not_pending, lost_irq, hlt_skipped, iterations, elsewhere_rip;
static trap_handler_t common_irq, common_nmi;
/* per victim CPU (its index; written by that CPU only, a cache line each): pair turns it took
 * as the victim, consequence iterations and their hits, detection iterations and their hits
 * (with their trials by class, sti_classify.h) */
static struct victim_stat {
	u64 turns, iters, hits;
	u64 det_iters, det_hits, det_class[STC_N];
} __attribute__((aligned(64))) vs[MAX_CPUS];
/* per CPU: the phase of its trial and the trial's NMIs (sti_classify.h), written on that CPU */
static struct nmi_track {
	volatile u32 phase;
	struct sti_nmi_trial t;
} __attribute__((aligned(64))) track[MAX_CPUS];

static bool on_irq(struct trap_frame *f);

/* ---- classification of one victim iteration (true: an NMI landed in the shadow) ---- */
static bool classify(const struct sti_trial *t, struct sti_nmi_trial *n)
{
	if (t->irq_count + t->late_irq_count != 1)
		__atomic_add_fetch(&lost_irq, 1, __ATOMIC_RELAXED);
	const struct sti_race_map m = {
		RIP(seq_race_plain), RIP(seq_race_shapes_end), RIP(seq_race_pad),
		{ RIP(seq_race_at_sti), RIP(seq_race_at_hlt), RIP(seq_race_after) }, RIP(seq_race_end),
		(u64)on_irq,
	};
	n->irq_rip = t->irq_rip;
	enum sti_trial_class c = sti_trial_classify(&m, n);
	outcome_hit(&oc, o[c]);
	if (c == STC_ELSEWHERE)
		elsewhere_rip = n->first_rip; /* one example, for addr2line */
	return c == STC_SHADOW_IRQ_BEFORE || c == STC_SHADOW_IRQ_AFTER;
}

static void define_outcomes(void)
{
	static const char *const names[STC_N] = {
		[STC_NO_NMI] = "no_nmi_irq_after_hlt",
		[STC_NO_NMI_IRQ_BEFORE] = "no_nmi_irq_before_hlt",
		[STC_SHADOW_IRQ_BEFORE] = "nmi_in_shadow_irq_before_hlt",
		[STC_SHADOW_IRQ_AFTER] = "nmi_in_shadow_irq_after_hlt",
		[STC_OUTSIDE_IRQ_BEFORE] = "nmi_outside_shadow_irq_before_hlt",
		[STC_BEFORE_STI] = "nmi_before_sti",
		[STC_AFTER_HLT] = "nmi_after_hlt",
		[STC_IN_SETUP] = "nmi_in_trial_setup",
		[STC_IN_IRQ_HANDLER] = "nmi_in_irq_handler",
		[STC_IN_DRAIN] = "nmi_in_trial_drain",
		[STC_ELSEWHERE] = "nmi_in_irq_entry_or_call_glue",
	};
	outcomes_reset(&oc);
	for (u32 c = 0; c < STC_N; c++)
		o[c] = outcome_define(&oc, names[c]);
}

/* ---- the victim loop ---- */
/* The test IRQ taken at the HLT (shadow dropped): recorded, then HLT is skipped. */
static bool on_irq(struct trap_frame *f)
{
	struct nmi_track *tr = &track[this_cpu_index()];
	u32 phase = tr->phase;
	if (phase != STI_PHASE_IDLE)
		tr->phase = STI_PHASE_IRQ;
	bool handled = common_irq(f);
	tr->phase = phase;
	if (f->rip == RIP(seq_race_at_hlt)) {
		f->rip = RIP(seq_race_after);
		__atomic_add_fetch(&hlt_skipped, 1, __ATOMIC_RELAXED);
	}
	return handled;
}

static bool on_nmi(struct trap_frame *f)
{
	if (!common_nmi(f))
		return false; /* the watchdog's sampling NMI */
	if (sti_peer_nmi(f->rip) || sti_self_nmi(f->rip))
		return true;
	struct nmi_track *tr = &track[this_cpu_index()];
	if (tr->phase != STI_PHASE_IDLE) {
		if (tr->t.nmis++ == 0) {
			tr->t.first_phase = tr->phase;
			tr->t.first_rip = f->rip;
		}
		/* the shadowed instruction of either kind of iteration */
		tr->t.in_shadow += f->rip == RIP(seq_race_at_hlt) || f->rip == RIP(seq_det_at_nop);
	}
	race_event_seen();
	return true;
}

static void victim_begin(void)
{
	vs[this_cpu_index()].turns++;
	sti_race_victim_begin(BOUND_NS);
}

static bool consequence_iter(u32 shape)
{
	struct sti_trial t;
	struct nmi_track *tr = &track[this_cpu_index()];
	irq_disable();
	tr->t = (struct sti_nmi_trial){ 0 };
	tr->phase = STI_PHASE_SETUP;
	sti_record_begin();
	if (!sti_make_pending()) {
		sti_record_end(&t);
		tr->phase = STI_PHASE_IDLE;
		__atomic_add_fetch(&not_pending, 1, __ATOMIC_RELAXED);
		return false;
	}
	race_publish();
	tr->phase = STI_PHASE_SEQ;
	sti_race_shapes[shape]();
	tr->phase = STI_PHASE_DRAIN;
	sti_drain();
	sti_record_end(&t);
	tr->phase = STI_PHASE_IDLE;
	__atomic_add_fetch(&iterations, 1, __ATOMIC_RELAXED);
	struct sti_nmi_trial n = tr->t;
	bool hit = classify(&t, &n);
	vs[this_cpu_index()].iters++;
	vs[this_cpu_index()].hits += hit;
	return hit;
}

/* ---- the detection loop: no IRQ pending, `sti; nop` after the shape's padding ---- */
static bool det_iter(u32 shape)
{
	static const struct sti_race_map m = {
		RIP(seq_det_plain),
		RIP(seq_det_shapes_end),
		RIP(seq_det_pad),
		{ RIP(seq_det_at_sti), RIP(seq_det_at_nop), RIP(seq_det_after) },
		RIP(seq_det_end),
		(u64)on_irq,
	};
	struct victim_stat *v = &vs[this_cpu_index()];
	struct nmi_track *tr = &track[this_cpu_index()];
	irq_disable();
	tr->t = (struct sti_nmi_trial){ 0 };
	tr->phase = STI_PHASE_SETUP;
	race_publish();
	tr->phase = STI_PHASE_SEQ;
	sti_det_shapes[shape]();
	tr->phase = STI_PHASE_IDLE;
	struct sti_nmi_trial n = tr->t; /* irq_rip 0: no IRQ in this loop */
	v->det_class[sti_trial_classify(&m, &n)]++;
	v->det_iters++;
	v->det_hits += n.in_shadow != 0;
	return n.in_shadow != 0;
}

/*
 * The victim's iteration: detection, and every CONSEQUENCE_EVERY-th a consequence one. Both
 * publish just before the same shape's padding, so the sender's aim holds for either. The
 * consequence loop needs NMIs in the shadow with the IRQ pending, not the most of them: as a
 * race of its own beside the detection race, it made the experiment 50% longer at smp 8 (two
 * sweeps of 56 pairs, each turn at least 10 ms plus its vCPUs' start).
 */
#define CONSEQUENCE_EVERY 8
static bool victim_iter(u32 shape)
{
	struct victim_stat *v = &vs[this_cpu_index()];
	if ((v->iters + v->det_iters) % CONSEQUENCE_EVERY == 0)
		return consequence_iter(shape);
	return det_iter(shape);
}

/*
 * One subtest per victim CPU of the engine (the first RACE_MAX_CPUS online): it passes when
 * the CPU was the victim of every other one (each ordered pair took its turn) and both kinds
 * of its iterations ran; its NMIs in the shadow are an observation, not a verdict.
 */
static void report_victims(void)
{
	u32 n = MIN(cpus_online(), (u32)RACE_MAX_CPUS), k = 0;
	struct ktap_sub sub;
	ktap_sub_begin(&sub, n);
	for_each_online_cpu(c) {
		if (k++ == n)
			break;
		/* a pair without a hit retries (race.h): more turns than pairs then */
		const struct victim_stat *v = &vs[c];
		ktap_sub_diag(&sub,
			      "victim_turns=%lu pairs=%u iterations=%lu nmis_in_shadow=%lu "
			      "consequence_iterations=%lu consequence_nmis_in_shadow=%lu",
			      v->turns, n - 1, v->iters + v->det_iters, v->hits + v->det_hits,
			      v->iters, v->hits);
		const char *why = v->turns < n - 1 ? "not every pair with this victim took its turn"
				  : !v->iters || !v->det_iters
					  ? "its victim loop never ran both kinds"
					  : NULL;
		ktap_sub_result(&sub, why ? EXP_FAIL : EXP_PASS, why, "victim_cpu%u", c);
	}
	ktap_sub_end(&sub);
}

static struct race race = {
	.icr = ICR_NMI,
	.nshapes = STI_RACE_SHAPES,
	.shape_name = STI_RACE_SHAPE_NAMES,
	.victim_begin = victim_begin,
	.victim_end = sti_race_victim_end,
	.victim_iter = victim_iter,
};

/*
 * Every ordered pair needs its time (the engine gives each at least 10 ms plus a warm-up):
 * 600 ms held at smp 2 but not at smp 8 (56 pairs: 0.8-1.6 s measured). The budget grows to
 * PAIR_BUDGET_MS per pair when that is more (race_budget_for_pairs), and says so.
 */
#define PAIR_BUDGET_MS 25
/* The peer loop takes PEER_PCT percent of the budget within [PEER_MIN_MS, PEER_MAX_MS]. */
#define PEER_PCT 5
#define PEER_MIN_MS 20
#define PEER_MAX_MS 200

/*
 * The loops beside the race, from the boot CPU: the self-aimed loop learns its plan
 * (sti_self_aim.c: each lead for SELF_LEARN_MS, then CPU counts), then the peer loop (this CPU
 * at the next online one) and the self-aimed plan run in LOOP_CHUNKS alternating chunks, so a
 * change of host load meets both alike; then the peer loop padded like the race shapes
 * (`# padded_loop`: what the padding alone gives without aim).
 */
#define SELF_LEARN_MS 4
#define LOOP_CHUNKS 4
static void peer_add(struct sti_peer_loop *sum, const struct sti_peer_loop *l)
{
	sum->sent += l->sent;
	sum->nmis += l->nmis;
	sum->in_shadow += l->in_shadow;
	sum->unacked += l->unacked;
	sum->tsc += l->tsc;
}

static void run_loops(u64 budget_tsc, struct sti_peer_loop *p, struct sti_peer_loop *pad,
		      struct sti_self_result *self, struct sti_self_result *control)
{
	u32 me = this_cpu_index(), victim = me;
	for_each_online_cpu(c) {
		if (c != me) {
			victim = c;
			break;
		}
	}
	u64 ns = MIN(MAX(tsc_to_ns(budget_tsc) / 100 * PEER_PCT, PEER_MIN_MS * 1000000ull),
		     PEER_MAX_MS * 1000000ull);
	struct sti_self_plan plan = sti_self_aim_learn(SELF_LEARN_MS * 1000000ull, control);
	for (u32 k = 0; k < LOOP_CHUNKS; k++) {
		struct sti_peer_loop chunk;
		sti_peer_loop_run(victim, ns / LOOP_CHUNKS, &chunk);
		peer_add(p, &chunk);
		sti_self_aim_measure(plan, ns / LOOP_CHUNKS, self);
	}
	sti_padded_loop_run(victim, ns / 2, pad);
	const char *names[2] = { "peer_loop", "padded_loop" };
	const struct sti_peer_loop *l[2] = { p, pad };
	for (u32 k = 0; k < 2; k++)
		diag("%s sender_cpu=%u victim_cpu=%u nmis_sent=%lu nmis=%lu nmis_in_shadow=%lu "
		     "in_shadow_per_s=%lu nmis_per_s=%lu unacked=%lu ms=%lu",
		     names[k], me, victim, l[k]->sent, l[k]->nmis, l[k]->in_shadow,
		     tsc_rate(l[k]->in_shadow, l[k]->tsc), tsc_rate(l[k]->nmis, l[k]->tsc),
		     l[k]->unacked, tsc_to_ns(l[k]->tsc) / 1000000);
	race.peer_measured = true;
	race.peer_hits_per_s = tsc_rate(p->in_shadow, p->tsc);
	/* `# self_aimed ... gain_vs_peer_loop=`: its NMIs in the shadow per second over the peer
	 * loop's, both from the same chunks' time */
	u64 rate = tsc_rate(self->in_shadow, self->tsc);
	char gain[24];
	race_format_gain(rate, race.peer_hits_per_s, gain, sizeof(gain));
	if (!rate && !race.peer_hits_per_s)
		ksnprintf(gain, sizeof(gain), "unreachable");
	diag("self_aimed shape=%s cpus=%u nmis_sent=%lu nmis=%lu nmis_in_shadow=%lu "
	     "in_shadow_per_s=%lu nmis_per_s=%lu gain_vs_peer_loop=%s ms=%lu chunks=%u",
	     sti_self_lead_name(self->shape), self->cpus, self->iters, self->nmis, self->in_shadow,
	     rate, tsc_rate(self->nmis, self->tsc), gain, tsc_to_ns(self->tsc) / 1000000,
	     LOOP_CHUNKS);
}

/* The detection loop's classes summed over its victims. */
static void det_totals(u64 d[STC_N])
{
	for (u32 c = 0; c < STC_N; c++) {
		d[c] = 0;
		for (u32 k = 0; k < MAX_CPUS; k++)
			d[c] += vs[k].det_class[c];
	}
}

static enum exp_result run(struct exp_ctx *ctx)
{
	race_budget_for_pairs(ctx, PAIR_BUDGET_MS);
	define_outcomes();
	not_pending = lost_irq = hlt_skipped = iterations = elsewhere_rip = 0;
	memset(vs, 0, sizeof(vs));
	memset(track, 0, sizeof(track));
	sti_handlers_install();
	common_irq = trap_get_handler(VEC_STI_IRQ);
	common_nmi = trap_get_handler(VEC_NMI);
	trap_set_handler(VEC_STI_IRQ, on_irq);
	trap_set_handler(VEC_NMI, on_nmi);
	/* the peer loop first (the race line compares with it), then the race in what is left */
	struct sti_peer_loop peer = { 0 }, padded = { 0 };
	struct sti_self_result self = { 0 }, self_control = { 0 };
	race.peer_measured = false;
	if (cpus_online() > 1)
		run_loops(ctx->budget_tsc, &peer, &padded, &self, &self_control);
	struct exp_ctx rest = *ctx;
	rest.start_tsc = rdtsc();
	rest.budget_tsc -= MIN(rest.start_tsc - ctx->start_tsc, ctx->budget_tsc);
	bool raced = race_run(&race, &rest);
	sti_handlers_remove();

	u64 n[STC_N], sum = 0;
	for (u32 c = 0; c < STC_N; c++)
		sum += n[c] = oc.count[o[c]];
	u64 in_shadow = n[STC_SHADOW_IRQ_BEFORE] + n[STC_SHADOW_IRQ_AFTER];
	u64 near = in_shadow + n[STC_BEFORE_STI] + n[STC_AFTER_HLT];
	u64 no_nmi = n[STC_NO_NMI] + n[STC_NO_NMI_IRQ_BEFORE];
	u64 outside = n[STC_IN_SETUP] + n[STC_IN_IRQ_HANDLER] + n[STC_IN_DRAIN] + n[STC_ELSEWHERE];
	u64 sent = race_all_modes(race.trials);
	u64 d[STC_N];
	det_totals(d);
	u64 det_iters = 0, det_shadow = d[STC_SHADOW_IRQ_AFTER] + d[STC_SHADOW_IRQ_BEFORE];
	for (u32 c = 0; c < STC_N; c++)
		det_iters += d[c];
	u64 det_near = det_shadow + d[STC_BEFORE_STI] + d[STC_AFTER_HLT];
	outcomes_print(&oc);
	observation("nmi_in_shadow", in_shadow, near);
	observation("irq_before_hlt_after_nmi", n[STC_SHADOW_IRQ_BEFORE], in_shadow);
	observation("irq_before_hlt_without_nmi", n[STC_NO_NMI_IRQ_BEFORE], no_nmi);
	/* every lost wakeup (the IRQ handler's own count) by where the trial's NMIs landed */
	observation("lost_wakeup_without_nmi_in_shadow",
		    n[STC_NO_NMI_IRQ_BEFORE] + n[STC_OUTSIDE_IRQ_BEFORE], hlt_skipped);
	/* NMIs that landed outside the sequence (a blind sender's share): no window there */
	observation("nmi_outside_sequence", outside, iterations - no_nmi);
	diag("victim_iterations=%lu nmis_sent=%lu nmis_near_window=%lu lost_wakeups_hlt_skipped=%lu",
	     iterations, sent, near, hlt_skipped);
	diag("outcomes_sum=%lu lost_wakeups_classified=%lu nmi_elsewhere_example_rip=0x%lx", sum,
	     sti_lost_wakeups(n), elsewhere_rip);
	/* the detection loop (no IRQ pending) and the peer design's loop */
	observation("nmi_in_shadow_without_irq_pending", det_shadow, det_near);
	observation("nmi_in_shadow_peer_loop", peer.in_shadow, peer.nmis);
	observation("nmi_in_shadow_padded_loop", padded.in_shadow, padded.nmis);
	/* self-aimed: of the NMIs taken in or right after the shadow, those inside it */
	observation("nmi_in_shadow_self_aimed", self.in_shadow, self.in_shadow + self.after);
	diag("detection iterations=%lu no_nmi=%lu nmi_in_shadow=%lu nmi_before_sti=%lu "
	     "nmi_after_shadow=%lu nmi_in_setup=%lu nmi_elsewhere=%lu nmis_sent_both_kinds=%lu",
	     det_iters, d[STC_NO_NMI], det_shadow, d[STC_BEFORE_STI], d[STC_AFTER_HLT],
	     d[STC_IN_SETUP], d[STC_ELSEWHERE] + d[STC_IN_IRQ_HANDLER] + d[STC_IN_DRAIN], sent);
	/* the pair lines add up to these: NMIs in the shadow of both kinds of iteration */
	report_rate(ctx, sent, race_all_modes(race.hits));
	if (raced)
		report_victims();
	if (not_pending || lost_irq)
		return exp_fail(ctx, "%lu trials without a pending IRQ, %lu with the IRQ not taken once",
				not_pending, lost_irq);
	if (sum != iterations || sti_lost_wakeups(n) != hlt_skipped)
		return exp_fail(ctx, "buckets do not add up: %lu classified of %lu trials, %lu lost "
				"wakeups classified of %lu", sum, iterations, sti_lost_wakeups(n),
				hlt_skipped);
	/* the window is reached when NMIs land at STI, in the shadow or after HLT (a CPU may hold
	 * NMIs in the shadow: then none lands inside, which is an observation, not a miss) */
	if (!control("nmis_near_window", near))
		return exp_fail(ctx, "positive control: no NMI landed at STI, HLT or after HLT");
	if (!control("nmis_near_detection_window", det_near))
		return exp_fail(ctx, "positive control: no NMI landed at STI, NOP or after NOP");
	/* the split lead (a jump before STI): NMIs outside the shadow, told apart from inside */
	if (!self_control.nmis)
		return exp_fail(ctx,
				"no NMI a CPU sent itself was delivered (%lu sent, split lead)",
				self_control.iters);
	if (!control("self_aim_split_nmis_outside_shadow",
		     self_control.nmis - self_control.in_shadow))
		return exp_fail(ctx,
				"negative control: the split lead's NMIs all landed in the shadow");
	return EXP_PASS;
}

EXPERIMENT(exp_sti_shadow_nmi) = {
	.order = EXP_ORDER(FAMILY_STI, 20),
	.name = "sti_shadow_nmi",
	.description =
		"NMIs aimed and blind at sti; nop (detection, beside the peer design's blind loop and a self-aimed loop) and at cli; sti; hlt with an IRQ pending, every CPU pair: does the NMI's IRET drop the STI shadow?",
	.min_cpus = 2,
	.default_iterations = 1000000,
	.budget_ms = 600,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(sti_shadow_nmi_rules) = {
	/* Intel: NMIs may be inhibited after STI; AMD's STI does not mask NMIs, and its manual
	 * says nothing about NMIs inside the shadow */
	{ "sti_shadow_nmi", "nmi_in_shadow",
	  ON_INTEL(MODEL_SPECIFIC, SDM_STI_NMI), ON_AMD(MODEL_SPECIFIC, APM_STI_NMI) },
	/* Intel: a delivered NMI ends the inhibition, so the IRQ may come before HLT */
	{ "sti_shadow_nmi", "irq_before_hlt_after_nmi",
	  ON_INTEL(ALLOWED, SDM_STI_ENDS), ON_AMD(MODEL_SPECIFIC, APM_STI_NMI) },
	{ "sti_shadow_nmi", "irq_before_hlt_without_nmi",
	  ON_INTEL(NEVER, SDM_STI_INHIBIT), ON_AMD(NEVER, APM_STI_SHADOW) },
	/* a lost wakeup needs something to end the shadow early: an NMI inside it */
	{ "sti_shadow_nmi", "lost_wakeup_without_nmi_in_shadow",
	  ON_INTEL(NEVER, SDM_STI_INHIBIT), ON_AMD(NEVER, APM_STI_SHADOW) },
	/* where the sender's NMIs landed outside the sequence: the testbed's share, no claim */
	{ "sti_shadow_nmi", "nmi_outside_sequence", CONTROL },
};
/* clang-format on */

/*
 * The same window without an IRQ pending (detection), the peer design's blind loop, and that
 * loop with the race shapes' padding: NMIs in the shadow as in nmi_in_shadow.
 */
ARCH_RULES(sti_shadow_nmi_detection_rules) = {
	{ "sti_shadow_nmi", "nmi_in_shadow_without_irq_pending",
	  ON_INTEL(MODEL_SPECIFIC, SDM_STI_NMI), ON_AMD(MODEL_SPECIFIC, APM_STI_NMI) },
	{ "sti_shadow_nmi", "nmi_in_shadow_peer_loop", ON_INTEL(MODEL_SPECIFIC, SDM_STI_NMI),
	  ON_AMD(MODEL_SPECIFIC, APM_STI_NMI) },
	{ "sti_shadow_nmi", "nmi_in_shadow_padded_loop", ON_INTEL(MODEL_SPECIFIC, SDM_STI_NMI),
	  ON_AMD(MODEL_SPECIFIC, APM_STI_NMI) },
	{ "sti_shadow_nmi", "nmi_in_shadow_self_aimed", ON_INTEL(MODEL_SPECIFIC, SDM_STI_NMI),
	  ON_AMD(MODEL_SPECIFIC, APM_STI_NMI) },
};
