/*
 * Negative controls of the text poke engine: the same call flips (call A <-> call B under
 * CPUs calling through the site) written the ways the int3 protocol exists to avoid. Damage
 * is what they are for, and is reported as observations, never as failures; each executor
 * recovers from any trap through the poke fixtures' handlers. The rel32s of A and B differ in
 * three bytes and any mix of them lands in an unmapped page, so a torn call is a #PF there.
 * Each control fails only when its window was not reached: no write raced a call (one in
 * flight or completing while the write was done).
 *
 *   poke_torn_rel32   rel32 rewritten in place by one 4-byte store (within a cache line, and
 *                     crossing one), no int3, no sync
 *   poke_bytewise     the 5 bytes written one at a time, no int3, no sync
 *   poke_no_sync1/2/3 the int3 protocol with one of its three syncs left out
 *   poke_no_refcount  #BP handlers read descriptors without a reference; the patcher poisons
 *                     and reuses them right after its last sync
 */
#include "tests/poke/poke.h"
#include "arch/x86/time.h"
#include "kernel/outcome.h"
#include "lib/printf.h"
#include "kernel/arch_rules.h"

#define UNSAFE_PAUSE_NS 20000u

static struct poke_run run_state;

struct ablation {
	enum poke_writer writer;
	u32 flags;
};

static u64 other_damage(const struct poke_run *r)
{
	return r->outcome[PO_BAD_FRAME] + r->outcome[PO_BAD_TARGET] + r->outcome[PO_BP] +
	       r->outcome[PO_UD] + r->outcome[PO_GP] + r->outcome[PO_PF];
}

static void observe(const struct poke_run *r, const char *suffix)
{
	char name[48];
	ksnprintf(name, sizeof(name), "torn_call_seen%s", suffix);
	observation(name, r->outcome[PO_TORN], r->calls);
	ksnprintf(name, sizeof(name), "stale_int3_seen%s", suffix);
	observation(name, r->outcome[PO_STALE_BP], r->calls);
	ksnprintf(name, sizeof(name), "stale_descriptor_seen%s", suffix);
	observation(name, r->outcome[PO_POISON], r->calls);
	ksnprintf(name, sizeof(name), "other_damage_seen%s", suffix);
	observation(name, other_damage(r), r->calls);
}

/* One run on one site; false (with the reason recorded) when the window was not reached. */
static bool ablate(struct exp_ctx *ctx, const struct ablation *a, u64 site, u64 share,
		   const char *prefix)
{
	struct poke_run *r = &run_state;
	poke_run_init(r, ctx, share);
	r->writer = a->writer;
	r->flags = a->flags;
	r->sites[0] = site;
	if (a->writer != WR_PROTOCOL) {
		/* no syncs to wait for: executors need not rest, the patcher pauses instead */
		r->pause_cycles = ns_to_tsc(UNSAFE_PAUSE_NS);
		r->rest_ns = 0;
	}
	if (!poke_run_exec(r)) {
		exp_fail(ctx, "could not set up the site or the target stubs");
		return false;
	}
	poke_run_report(ctx, r, prefix);
	diag("%sstale_int3_per_1000_patches=%lu", prefix,
	     r->patches ? r->outcome[PO_STALE_BP] * 1000 / r->patches : 0);
	if (r->write_errors || r->st.sync_timeouts) {
		exp_fail(ctx, "%lu writes failed, %lu syncs timed out", r->write_errors,
			 r->st.sync_timeouts);
		return false;
	}
	/* positive control: writes raced calls in flight (the window of every ablation) */
	bool raced = control("writes_racing_calls", r->overlapped);
	if (!r->patches || !r->calls || !raced) {
		exp_fail(ctx, "window not reached: %lu patches, %lu calls, %lu writes racing a call",
			 r->patches, r->calls, r->overlapped);
		return false;
	}
	return true;
}

static enum exp_result run_one(struct exp_ctx *ctx, const struct ablation *a)
{
	if (!ablate(ctx, a, poke_call_sites[0], 900, ""))
		return EXP_FAIL;
	observe(&run_state, "");
	report_rate(ctx, run_state.patches, run_state.calls - run_state.outcome[PO_A] -
		    run_state.outcome[PO_B]);
	return EXP_PASS;
}

static enum exp_result run_torn(struct exp_ctx *ctx)
{
	static const struct ablation a = { WR_STORE, 0 };
	bool ok = ablate(ctx, &a, poke_call_sites[0], 440, "inline_");
	if (ok)
		observe(&run_state, "_inline");
	ok = ok && ablate(ctx, &a, PADDR(poke_xline_site), 440, "xline_");
	if (ok)
		observe(&run_state, "_xline");
	return ok ? EXP_PASS : EXP_FAIL;
}

#define ABLATION(ident, rank, name_, desc, writer_, flags_)                                    \
	static enum exp_result run_##ident(struct exp_ctx *ctx)                               \
	{                                                                                     \
		static const struct ablation a = { writer_, flags_ };                         \
		return run_one(ctx, &a);                                                      \
	}                                                                                     \
	EXPERIMENT(exp_##ident) = {                                                           \
		.order = EXP_ORDER(FAMILY_POKE, rank),                                        \
		.name = name_, .description = desc, .min_cpus = 2,                            \
		.default_iterations = 1000000, .budget_ms = 500, .run = run_##ident,          \
	}

EXPERIMENT(exp_poke_torn_rel32) = {
	.order = EXP_ORDER(FAMILY_POKE, 60),
	.name = "poke_torn_rel32",
	.description = "negative control: rel32 rewritten by one store (in a line, across a line), no int3",
	.min_cpus = 2,
	.default_iterations = 1000000,
	.budget_ms = 700,
	.run = run_torn,
};
ABLATION(poke_bytewise, 70, "poke_bytewise",
	 "negative control: the 5 bytes written one at a time, no int3, no sync", WR_BYTEWISE, 0);
ABLATION(poke_no_sync1, 80, "poke_no_sync1",
	 "negative control: int3 protocol without the sync after the int3", WR_PROTOCOL,
	 POKE_SKIP_SYNC1);
ABLATION(poke_no_sync2, 90, "poke_no_sync2",
	 "negative control: int3 protocol without the sync after the tail", WR_PROTOCOL,
	 POKE_SKIP_SYNC2);
ABLATION(poke_no_sync3, 100, "poke_no_sync3",
	 "negative control: int3 protocol without the sync after the new first byte", WR_PROTOCOL,
	 POKE_SKIP_SYNC3);
ABLATION(poke_no_refcount, 110, "poke_no_refcount",
	 "negative control: #BP handlers read descriptors the patcher retires without waiting",
	 WR_PROTOCOL, POKE_NO_REFCOUNT);

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(poke_ablations_rules) = {
	{ "poke_torn_rel32", "torn_call_seen_inline",
	  ON_INTEL(MODEL_SPECIFIC, SDM_XMC_UNSYNCED), ON_AMD(MODEL_SPECIFIC, SDM_XMC_UNSYNCED) },
	{ "poke_torn_rel32", "torn_call_seen_xline",
	  ON_INTEL(ALLOWED, SDM_XMC_UNSYNCED), ON_AMD(ALLOWED, SDM_XMC_UNSYNCED) },
	{ "poke_torn_rel32", "stale_int3_seen*", ON_INTEL(NEVER, SDM_XMC), ON_AMD(NEVER, SDM_XMC) },
	{ "poke_bytewise", "torn_call_seen",
	  ON_INTEL(ALLOWED, SDM_XMC_UNSYNCED), ON_AMD(ALLOWED, SDM_XMC_UNSYNCED) },
	{ "poke_bytewise", "stale_int3_seen", ON_INTEL(NEVER, SDM_XMC), ON_AMD(NEVER, SDM_XMC) },
	/* sync 1 or 2 left out: the executor may mix old and new bytes; sync 3 still follows */
	{ "poke_no_sync[12]", "torn_call_seen",
	  ON_INTEL(ALLOWED, SDM_XMC_UNSYNCED), ON_AMD(ALLOWED, SDM_XMC_UNSYNCED) },
	{ "poke_no_sync[12]", "stale_int3_seen", ON_INTEL(NEVER, SDM_XMC), ON_AMD(NEVER, SDM_XMC) },
	/* sync 3 left out: nothing serializes the executor after the int3 is removed */
	{ "poke_no_sync3", "torn_call_seen", ON_INTEL(NEVER, SDM_XMC), ON_AMD(NEVER, SDM_XMC) },
	{ "poke_no_sync3", "stale_int3_seen",
	  ON_INTEL(ALLOWED, SDM_XMC_UNSYNCED), ON_AMD(ALLOWED, SDM_XMC_UNSYNCED) },
	/*
	 * no refcount: every sync is there; the handler's unreferenced read is a software race.
	 * A stale int3 here is the classifier's name for a #BP whose descriptor was already gone:
	 * a measurement of the ablation, not a claim about the CPU.
	 */
	{ "poke_no_refcount", "torn_call_seen", ON_INTEL(NEVER, SDM_XMC), ON_AMD(NEVER, SDM_XMC) },
	{ "poke_no_refcount", "stale_int3_seen", CONTROL },
};
/* clang-format on */
