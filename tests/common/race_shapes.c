/*
 * The race engine's shape exploration: which of the experiment's victim loop shapes a pair
 * uses. The first EXPLORING_PAIRS pairs try every shape for EXPLORE_TRIALS aimed trials
 * and choose the one with the highest hit rate; the pairs after them try the shapes still
 * short of that many (a slow pair can run out of time before its last shapes), up to
 * MAX_EXPLORING_PAIRS pairs in all; every other pair takes the best shape explored so far.
 */
#include "tests/common/race_internal.h"
#include "arch/x86/cpu.h"
#include "arch/x86/time.h"

#define EXPLORE_TRIALS 192    /* aimed trials per shape while a pair explores the shapes */
#define EXPLORING_PAIRS 2     /* pairs that explore; later ones take the best shape found */
#define MAX_EXPLORING_PAIRS 6 /* ... or top up the shapes short of EXPLORE_TRIALS */

void race_shapes_reset(struct race_shape_stats *s) { *s = (struct race_shape_stats){ 0 }; }

static u64 hits_per_s(const struct race_shape_stats *s, u32 shape)
{
	return tsc_rate(s->hits[shape], s->tsc[shape]);
}

u32 race_best_explored_shape(const struct race_engine *e)
{
	u32 best = 0;
	u64 best_rate = 0;
	for (u32 k = 0; k < e->race->nshapes; k++) {
		u64 rate = hits_per_s(&e->shapes, k);
		if (rate > best_rate) {
			best_rate = rate;
			best = k;
		}
	}
	return best;
}

/* Aimed trials of one shape for this pair, at most half the pair's time; returns hits/s. */
static u64 explore_shape(const struct race_chunk *c, u32 shape, struct race_tuner *t)
{
	struct race_engine *e = c->e;
	struct race_shape_stats *s = &e->shapes;
	/* at most half of the pair's time (but RACE_MIN_CHUNK_NS a shape) goes to exploring */
	struct race_chunk ck = *c;
	u64 share = MAX(e->plan.pair_tsc / (2 * e->race->nshapes), ns_to_tsc(RACE_MIN_CHUNK_NS));
	ck.end_tsc = MIN(c->end_tsc, rdtsc() + share);
	u64 t0 = rdtsc(), sent0 = c->res->sent[RACE_AIMED], hits = 0;
	if (race_use_shape(&ck, shape, t))
		hits = race_aim(&ck, t, EXPLORE_TRIALS);
	u64 dt = rdtsc() - t0, rate = tsc_rate(hits, dt);
	__atomic_add_fetch(&s->trials[shape], c->res->sent[RACE_AIMED] - sent0, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->hits[shape], hits, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->tsc[shape], dt, __ATOMIC_RELAXED);
	return rate;
}

/* Returns the shape this pair uses (tuners: one per shape, the pair's own). */
u32 race_choose_shape(const struct race_chunk *c, struct race_tuner *tuners)
{
	struct race_engine *e = c->e;
	struct race_shape_stats *s = &e->shapes;
	u32 nshapes = e->race->nshapes, chosen = 0, best = 0;
	bool short_of = false;
	for (u32 k = 0; k < nshapes; k++) {
		chosen += READ_ONCE(s->chosen_by_pairs[k]);
		short_of |= READ_ONCE(s->trials[k]) < EXPLORE_TRIALS;
	}
	if (nshapes < 2)
		return 0;
	if ((chosen >= EXPLORING_PAIRS && !short_of) || s->exploring_pairs >= MAX_EXPLORING_PAIRS)
		return race_best_explored_shape(e);
	s->exploring_pairs++;
	bool topping_up = chosen >= EXPLORING_PAIRS;
	u64 best_rate = 0;
	for (u32 k = 0; k < nshapes; k++) {
		if (topping_up && READ_ONCE(s->trials[k]) >= EXPLORE_TRIALS)
			continue;
		u64 rate = explore_shape(c, k, &tuners[k]);
		if (rate > best_rate) {
			best_rate = rate;
			best = k;
		}
	}
	if (topping_up) /* it explored a few shapes only: the best of all so far */
		return race_best_explored_shape(e);
	if (best_rate) /* a pair that saw no hit leaves the choice to the next one */
		__atomic_add_fetch(&s->chosen_by_pairs[best], 1, __ATOMIC_RELAXED);
	return best;
}
