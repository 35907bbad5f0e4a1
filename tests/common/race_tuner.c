/*
 * The aimed sender's delay tuner: which delay after a victim's publication its event should
 * wait for. RACE_DELAY_BINS bins cover one loop period at first; each bin is tried twice in
 * turn, then the best bin (hit rate) is taken 7 times in 8 and a random one otherwise, and
 * after enough trials the bins zoom in around the best (a quarter of the width, 6 times at
 * most).
 */
#include "tests/common/race_internal.h"
#include "arch/x86/time.h"

#define NBINS RACE_DELAY_BINS
#define TRIALS_BEFORE_ZOOM (24 * NBINS)
#define MAX_ZOOMS 6
#define MIN_ZOOM_HITS 4 /* hits in the best bin before zooming in on it */

void race_tuner_start(struct race_tuner *t, u64 period_tsc)
{
	*t = (struct race_tuner){ .low = 0,
				  .width = MAX(period_tsc / NBINS, 1ull),
				  .period_tsc = period_tsc,
				  .ready = true };
}

static u32 best_bin(const struct race_tuner *t)
{
	u32 best = 0;
	u64 best_score = 0;
	for (u32 b = 0; b < NBINS; b++) {
		u64 score = ((u64)t->hits[b] * 1024 + 512) / (t->trials[b] + 1);
		if (score > best_score) {
			best_score = score;
			best = b;
		}
	}
	return best;
}

u32 race_tuner_pick(struct race_tuner *t, u64 *rng)
{
	if (t->trials_since_zoom < 2 * NBINS)
		return t->trials_since_zoom % NBINS;
	u64 r = rng_next(rng);
	return (r & 7) == 0 ? (u32)((r >> 8) % NBINS) : best_bin(t);
}

/* A delay drawn uniformly from the bin. */
u64 race_tuner_delay(const struct race_tuner *t, u32 bin, u64 *rng)
{
	return t->low + bin * t->width + rng_next(rng) % t->width;
}

void race_tuner_update(struct race_tuner *t, u32 bin, bool hit)
{
	t->trials[bin]++;
	t->hits[bin] += hit;
	if (++t->trials_since_zoom < TRIALS_BEFORE_ZOOM || t->zooms >= MAX_ZOOMS || t->width < 4)
		return;
	u32 best = best_bin(t);
	if (t->hits[best] < MIN_ZOOM_HITS)
		return;
	u64 center = t->low + best * t->width + t->width / 2, width = MAX(t->width / 4, 1ull);
	t->low = center > NBINS / 2 * width ? center - NBINS / 2 * width : 0;
	t->width = width;
	for (u32 i = 0; i < NBINS; i++)
		t->trials[i] = t->hits[i] = 0;
	t->trials_since_zoom = 0;
	t->zooms++;
}

u64 race_tuner_best_delay(const struct race_tuner *t)
{
	return t->low + best_bin(t) * t->width + t->width / 2;
}
