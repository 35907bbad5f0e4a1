/*
 * The race engine: one sender CPU fires events (NMIs or fixed IPIs) at one victim CPU that
 * runs a persistent loop around a window; every ordered (sender, victim) pair of online CPUs
 * takes its turn, each in three modes measured in the same boot:
 *
 *   blind  as fast as possible, one event in flight, no aiming, the victim's plain loop
 *          (shape 0): the baseline a kvm-unit-tests-style loop gives;
 *   aimed  the sender measures the victim's loop period with the TSC from the victim's
 *          published iteration timestamps and tunes its delay after each publication from the
 *          hit feedback (per pair); the victim runs the loop shape the engine found best
 *          (shapes are experiment-defined variants, e.g. padding before the window
 *          instruction: TCG notices events only at translation-block boundaries);
 *   stream as fast as possible like blind, one event in flight, at the aimed mode's shape:
 *          what the shape gives without the per-trial timing (no wait for the victim's
 *          publication, no wait for its iteration to end).
 *
 * Each round is an smp_call to its CPUs only (the rest stay halted), a pair's time starts at
 * its victim's first publication, and pairs left without a hit retry after the schedule
 * (twice at most, within a quarter of the budget).
 *
 * The experiment supplies the victim's iteration (which calls race_publish() just before its
 * window and returns whether the event landed in it) and calls race_event_seen() from its
 * event handler. race_run() prints the shape tuning, one `# pair` line per ordered pair,
 * `# pairs=...`, the event latency histogram and `# race mode=aimed ...`
 * (docs/output-format.md). The engine's parts (schedule, a pair's turn, the delay tuner, the
 * shape exploration, the report) are listed in race_internal.h.
 */
#ifndef RACEBED_RACE_H
#define RACEBED_RACE_H

#include "kernel/experiment.h"

#define RACE_MAX_SHAPES 8
#define RACE_MAX_CPUS 32 /* pairs among the first RACE_MAX_CPUS online CPUs */

enum race_mode { RACE_BLIND, RACE_AIMED, RACE_STREAM, RACE_MODES };

struct race {
	u32 icr;                                 /* what the sender sends: ICR_NMI, ICR_FIXED|vec */
	u32 nshapes;                             /* victim loop variants; shape 0 is the plain loop */
	const char *shape_name[RACE_MAX_SHAPES];
	void (*victim_begin)(void);              /* on the victim, before its loop (may be NULL) */
	void (*victim_end)(void);                /* after it (may be NULL) */
	bool (*victim_iter)(u32 shape);          /* one iteration; true when the event hit */
	u32 max_parallel;                        /* pairs at once; 0: all on bare metal, 1 in a VM */
	/* a peer design's loop measured in the same boot (hits/s): printed beside gain= as
	 * gain_vs_peer_loop= (aimed hits/s over it) when peer_measured */
	bool peer_measured;
	u64 peer_hits_per_s;
	/* results, filled by race_run */
	u64 trials[RACE_MODES], hits[RACE_MODES], tsc[RACE_MODES];
	u64 unacked;                             /* events the victim never reported handling */
	u32 best_shape, npairs, pairs_hit;
	u64 first_hit_median_us; /* over the pairs that hit (0: none hit) */
};

/* The sum over the modes of one of the results (trials, hits). */
static inline u64 race_all_modes(const u64 v[RACE_MODES])
{
	u64 n = 0;
	for (u32 m = 0; m < RACE_MODES; m++)
		n += v[m];
	return n;
}

/* Victim: called just before the window (publishes the iteration and its TSC). */
void race_publish(void);
/* The event handler on the victim: counts one event handled (acknowledges the sender). */
void race_event_seen(void);
/*
 * Runs every ordered pair in every mode within the experiment's budget (from the boot CPU;
 * every online CPU takes part). Returns false when fewer than two CPUs are online.
 */
bool race_run(struct race *r, const struct exp_ctx *ctx);
/*
 * Every ordered pair needs its turn: raises the experiment's budget to per_pair_ms for each
 * pair (among the first RACE_MAX_CPUS CPUs) when that is more, and says so
 * (`# budget_raised_ms=`).
 */
void race_budget_for_pairs(struct exp_ctx *ctx, u32 per_pair_ms);
/* "A.B", aimed over blind to one decimal ("inf" when only blind is 0, "0.0" when both are). */
void race_format_gain(u64 aimed, u64 blind, char *buf, size_t size);

#endif
