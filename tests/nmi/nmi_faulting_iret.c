/*
 * nmi_faulting_iret: inside an NMI handler, a second NMI is made pending (self-NMI, blocked),
 * then an IRETQ with a bad CS faults (#GP on the IRET). Where the pending NMI lands says whether
 * the faulting IRET unblocked NMIs: somewhere in the #GP handling (unblocked by the faulting
 * IRET; an emulator may deliver it a few instructions into the handler), at the resume point
 * right after the #GP handler's own IRET (held until an IRET succeeded), before the faulting
 * IRET (never blocked: a failure), or only after the outer NMI returned.
 * The NMI gate is switched to no IST while this runs so the nested NMI cannot overwrite the
 * outer frame.
 */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/trap.h"
#include "kernel/outcome.h"
#include "kernel/arch_rules.h"

extern void faulting_iretq(void);
extern const char faulting_iretq_at[], faulting_iretq_resume[], trap_stubs[];

enum { W_BEFORE_IRET, W_GP_HANDLER, W_AFTER_GP, W_AFTER_OUTER, W_OTHER, NW };
static const char *const where_name[NW] = {
	"nmi_before_faulting_iret", "nmi_in_gp_handling", "nmi_after_gp_iret",
	"nmi_after_outer_nmi", "nmi_elsewhere",
};
static volatile u32 depth, phase, where;
static volatile u64 nested_rip, counts[NW], gp_seen, gp_entry_exact;

static bool on_nmi(struct trap_frame *f)
{
	if (this_cpu()->sample_request)
		return false;
	if (depth > 0 || phase == 2) {
		nested_rip = f->rip;
		where = phase == 2 ? W_AFTER_OUTER
		      : phase == 0 ? W_BEFORE_IRET
		      : phase == 1 || f->rip == (u64)faulting_iretq_resume ? W_AFTER_GP
		      : W_GP_HANDLER; /* phase 4: inside the #GP delivery or handler */
		gp_entry_exact += f->rip == (u64)trap_stubs + 16 * VEC_GP;
		phase = 3;
		return true;
	}
	depth = 1;
	apic_send_ipi(this_cpu()->apic_id, ICR_NMI); /* pending: NMIs are blocked in here */
	udelay(200);
	u64 before = this_cpu()->last_trap.count;
	phase = 4;
	faulting_iretq();
	if (this_cpu()->last_trap.count == before + 1 && this_cpu()->last_trap.vector == VEC_GP)
		gp_seen++;
	if (phase == 4)
		phase = 1;
	udelay(200);
	depth = 0;
	if (phase == 1)
		phase = 2; /* not delivered yet: it will come after our IRET */
	return true;
}

static void worker(void *arg)
{
	u64 n = (u64)arg;
	idt_set_ist(VEC_NMI, 0);
	for (u64 i = 0; i < n; i++) {
		depth = 0;
		phase = 0;
		where = W_OTHER;
		apic_send_ipi(this_cpu()->apic_id, ICR_NMI);
		for (u64 end = tsc_deadline_ns(50000000); phase != 3 && tsc_before(end);)
			cpu_relax();
		counts[phase == 3 ? where : W_OTHER]++;
	}
	idt_set_ist(VEC_NMI, IST_NMI);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	for (u32 i = 0; i < NW; i++)
		counts[i] = 0;
	gp_seen = gp_entry_exact = 0;
	trap_set_handler(VEC_NMI, on_nmi);
	u32 cpu = cpu_last_online(); /* an AP when there is one: the BSP's watchdog stays undisturbed */
	smp_call_one(cpu, worker, (void *)ctx->iterations, true);
	trap_set_handler(VEC_NMI, NULL);
	for (u32 i = 0; i < NW; i++)
		diag("outcome %s=%lu", where_name[i], counts[i]);
	observation("faulting_iret_unblocks_nmi", counts[W_GP_HANDLER], ctx->iterations);
	observation("nmi_held_until_gp_iret", counts[W_AFTER_GP], ctx->iterations);
	diag("faulting_irets=%lu nmi_exactly_at_gp_entry=%lu", gp_seen, gp_entry_exact);
	report_rate(ctx, ctx->iterations, counts[W_GP_HANDLER]);
	control("faulting_iret_gp", gp_seen);
	if (!control("pending_nmi_delivered", ctx->iterations - counts[W_OTHER]))
		return exp_fail(ctx, "positive control: no pending NMI was delivered");
	if (gp_seen != ctx->iterations)
		return exp_fail(ctx, "the bad IRET faulted %lu/%lu times", gp_seen, ctx->iterations);
	if (counts[W_BEFORE_IRET])
		return exp_fail(ctx, "an NMI was delivered inside an NMI before any IRET");
	if (counts[W_OTHER])
		return exp_fail(ctx, "%lu pending NMIs were never delivered", counts[W_OTHER]);
	return EXP_PASS;
}

EXPERIMENT(exp_nmi_faulting_iret) = {
	.order = EXP_ORDER(FAMILY_NMI, 60),
	.name = "nmi_faulting_iret",
	.description = "an IRET in the NMI handler that faults: are NMIs still blocked until an IRET succeeds",
	.min_cpus = 1,
	.default_iterations = 20,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(nmi_faulting_iret_rules) = {
	{ "nmi_faulting_iret", "faulting_iret_unblocks_nmi",
	  ON_INTEL(ALWAYS, SDM_NMI_IRET_FAULT), ON_AMD(ALWAYS, SDM_NMI_IRET_FAULT) },
	{ "nmi_faulting_iret", "nmi_held_until_gp_iret",
	  ON_INTEL(NEVER, SDM_NMI_IRET_FAULT), ON_AMD(NEVER, SDM_NMI_IRET_FAULT) },
};
/* clang-format on */
