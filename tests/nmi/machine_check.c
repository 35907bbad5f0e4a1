/*
 * machine_check: a machine check, raised by the host, taken on every CPU. A #MC is the one
 * asynchronous event the kernel cannot raise itself (`int $18` is a synchronous entry through
 * the gate, with no bank status and no MCIP), and it is what seed 004 (hpa) names next to NMI
 * on the patching CPU: "we still have to deal with #MC and what not". Before the poke
 * experiments can meet one, the machinery must be shown to work: the host (QEMU's monitor,
 * `mce`, served by the harness: kernel/hostreq.h) injects an uncorrected error into bank 1 of
 * each CPU in turn while that CPU waits with interrupts off, and the CPU must take exactly one
 * #MC, on its IST stack, with MCG_STATUS.MCIP and RIPV set and the bank's status as injected.
 * The handler clears the bank and MCIP (a second #MC while MCIP is set shuts the CPU down).
 *
 * Intel SDM vol. 3B (IA32_MCG_STATUS): MCIP is set when a machine-check exception is
 * generated. Under QEMU the status words are the host's own (HMP mce sets them as given), so
 * this checks the path, not a CPU's bookkeeping. Without a host answering (a real machine, a
 * lab) it skips.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/mce.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/trap.h"
#include "kernel/arch_rules.h"
#include "kernel/hostreq.h"
#include "kernel/outcome.h"
#include "lib/lib.h"

#define BANK 1
#define STATUS (MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN)
#define MCG (MCG_STATUS_MCIP | MCG_STATUS_RIPV)
#define FIRST_ANSWER_MS 3000
#define ANSWER_MS 2000
#define ARRIVE_MS 1000

struct seen { volatile u32 count, on_ist; volatile u64 mcg_status, bank_status; };
static struct seen seen[MAX_CPUS];
static volatile u32 waiting[MAX_CPUS];
static trap_handler_t saved_mc;

static bool on_mc(struct trap_frame *f)
{
	(void)f;
	struct cpu *c = this_cpu();
	struct seen *s = &seen[c->index];
	u64 here = (u64)&s; /* an address on the stack this handler runs on */
	s->on_ist = here < c->ist_top[IST_MC] && here >= c->ist_top[IST_MC] - IST_STACK_SIZE;
	s->mcg_status = rdmsr(MSR_MCG_STATUS);
	s->bank_status = rdmsr(MSR_MC_STATUS(BANK));
	wrmsr(MSR_MC_STATUS(BANK), 0);
	wrmsr(MSR_MCG_STATUS, 0); /* MCIP off: the next #MC may come */
	__atomic_add_fetch(&s->count, 1, __ATOMIC_RELEASE);
	return true;
}

/* On the target CPU: wait with interrupts off until the #MC came, or the bound. */
static void target(void *arg)
{
	(void)arg;
	u32 me = this_cpu_index();
	irq_disable();
	u64 end = tsc_deadline_ns((u64)(FIRST_ANSWER_MS + ARRIVE_MS) * 1000000u);
	waiting[me] = 1;
	while (!__atomic_load_n(&seen[me].count, __ATOMIC_ACQUIRE) && tsc_before(end))
		cpu_relax();
	waiting[me] = 0;
	irq_enable();
}

static enum host_status inject(u32 cpu, u32 wait_ms)
{
	u32 id = host_request("mce", cpus[cpu].apic_id, "bank=%u status=0x%lx mcg_status=0x%lx",
			      BANK, (u64)STATUS, (u64)MCG);
	return host_wait(id, wait_ms);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	if (!mce_banks())
		return exp_skip(ctx, "no machine-check architecture (CPUID MCE/MCA) or no banks");
	if (mce_banks() <= BANK)
		return exp_skip(ctx, "bank %u does not exist (%u banks)", BANK, mce_banks());
	memset(seen, 0, sizeof(seen));
	saved_mc = trap_get_handler(VEC_MC);
	trap_set_handler(VEC_MC, on_mc);
	u32 served = 0, delivered = 0, on_ist = 0, mcip = 0, status_kept = 0, doubles = 0;
	const char *why = NULL;
	for_each_online_cpu(c) {
		if (c != this_cpu_index()) {
			smp_call_one(c, target, NULL, false);
			while (!__atomic_load_n(&waiting[c], __ATOMIC_ACQUIRE))
				cpu_relax();
		}
		enum host_status st = inject(c, host_present() ? ANSWER_MS : FIRST_ANSWER_MS);
		if (st != HOST_DONE) {
			why = st == HOST_NO_ANSWER ? "no answer" : (const char *)host_mailbox()->reason;
			seen[c].count = seen[c].count ? seen[c].count : 1; /* release the target */
			if (c != this_cpu_index())
				smp_wait_one(c);
			break;
		}
		served++;
		u64 end = tsc_deadline_ns((u64)ARRIVE_MS * 1000000u);
		while (!__atomic_load_n(&seen[c].count, __ATOMIC_ACQUIRE) && tsc_before(end))
			cpu_relax();
		if (c != this_cpu_index())
			smp_wait_one(c);
		const struct seen *s = &seen[c];
		delivered += s->count != 0;
		doubles += s->count > 1;
		on_ist += s->on_ist;
		mcip += (s->mcg_status & MCG) == MCG;
		status_kept += s->bank_status == STATUS;
		diag("cpu=%u mc=%u on_ist=%u mcg_status=0x%lx bank%u_status=0x%lx", c, s->count,
		     s->on_ist, s->mcg_status, BANK, s->bank_status);
	}
	trap_set_handler(VEC_MC, saved_mc);
	if (why && !host_present())
		return exp_skip(ctx, "needs the host to inject machine checks (QEMU's monitor "
				"through the harness): %s", why);
	if (why)
		return exp_fail(ctx, "the host did not inject a machine check: %s", why);
	observation("mcip_and_ripv_in_handler", mcip, delivered);
	observation("bank_status_as_injected", status_kept, delivered);
	report_rate(ctx, served, delivered);
	control("machine_checks_delivered", delivered);
	if (delivered != served || on_ist != delivered || doubles)
		return exp_fail(ctx, "%u of %u injected machine checks arrived, %u on the IST stack, "
				"%u CPUs took more than one", delivered, served, on_ist, doubles);
	return EXP_PASS;
}

EXPERIMENT(exp_machine_check) = {
	.order = EXP_ORDER(FAMILY_NMI, 65),
	.name = "machine_check",
	.description = "an uncorrected machine check injected by the host (QEMU monitor) on every CPU in turn: one #MC each, on its IST stack, MCIP set",
	.min_cpus = 1,
	.default_iterations = 1,
	.budget_ms = 5000,
	.run = run,
};

/* clang-format off: a table laid out by hand */
ARCH_RULES(machine_check_rules) = {
	/* no APM text was checked: the AMD claim cites the SDM */
	{ "machine_check", "mcip_and_ripv_in_handler",
	  ON_INTEL(ALWAYS, SDM_MCIP), ON_AMD(ALWAYS, SDM_MCIP) },
	/* the injected status read back: the host's injection checked, no architectural claim */
	{ "machine_check", "bank_status_as_injected", CONTROL },
};
/* clang-format on */
