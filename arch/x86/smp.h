/* Bringing up the application processors and running functions on them. */
#ifndef RACEBED_SMP_H
#define RACEBED_SMP_H

#include "arch/x86/acpi.h"
#include "lib/cpumask.h"
#include "arch/x86/percpu.h"

struct smp_report {
	u32 firmware_enabled; /* CPUs the firmware lists as enabled */
	u32 attempted;        /* APs we sent INIT-SIPI-SIPI to */
	u32 online;           /* CPUs online, BSP included */
	u32 not_started;      /* APs that never checked in */
	u32 unaddressable;    /* APIC IDs the APIC mode cannot reach */
	u32 limited;          /* left out by cpus= or nosmp */
};
extern struct smp_report smp_report;

/* Which LINT pins the firmware's MADT NMI entries wire to NMI for this CPU (bit per pin). */
u8 fw_lint_nmi(const struct fw_info *fw, u32 apic_id);
/* BSP: allocates the stacks and IDT of c and loads its GDT, TSS, IDT and GS base. */
bool cpu_setup(struct cpu *c);
void cpu_load_tables(struct cpu *c);
/*
 * Starts every firmware-listed CPU other than the BSP, up to max_cpus in all (0 = no limit),
 * with INIT-SIPI-SIPI through a trampoline at trampoline_pa (a free page below 1 MiB).
 * Never waits unboundedly; reports each AP that did not start.
 */
void smp_boot(const struct fw_info *fw, u32 max_cpus, u64 trampoline_pa);
/* Runs fn(arg) on each CPU in mask (in thread context, interrupts enabled); the calling CPU
 * runs its share itself. With wait, returns when all of them have returned. */
void smp_call(const struct cpumask *mask, cpu_fn_t fn, void *arg, bool wait);
void smp_call_one(u32 cpu, cpu_fn_t fn, void *arg, bool wait);
/* Whether that CPU has finished its last smp_call function (no wait). */
bool smp_call_finished(u32 cpu);
/* Waits until that CPU has finished its last smp_call function. */
void smp_wait_one(u32 cpu);
/* Waits until every CPU in mask has finished its last smp_call function. */
void smp_wait(const struct cpumask *mask);
/*
 * The same, halted between checks: each of them wakes the waiter when its function returns.
 * For a caller that only waits (under an emulator with more vCPUs than host cores, a spinning
 * waiter takes host time from the CPUs doing the work).
 */
void smp_wait_halt(const struct cpumask *mask);
/* Mask of all online CPUs. */
void cpumask_online(struct cpumask *m);
/* Sends an IPI to a CPU by logical index. */
bool ipi_send_cpu(u32 cpu, u32 icr_low);
/* apic_send_ipi_fast to that CPU: no error-status check (hot loops). */
bool ipi_send_cpu_fast(u32 cpu, u32 icr_low);
/*
 * To every other online CPU: one all-but-self IPI when every CPU the shorthand reaches is
 * online (CPUs that never started sit in wait-for-SIPI, where a fixed IPI does nothing), else
 * one IPI per CPU (also when the shorthand's send failed).
 */
void ipi_send_others(u32 icr_low);

#endif
