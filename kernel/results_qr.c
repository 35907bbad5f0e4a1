/* The run record as QR codes on the results screen (see results_qr.h). */
#include "kernel/results_qr.h"
#include "kernel/fbcon.h"
#include "kernel/font.h"
#include "kernel/qr.h"
#include "kernel/record.h"
#include "lib/lib.h"
#include "lib/printf.h"

#define HEADER_MAX 16 /* "RB1 64/64\n" and room to spare */
#define GAP 8         /* pixels between codes */

_Static_assert(RECORD_MAX / 800 < QR_MAX_CODES, "a full record needs more codes than a plan has");

static u32 header(char *out, u32 k, u32 n)
{
	ksnprintf(out, HEADER_MAX, "RB1 %u/%u\n", k, n);
	return (u32)strlen(out);
}

void results_qr_plan(struct qr_plan *plan, const char *record, u32 len)
{
	u32 cap = qr_capacity(QR_CODE_VERSION, QR_ECC_L) - HEADER_MAX, biggest = 0;
	memset(plan, 0, sizeof(*plan));
	for (u32 pos = 0; pos < len && plan->ncodes < QR_MAX_CODES; plan->ncodes++) {
		/* whole lines while they fit; a line longer than a code is cut */
		u32 end = pos, next = pos;
		while (next < len) {
			u32 eol = next;
			while (eol < len && record[eol] != '\n')
				eol++;
			eol += eol < len;
			if (eol - pos > cap)
				break;
			next = end = eol;
		}
		if (end == pos)
			end = pos + MIN(cap, len - pos);
		plan->start[plan->ncodes] = pos;
		plan->len[plan->ncodes] = end - pos;
		biggest = MAX(biggest, end - pos);
		pos = end;
	}
	u32 v = 1;
	while (v < QR_CODE_VERSION && qr_capacity(v, QR_ECC_L) < biggest + HEADER_MAX)
		v++;
	plan->modules = 17 + 4 * v;
}

struct qr_fit results_qr_fit(u32 w, u32 h, const struct qr_plan *plan)
{
	struct qr_fit fit = { 0, 0, 0, 0 };
	for (u32 scale = QR_MAX_SCALE; scale >= QR_MIN_SCALE; scale--) {
		u32 side = (plan->modules + 2 * QR_QUIET) * scale;
		u32 per_row = (w + GAP) / (side + GAP);
		u32 rows = (h + GAP) / (side + font_height + GAP);
		u32 count = MIN(per_row * rows, plan->ncodes);
		if (count > fit.count || scale == QR_MAX_SCALE)
			fit = (struct qr_fit){ count, scale, per_row, side };
		if (count == plan->ncodes)
			break;
	}
	return fit;
}

static void draw_code(const struct qr *q, u32 x, u32 y, u32 scale)
{
	u32 side = (q->size + 2 * QR_QUIET) * scale;
	fbcon_fill(x, y, side, side, true);
	for (u32 r = 0; r < q->size; r++)
		for (u32 c = 0; c < q->size; c++)
			if (q->dark[r][c])
				fbcon_fill(x + (QR_QUIET + c) * scale, y + (QR_QUIET + r) * scale, scale,
					   scale, false);
}

u32 results_qr_draw(const struct qr_plan *plan, const char *record, u32 first, u32 x, u32 y,
		    u32 w, u32 h)
{
	static struct qr q;
	static u8 text[1024];
	struct qr_fit fit = results_qr_fit(w, h, plan);
	u32 drawn = 0;
	for (u32 i = first; i < plan->ncodes && drawn < fit.count; i++, drawn++) {
		char label[32];
		u32 n = header((char *)text, i + 1, plan->ncodes);
		memcpy(text + n, record + plan->start[i], plan->len[i]);
		if (!qr_encode(&q, text, n + plan->len[i], QR_ECC_L, QR_CODE_VERSION))
			break;
		u32 cx = x + drawn % fit.per_row * (fit.side + GAP);
		u32 cy = y + drawn / fit.per_row * (fit.side + font_height + GAP);
		draw_code(&q, cx, cy, fit.scale);
		ksnprintf(label, sizeof(label), "%u of %u", i + 1, plan->ncodes);
		fbcon_text_at(cx + (fit.side - (u32)strlen(label) * font_width) / 2, cy + fit.side,
			      label);
	}
	return drawn;
}
