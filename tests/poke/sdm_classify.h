/*
 * The outcome of one poke_sdm_flag trial, from what the executor saw after the writer's flag:
 * the value the code returned when run at its usual address, the imm32 read as data through
 * the same mapping, and the value the same bytes returned when run at a second linear address
 * (the alias window). Plain C: host/unit/test_classify.c tests it.
 */
#ifndef RACEBED_SDM_CLASSIFY_H
#define RACEBED_SDM_CLASSIFY_H

#include "lib/types.h"

enum sdm_out {
	SDM_NEW,          /* ran the code the writer stored before its flag */
	SDM_STALE_FETCH,  /* ran an older version although memory (read as data) holds the new */
	SDM_NOT_VISIBLE,  /* the new code was not even visible as data: trials are not paired */
	SDM_OTHER,        /* a value never written yet: a broken test */
	SDM_NOUT
};

static inline enum sdm_out sdm_classify(u32 want, u32 ran, u32 data)
{
	if (data != want)
		return data < want ? SDM_NOT_VISIBLE : SDM_OTHER;
	if (ran == want)
		return SDM_NEW;
	return ran < want ? SDM_STALE_FETCH : SDM_OTHER;
}

/* A stale run whose bytes, run at another linear address, gave the new value: what went stale
 * is a translation of the first address (a decoded-instruction or translation cache), not
 * memory. */
static inline bool sdm_stale_by_address(u32 want, u32 ran, u32 ran_elsewhere)
{
	return ran < want && ran_elsewhere == want;
}

#endif
