/*
 * exceptions: #DE, #UD, #GP, #PF (read and write), #BP and a TF single-step #DB, raised on
 * purpose on every CPU, each checked for vector, RIP, error code (and CR2 / DR6) and recovered
 * through the fixup table.
 */
#include "arch/x86/paging.h"
#include "arch/x86/smp.h"
#include "arch/x86/trap.h"
#include "kernel/console.h"
#include "kernel/experiment.h"

struct expect { const char *name; u64 vector, rip, error, cr2, dr6_mask; };

#define NCASES 7
static volatile u32 failures[MAX_CPUS];
static volatile u64 raised[MAX_CPUS];

static void raise_de(struct expect *e)
{
	u64 rip;
	__asm__ volatile("leaq 1f(%%rip), %0\n\t"
			 "xorl %%edx, %%edx\n\tmovl $1, %%eax\n\txorl %%ecx, %%ecx\n"
			 "1: divl %%ecx\n2:\n" EXTABLE_ASM("1b", "2b", 0)
			 : "=&r"(rip) : : "rax", "rcx", "rdx", "memory");
	*e = (struct expect){ "de", VEC_DE, rip, 0, 0, 0 };
}

static void raise_ud(struct expect *e)
{
	u64 rip;
	__asm__ volatile("leaq 1f(%%rip), %0\n1: ud2\n2:\n" EXTABLE_ASM("1b", "2b", 0)
			 : "=&r"(rip) : : "memory");
	*e = (struct expect){ "ud", VEC_UD, rip, 0, 0, 0 };
}

static void raise_gp(struct expect *e)
{
	u64 rip;
	__asm__ volatile("leaq 1f(%%rip), %0\n\tmovabsq $0x8000000000000000, %%rax\n"
			 "1: movq (%%rax), %%rax\n2:\n" EXTABLE_ASM("1b", "2b", 0)
			 : "=&r"(rip) : : "rax", "memory");
	*e = (struct expect){ "gp", VEC_GP, rip, 0, 0, 0 };
}

static void raise_pf_read(struct expect *e)
{
	u64 rip;
	__asm__ volatile("leaq 1f(%%rip), %0\n\tmovabsq %1, %%rax\n"
			 "1: movq (%%rax), %%rax\n2:\n" EXTABLE_ASM("1b", "2b", 0)
			 : "=&r"(rip) : "i"(UNMAPPED_TEST_ADDR) : "rax", "memory");
	*e = (struct expect){ "pf_read", VEC_PF, rip, 0, UNMAPPED_TEST_ADDR, 0 };
}

static void raise_pf_write(struct expect *e)
{
	u64 rip;
	__asm__ volatile("leaq 1f(%%rip), %0\n\tmovabsq %1, %%rax\n"
			 "1: movq %%rax, 8(%%rax)\n2:\n" EXTABLE_ASM("1b", "2b", 0)
			 : "=&r"(rip) : "i"(UNMAPPED_TEST_ADDR) : "rax", "memory");
	*e = (struct expect){ "pf_write", VEC_PF, rip, 2, UNMAPPED_TEST_ADDR + 8, 0 };
}

/* #BP is a trap: the reported RIP is the instruction after int3. */
static void raise_bp(struct expect *e)
{
	u64 rip;
	__asm__ volatile("leaq 1f(%%rip), %0\n\tint3\n1:\n" EXTABLE_ASM("1b", "1b", 0)
			 : "=&r"(rip) : : "memory");
	*e = (struct expect){ "bp", VEC_BP, rip, 0, 0, 0 };
}

/* POPF sets TF; the instruction after it runs, then the single-step #DB (DR6.BS) traps. */
static void raise_db_step(struct expect *e)
{
	u64 rip;
	__asm__ volatile("leaq 1f(%%rip), %0\n\t"
			 "pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\tnop\n1:\n"
			 EXTABLE_ASM("1b", "1b", EXT_CLEAR_TF)
			 : "=&r"(rip) : : "memory", "cc");
	*e = (struct expect){ "db_step", VEC_DB, rip, 0, 0, 1ull << 14 };
}

static void (*const cases[NCASES])(struct expect *) = {
	raise_de, raise_ud, raise_gp, raise_pf_read, raise_pf_write, raise_bp, raise_db_step,
};

static void check(const struct expect *e, u64 count_before)
{
	struct cpu *c = this_cpu();
	const struct trap_record *r = &c->last_trap;
	bool ok = r->count == count_before + 1 && r->vector == e->vector && r->rip == e->rip &&
		  r->error == e->error && r->cr2 == e->cr2 && (r->dr6 & e->dr6_mask) == e->dr6_mask;
	raised[c->index]++;
	if (ok)
		return;
	failures[c->index]++;
	kprintf("# cpu %u %s: got vector %lu rip 0x%lx error 0x%lx cr2 0x%lx dr6 0x%lx (count +%lu),"
		" want vector %lu rip 0x%lx error 0x%lx cr2 0x%lx\n",
		c->index, e->name, r->vector, r->rip, r->error, r->cr2, r->dr6,
		r->count - count_before, e->vector, e->rip, e->error, e->cr2);
}

static void worker(void *arg)
{
	u64 iterations = (u64)arg;
	for (u64 it = 0; it < iterations; it++) {
		for (u32 i = 0; i < NCASES; i++) {
			struct expect e;
			u64 before = this_cpu()->last_trap.count;
			cases[i](&e);
			check(&e, before);
		}
	}
}

static enum exp_result run(struct exp_ctx *ctx)
{
	for (u32 i = 0; i < MAX_CPUS; i++)
		failures[i] = raised[i] = 0;
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, worker, (void *)ctx->iterations, true);
	u64 total = 0, bad = 0;
	for_each_online_cpu(i) {
		total += raised[i];
		bad += failures[i];
	}
	diag("cases=%u cpus=%u raised=%lu wrong=%lu", NCASES, ctx->ncpus, total, bad);
	if (total != (u64)NCASES * ctx->iterations * ctx->ncpus)
		return exp_fail(ctx, "raised %lu, expected %lu", total,
				(u64)NCASES * ctx->iterations * ctx->ncpus);
	if (bad)
		return exp_fail(ctx, "%lu exceptions reported wrongly", bad);
	return EXP_PASS;
}

EXPERIMENT(exp_exceptions) = {
	.order = EXP_ORDER(FAMILY_CORE, 50),
	.name = "exceptions",
	.description = "#DE #UD #GP #PF #BP #DB raised on every CPU, reported exactly and recovered",
	.min_cpus = 1,
	.default_iterations = 3,
	.run = run,
};
