/* Where a MOV SS case's event landed, by RIP (movss.h; plain C for the host unit test). */
#ifndef RACEBED_MOVSS_POS_H
#define RACEBED_MOVSS_POS_H

#include "lib/types.h"

enum mss_pos { POS_MOVSS, POS_NEXT, POS_AFTER, POS_AFTER2, POS_HANDLER, POS_OTHER,
	       POS_NO_DB /* the trial raised no data-breakpoint or single-step #DB */ };

#endif
