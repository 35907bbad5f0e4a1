/*
 * sti_shadow_smi: does an SMI taken in the STI shadow, and the RSM that ends it, keep the
 * shadow? Sean Christopherson (seed 001) notes that on Lakemont "SMI+RSM saves and restores
 * STI blocking", where the IRET of an NMI does not. If RSM comes back without the shadow, an
 * IRQ that was pending across `sti; hlt` is taken before HLT: the same lost wakeup as
 * sti_shadow_nmi's. Such an IRQ proves its trial's SMI landed in the shadow.
 *
 * On the race engine (tests/common/race.h) every ordered pair takes a turn: the victim loops
 * `cli; <IRQ pending>; [padding]; sti; hlt` (sti_shadow_nmi's windows, sti_seq.S) while the
 * sender sends SMIs through its local APIC (ICR delivery mode SMI), blind and aimed. The SMI
 * is invisible to this kernel: an SMM handler runs and returns with RSM. What the
 * victim can prove is that an SMI happened during its trial: IA32_SMI_COUNT (MSR 0x34) read
 * before publishing the window and after the sequence returned. Where inside the trial the
 * SMI landed cannot be read (the state-save map is in SMRAM), so the observations are per
 * trial: an IRQ taken at the HLT (inside the shadow) in a trial with an SMI, against trials
 * with an SMI; trials without one are the control (an IRQ there before HLT is never allowed).
 *
 * Where an SMI goes: to the SMM handler at SMBASE + 0x8000. Firmware relocates SMBASE into
 * its SMRAM, but not always on every CPU: SeaBIOS relocates the boot CPU's only (src/fw/smm.c;
 * src/fw/smp.c starts the APs without touching theirs), and OVMF built without SMM
 * (Debian's OVMF_CODE_4M.fd) relocates none. Such a CPU keeps the reset value 0x30000 and
 * would run whatever ordinary RAM holds at 0x38000. So before any SMI is sent, racebed puts
 * its own handler there (when that RAM is free): count the SMI in memory, RSM. A relocated
 * CPU never runs it; `smis_by_racebed_handler=` says how many SMIs it served. All CPUs left
 * at the reset value share one state-save area, so only one victim receives SMIs at a time
 * (one pair at once). A CPU without a readable SMI counter skips: nothing would prove the
 * SMIs happened.
 */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/mem.h"
#include "arch/x86/percpu.h"
#include "arch/x86/trap.h"
#include "kernel/arch_rules.h"
#include "kernel/ktap.h"
#include "kernel/outcome.h"
#include "kernel/runner.h"
#include "lib/lib.h"
#include "lib/printf.h"
#include "tests/common/race.h"
#include "tests/sti/sti.h"

#define SMBASE_RESET 0x30000ull  /* SMBASE after reset, before firmware relocates it */
#define SMM_ENTRY (SMBASE_RESET + 0x8000)
#define SMM_COUNTER_OFF 0x10 /* the handler's SMI counter, after its code */
#define BOUND_NS 1000000ull
#define PAIR_BUDGET_MS 25

static struct outcomes oc;
static u32 o_no_smi_irq_after, o_no_smi_irq_before, o_smi_irq_after, o_smi_irq_before,
	o_smi_irq_elsewhere;
static volatile u64 not_pending, lost_irq, smis_in_trials, extra_smis;
static trap_handler_t common_irq;
/* per victim CPU: IA32_SMI_COUNT when its last trial ended (SMIs between trials are acked too) */
static u64 seen_smis[MAX_CPUS];

static u64 smi_count(void)
{
	u64 v = 0;
	rdmsr_safe(MSR_SMI_COUNT, &v);
	return v;
}

static void define_outcomes(void)
{
	outcomes_reset(&oc);
	o_no_smi_irq_after = outcome_define(&oc, "no_smi_irq_after_hlt");
	o_no_smi_irq_before = outcome_define(&oc, "no_smi_irq_before_hlt");
	o_smi_irq_after = outcome_define(&oc, "smi_irq_after_hlt");
	o_smi_irq_before = outcome_define(&oc, "smi_irq_before_hlt");
	o_smi_irq_elsewhere = outcome_define(&oc, "smi_irq_elsewhere");
}

/* The test IRQ taken at the HLT (shadow dropped): recorded, then HLT is skipped. */
static bool on_irq(struct trap_frame *f)
{
	bool handled = common_irq(f);
	if (f->rip == RIP(seq_race_at_hlt))
		f->rip = RIP(seq_race_after);
	return handled;
}

static void victim_begin(void)
{
	seen_smis[this_cpu_index()] = smi_count();
	sti_race_victim_begin(BOUND_NS);
}

/* One trial: true (a hit for the engine) when an SMI was taken during the sequence. */
static bool victim_iter(u32 shape)
{
	struct sti_trial t;
	irq_disable();
	sti_record_begin();
	if (!sti_make_pending()) {
		sti_record_end(&t);
		__atomic_add_fetch(&not_pending, 1, __ATOMIC_RELAXED);
		return false;
	}
	u64 before = smi_count();
	race_publish();
	sti_race_shapes[shape]();
	u64 after = smi_count(), smis = after - before;
	sti_drain();
	sti_record_end(&t);
	/* the SMI has no handler here: the victim acknowledges every one since its last trial */
	u64 *seen = &seen_smis[this_cpu_index()];
	for (u64 i = *seen; i < after; i++)
		race_event_seen();
	*seen = after;
	if (t.irq_count + t.late_irq_count != 1)
		__atomic_add_fetch(&lost_irq, 1, __ATOMIC_RELAXED);
	bool before_hlt = t.irq_count && t.irq_rip == RIP(seq_race_at_hlt);
	bool after_hlt = t.irq_count && t.irq_rip == RIP(seq_race_after);
	if (!smis) {
		outcome_hit(&oc, before_hlt ? o_no_smi_irq_before : o_no_smi_irq_after);
		return false;
	}
	__atomic_add_fetch(&smis_in_trials, 1, __ATOMIC_RELAXED);
	if (smis > 1)
		__atomic_add_fetch(&extra_smis, smis - 1, __ATOMIC_RELAXED);
	outcome_hit(&oc, before_hlt ? o_smi_irq_before : after_hlt ? o_smi_irq_after
								     : o_smi_irq_elsewhere);
	return true;
}

static struct race race = {
	.icr = ICR_SMI,
	.nshapes = STI_RACE_SHAPES,
	.shape_name = STI_RACE_SHAPE_NAMES,
	.victim_begin = victim_begin,
	.victim_end = sti_race_victim_end,
	.victim_iter = victim_iter,
	.max_parallel = 1, /* CPUs at the reset SMBASE share one state-save area */
};

/*
 * The SMM handler for CPUs whose SMBASE firmware left at the reset value. SMM starts in a
 * real-mode-like state with CS based at SMBASE: `incl %cs:(0x8000 + SMM_COUNTER_OFF)`
 * (operand-size prefix: 32 bits), then RSM.
 */
static const u8 smm_handler[] = { 0x2e, 0x66, 0xff, 0x06, 0x00 | SMM_COUNTER_OFF, 0x80,
				  0x0f, 0xaa };

static volatile u32 *smm_counter(void)
{
	return (volatile u32 *)(SMM_ENTRY + SMM_COUNTER_OFF);
}

/* Why SMIs cannot be sent or proven here, or NULL when they can. */
static const char *smi_unsafe(void)
{
	u64 before, after;
	/* the whole default SMRAM window: handler and the state-save map at its top */
	if (!mem_is_free_ram(SMBASE_RESET, 0x10000))
		return "RAM at the reset SMBASE (0x30000-0x3ffff) is not free for an SMM handler";
	memcpy((void *)SMM_ENTRY, smm_handler, sizeof(smm_handler));
	*smm_counter() = 0;
	if (!rdmsr_safe(MSR_SMI_COUNT, &before))
		return "no IA32_SMI_COUNT (MSR 0x34) to prove the SMIs happened";
	/* one SMI to this CPU: the counter must move, or no SMI can be proven. By its APIC ID:
	 * the self shorthand is valid with fixed delivery only (Bochs refuses it, ESR 0x40) */
	apic_send_ipi(this_cpu()->apic_id, ICR_SMI);
	for (u32 i = 0; i < 1000000 && (after = smi_count()) == before; i++)
		cpu_relax();
	diag("smi_count_probe before=%lu after=%lu by_racebed_handler=%u", before, after,
	     *smm_counter());
	return after == before ? "a self-SMI did not move IA32_SMI_COUNT" : NULL;
}

static enum exp_result run(struct exp_ctx *ctx)
{
	const char *why = smi_unsafe();
	if (why)
		return exp_skip(ctx, "%s", why);
	race_budget_for_pairs(ctx, PAIR_BUDGET_MS);
	define_outcomes();
	not_pending = lost_irq = smis_in_trials = extra_smis = 0;
	u64 total_before = smi_count();
	sti_handlers_install();
	common_irq = trap_get_handler(VEC_STI_IRQ);
	trap_set_handler(VEC_STI_IRQ, on_irq);
	race_run(&race, ctx);
	sti_handlers_remove();
	outcomes_print(&oc);

	u64 with_smi = oc.count[o_smi_irq_before] + oc.count[o_smi_irq_after] +
		       oc.count[o_smi_irq_elsewhere];
	u64 without = oc.count[o_no_smi_irq_before] + oc.count[o_no_smi_irq_after];
	u64 sent = race_all_modes(race.trials);
	observation("irq_before_hlt_after_smi", oc.count[o_smi_irq_before], with_smi);
	observation("irq_before_hlt_without_smi", oc.count[o_no_smi_irq_before], without);
	diag("smis_sent=%lu trials_with_smi=%lu extra_smis_in_trials=%lu "
	     "smi_count_delta_boot_cpu=%lu smis_by_racebed_handler=%u",
	     sent, smis_in_trials, extra_smis, smi_count() - total_before, *smm_counter());
	report_rate(ctx, sent, with_smi);
	if (not_pending || lost_irq)
		return exp_fail(ctx, "%lu trials without a pending IRQ, %lu with the IRQ not taken once",
				not_pending, lost_irq);
	if (!control("trials_with_smi", with_smi))
		return exp_fail(ctx, "positive control: no SMI was counted during any trial");
	return EXP_PASS;
}

EXPERIMENT(exp_sti_shadow_smi) = {
	.order = EXP_ORDER(FAMILY_STI, 25),
	.name = "sti_shadow_smi",
	.description = "SMIs aimed and blind at cli; sti; hlt with an IRQ pending, every CPU pair: does RSM keep the STI shadow?",
	.min_cpus = 2,
	.default_iterations = 1000000,
	.budget_ms = 600,
	.run = run,
};

/* clang-format off: a table laid out by hand */
ARCH_RULES(sti_shadow_smi_rules) = {
	/* SMIs, like NMIs, may or may not be held in the shadow; whether RSM brings it back is not
	 * spelled out for software (no quote found): the implementation's choice. The APM says
	 * nothing about SMIs and the shadow: the AMD claim cites the SDM */
	{ "sti_shadow_smi", "irq_before_hlt_after_smi",
	  ON_INTEL(MODEL_SPECIFIC, SDM_STI_NMI), ON_AMD(MODEL_SPECIFIC, SDM_STI_NMI) },
	{ "sti_shadow_smi", "irq_before_hlt_without_smi",
	  ON_INTEL(NEVER, SDM_STI_INHIBIT), ON_AMD(NEVER, APM_STI_SHADOW) },
};
/* clang-format on */
