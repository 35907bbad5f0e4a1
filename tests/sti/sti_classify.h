/*
 * Where the IRQ (and an NMI) of one `cli; sti; hlt` trial landed, from the recorded RIPs and
 * the sequence's labels. Plain C: host/unit/test_classify.c tests it; sti_shadow_nmi and
 * sti_hlt_wakeup map the classes to their outcome names.
 */
#ifndef RACEBED_STI_CLASSIFY_H
#define RACEBED_STI_CLASSIFY_H

#include "lib/types.h"

struct sti_labels {
	u64 at_sti;  /* the STI: an event here came before the shadow */
	u64 at_next; /* the shadowed instruction (HLT, NOP, MWAIT): an event here is in the shadow */
	u64 after;   /* the boundary after it */
};

/* The IRQ of a trial: before/after the shadowed instruction, late (drain only), elsewhere. */
enum sti_irq_class { STI_IRQ_BEFORE, STI_IRQ_AFTER, STI_IRQ_LATE, STI_IRQ_ELSEWHERE };

static inline enum sti_irq_class sti_irq_classify(const struct sti_labels *l, u64 irq_rip,
						   bool late)
{
	if (late)
		return STI_IRQ_LATE;
	if (irq_rip == l->at_next)
		return STI_IRQ_BEFORE;
	return irq_rip == l->after ? STI_IRQ_AFTER : STI_IRQ_ELSEWHERE;
}

/* An NMI swept across the trial, and whether the IRQ was then taken before the HLT. */
enum sti_nmi_class {
	STI_NO_NMI,                  /* no NMI in this trial, IRQ woke the HLT */
	STI_NO_NMI_IRQ_BEFORE,       /* no NMI, yet the IRQ came before HLT: the shadow failed */
	STI_NMI_BEFORE_STI,
	STI_NMI_IN_SHADOW_IRQ_BEFORE, /* NMI after STI, before HLT; its IRET let the IRQ in */
	STI_NMI_IN_SHADOW_IRQ_AFTER,  /* NMI in the shadow, the IRQ still woke the HLT */
	STI_NMI_AFTER,
	STI_NMI_ELSEWHERE,
};

static inline enum sti_nmi_class sti_nmi_classify(const struct sti_labels *l, bool nmi,
						   u64 nmi_rip, u64 irq_rip)
{
	bool irq_before = irq_rip == l->at_next;
	if (!nmi)
		return irq_before ? STI_NO_NMI_IRQ_BEFORE : STI_NO_NMI;
	if (nmi_rip == l->at_next)
		return irq_before ? STI_NMI_IN_SHADOW_IRQ_BEFORE : STI_NMI_IN_SHADOW_IRQ_AFTER;
	if (nmi_rip == l->at_sti)
		return STI_NMI_BEFORE_STI;
	return nmi_rip == l->after ? STI_NMI_AFTER : STI_NMI_ELSEWHERE;
}

#endif
