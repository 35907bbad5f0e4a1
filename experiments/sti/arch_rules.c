/*
 * What the manuals say about the STI-shadow observations (see kernel/arch_rules.h).
 *
 * SDM-2B-STI (Intel SDM vol. 2B, STI): with IF=0 before STI, maskable interrupts stay
 *   inhibited on the instruction boundary after the next instruction; the inhibition ends
 *   after the delivery of another event; NMIs (and SMIs) MAY be inhibited there too; an STI
 *   that begins with IF=1 inhibits nothing; of consecutive shadowing instructions only the
 *   first is guaranteed to delay interrupts. APM vol. 3 (STI) says the same for IF 0 -> 1 and
 *   is silent on NMIs and on another event ending the shadow: those are model-specific.
 * SDM-3C-24.4.2 (interruptibility state, "blocking by STI"): STI blocks interrupts "and,
 *   optionally, other events" for one instruction: whether it holds a single-step #DB is left
 *   to the model.
 * SDM-3B-22.26.1 (interrupt propagation delay): external interrupts may be recognized on
 *   different instruction boundaries by different processors.
 * SDM-3A-6.8.3: MOV SS / POP SS inhibit interrupts, debug exceptions and single-step traps
 *   until the boundary after the next instruction.
 */
#include "kernel/arch_rules.h"

ARCH_RULES(sti_rules) = {
	{ "sti_hlt_wakeup", "irq_before_*", ARCH_NEVER, "SDM-2B-STI" },
	/* taken only after the sequence: on which boundary a pending IRQ is recognized varies */
	{ "sti_hlt_wakeup", "irq_late_*", ARCH_MODEL_SPECIFIC, "SDM-3B-22.26.1" },
	{ "sti_hlt_wakeup", "control_*", ARCH_CONTROL, "none" },
	{ "sti_hlt_wakeup", "mwait_available", ARCH_CONTROL, "none" },

	{ "sti_shadow_nmi", "nmi_in_shadow", ARCH_MODEL_SPECIFIC, "SDM-2B-STI" },
	{ "sti_shadow_nmi", "irq_before_hlt_after_nmi", ARCH_MODEL_SPECIFIC, "SDM-2B-STI" },
	{ "sti_shadow_nmi", "irq_before_hlt_without_nmi", ARCH_NEVER, "SDM-2B-STI" },

	{ "sti_single_step", "db_held_by_sti_shadow", ARCH_MODEL_SPECIFIC, "SDM-3C-24.4.2" },
	{ "sti_single_step", "db_held_after_sti_if1", ARCH_NEVER, "SDM-2B-STI" },
	{ "sti_single_step", "db_held_by_movss", ARCH_ALWAYS, "SDM-3A-6.8.3" },

	/* the second STI runs with IF=1 and opens no shadow; the first one's ends before HLT */
	{ "sti_consecutive", "irq_before_hlt_after_sti_sti", ARCH_ALWAYS, "SDM-2B-STI" },
	{ "sti_consecutive", "irq_at_hlt_after_if1_sti", ARCH_ALLOWED, "SDM-2B-STI" },
	{ "sti_consecutive", "irq_at_hlt_after_if0_sti", ARCH_NEVER, "SDM-2B-STI" },

	{ "sti_user_return", "irq_before_*", ARCH_NEVER, "SDM-2B-STI" },
	/* IRETQ has no shadow; on which boundary a pending IRQ is recognized varies */
	{ "sti_user_return", "plain_iretq_irq_at_first_user_insn", ARCH_MODEL_SPECIFIC,
	  "SDM-3B-22.26.1" },

	/* a lost wakeup needs an NMI in the STI shadow ending it: both model-specific */
	{ "sti_lost_wakeup_latency", "*", ARCH_MODEL_SPECIFIC, "SDM-2B-STI" },
};
