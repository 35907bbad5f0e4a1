/* Parking a CPU for good, and the hook table through which arch/ reports upwards. */
#include "arch/x86/cpu.h"
#include "arch/x86/hooks.h"

static const struct arch_hooks no_hooks;
const struct arch_hooks *arch_hooks = &no_hooks;

void arch_set_hooks(const struct arch_hooks *h) { arch_hooks = h ? h : &no_hooks; }

NORETURN void cpu_halt_forever(void)
{
	for (;;) {
		irq_disable();
		halt();
	}
}
