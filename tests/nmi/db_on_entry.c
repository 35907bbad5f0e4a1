/*
 * db_on_entry: an instruction breakpoint (DR0, execute) on the first instruction of the
 * SYSCALL entry and of an IRQ entry stub. The #DB arrives on its IST stack before the entry
 * has done anything: for SYSCALL with the user GS base and the user RSP still loaded. The
 * paranoid #DB entry must see the user GS (and swap), the handler must find its own per-CPU
 * data, and the interrupted entry must then complete (RF set so the breakpoint lets it go).
 */
#include "arch/x86/debugreg.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/user.h"
#include "kernel/outcome.h"
#include "kernel/wait.h"
#include "kernel/arch_rules.h"

#define VEC_DB_IRQ (VEC_EXP_FIRST + 0x34)
#define RFLAGS_RF (1ul << 16)

extern void syscall_entry(void);
extern const char trap_stubs[], ring3_blob_start[], ring3_blob_end[], ring3_syscall_exit[];
static volatile u64 db_hits[MAX_CPUS], db_user_gs[MAX_CPUS], stub_hits[MAX_CPUS];
static volatile u64 irq_done[MAX_CPUS], bad[MAX_CPUS];

static bool on_db(struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	if (f->rip == (u64)syscall_entry) {
		db_hits[c->index]++;
		if (f->gs_swapped)
			db_user_gs[c->index]++;
	} else if (f->rip == (u64)trap_stubs + 16 * VEC_DB_IRQ) {
		stub_hits[c->index]++;
	} else {
		return false;
	}
	write_dr6(DR6_RESET);
	f->rflags |= RFLAGS_RF; /* an instruction breakpoint is a fault: resume past it once */
	return true;
}

static bool on_irq(struct trap_frame *f)
{
	(void)f;
	irq_done[this_cpu_index()]++;
	apic_eoi();
	return true;
}

static void set_exec_bp(u64 addr)
{
	write_dr0((u64)addr);
	write_dr7(DR7_L(0) | DR7_RW(0, DR7_RW_EXEC) | DR7_LEN(0, 1) | DR7_FIXED);
}

static void worker(void *arg)
{
	u64 n = (u64)arg;
	u32 me = this_cpu_index();
	u64 wrong = 0;
	set_exec_bp((u64)syscall_entry);
	for (u64 i = 0; i < n; i++)
		wrong += user_run(user_addr(ring3_blob_start, ring3_syscall_exit), 0, i) != 2 * i;
	set_exec_bp((u64)trap_stubs + 16 * VEC_DB_IRQ);
	for (u64 i = 0; i < n; i++) {
		u64 before = irq_done[me];
		apic_send_ipi(0, ICR_FIXED | ICR_DEST_SELF | VEC_DB_IRQ);
		irq_enable();
		spin_until_ge(&irq_done[me], before + 1, 100000000ull);
		wrong += irq_done[me] != before + 1;
	}
	write_dr7(DR7_FIXED);
	irq_enable();
	bad[me] += wrong;
}

static enum exp_result run(struct exp_ctx *ctx)
{
	if (!user_available() || !user_blob(ring3_blob_start, ring3_blob_end))
		return exp_fail(ctx, "no user region");
	for (u32 i = 0; i < MAX_CPUS; i++)
		db_hits[i] = db_user_gs[i] = stub_hits[i] = irq_done[i] = bad[i] = 0;
	trap_set_handler(VEC_DB, on_db);
	trap_set_handler(VEC_DB_IRQ, on_irq);
	struct cpumask all;
	cpumask_online(&all);
	u64 n = ctx->iterations;
	smp_call(&all, worker, (void *)n, true);
	trap_set_handler(VEC_DB_IRQ, NULL);
	trap_set_handler(VEC_DB, NULL);
	u64 hits = 0, user_gs = 0, wrong = 0, stub = 0;
	for_each_online_cpu(i) {
		hits += db_hits[i];
		stub += stub_hits[i];
		user_gs += db_user_gs[i];
		wrong += bad[i];
	}
	u64 want = n * ctx->ncpus;
	diag("syscall_entry_db=%lu with_user_gs=%lu irq_stub_db=%lu wrong=%lu", hits, user_gs, stub,
	     wrong);
	observation("syscall_entry_db_saw_user_gs", user_gs, hits);
	control("syscall_entry_db", hits);
	control("irq_stub_db", stub);
	if (wrong)
		return exp_fail(ctx, "%lu entries did not complete correctly", wrong);
	if (hits != want || user_gs != want)
		return exp_fail(ctx, "#DB on the SYSCALL entry %lu/%lu, with user GS %lu", hits, want, user_gs);
	if (stub != want)
		return exp_fail(ctx, "#DB on the IRQ stub %lu/%lu", stub, want);
	return EXP_PASS;
}

EXPERIMENT(exp_db_on_entry) = {
	.order = EXP_ORDER(FAMILY_NMI, 20),
	.name = "db_on_entry",
	.description = "instruction breakpoint on the first instruction of the SYSCALL entry and an IRQ stub",
	.min_cpus = 1,
	.default_iterations = 20,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(db_on_entry_rules) = {
	{ "db_on_entry", "syscall_entry_db_saw_user_gs",
	  ON_INTEL(ALWAYS, SDM_SYSCALL_GS), ON_AMD(ALWAYS, SDM_SYSCALL_GS) },
};
/* clang-format on */
