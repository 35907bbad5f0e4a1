/*
 * sti_host_step: a debugger on the host single-steps the guest over `sti; hlt` with an IRQ
 * pending. Does the STI shadow survive the step? Sean Christopherson (seed 001) describes how
 * KVM dropped STI blocking when userspace single-stepped a guest (VMX refuses a VM entry with
 * STI blocking, TF set and no pending single-step #DB, so KVM cleared the blocking; upstream
 * fixed it in 2022: KVM_GUESTDBG_BLOCKIRQ and "Set vmcs.PENDING_DBG.BS on #DB in STI/MOVSS
 * blocking shadow"). Stepping is the host's business: to the guest, the architecture still
 * holds IRQs until the boundary after HLT (Intel SDM vol. 2B, STI).
 *
 * The boot CPU makes the test IRQ pending with IF=0 and asks the host (kernel/hostreq.h):
 *
 *   # host-request id=N kind=step cpu=0 mailbox=0x... stop=0xSTI go=0xFLAG sstep=MODE
 *
 * then waits for FLAG. The host (QEMU's gdbstub, host/racebed_harness/host_requests.py) sets a
 * breakpoint at STI, sets FLAG, lets the guest run to the breakpoint, steps that one
 * instruction with QEMU's single-step mode MODE (noirq: IRQs and timers masked while
 * stepping, QEMU's default; irq: both allowed), writes the RIP the step stopped at into the
 * mailbox and lets the guest go. Whether the pending IRQ is then taken at HLT (before it: the
 * shadow is gone) or wakes it is what the guest sees. Trials without a host run the same
 * window as the control. Without a host answering (a real machine, a lab) it skips.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/time.h"
#include "kernel/arch_rules.h"
#include "kernel/hostreq.h"
#include "kernel/outcome.h"
#include "kernel/runner.h"
#include "lib/lib.h"
#include "tests/sti/sti.h"

#define BOUND_NS 5000000ull
#define FIRST_ANSWER_MS 3000 /* the first request: is there a host at all */
#define ANSWER_MS 2000
#define TRIALS_PER_MODE 8

/*
 * noirq / irq: the host steps STI of `sti; hlt` in that QEMU single-step mode; none: the same
 * window without a host (control); nop_hlt: the host steps STI of `sti; nop; hlt`, whose HLT
 * lies outside the shadow: the IRQ must be taken before it there, which shows the detector
 * sees an IRQ before HLT under a host step.
 */
enum step_mode { MODE_NOIRQ, MODE_IRQ, MODE_NONE, MODE_NOP_HLT, MODES };
static const char *const mode_name[MODES] = { "noirq", "irq", "none", "noirq" };
struct window { const char *sti, *hlt, *after; };
static const struct window windows[MODES] = {
	[MODE_NOIRQ] = { seq_sti_hlt, seq_sti_hlt_at_hlt, seq_sti_hlt_after },
	[MODE_IRQ] = { seq_sti_hlt, seq_sti_hlt_at_hlt, seq_sti_hlt_after },
	[MODE_NONE] = { seq_sti_hlt, seq_sti_hlt_at_hlt, seq_sti_hlt_after },
	[MODE_NOP_HLT] = { seq_sti_nop_hlt, seq_sti_nop_hlt_at_hlt, seq_sti_nop_hlt_after },
};

struct mode_count { u64 trials, before_hlt, woke_hlt, stopped_at_hlt; };

/* One trial; false when the host did not answer (status in *st). */
static bool trial(enum step_mode m, struct mode_count *k, enum host_status *st, u32 wait_ms)
{
	const struct window *w = &windows[m];
	struct sti_trial t;
	irq_disable();
	sti_record_begin();
	if (!sti_make_pending()) {
		sti_record_end(&t);
		*st = HOST_REFUSED;
		return false;
	}
	u32 id = 0;
	if (m != MODE_NONE) {
		id = host_request_step(RIP(w->sti), mode_name[m], wait_ms, st);
		if (!id) {
			sti_drain();
			sti_record_end(&t);
			return false;
		}
	}
	sti_bound_start();
	((sti_seq_fn)w->sti)(); /* the host stops at its STI and steps it */
	sti_bound_stop();
	sti_drain();
	sti_record_end(&t);
	*st = m == MODE_NONE ? HOST_DONE : host_wait(id, ANSWER_MS);
	if (*st != HOST_DONE)
		return false;
	k->trials++;
	k->before_hlt += t.irq_count && t.irq_rip == RIP(w->hlt);
	k->woke_hlt += t.irq_count && t.irq_rip == RIP(w->after);
	/* where the step stopped: the instruction after STI */
	if (m != MODE_NONE)
		k->stopped_at_hlt += host_mailbox()->value[0] == RIP(w->sti) + 1;
	return true;
}

static enum exp_result run(struct exp_ctx *ctx)
{
	struct mode_count k[MODES] = { 0 };
	sti_handlers_install();
	sti_bound_prepare(BOUND_NS);
	enum host_status st = HOST_DONE;
	const char *why = NULL;
	for (u32 i = 0; i < TRIALS_PER_MODE && !why; i++)
		for (u32 m = 0; m < MODES && !why; m++)
			if (!trial(m, &k[m], &st, host_present() ? ANSWER_MS : FIRST_ANSWER_MS))
				why = st == HOST_NO_ANSWER ? "no host answered the step request"
				      : st == HOST_REFUSED ? "refused"
							   : "failed";
	sti_handlers_remove();
	watchdog_resume(); /* the bounding timer used the boot CPU's watchdog timer */
	if (why && st == HOST_NO_ANSWER && !host_present())
		return exp_skip(ctx, "needs a host debugger (QEMU's gdbstub through the harness): "
				"no answer in %u ms", FIRST_ANSWER_MS);
	if (why && st == HOST_REFUSED && host_present())
		return exp_fail(ctx, "the host refused a step request: %s",
				(const char *)host_mailbox()->reason);
	if (why)
		return exp_fail(ctx, "step request: %s", why);
	static const char *const arm[MODES] = { "sti_hlt_noirq", "sti_hlt_irq", "sti_hlt_no_host",
						"sti_nop_hlt_noirq" };
	for (u32 m = 0; m < MODES; m++)
		diag("arm=%s trials=%lu irq_before_hlt=%lu irq_woke_hlt=%lu step_stopped_after_sti=%lu",
		     arm[m], k[m].trials, k[m].before_hlt, k[m].woke_hlt, k[m].stopped_at_hlt);
	observation("irq_before_hlt_after_host_step_noirq", k[MODE_NOIRQ].before_hlt,
		    k[MODE_NOIRQ].trials);
	observation("irq_before_hlt_after_host_step_irq", k[MODE_IRQ].before_hlt, k[MODE_IRQ].trials);
	observation("irq_before_hlt_without_host", k[MODE_NONE].before_hlt, k[MODE_NONE].trials);
	observation("irq_before_hlt_outside_shadow_after_host_step", k[MODE_NOP_HLT].before_hlt,
		    k[MODE_NOP_HLT].trials);
	report_rate(ctx, k[MODE_NOIRQ].trials + k[MODE_IRQ].trials,
		    k[MODE_NOIRQ].before_hlt + k[MODE_IRQ].before_hlt);
	/* positive controls: the host's steps stopped right after STI, and with HLT outside the
	 * shadow the IRQ was seen before it */
	u64 stepped = k[MODE_NOIRQ].trials + k[MODE_IRQ].trials + k[MODE_NOP_HLT].trials;
	u64 stopped = k[MODE_NOIRQ].stopped_at_hlt + k[MODE_IRQ].stopped_at_hlt +
		      k[MODE_NOP_HLT].stopped_at_hlt;
	control("steps_stopped_after_sti", stopped);
	/* a step may end elsewhere (an event the host's step mode let in): said, not failed */
	if (stopped != stepped)
		diag("host_steps_ended_elsewhere=%lu", stepped - stopped);
	if (!stopped)
		return exp_fail(ctx, "positive control: no host step of %lu ended after STI",
				stepped);
	if (!control("irq_before_hlt_outside_shadow", k[MODE_NOP_HLT].before_hlt))
		return exp_fail(ctx, "positive control: no IRQ before an HLT outside the shadow");
	return EXP_PASS;
}

EXPERIMENT(exp_sti_host_step) = {
	.order = EXP_ORDER(FAMILY_STI, 35),
	.name = "sti_host_step",
	.description = "the host's debugger single-steps sti; hlt with an IRQ pending (QEMU gdbstub, IRQs masked or not while stepping): is the IRQ taken before HLT?",
	.min_cpus = 1,
	.default_iterations = TRIALS_PER_MODE,
	.budget_ms = 5000,
	.run = run,
};

/* clang-format off: a table laid out by hand */
ARCH_RULES(sti_host_step_rules) = {
	/* a host debugger is invisible to the architecture: the shadow must hold either way */
	{ "sti_host_step", "irq_before_hlt_outside_shadow_*",
	  ON_INTEL(ALWAYS, SDM_STI_ENDS), ON_AMD(ALWAYS, APM_STI_SHADOW) },
	{ "sti_host_step", "irq_before_hlt_*",
	  ON_INTEL(NEVER, SDM_STI_INHIBIT), ON_AMD(NEVER, APM_STI_SHADOW) },
};
/* clang-format on */
