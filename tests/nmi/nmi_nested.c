/*
 * nmi_nested_bp / nmi_nested_db / nmi_nested_pf: an NMI handler takes an int3, a #DB (data
 * breakpoint) or a #PF and returns from it with IRET, which unblocks NMIs while the first NMI's
 * frame is still live on the NMI IST stack. Every ordered pair of CPUs (but the boot CPU as
 * victim: it runs the watchdog) takes a turn: the sender sends a second NMI the moment the
 * first one's body starts, so it nests. Two entry designs (tests/nmi/nmi_nested.S): naive, whose
 * damage (the outer frame overwritten) is counted and repaired so the run goes on, and
 * nested-safe, which latches the nested NMI and runs it after the first: no corruption, no NMI
 * lost. The victim checks its registers all along (the interrupted context's checksum).
 */
#include "arch/x86/debugreg.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/trap.h"
#include "kernel/outcome.h"
#include "kernel/wait.h"
#include "kernel/arch_rules.h"

#define ACK_TIMEOUT_NS 2000000000ull /* a loaded host can deschedule a vCPU for long */
#define WINDOW_NS 500000ull       /* first window; doubled while NMIs fail to nest ... */
#define WINDOW_MAX_NS 16000000ull /* ... up to this (a loaded host delays delivery) */

extern volatile u64 nmi_started, nmi_nested, nmi_naive_stats, nmi_exit_window_nests, nmi_pending,
	nmi_latched_runs,
	nmi_inner, nmi_window, nmi_dbvar, nmi_depth, nmi_completed;
extern const char nmi_naive_entry[], nmi_safe_entry[];
extern u64 nmi_victim_loop(volatile u32 *stop);

static volatile u32 stop;
/* a turn's handshake, per design d (0 naive, 1 safe): go (sender), ready and done (victim) */
static volatile u64 design_go, victim_ready, victim_done;
static volatile u64 victim_bad;
static const char *entries[2];

/*
 * The victim's turn: for each design, its entry in this CPU's IDT, then the checking loop
 * until the sender stops it. It leaves the loop between the designs (thread context, no NMI
 * of its own running), so the sender can swap the designs' counters.
 */
static void victim(void *arg)
{
	(void)arg;
	if (nmi_inner == 1) {
		write_dr0((u64)&nmi_dbvar);
		/* L0, write-only (01), 8 bytes (10) */
		write_dr7(DR7_L(0) | DR7_RW(0, DR7_RW_WRITE) | DR7_LEN(0, 8) | DR7_FIXED);
	}
	irq_disable();
	for (u64 d = 1; d <= 2; d++) {
		if (!spin_until_ge(&design_go, d, ACK_TIMEOUT_NS))
			break;
		idt_set_entry(VEC_NMI, (u64)entries[d - 1]);
		victim_ready = d; /* the gate is ours now: NMIs may come */
		victim_bad += nmi_victim_loop(&stop);
		victim_done = d;
	}
	write_dr7(DR7_FIXED);
	idt_set_entry(VEC_NMI, idt_default_entry(VEC_NMI));
	irq_enable();
}

static bool wait_ge(volatile u64 *p, u64 want)
{
	return spin_until_ge(p, want, ACK_TIMEOUT_NS);
}

struct result { u64 trials, nested, outer_nested, corrupt, exit_window, latched, lost; };
/* the victim's register checksum errors: its loop runs through both designs' trials of a turn */
static u64 context_errors;

/* One pair's turn: the sender's trials with each design (at most max each). */
struct turn { u32 sender, victim; u64 max, end; struct result *r[2]; u64 nested; };

static void send_trials(const struct turn *t, struct result *r)
{
	/* never more than two NMIs in flight: after a timeout, stop sending */
	for (u64 i = 0; i < t->max && !r->lost && tsc_before(t->end); i++, r->trials++) {
		u64 k = nmi_started, c = nmi_completed;
		if (r->trials && r->trials % 10 == 0 && nmi_nested == 0 &&
		    nmi_window < ns_to_tsc(WINDOW_MAX_NS))
			nmi_window *= 2;
		ipi_send_cpu(t->victim, ICR_NMI);
		if (!wait_ge(&nmi_started, k + 1)) {
			r->lost++;
			break;
		}
		ipi_send_cpu(t->victim, ICR_NMI); /* lands in the first one's window */
		r->lost += !wait_ge(&nmi_started, k + 2) || !wait_ge(&nmi_completed, c + 1);
		udelay(2 * tsc_to_ns(nmi_window) / 1000); /* a second NMI that did not nest finishes too */
	}
}

/*
 * Both designs use the same counters (nmi_nested.S's globals): each design's are kept here and
 * swapped in by the sender while the victim is out of its loop (victim(): between designs).
 */
struct design_state { u64 started, nested, naive_stats, exit_window, pending, latched, depth, completed; };
static struct design_state ds[2];

static void save(struct design_state *d)
{
	*d = (struct design_state){ nmi_started, nmi_nested, nmi_naive_stats, nmi_exit_window_nests,
				    nmi_pending, nmi_latched_runs, nmi_depth, nmi_completed };
}

static void restore(const struct design_state *d)
{
	nmi_started = d->started;
	nmi_nested = d->nested;
	nmi_naive_stats = d->naive_stats;
	nmi_exit_window_nests = d->exit_window;
	nmi_pending = d->pending;
	nmi_latched_runs = d->latched;
	nmi_depth = d->depth;
	nmi_completed = d->completed;
}

static void sender(struct turn *t)
{
	for (u32 d = 0; d < 2; d++) {
		restore(&ds[d]);
		stop = 0;
		design_go = d + 1;
		spin_until_ge(&victim_ready, d + 1, ACK_TIMEOUT_NS); /* a missed start: a lost NMI */
		u64 nested0 = nmi_nested;
		send_trials(t, t->r[d]);
		stop = 1;
		spin_until_ge(&victim_done, d + 1, ACK_TIMEOUT_NS);
		t->nested += nmi_nested - nested0;
		save(&ds[d]);
	}
}

static void pair_worker(void *arg)
{
	struct turn *t = arg;
	if (this_cpu_index() == t->victim)
		victim(NULL);
	else
		sender(t);
}

/* Runs one pair's turn, both designs; returns the NMIs that nested in it. */
static u64 run_turn(struct turn *t)
{
	stop = 0;
	design_go = victim_ready = victim_done = victim_bad = 0;
	struct cpumask both;
	cpumask_clear(&both);
	cpumask_set(&both, t->sender);
	cpumask_set(&both, t->victim);
	/* the boot CPU, when not in the pair, waits halted: a third spinning vCPU on a 2-core
	 * host took time from the pair's two */
	smp_call(&both, pair_worker, t, false);
	smp_wait_halt(&both);
	context_errors += victim_bad;
	return t->nested;
}

static void design_end(const struct design_state *d, struct result *r)
{
	r->nested = d->nested;
	r->corrupt = d->naive_stats >> 32;
	r->outer_nested = (u32)d->naive_stats;
	r->exit_window = d->exit_window;
	r->latched = d->latched;
}

/* Every ordered (sender, victim) pair but those with the boot CPU as victim takes a turn. */
static void run_pairs(struct exp_ctx *ctx, struct result *naive, struct result *safe)
{
	u32 n = cpus_online();
	u64 per_pair = MAX(ctx->iterations / ((u64)(n - 1) * (n - 1)), 2ull); /* (n-1)^2 pairs */
	u64 end = ctx->start_tsc + ctx->budget_tsc, pairs = 0, hit = 0;
	entries[0] = nmi_naive_entry;
	entries[1] = nmi_safe_entry;
	ds[0] = ds[1] = (struct design_state){ 0 };
	context_errors = 0;
	for_each_online_cpu(s)
		for_each_online_cpu(v) {
			/*
			 * Never the boot CPU as the victim: its loop runs with interrupts off and
			 * ends only when the sender says so, and the boot CPU's timer tick is the
			 * watchdog that turns a hang into a TIMEOUT.
			 */
			if (s == v || v == 0)
				continue;
			u64 trials0 = naive->trials + safe->trials;
			struct turn t = { s, v, per_pair, end, { naive, safe }, 0 };
			u64 nested = run_turn(&t);
			diag("pair %u->%u trials=%lu hits=%lu%s", s, v,
			     naive->trials + safe->trials - trials0, nested, nested ? "" : " zero_hits");
			pairs++;
			hit += nested != 0;
		}
	design_end(&ds[0], naive);
	design_end(&ds[1], safe);
	diag("pairs=%lu pairs_hit=%lu pairs_zero=%lu pairs_skipped=%u", pairs, hit, pairs - hit, n - 1);
	diag("pairs skipped: those with the boot CPU as the victim (its timer tick is the watchdog)");
}

static enum exp_result run_inner(struct exp_ctx *ctx, u32 inner)
{
	nmi_inner = inner;
	nmi_window = ns_to_tsc(WINDOW_NS);
	struct result naive = { 0 }, safe = { 0 };
	run_pairs(ctx, &naive, &safe);
	diag("outcome naive_nested=%lu", naive.nested);
	diag("outcome naive_frame_overwritten=%lu", naive.corrupt);
	diag("outcome safe_nested=%lu", safe.nested);
	diag("outcome safe_latched_runs=%lu", safe.latched);
	/* per outermost NMI that had one or more nest in it (nested counts every nested NMI) */
	diag("outcome naive_outer_with_nesting=%lu", naive.outer_nested);
	/* of those, nests after the last frame check (the naive design's own hazard, taken over) */
	diag("outcome naive_exit_window_nests=%lu", naive.exit_window);
	observation("naive_outer_frame_overwritten", naive.corrupt, naive.outer_nested);
	observation("safe_nested_latched", safe.latched, safe.nested);
	diag("trials naive=%lu safe=%lu lost naive=%lu safe=%lu victim_checksum_errors=%lu",
	     naive.trials, safe.trials, naive.lost, safe.lost, context_errors);
	diag("window_us=%lu", tsc_to_ns(nmi_window) / 1000);
	report_rate(ctx, naive.trials + safe.trials, naive.nested + safe.nested);
	bool naive_hit = control("naive_nmi_nested", naive.nested);
	bool safe_hit = control("safe_nmi_nested", safe.nested);
	if (!safe_hit || !naive_hit)
		return exp_fail(ctx, "positive control: no NMI nested (naive %lu, safe %lu)", naive.nested,
				safe.nested);
	if (safe.lost || safe.latched != safe.nested)
		return exp_fail(ctx, "nested-safe design: %lu NMIs lost, %lu/%lu latched", safe.lost,
				safe.latched, safe.nested);
	if (context_errors)
		return exp_fail(ctx, "the interrupted context changed %lu times (the naive design's "
				"repair or the nested-safe design)", context_errors);
	return EXP_PASS;
}

static enum exp_result run_bp(struct exp_ctx *ctx) { return run_inner(ctx, 0); }
static enum exp_result run_db(struct exp_ctx *ctx) { return run_inner(ctx, 1); }
static enum exp_result run_pf(struct exp_ctx *ctx) { return run_inner(ctx, 2); }

#define NESTED(ident, rank, nm, fn, what)                                                        \
	EXPERIMENT(ident) = {                                                                \
		.order = EXP_ORDER(FAMILY_NMI, rank),                                        \
		.name = nm,                                                                  \
		.description = "NMI handler takes " what " and IRETs from it while the next NMI arrives: naive vs nested-safe", \
		.min_cpus = 2,                                                               \
		.default_iterations = 100,                                                   \
		.budget_ms = 4000,                                                           \
		.run = fn,                                                                   \
	}
NESTED(exp_nmi_nested_bp, 30, "nmi_nested_bp", run_bp, "an int3");
NESTED(exp_nmi_nested_db, 40, "nmi_nested_db", run_db, "a data-breakpoint #DB");
NESTED(exp_nmi_nested_pf, 50, "nmi_nested_pf", run_pf, "a #PF");

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(nmi_nested_rules) = {
	{ "nmi_nested_*", "naive_outer_frame_overwritten",
	  ON_INTEL(ALWAYS, SDM_IST_REENTRY), ON_AMD(ALWAYS, SDM_IST_REENTRY) },
	{ "nmi_nested_*", "safe_nested_latched", CONTROL },
};
/* clang-format on */
