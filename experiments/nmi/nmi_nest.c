/*
 * nmi_nested_bp / nmi_nested_db / nmi_nested_pf: an NMI handler takes an int3, a #DB (data
 * breakpoint) or a #PF and returns from it with IRET, which unblocks NMIs while the first NMI's
 * frame is still live on the NMI IST stack. The boot CPU sends a second NMI the moment the
 * first one's body starts, so it nests. Two entry designs (experiments/nmi/nmi_nest.S): naive, whose
 * damage (the outer frame overwritten) is counted and repaired so the run goes on, and
 * nested-safe, which latches the nested NMI and runs it after the first: no corruption, no NMI
 * lost. The victim checks its registers all along (the interrupted context's checksum).
 */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/trap.h"
#include "kernel/outcome.h"
#include "kernel/wait.h"

#define ACK_TIMEOUT_NS 2000000000ull /* a loaded host can deschedule a vCPU for long */
#define WINDOW_NS 500000ull       /* first window; doubled while NMIs fail to nest ... */
#define WINDOW_MAX_NS 16000000ull /* ... up to this (a loaded host delays delivery) */

extern volatile u64 nmi_started, nmi_nested, nmi_naive_stats, nmi_exit_window_nests, nmi_pending,
	nmi_latched_runs,
	nmi_inner, nmi_window, nmi_dbvar, nmi_depth, nmi_completed;
extern const char nmi_naive_entry[], nmi_safe_entry[];
extern u64 nmi_victim_loop(volatile u32 *stop);

static volatile u32 stop;
static volatile u64 victim_ready;
static volatile u64 victim_bad;
static u64 entry_addr;

static void victim(void *arg)
{
	(void)arg;
	idt_set_entry(VEC_NMI, entry_addr);
	if (nmi_inner == 1) {
		__asm__ volatile("mov %0, %%dr0" ::"r"(&nmi_dbvar));
		/* L0, write-only (01), 8 bytes (10) */
		__asm__ volatile("mov %0, %%dr7" ::"r"(1ull | (1ull << 16) | (2ull << 18) | (1ull << 10)));
	}
	irq_disable();
	victim_ready = 1; /* the gate is ours now: NMIs may come */
	victim_bad = nmi_victim_loop(&stop);
	__asm__ volatile("mov %0, %%dr7" ::"r"(0x400ull));
	idt_set_entry(VEC_NMI, idt_default_entry(VEC_NMI));
	irq_enable();
}

static bool wait_ge(volatile u64 *p, u64 want)
{
	return spin_until_ge(p, want, ACK_TIMEOUT_NS);
}

struct result { u64 trials, nested, outer_nested, corrupt, exit_window, latched, lost, bad; };

static struct result run_design(struct exp_ctx *ctx, u32 victim_cpu, const char *entry)
{
	struct result r = { 0, 0, 0, 0, 0, 0, 0, 0 };
	nmi_started = nmi_nested = nmi_naive_stats = nmi_exit_window_nests = 0;
	nmi_pending = nmi_latched_runs = 0;
	nmi_depth = nmi_completed = 0;
	entry_addr = (u64)entry;
	stop = victim_ready = 0;
	smp_call_one(victim_cpu, victim, NULL, false);
	spin_until_ge(&victim_ready, 1, ACK_TIMEOUT_NS); /* a missed start shows as a lost NMI */
	u64 budget_end = rdtsc() + ctx->budget_tsc / 2;
	/* never more than two NMIs in flight: after a timeout, stop sending */
	nmi_window = ns_to_tsc(WINDOW_NS);
	for (; r.trials < ctx->iterations && !r.lost && (s64)(rdtsc() - budget_end) < 0; r.trials++) {
		u64 k = nmi_started, c = nmi_completed;
		if (r.trials && r.trials % 10 == 0 && nmi_nested == 0 &&
		    nmi_window < ns_to_tsc(WINDOW_MAX_NS))
			nmi_window *= 2;
		ipi_send_cpu(victim_cpu, ICR_NMI);
		if (!wait_ge(&nmi_started, k + 1)) {
			r.lost++;
			break;
		}
		ipi_send_cpu(victim_cpu, ICR_NMI); /* lands in the first one's window */
		r.lost += !wait_ge(&nmi_started, k + 2) || !wait_ge(&nmi_completed, c + 1);
		udelay(2 * tsc_to_ns(nmi_window) / 1000); /* a second NMI that did not nest finishes too */
	}
	stop = 1;
	smp_wait_one(victim_cpu);
	r.nested = nmi_nested;
	r.corrupt = nmi_naive_stats >> 32;
	r.outer_nested = (u32)nmi_naive_stats;
	r.exit_window = nmi_exit_window_nests;
	r.latched = nmi_latched_runs;
	r.bad = victim_bad;
	return r;
}

static enum exp_result run_inner(struct exp_ctx *ctx, u32 inner)
{
	u32 victim_cpu = cpu_last_online(); /* min_cpus 2: always an AP */
	nmi_inner = inner;
	struct result naive = run_design(ctx, victim_cpu, nmi_naive_entry);
	struct result safe = run_design(ctx, victim_cpu, nmi_safe_entry);
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
	diag("trials naive=%lu safe=%lu lost naive=%lu safe=%lu victim_checksum_errors naive=%lu safe=%lu",
	     naive.trials, safe.trials, naive.lost, safe.lost, naive.bad, safe.bad);
	diag("window_us=%lu", tsc_to_ns(nmi_window) / 1000);
	report_rate(ctx, naive.trials + safe.trials, naive.nested + safe.nested);
	bool naive_hit = control("naive_nmi_nested", naive.nested);
	bool safe_hit = control("safe_nmi_nested", safe.nested);
	if (!safe_hit || !naive_hit)
		return exp_fail(ctx, "positive control: no NMI nested (naive %lu, safe %lu)", naive.nested,
				safe.nested);
	if (safe.lost || safe.bad || safe.latched != safe.nested)
		return exp_fail(ctx, "nested-safe design: %lu NMIs lost, %lu context errors, %lu/%lu latched",
				safe.lost, safe.bad, safe.latched, safe.nested);
	if (naive.bad)
		return exp_fail(ctx, "naive design: the repair left %lu context errors", naive.bad);
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
