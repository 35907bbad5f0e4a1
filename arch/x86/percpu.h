/* Per-CPU state, reached through the GS base (gs:0 holds the structure's own address). */
#ifndef RACEBED_PERCPU_H
#define RACEBED_PERCPU_H

#include "lib/types.h"
#include "boot/segments.h"
#include "arch/x86/percpu_offsets.h"

#define KSTACK_SIZE (16 * 1024)
#define IST_STACK_SIZE (8 * 1024)
enum { IST_NMI = 1, IST_DB = 2, IST_MC = 3, IST_DF = 4, IST_COUNT = 4 };

enum cpu_state { CPU_ABSENT, CPU_STARTING, CPU_ONLINE, CPU_FAILED };

struct tss {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} PACKED;

/* What the last exception recovered through the fixup table looked like. */
struct trap_record {
	u64 vector, error, rip, cr2, dr6;
	u64 count;
};

typedef void (*cpu_fn_t)(void *arg);

struct cpu {
	struct cpu *self;       /* gs:0, CPU_SELF */
	u64 syscall_user_rsp;   /* gs:8, CPU_SYSCALL_USER_RSP: scratch of the SYSCALL entry */
	u64 syscall_kernel_rsp; /* gs:16, CPU_SYSCALL_KERNEL_RSP: stack SYSCALL switches to */
	u32 index;
	u32 apic_id;
	volatile u32 state;
	u32 crash_depth;
	u64 gdt[GDT_ENTRIES];
	struct tss tss;
	void *idt; /* 4 KiB, 256 gates */
	u64 stack_top;
	u64 ist_top[IST_COUNT + 1]; /* [IST_NMI..IST_DF] */
	/* "run this function" mailbox, used by smp_call */
	cpu_fn_t volatile call_fn;
	void *volatile call_arg;
	volatile u64 call_seq;  /* bumped by the caller */
	volatile u64 call_done; /* set to call_seq by this CPU when the function returned */
	u32 call_from;          /* the CPU that posted the call */
	volatile u32 wait_halted; /* in smp_wait_halt: the CPUs it waits for wake it when done */
	/* counters */
	volatile u64 nmi_count;
	volatile u64 unexpected_irq_count;
	/* NMI sampling for the watchdog: set request, the NMI handler stores the RIP */
	volatile u32 sample_request;
	volatile u64 sampled_rip;
	volatile u64 sampled_rsp;
	struct trap_record last_trap;
	u32 core_type; /* CPUID 0x1A EAX[31:24], 0 when not reported */
	u8 lint_nmi;   /* bit n: LINTn is wired to NMI (from the MADT's NMI entries) */
};
/* what entry.S and user_entry.S reach as %gs:CPU_... */
_Static_assert(__builtin_offsetof(struct cpu, self) == CPU_SELF, "percpu_offsets.h");
_Static_assert(__builtin_offsetof(struct cpu, syscall_user_rsp) == CPU_SYSCALL_USER_RSP,
	       "percpu_offsets.h");
_Static_assert(__builtin_offsetof(struct cpu, syscall_kernel_rsp) == CPU_SYSCALL_KERNEL_RSP,
	       "percpu_offsets.h");

extern struct cpu cpus[MAX_CPUS];
extern struct cpu *const cpus_limit; /* &cpus[MAX_CPUS]: the entry code's GS-base check */
extern u32 ncpus_possible; /* CPU structures set up (BSP + APs we tried to start) */

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}
static inline u32 this_cpu_index(void) { return this_cpu()->index; }

/* Makes c the current CPU's per-CPU structure (writes GS base). */
void percpu_install(struct cpu *c);
/* Number of CPUs in state CPU_ONLINE. */
u32 cpus_online(void);
/* The highest-numbered online CPU: an AP when there is one, else the boot CPU. */
u32 cpu_last_online(void);
/* Iterate over online CPUs by index. */
#define for_each_online_cpu(i)                                                               \
	for (u32 i = 0; i < ncpus_possible; i++)                                             \
		if (cpus[i].state == CPU_ONLINE)

#endif
