/* Ending the run: stop the other CPUs, then isa-debug-exit, halt or reboot. */
#include "kernel/exit.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/trap.h"
#include "arch/x86/percpu.h"

#define QEMU_DEBUG_EXIT_PORT 0xf4

static enum exit_mode mode = EXIT_AUTO;
void (*run_exit_idle)(void);
static volatile bool stopping;
/* Set by kmain from the FADT: the ACPI reset register, when it is an I/O port. */
u16 exit_reset_port;
u8 exit_reset_value;

void exit_set_mode(enum exit_mode m) { mode = m; }

/* The NMI that stops other CPUs, so they keep quiet even with interrupts off. */
static bool stop_nmi(struct trap_frame *f)
{
	(void)f;
	if (stopping)
		cpu_halt_forever();
	return false;
}

static void reboot(void)
{
	if (exit_reset_port)
		outb(exit_reset_port, exit_reset_value);
	for (u32 i = 0; i < 100000 && (inb(0x64) & 0x02); i++)
		cpu_relax();
	outb(0x64, 0xfe); /* keyboard controller pulse on the reset line */
	/* last resort: a triple fault */
	struct PACKED { u16 limit; u64 base; } none = { 0, 0 };
	__asm__ volatile("lidt %0; int3" ::"m"(none));
}

bool run_stop_others(void)
{
	irq_disable();
	if (__atomic_exchange_n(&stopping, true, __ATOMIC_SEQ_CST))
		return false;
	if (apic.mode != APIC_MODE_NONE) {
		trap_set_handler(VEC_NMI, stop_nmi);
		if (ncpus_possible > 1)
			apic_send_ipi(0, ICR_NMI | ICR_DEST_OTHERS);
	}
	return true;
}

NORETURN void run_exit(enum run_result code)
{
	run_stop_others();
	if (mode == EXIT_QEMU || (mode == EXIT_AUTO && cpu_under_hypervisor()))
		outl(QEMU_DEBUG_EXIT_PORT, (u32)code);
	if (mode == EXIT_REBOOT)
		reboot();
	if (run_exit_idle)
		run_exit_idle();
	cpu_halt_forever();
}
