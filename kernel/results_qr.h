/*
 * The run record as QR codes on the framebuffer: split at line boundaries into codes of at
 * most QR_CODE_VERSION (level L), each starting with `RB1 K/N` (docs/run-record.md), laid
 * out in a grid with a "K of N" label under each.
 */
#ifndef RACEBED_RESULTS_QR_H
#define RACEBED_RESULTS_QR_H

#include "lib/types.h"

#define QR_CODE_VERSION 20
#define QR_MAX_CODES 64
#define QR_QUIET 4       /* light modules around a code, as the standard asks */
#define QR_MIN_SCALE 2   /* pixels a module */
#define QR_MAX_SCALE 6

struct qr_plan {
	u32 ncodes;
	u32 start[QR_MAX_CODES], len[QR_MAX_CODES]; /* each code's part of the record */
	u32 modules;     /* the side of the largest code, in modules */
};

/* Splits the record (len bytes) into codes. */
void results_qr_plan(struct qr_plan *plan, const char *record, u32 len);

/* How a region fits codes: how many, at what scale, in how many per row. */
struct qr_fit {
	u32 count, scale, per_row, side; /* side: a code's pixels, quiet zone included */
};
struct qr_fit results_qr_fit(u32 w, u32 h, const struct qr_plan *plan);

/*
 * Draws codes first..first+fit.count-1 of the plan in the region at (x, y), w x h pixels, as
 * results_qr_fit(w, h, ...) placed them, each labelled "K of N". Returns how many it drew.
 */
u32 results_qr_draw(const struct qr_plan *plan, const char *record, u32 first, u32 x, u32 y,
		    u32 w, u32 h);

#endif
