/*
 * What the manuals say about the MOV SS / POP SS observations (see kernel/arch_rules.h).
 *
 * SDM-3A-6.8.3: after MOV SS / POP SS the processor inhibits interrupts, debug exceptions
 *   and single-step traps until the boundary after the next instruction (APM vol. 2, 8.9 has
 *   the same rule for MOV SS). A data-breakpoint #DB raised by the MOV SS is therefore held
 *   past the next instruction; when that instruction transfers control (INT n, INT3, SYSCALL)
 *   the held #DB may be delivered on entry to its handler (the CVE-2018-8897 class).
 * SDM-3C-26.6.3: pending debug exceptions under MOV SS blocking are "held pending or lost as
 *   would normally be the case": a lost #DB is allowed.
 * SDM-3C-24.4.2 / SDM-2B-POP: MOV SS blocking covers NMIs too ("all interrupts, including
 *   the NMI"); of consecutive shadowing instructions only the first is guaranteed to delay.
 * SDM-3B-17.3.1.2: a data breakpoint is a trap, reported after the accessing instruction.
 * SDM-3B-17.2.3: DR6 bits other than B0-B3 are never cleared by the processor (BD sticks).
 */
#include "kernel/arch_rules.h"

ARCH_RULES(movss_rules) = {
	/* the control: a plain load's data-breakpoint #DB is a trap right after the load */
	{ "movss_db_next", "mk_load_db_*", ARCH_NEVER, "SDM-3B-17.3.1.2" },
	{ "movss_db_next", "*_db_in_handler", ARCH_ALLOWED, "SDM-3A-6.8.3" },
	{ "movss_db_next", "*_db_held", ARCH_ALWAYS, "SDM-3A-6.8.3" },
	{ "movss_db_next", "*_db_lost", ARCH_ALLOWED, "SDM-3C-26.6.3" },
	{ "movss_db_next", "mu_syscall_db_with_user_gs", ARCH_ALLOWED, "SDM-3A-6.8.3" },

	{ "movss_tf_step", "*_step_after_next", ARCH_ALWAYS, "SDM-3A-6.8.3" },
	{ "movss_tf_step", "*_step_after_movss", ARCH_NEVER, "SDM-3A-6.8.3" },

	{ "movss_consecutive", "db_after_first_movss", ARCH_NEVER, "SDM-3A-6.8.3" },
	{ "movss_consecutive", "db_after_second_movss", ARCH_ALLOWED, "SDM-2B-POP" },
	{ "movss_consecutive", "db_after_nop", ARCH_ALLOWED, "SDM-2B-POP" },

	{ "movss_bd_sticky", "*_bd_still_set", ARCH_ALWAYS, "SDM-3B-17.2.3" },
	{ "movss_bd_sticky", "*_db_in_handler_with_bd", ARCH_ALLOWED, "SDM-3A-6.8.3" },

	{ "movss_shadow_nmi", "event_in_movss_shadow", ARCH_NEVER, "SDM-3C-24.4.2" },
	{ "movss_shadow_nmi", "event_between_two_movss", ARCH_NEVER, "SDM-3C-24.4.2" },
	{ "movss_shadow_irq", "event_in_movss_shadow", ARCH_NEVER, "SDM-3A-6.8.3" },
	{ "movss_shadow_irq", "event_between_two_movss", ARCH_NEVER, "SDM-3A-6.8.3" },
	{ "movss_shadow_*", "event_after_second_movss", ARCH_ALLOWED, "SDM-2B-POP" },
};
