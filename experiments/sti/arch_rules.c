/* What the manuals say about the STI-shadow observations (see kernel/arch_rules.h). */
#include "kernel/arch_rules.h"

/*
 * SDM-2B-STI: with IF=0 before STI, maskable interrupts stay inhibited until the instruction
 * boundary after the next instruction. APM-3-STI says the same.
 */
ARCH_RULES(sti_rules) = {
	{ "sti_hlt_wakeup", "irq_before_*", ARCH_NEVER, "SDM-2B-STI" },
	{ "sti_hlt_wakeup", "irq_late_*", ARCH_ALLOWED, "SDM-3A-6.8.3" },
	{ "sti_hlt_wakeup", "control_*", ARCH_CONTROL, "none" },
	{ "sti_hlt_wakeup", "mwait_available", ARCH_CONTROL, "none" },
};
