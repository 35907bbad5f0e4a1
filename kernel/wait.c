/* Halting waits and barriers (see wait.h). */
#include "kernel/wait.h"
#include "arch/x86/apic.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/trap.h"

void wake_cpu(u32 cpu)
{
	ipi_send_cpu(cpu, ICR_FIXED | VEC_CALL);
}

bool spin_until_ge(volatile u64 *p, u64 want, u64 timeout_ns)
{
	u64 end = tsc_deadline_ns(timeout_ns);
	u32 turn = 0;
	while (READ_ONCE(*p) < want) {
		if (!tsc_before_polled(end, &turn))
			return READ_ONCE(*p) >= want;
		cpu_relax();
	}
	return true;
}

bool wait_eq_halt(volatile u64 *p, u64 want, u64 timeout_ns)
{
	u64 end = tsc_deadline_ns(timeout_ns);
	bool bsp = this_cpu_index() == 0, ok = true;
	u64 flags = irq_save();
	if (!bsp && timeinfo.apic_hz)
		apic_timer_oneshot(VEC_CALL, muldiv64(timeout_ns, timeinfo.apic_hz, 1000000000u) + 1);
	for (;;) {
		irq_disable();
		if (READ_ONCE(*p) == want)
			break;
		if (tsc_past(end)) {
			ok = READ_ONCE(*p) == want;
			break;
		}
		safe_halt();
	}
	if (!bsp)
		apic_timer_stop();
	irq_restore(flags);
	return ok;
}

bool wait_eq_spin_halt(volatile u64 *p, u64 want, u64 spin_ns, u64 timeout_ns)
{
	u64 end = tsc_deadline_ns(spin_ns);
	u32 turn = 0;
	while (tsc_before_polled(end, &turn)) {
		if (__atomic_load_n(p, __ATOMIC_ACQUIRE) == want)
			return true;
		cpu_relax();
	}
	return wait_eq_halt(p, want, timeout_ns > spin_ns ? timeout_ns - spin_ns : 0);
}

void cpu_barrier_wait_halt(struct cpu_barrier *b)
{
	u32 gen;
	if (cpu_barrier_arrive(b, &gen)) {
		if (b->count > 1)
			apic_send_ipi(0, ICR_FIXED | ICR_DEST_OTHERS | VEC_CALL);
		return;
	}
	u64 flags = irq_save();
	for (;;) {
		irq_disable();
		if (cpu_barrier_released(b, gen))
			break;
		safe_halt();
	}
	irq_restore(flags);
}

bool cpu_barrier_wait_ns(struct cpu_barrier *b, u64 timeout_ns)
{
	u32 gen, turn = 0;
	if (cpu_barrier_arrive(b, &gen))
		return true;
	u64 end = tsc_deadline_ns(timeout_ns);
	while (!cpu_barrier_released(b, gen)) {
		if (!tsc_before_polled(end, &turn))
			return cpu_barrier_released(b, gen);
		cpu_relax();
	}
	return true;
}
