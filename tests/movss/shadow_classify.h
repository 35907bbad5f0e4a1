/*
 * Where an event (NMI or IRQ) swept across a movss_shadow_* loop landed, from its interrupted
 * RIP and the loop's labels. Plain C: host/unit/test_classify.c tests it.
 *
 * The single loop is `W; nop` where W is `mov ss` (or, in the control loop, `popfq`, which has
 * no shadow): an event at the boundary right after W is IN the window. The double loop is
 * `mov ss; mov ss; nop`: between the two is inside the first shadow; right after the second
 * is inside the second one's shadow only if a MOV SS executed in a shadow opens a new one,
 * which the manuals do not guarantee (only the first of consecutive shadowing instructions is).
 */
#ifndef RACEBED_SHADOW_CLASSIFY_H
#define RACEBED_SHADOW_CLASSIFY_H

#include "lib/types.h"

struct shadow_labels {
	u64 insn;    /* the (first) window instruction */
	u64 between; /* double loop: the second MOV SS; 0 for a single loop */
	u64 next;    /* the instruction after the window instruction(s) */
	u64 after;   /* the boundary after that instruction */
};

enum shadow_bucket {
	SB_AT_INSN,          /* before the window instruction */
	SB_IN_WINDOW,        /* single loop: right after W, before the next instruction */
	SB_AFTER_NEXT,       /* after the instruction following the window */
	SB_BETWEEN,          /* double loop: between the two MOV SS (in the first shadow) */
	SB_AFTER_SECOND,     /* double loop: right after the second MOV SS */
	SB_ELSEWHERE,
	SB_N
};

static inline enum shadow_bucket shadow_bucket(const struct shadow_labels *l, u64 rip)
{
	if (rip == l->insn)
		return SB_AT_INSN;
	if (l->between && rip == l->between)
		return SB_BETWEEN;
	if (rip == l->next)
		return l->between ? SB_AFTER_SECOND : SB_IN_WINDOW;
	if (rip == l->after)
		return SB_AFTER_NEXT;
	return SB_ELSEWHERE;
}

#endif
