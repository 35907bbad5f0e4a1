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

/*
 * sti_shadow_nmi's whole trial: every NMI of the trial counts, not only the first (a trial can
 * take several, and the one in the shadow is the one that matters for the IRQ). The victim
 * publishes its phase; the NMI handler notes the phase and RIP of the first NMI and counts
 * those at the shadowed instruction. Every trial falls in exactly one class.
 */
enum sti_phase { STI_PHASE_IDLE, STI_PHASE_SETUP, STI_PHASE_SEQ, STI_PHASE_IRQ, STI_PHASE_DRAIN };

struct sti_race_map {
	u64 entry_lo, entry_hi; /* the shapes' entry stubs [lo, hi): before STI */
	u64 pad_lo;             /* the padding, up to and including the STI: before STI */
	struct sti_labels l;    /* at_sti, at_next (HLT), after (the CLI) */
	u64 end;                /* the end of the sequence's tail (after the CLI, before return) */
	u64 irq_handler;        /* the IRQ handler's first instruction (before it notes its phase) */
};

struct sti_nmi_trial {
	u32 nmis;        /* NMIs taken during the trial */
	u32 in_shadow;   /* of them, at the shadowed instruction (after STI ran, before HLT) */
	u32 first_phase; /* enum sti_phase when the first one came */
	u64 first_rip;
	u64 irq_rip;     /* where the trial's IRQ was taken */
};

enum sti_trial_class {
	STC_NO_NMI,                 /* no NMI, the IRQ woke the HLT */
	STC_NO_NMI_IRQ_BEFORE,      /* no NMI, the IRQ came before HLT: the shadow failed */
	STC_SHADOW_IRQ_BEFORE,      /* an NMI in the shadow, the IRQ before HLT (a lost wakeup) */
	STC_SHADOW_IRQ_AFTER,       /* an NMI in the shadow, the IRQ still woke the HLT */
	STC_OUTSIDE_IRQ_BEFORE,     /* NMIs, none in the shadow, yet the IRQ came before HLT */
	STC_BEFORE_STI,             /* first NMI in the sequence before STI (entry, padding, STI) */
	STC_AFTER_HLT,              /* first NMI at or after the instruction after HLT */
	STC_IN_SETUP,               /* first NMI while the trial was set up (IRQ made pending) */
	STC_IN_IRQ_HANDLER,         /* first NMI inside the test IRQ's handler */
	STC_IN_DRAIN,               /* first NMI after the sequence returned (drain, bookkeeping) */
	STC_ELSEWHERE,              /* first NMI in the sequence phase outside the sequence: the
				     * IRQ's entry path before its handler notes its phase, or
				     * the victim's call into / return from the sequence */
	STC_N
};

static inline enum sti_trial_class sti_trial_classify(const struct sti_race_map *m,
						      const struct sti_nmi_trial *t)
{
	bool irq_before = t->irq_rip == m->l.at_next;
	u64 r = t->first_rip;
	if (!t->nmis)
		return irq_before ? STC_NO_NMI_IRQ_BEFORE : STC_NO_NMI;
	if (t->in_shadow)
		return irq_before ? STC_SHADOW_IRQ_BEFORE : STC_SHADOW_IRQ_AFTER;
	if (irq_before)
		return STC_OUTSIDE_IRQ_BEFORE;
	switch (t->first_phase) {
	case STI_PHASE_SETUP: return STC_IN_SETUP;
	case STI_PHASE_IRQ: return STC_IN_IRQ_HANDLER;
	case STI_PHASE_DRAIN: return STC_IN_DRAIN;
	case STI_PHASE_SEQ: break;
	default: return STC_ELSEWHERE;
	}
	if (r == m->irq_handler)
		return STC_IN_IRQ_HANDLER;
	if ((r >= m->entry_lo && r < m->entry_hi) || (r >= m->pad_lo && r <= m->l.at_sti))
		return STC_BEFORE_STI;
	if (r >= m->l.after && r < m->end)
		return STC_AFTER_HLT;
	return STC_ELSEWHERE;
}

/* The trials whose IRQ was taken before HLT (lost wakeups), by class: must equal the count the
 * IRQ handler made on its own. */
static inline u64 sti_lost_wakeups(const u64 count[STC_N])
{
	return count[STC_NO_NMI_IRQ_BEFORE] + count[STC_SHADOW_IRQ_BEFORE] +
	       count[STC_OUTSIDE_IRQ_BEFORE];
}

#endif
