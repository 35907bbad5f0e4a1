/* The per-CPU structures and GS-base installation. */
#include "arch/x86/percpu.h"
#include "arch/x86/cpu.h"

struct cpu cpus[MAX_CPUS];
struct cpu *const cpus_limit = &cpus[MAX_CPUS];
u32 ncpus_possible;

void percpu_install(struct cpu *c)
{
	c->self = c;
	wrmsr(MSR_GS_BASE, (u64)c);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}

u32 cpu_last_online(void)
{
	u32 last = 0;
	for_each_online_cpu(i)
		last = i;
	return last;
}

u32 cpus_online(void)
{
	u32 n = 0;
	for_each_online_cpu(i)
		n++;
	return n;
}
