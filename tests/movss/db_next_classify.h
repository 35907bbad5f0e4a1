/*
 * movss_db_next's observations of one case, from where its trials' #DBs landed (enum mss_pos,
 * counted by movss_cases.c). Plain C: host/unit/test_classify.c tests it.
 *
 *   at_next:    the #DB came on the boundary right after MOV SS / POP SS, before the next
 *               instruction ran (not held at all; for the plain-load control, where it belongs)
 *   held:       it came after the next instruction: after it, or on the first instruction of
 *               the handler the next instruction entered (int3, int n, syscall)
 *   in_handler: the latter alone
 *   lost:       no data-breakpoint #DB at all (a fault or ICEBP as the next instruction may drop
 *               it)
 * A #DB at MOV SS itself or at any other RIP is none of these. trials is every run when data
 * breakpoints work on this platform (some case's #DB fired), else 0: a platform without them
 * (an emulator) says nothing, and every observation is Unreached rather than Never.
 */
#ifndef RACEBED_DB_NEXT_CLASSIFY_H
#define RACEBED_DB_NEXT_CLASSIFY_H

#include "tests/movss/movss_pos.h"

struct db_next_obs { u64 at_next, held, in_handler, lost, trials; };

static inline struct db_next_obs db_next_observe(const u64 pos[POS_NO_DB + 1], u64 runs,
						 bool breakpoints_work)
{
	struct db_next_obs o = {
		.at_next = pos[POS_NEXT],
		.held = pos[POS_AFTER] + pos[POS_AFTER2] + pos[POS_HANDLER],
		.in_handler = pos[POS_HANDLER],
		.lost = pos[POS_NO_DB],
		.trials = breakpoints_work ? runs : 0,
	};
	return o;
}

#endif
