/*
 * double_fault: a kernel stack overflow. A recursion on a small stack runs into an unmapped
 * guard page; delivering that #PF needs the same stack and faults again, so the CPU raises
 * #DF, which runs on its own IST stack, reports, and resumes the experiment at a recovery
 * point saved before the dive. Run on every CPU in turn.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "arch/x86/smp.h"
#include "arch/x86/trap.h"
#include "kernel/experiment.h"
#include "arch/x86/mem.h"

#define SIZE_2M 0x200000ull

extern void run_on_stack(void (*fn)(void *), void *arg, u64 stack_top, u64 *saved_rsp);
extern const char run_on_stack_resume[];

static u64 guard, saved_rsp[MAX_CPUS];
static volatile u64 df_count[MAX_CPUS], df_on_ist[MAX_CPUS], df_rsp_in_guard[MAX_CPUS];

static bool on_df(struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	u64 sp = read_rsp(), top = c->ist_top[IST_DF];
	df_count[c->index]++;
	if (sp < top && sp >= top - IST_STACK_SIZE)
		df_on_ist[c->index]++;
	if (f->rsp >= guard && f->rsp < guard + SIZE_2M + 4096)
		df_rsp_in_guard[c->index]++;
	diag("cpu %u #DF: rip 0x%lx rsp 0x%lx error %lu cr2 0x%lx (guard page at 0x%lx)", c->index,
	     f->rip, f->rsp, f->error, read_cr2(), guard);
	/* #DF is an abort: the overflowed context is abandoned, the experiment resumes */
	f->rip = (u64)run_on_stack_resume;
	f->rsp = saved_rsp[c->index];
	f->cs = SEG_KCODE;
	f->ss = SEG_KDATA;
	f->rflags = 2;
	return true;
}

/* Deep enough to run off any stack this experiment gives it (8 KiB). */
static volatile u64 dive_limit = 1u << 20;

static __attribute__((noinline, optimize("no-optimize-sibling-calls"))) u64 dive(u64 depth)
{
	volatile u8 pad[256];
	pad[0] = (u8)depth;
	if (depth >= dive_limit)
		return pad[0];
	return dive(depth + 1) + pad[0];
}

static void dive_fn(void *arg)
{
	(void)arg;
	dive(0);
}

static void overflow(void *arg)
{
	(void)arg;
	run_on_stack(dive_fn, NULL, guard + SIZE_2M + 8192, &saved_rsp[this_cpu_index()]);
	irq_enable();
}

static enum exp_result run(struct exp_ctx *ctx)
{
	static u8 *mem;
	if (!mem)
		mem = alloc_pages(3 * SIZE_2M);
	if (!mem)
		return exp_fail(ctx, "no memory for the guard region");
	guard = ALIGN_UP((u64)mem, SIZE_2M);
	for (u32 i = 0; i < MAX_CPUS; i++)
		df_count[i] = df_on_ist[i] = df_rsp_in_guard[i] = 0;
	unmap_identity_2m(guard);
	trap_set_handler(VEC_DF, on_df);
	u64 cpus_done = 0;
	for_each_online_cpu(i) {
		/* every CPU flushes its own TLB of the guard mapping on its first #PF */
		smp_call_one(i, overflow, NULL, true);
		cpus_done++;
	}
	trap_set_handler(VEC_DF, NULL);
	map_identity(guard, SIZE_2M, CACHE_WB);
	u64 n = 0, ist = 0, in_guard = 0;
	for_each_online_cpu(i) {
		n += df_count[i];
		ist += df_on_ist[i];
		in_guard += df_rsp_in_guard[i];
	}
	diag("double_faults=%lu on_ist_stack=%lu overflowed_rsp_at_guard=%lu cpus=%lu", n, ist, in_guard,
	     cpus_done);
	if (n != cpus_done || ist != n || in_guard != n)
		return exp_fail(ctx, "%lu #DF of %lu, %lu on the IST stack, %lu at the guard", n, cpus_done,
				ist, in_guard);
	return EXP_PASS;
}

EXPERIMENT(exp_double_fault) = {
	.order = EXP_ORDER(FAMILY_NMI, 70),
	.name = "double_fault",
	.description = "a kernel stack overflow into a guard page reaches #DF on its IST stack, which reports and recovers",
	.min_cpus = 1,
	.default_iterations = 1,
	.run = run,
};
