/* Ending the run: stop the other CPUs, then isa-debug-exit, halt, reboot or ACPI S5 power-off. */
#include "kernel/exit.h"
#include "kernel/console.h"
#include "arch/x86/time.h"
#include "lib/printf.h"
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

/* Set by kmain from the FADT and the DSDT's \_S5: what exit=poweroff writes. */
static struct fw_info s5;

void exit_set_mode(enum exit_mode m) { mode = m; }
void exit_set_acpi(const struct fw_info *fw) { s5 = *fw; }

static const char *const value_text[] = { "all passed", "some failed", "crash or panic", "bad command line" };

#define PM1_SCI_EN 0x0001u
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_MASK (7u << PM1_SLP_TYP_SHIFT)
#define PM1_SLP_EN (1u << 13)

/*
 * ACPI S5: SLP_TYPx | SLP_EN written to PM1a (and PM1b) control; first ACPI mode on through the
 * SMI command port when the firmware left SCI_EN clear (on many machines the PM registers
 * belong to SMM until then). Returns only when the machine is still running.
 */
static void poweroff(void)
{
	if (!s5.have_s5) {
		kprintf("# poweroff: no ACPI S5 (%s): halting instead\n",
			!s5.pm1a_cnt ? "the FADT names no PM1a control block" : "no \\_S5 package in the DSDT");
		return;
	}
	if (!(inw(s5.pm1a_cnt) & PM1_SCI_EN) && s5.smi_cmd && s5.acpi_enable) {
		outb(s5.smi_cmd, s5.acpi_enable);
		for (u32 ms = 0; ms < 3000 && !(inw(s5.pm1a_cnt) & PM1_SCI_EN); ms++)
			udelay(1000);
	}
	udelay(2000); /* the UART's last characters on the wire */
	u16 a = inw(s5.pm1a_cnt) & ~(PM1_SLP_TYP_MASK | PM1_SLP_EN);
	outw(s5.pm1a_cnt, a | (u16)(s5.slp_typa << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN);
	if (s5.pm1b_cnt) {
		u16 b = inw(s5.pm1b_cnt) & ~(PM1_SLP_TYP_MASK | PM1_SLP_EN);
		outw(s5.pm1b_cnt, b | (u16)(s5.slp_typb << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN);
	}
	udelay(500000);
	kprintf("# poweroff: still running 500 ms after S5 (PM1a_CNT 0x%x SLP_TYPa %u): halting instead\n",
		s5.pm1a_cnt, s5.slp_typa);
}

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
	/* no exit device (or it did not stop us): the value goes on the last line, for harnesses */
	console_break_lock();
	kprintf("# exit value %d (%s), %s\n", (int)code, value_text[code],
		mode == EXIT_POWEROFF ? "powering off" : mode == EXIT_REBOOT ? "rebooting" : "halting");
	if (mode == EXIT_POWEROFF)
		poweroff();
	if (mode == EXIT_REBOOT)
		reboot();
	if (run_exit_idle)
		run_exit_idle();
	cpu_halt_forever();
}
