/*
 * What the manuals say about the NMI / exception nesting observations (kernel/arch_rules.h).
 *
 * SDM-3A-6.7.1: delivering an NMI blocks further NMIs until the next IRET, and that IRET
 *   unblocks NMIs even if it faults. Maskable interrupts are governed by IF alone.
 * SDM-3A-6.14.5: a gate with an IST index always loads RSP from that IST entry, so an NMI that
 *   nests after an unblocking IRET lands on the outer one's frame.
 * SDM-2B-SYSCALL: SYSCALL does not touch GS; the entry's first instruction runs on user GS.
 */
#include "kernel/arch_rules.h"

ARCH_RULES(nmi_rules) = {
	{ "nmi_nested_*", "naive_outer_frame_overwritten", ARCH_ALWAYS, "SDM-3A-6.14.5" },
	{ "nmi_nested_*", "safe_nested_latched", ARCH_CONTROL, "none" },
	{ "nmi_faulting_iret", "faulting_iret_unblocks_nmi", ARCH_ALWAYS, "SDM-3A-6.7.1" },
	{ "nmi_faulting_iret", "nmi_held_until_gp_iret", ARCH_NEVER, "SDM-3A-6.7.1" },
	{ "exception_matrix", "nmi_inside_nmi_deferred", ARCH_ALWAYS, "SDM-3A-6.7.1" },
	{ "exception_matrix", "irq_inside_nmi_nested", ARCH_ALWAYS, "SDM-3A-6.7.1" },
	{ "db_on_entry", "syscall_entry_db_saw_user_gs", ARCH_ALWAYS, "SDM-2B-SYSCALL" },
};
