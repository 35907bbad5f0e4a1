/*
 * ring3: the testbed's user-mode machinery on every CPU. Enter ring 3 by IRETQ and come back
 * by `int` and by SYSCALL; int3 from ring 3 returns to ring 3; a user read of a kernel page is
 * a #PF with U/S set in the error code. Every entry from ring 3 must find the user GS base and
 * swap (gs_swapped), and this_cpu() must be right afterwards.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/user.h"
#include "kernel/experiment.h"

extern const char ring3_blob_start[], ring3_blob_end[], ring3_int_exit[], ring3_syscall_exit[],
	ring3_int3[], ring3_int3_after[], ring3_touch_kernel[], ring3_touch_kernel_at[];

static volatile u64 failures[MAX_CPUS], bp_seen[MAX_CPUS], pf_seen[MAX_CPUS];
static volatile u64 kernel_word = 0x5eed;

#define U(label) user_addr(ring3_blob_start, label)

static bool on_bp(struct trap_frame *f)
{
	if ((f->cs & 3) != 3)
		return false;
	struct cpu *c = this_cpu();
	if (f->rip == U(ring3_int3_after) && f->gs_swapped && c->self == c)
		bp_seen[c->index]++;
	return true; /* back to ring 3 after the int3 */
}

static bool on_pf(struct trap_frame *f)
{
	if ((f->cs & 3) != 3)
		return false;
	struct cpu *c = this_cpu();
	/* error code: P=1 (present, supervisor page), U/S=1, read */
	if (f->rip == U(ring3_touch_kernel_at) && f->error == 5 && f->gs_swapped &&
	    read_cr2() == (u64)&kernel_word)
		pf_seen[c->index]++;
	f->rax = 0xfa;
	user_return_to_kernel(f);
	return true;
}

static void worker(void *arg)
{
	u64 n = (u64)arg;
	u32 me = this_cpu_index();
	u64 bad = 0;
	for (u64 i = 0; i < n; i++) {
		bad += user_run(U(ring3_int_exit), RFLAGS_IF, i) != i + 1;
		bad += user_run(U(ring3_syscall_exit), RFLAGS_IF, i) != 2 * i;
		bad += user_run(U(ring3_int3), 0, 0) != 7;
		bad += user_run(U(ring3_touch_kernel), 0, (u64)&kernel_word) != 0xfa;
		bad += this_cpu()->index != me;
		irq_enable();
	}
	failures[me] = bad;
}

static enum exp_result run(struct exp_ctx *ctx)
{
	if (!user_available() || !user_blob(ring3_blob_start, ring3_blob_end))
		return exp_fail(ctx, "no user region");
	trap_set_handler(VEC_BP, on_bp);
	trap_set_handler(VEC_PF, on_pf);
	for (u32 i = 0; i < MAX_CPUS; i++)
		failures[i] = bp_seen[i] = pf_seen[i] = 0;
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, worker, (void *)ctx->iterations, true);
	trap_set_handler(VEC_PF, NULL);
	trap_set_handler(VEC_BP, NULL);
	u64 bad = 0, bp = 0, pf = 0;
	for_each_online_cpu(i) {
		bad += failures[i];
		bp += bp_seen[i];
		pf += pf_seen[i];
	}
	u64 want = ctx->iterations * ctx->ncpus;
	diag("visits=%lu wrong_results=%lu user_int3_ok=%lu user_pf_ok=%lu", 4 * want, bad, bp, pf);
	if (bad || bp != want || pf != want)
		return exp_fail(ctx, "%lu wrong results, int3 %lu/%lu, #PF %lu/%lu", bad, bp, want, pf, want);
	return EXP_PASS;
}

EXPERIMENT(exp_ring3) = {
	.order = EXP_ORDER(FAMILY_CORE, 70),
	.name = "ring3",
	.description = "ring 3 entry/exit by IRETQ, int and SYSCALL; int3 and #PF from ring 3; GS swapped on every entry",
	.min_cpus = 1,
	.default_iterations = 50,
	.run = run,
};
