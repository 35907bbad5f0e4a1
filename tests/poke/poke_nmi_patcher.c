/*
 * poke_nmi_patcher: while the patcher flips a live call site (other CPUs calling through it),
 * one CPU fires NMIs at the patcher, one or two at a time with random gaps, so they land in
 * every protocol step; the NMI handler calls through the site on the patcher itself, and the
 * patcher also calls it right after each write step. Whatever step the int3 is caught in,
 * the #BP on the patching CPU must be emulated there and everything must complete: no lost
 * NMI (a deadlock would also end as the watchdog's TIMEOUT), no broken call anywhere.
 *
 * The patcher's NMI gate is moved off its IST stack for the run: a #BP taken inside the NMI
 * handler returns with IRET, which unblocks NMIs, and a second NMI arriving then would reuse
 * the IST stack under the first one's frame. On the current stack NMIs simply nest.
 */
#include "tests/poke/poke.h"
#include "arch/x86/apic.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "kernel/outcome.h"
#include "kernel/wait.h"
#include "kernel/arch_rules.h"

#define ACK_TIMEOUT_NS 200000000ull
#define MERGE_WAIT_NS 1000000ull
#define MAX_GAP_NS 200000u

static struct poke_run run_state;
static u32 patcher;
static volatile u64 nmi_sent, nmi_handled, nmi_lost, nmi_merged, nmi_nested, nmi_bp;
static volatile u64 nmi_phase[POKE_NPHASES], nmi_out[PO_N];
static volatile u32 nmi_depth;
static u64 self_calls[POKE_NPHASES], self_bp[POKE_NPHASES], self_out[PO_N];

/* Calls through the site on the patcher; true when it went through a #BP emulation. */
static bool call_site(volatile u64 *out)
{
	struct poke_exec e;
	u64 before = poke_cpu_emulations(patcher), site = run_state.sites[0];
	e.canary = rdtsc();
	bool returned = poke_exec_run(&e, site);
	out[poke_classify(&e, site, returned, false)]++;
	return poke_cpu_emulations(patcher) != before;
}

static bool on_nmi(struct trap_frame *f)
{
	(void)f;
	struct cpu *c = this_cpu();
	if (c->sample_request || c->index != patcher)
		return false;
	if (++nmi_depth > 1)
		nmi_nested++;
	nmi_phase[poke_phase_now()]++;
	nmi_bp += call_site(nmi_out);
	nmi_depth--;
	__atomic_add_fetch(&nmi_handled, 1, __ATOMIC_SEQ_CST);
	return true;
}

static void step_hook(enum poke_phase phase)
{
	self_calls[phase]++;
	self_bp[phase] += call_site((volatile u64 *)self_out);
}

/* Halts until nmi_handled reaches want or the time is up; true when it did. */
static bool wait_handled(u64 want, u64 ns, const struct poke_run *r)
{
	u64 end = tsc_deadline_ns(ns);
	while (READ_ONCE(nmi_handled) < want) {
		if (tsc_past(end) || READ_ONCE(r->stop))
			return READ_ONCE(nmi_handled) >= want;
		wait_eq_halt(&nmi_handled, want, 20000);
	}
	return true;
}

static void nmi_sender(struct poke_run *r)
{
	u64 rng = rng_seed(r->seed, 99), never = 0;
	while (!READ_ONCE(r->stop)) {
		u64 base = READ_ONCE(nmi_handled), k = 1 + (rng_next(&rng) & 1);
		for (u64 i = 0; i < k; i++)
			ipi_send_cpu(patcher, ICR_NMI);
		nmi_sent += k;
		if (!wait_handled(base + 1, ACK_TIMEOUT_NS, r) && !READ_ONCE(r->stop))
			nmi_lost++;
		if (k > 1 && !wait_handled(base + k, MERGE_WAIT_NS, r))
			nmi_merged++; /* the second arrived while the first was still pending */
		wait_eq_halt(&never, 1, rng_next(&rng) % MAX_GAP_NS);
	}
}

static void reset(void)
{
	nmi_sent = nmi_handled = nmi_lost = nmi_merged = nmi_nested = nmi_bp = 0;
	nmi_depth = 0;
	for (u32 i = 0; i < POKE_NPHASES; i++)
		nmi_phase[i] = self_calls[i] = self_bp[i] = 0;
	for (u32 i = 0; i < PO_N; i++)
		nmi_out[i] = self_out[i] = 0;
}

static u64 broken(volatile u64 *out)
{
	u64 n = 0;
	for (u32 o = PO_BAD_FRAME; o < PO_N; o++)
		n += o == PO_STALE_BP ? 0 : out[o];
	return n;
}

static void report(const struct poke_run *r)
{
	static const char *const ph[POKE_NPHASES] = { "idle", "int3", "tail", "first", "retire" };
	u64 nmi_calls = 0;
	for (u32 i = 0; i < POKE_NPHASES; i++) {
		nmi_calls += nmi_phase[i];
		diag("phase %s: nmis=%lu self_calls=%lu self_bp_emulated=%lu", ph[i], nmi_phase[i],
		     self_calls[i], self_bp[i]);
	}
	diag("nmis_sent=%lu nmis_handled=%lu lost=%lu merged=%lu nested_nmi=%lu nmi_calls_via_bp=%lu",
	     nmi_sent, nmi_handled, nmi_lost, nmi_merged, nmi_nested, nmi_bp);
	observation("nmi_hit_int3_on_patcher", nmi_bp, nmi_calls);
	observation("nmi_during_int3_step", nmi_phase[POKE_PH_INT3], nmi_calls);
	observation("nmi_during_tail_step", nmi_phase[POKE_PH_TAIL], nmi_calls);
	observation("nmi_during_first_step", nmi_phase[POKE_PH_FIRST], nmi_calls);
	observation("self_call_bp_after_int3", self_bp[POKE_PH_INT3], self_calls[POKE_PH_INT3]);
	observation("self_call_bp_after_tail", self_bp[POKE_PH_TAIL], self_calls[POKE_PH_TAIL]);
	observation("self_call_bp_after_first", self_bp[POKE_PH_FIRST], self_calls[POKE_PH_FIRST]);
	observation("broken_call", poke_bad_outcomes(r) + broken(nmi_out) + broken(self_out),
		    r->calls + nmi_calls);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	struct poke_run *r = &run_state;
	poke_run_init(r, ctx, 900);
	reset();
	patcher = this_cpu_index();
	for_each_online_cpu(i)
		if (i != patcher && r->sender_cpu == ~0u)
			r->sender_cpu = i;
	r->sender = nmi_sender;
	r->step_hook = step_hook;
	trap_set_handler(VEC_NMI, on_nmi);
	idt_set_ist(VEC_NMI, 0);
	bool ok = poke_run_exec(r);
	udelay(2000); /* let a last NMI land */
	idt_set_ist(VEC_NMI, IST_NMI);
	trap_set_handler(VEC_NMI, NULL);
	if (!ok)
		return exp_fail(ctx, "could not set up the site or the target stubs");
	poke_run_report(ctx, r, "");
	report(r);
	report_rate(ctx, r->patches, nmi_bp);
	if (nmi_lost)
		return exp_fail(ctx, "%lu NMIs to the patcher never completed", nmi_lost);
	if (broken(nmi_out) || broken(self_out))
		return exp_fail(ctx, "broken call on the patching CPU");
	enum exp_result v = poke_run_verdict(ctx, r, false);
	if (v != EXP_PASS)
		return v;
	bool from_nmi = control("patcher_bp_from_nmi", nmi_bp);
	bool from_self = control("patcher_bp_from_own_call", self_bp[POKE_PH_INT3] + self_bp[POKE_PH_TAIL]);
	if (!from_nmi || !from_self)
		return exp_fail(ctx, "positive control: no #BP on the patching CPU (%lu from NMIs, "
				"%lu self)", nmi_bp, self_bp[POKE_PH_INT3] + self_bp[POKE_PH_TAIL]);
	return EXP_PASS;
}

EXPERIMENT(exp_poke_nmi_patcher) = {
	.order = EXP_ORDER(FAMILY_POKE, 40),
	.name = "poke_nmi_patcher",
	.description = "NMIs at the patcher in every protocol step, their handler calling the site: no deadlock",
	.min_cpus = 2,
	.default_iterations = 100000,
	.budget_ms = 900,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(poke_nmi_patcher_rules) = {
	{ "poke_nmi_patcher", "nmi_*", CONTROL },
	/*
	 * The patcher calls the site right after its own store, made through the alias mapping
	 * with no serializing instruction in between: the prefetch check goes by linear address
	 * (SDM 13.6), so whether the call sees the int3 (or still sees it after the first byte's
	 * store) is model-specific self-modifying code.
	 */
	{ "poke_nmi_patcher", "self_call_bp_after_*",
	  ON_INTEL(MODEL_SPECIFIC, SDM_SMC_LINEAR), ON_AMD(MODEL_SPECIFIC, SDM_SMC_LINEAR) },
};
/* clang-format on */
