/*
 * movss_host_step: the host's debugger single-steps `mov ss, [var]` while the guest has a data
 * breakpoint (DR0) on var. The load raises a data-breakpoint #DB, which MOV SS holds until the
 * boundary after the next instruction (Intel SDM vol. 3A 6.8.3; AMD APM vol. 2 8.9, the
 * shadow movss_db_next measures without a host). Does a host single step, which ends right
 * after the MOV SS, deliver the guest's #DB there instead? Seed 001 (Sean Christopherson) is
 * about the same question for STI blocking under KVM's userspace single-step; "{MOV,POP}SS
 * blocks #DBs, STI does not".
 *
 * The case is movss_db_next's `mov ss; nop` at CPL 0 (mk_nop, movss_seq.S). Before each trial
 * the boot CPU asks the host (kernel/hostreq.h) to stop at the MOV SS and step it, in QEMU's
 * single-step mode noirq or irq; a trial without the host is the control. The #DB's RIP says
 * where it was delivered: right after MOV SS (the shadow lost), after the NOP (held), or not at
 * all. Without a host answering it skips.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/debugreg.h"
#include "arch/x86/percpu.h"
#include "arch/x86/time.h"
#include "kernel/arch_rules.h"
#include "kernel/hostreq.h"
#include "kernel/outcome.h"
#include "lib/lib.h"
#include "tests/movss/movss.h"

#define FIRST_ANSWER_MS 3000
#define ANSWER_MS 2000
#define TRIALS_PER_MODE 8

extern const char mk_nop[], mk_nop_movss[], mk_nop_next[], mk_nop_after[];
static const struct mss_case nop_case = { "mk_nop", false, mk_nop, mk_nop_movss, mk_nop_next,
					  mk_nop_after, NULL, 0 };

enum step_mode { MODE_NOIRQ, MODE_IRQ, MODE_NONE, MODES };
static const char *const mode_name[MODES] = { "noirq", "irq", "none" };
struct mode_count { u64 trials, db_at_next, db_after_nop, no_db, step_at_next, step_in_db; };
static u64 odd_step_rip; /* the first step that ended anywhere else (reported) */
extern const char trap_stubs[];

static bool trial(enum step_mode m, struct mode_count *k, enum host_status *st, u32 wait_ms)
{
	u32 id = 0;
	if (m != MODE_NONE &&
	    !(id = host_request_step((u64)mk_nop_movss, mode_name[m], wait_ms, st)))
		return false;
	struct mss_trial t;
	irq_disable();
	mss_run(&nop_case, DR6_RESET, &t); /* the host stops at its MOV SS and steps it */
	*st = m == MODE_NONE ? HOST_DONE : host_wait(id, ANSWER_MS);
	if (*st != HOST_DONE)
		return false;
	const struct mss_event *db = mss_find_db(&t);
	enum mss_pos p = db ? mss_position(&nop_case, db) : POS_NO_DB;
	k->trials++;
	k->db_at_next += p == POS_NEXT;
	k->db_after_nop += p == POS_AFTER;
	k->no_db += p == POS_NO_DB;
	if (m != MODE_NONE) { /* where the host's step over MOV SS ended */
		u64 rip = host_mailbox()->value[0];
		k->step_at_next += rip == (u64)mk_nop_next;
		k->step_in_db += rip == (u64)trap_stubs + 16 * VEC_DB;
		if (rip != (u64)mk_nop_next && rip != (u64)trap_stubs + 16 * VEC_DB &&
		    !odd_step_rip)
			odd_step_rip = rip;
	}
	return true;
}

static enum exp_result run(struct exp_ctx *ctx)
{
	struct mode_count k[MODES] = { 0 };
	enum host_status st = HOST_DONE;
	odd_step_rip = 0;
	bool ok = true;
	mss_install();
	for (u32 i = 0; i < TRIALS_PER_MODE && ok; i++)
		for (u32 m = 0; m < MODES && ok; m++)
			ok = trial(m, &k[m], &st, host_present() ? ANSWER_MS : FIRST_ANSWER_MS);
	mss_remove();
	u64 debug_stops = 0;
	if (ok) { /* how often QEMU stopped the guest as a debugger event on its own */
		u32 id = host_request("status", this_cpu()->apic_id, "of=debug_stops");
		if (host_wait(id, ANSWER_MS) == HOST_DONE)
			debug_stops = host_mailbox()->value[0];
	}
	if (!ok && st == HOST_NO_ANSWER && !host_present())
		return exp_skip(ctx, "needs a host debugger (QEMU's gdbstub through the harness): "
				"no answer in %u ms", FIRST_ANSWER_MS);
	if (!ok)
		return exp_fail(ctx, "step request: %s", st == HOST_REFUSED
				? (const char *)host_mailbox()->reason : "no answer");
	for (u32 m = 0; m < MODES; m++)
		diag("arm=%s trials=%lu db_after_movss=%lu db_after_nop=%lu no_db=%lu "
		     "step_ended_after_movss=%lu step_ended_in_db_entry=%lu",
		     m == MODE_NONE ? "no_host" : mode_name[m], k[m].trials, k[m].db_at_next,
		     k[m].db_after_nop, k[m].no_db, k[m].step_at_next, k[m].step_in_db);
	/* precondition: a #DB was raised at all */
	for (u32 m = 0; m < MODES; m++) {
		static const char *const obs[MODES] = { "db_after_movss_host_step_noirq",
							"db_after_movss_host_step_irq",
							"db_after_movss_without_host" };
		observation(obs[m], k[m].db_at_next, k[m].trials - k[m].no_db);
	}
	u64 stepped = k[MODE_NOIRQ].trials + k[MODE_IRQ].trials;
	u64 in_db = k[MODE_NOIRQ].step_in_db + k[MODE_IRQ].step_in_db;
	/* the step covers one instruction: ending in the #DB entry means the #DB came with it */
	observation("host_step_ended_in_db_entry", in_db, stepped);
	diag("host_debug_stops=%lu (QEMU stopped the guest in its debug state by itself; the "
	     "harness resumed it)", debug_stops);
	u64 stopped = k[MODE_NOIRQ].step_at_next + k[MODE_IRQ].step_at_next + in_db;
	report_rate(ctx, stepped, k[MODE_NOIRQ].db_at_next + k[MODE_IRQ].db_at_next);
	/* positive controls: every step ended right after MOV SS or in the #DB it raised, and
	 * the data breakpoint fired in every trial (whether it is held is the observation) */
	control("steps_ended_after_movss_or_in_db", stopped);
	u64 no_db = k[MODE_NOIRQ].no_db + k[MODE_IRQ].no_db + k[MODE_NONE].no_db;
	control("trials_with_db", k[MODE_NOIRQ].trials + k[MODE_IRQ].trials + k[MODE_NONE].trials -
				  no_db);
	/* a step may end elsewhere (an event the host's step mode let in): said, not failed */
	if (stopped != stepped)
		diag("host_steps_ended_elsewhere=%lu first_rip=0x%lx", stepped - stopped,
		     odd_step_rip);
	if (!stopped)
		return exp_fail(ctx,
				"positive control: none of %lu host steps ended after MOV SS or "
				"in the #DB entry",
				stepped);
	if (no_db)
		return exp_fail(ctx, "positive control: %lu trials raised no data-breakpoint #DB",
				no_db);
	return EXP_PASS;
}

EXPERIMENT(exp_movss_host_step) = {
	.order = EXP_ORDER(FAMILY_MOVSS, 45),
	.name = "movss_host_step",
	.description = "the host's debugger single-steps mov ss with a data breakpoint armed (QEMU gdbstub): is the #DB still held past the next instruction?",
	.min_cpus = 1,
	.default_iterations = TRIALS_PER_MODE,
	.budget_ms = 5000,
	.run = run,
};

/* clang-format off: a table laid out by hand */
ARCH_RULES(movss_host_step_rules) = {
	/* a host debugger is invisible to the architecture: MOV SS holds the #DB either way */
	{ "movss_host_step", "db_after_movss_*",
	  ON_INTEL(NEVER, SDM_MOVSS_DATA_BP), ON_AMD(NEVER, SDM_MOVSS_DATA_BP) },
	/* the host's step is not the architecture's; where it ends is the emulator's business */
	{ "movss_host_step", "host_step_ended_in_db_entry", CONTROL },
};
/* clang-format on */
