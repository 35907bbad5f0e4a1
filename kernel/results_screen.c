/*
 * The results screen on the framebuffer console: kernel/results.c's page, then the run record
 * (kernel/record.c) as QR codes (kernel/results_qr.c) in the room the text leaves. Codes that
 * do not fit go on more pages, shown in turn when the run ends halted (run_exit_idle).
 */
#include "kernel/results_screen.h"
#include "arch/x86/time.h"
#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/fbcon.h"
#include "kernel/font.h"
#include "kernel/outcome.h"
#include "kernel/record.h"
#include "kernel/results_qr.h"
#include "lib/lib.h"
#include "lib/printf.h"

#define MAX_PAGE 16384
#define PAGE_SECONDS 15

static char page[MAX_PAGE];
static size_t page_len;
static u32 page_lines, page_width;
static struct qr_plan plan;
static const char *record;
static u32 width, height;  /* pixels */
static u32 first_page_codes; /* codes shown beside the text */
static u32 code_pages;       /* pages of codes alone after it */
static u32 per_code_page;

/* The longest line of the text page, in characters. */
static u32 longest_line(const char *s)
{
	u32 best = 0, n = 0;
	for (; *s; s++) {
		n = *s == '\n' ? 0 : n + 1;
		best = MAX(best, n);
	}
	return best;
}

/* The room for codes on the text page: below the text or right of it, whichever holds more. The
 * page keeps its last text row free, so the title line (how many codes, where) always shows. */
static void first_page_region(u32 *x, u32 *y, u32 *w, u32 *h)
{
	u32 below = page_lines * font_height, right = (page_width + 2) * font_width;
	u32 bh = height > below + font_height ? height - below - font_height : 0;
	u32 rw = width > right ? width - right : 0;
	u32 rh = height > font_height ? height - font_height : 0;
	struct qr_fit b = results_qr_fit(width, bh, &plan), r = results_qr_fit(rw, rh, &plan);
	if (b.count >= r.count)
		*x = 0, *y = below, *w = width, *h = bh;
	else
		*x = right, *y = 0, *w = rw, *h = rh;
}

/* Page 0: the text, and the codes that fit beside it under a title line. */
static void show_first_page(void)
{
	char title[160];
	u32 x, y, w, h;
	fbcon_page(page, page_len);
	if (!plan.ncodes)
		return;
	first_page_region(&x, &y, &w, &h);
	if (first_page_codes == plan.ncodes)
		ksnprintf(title, sizeof(title), "Run record in %u QR code%s (docs/run-record.md):",
			  plan.ncodes, plan.ncodes > 1 ? "s" : "");
	else
		ksnprintf(title, sizeof(title), "Run record: QR codes 1-%u of %u here, %u more "
			  "follow on %u page%s (%u s each)", first_page_codes, plan.ncodes,
			  plan.ncodes - first_page_codes, code_pages, code_pages > 1 ? "s" : "",
			  PAGE_SECONDS);
	if (!first_page_codes)
		ksnprintf(title, sizeof(title), "Run record: %u QR codes follow on %u page%s "
			  "(%u s each)", plan.ncodes, code_pages, code_pages > 1 ? "s" : "",
			  PAGE_SECONDS);
	fbcon_text_at(x, y, title);
	results_qr_draw(&plan, record, 0, x, y + font_height, w, h);
}

/* Page p (1..code_pages): codes only, below a title line. */
static void show_code_page(u32 p)
{
	char title[120];
	u32 first = first_page_codes + (p - 1) * per_code_page;
	u32 last = MIN(first + per_code_page, plan.ncodes);
	fbcon_page("", 0);
	ksnprintf(title, sizeof(title), "racebed run record: QR codes %u-%u of %u (page %u of %u)",
		  first + 1, last, plan.ncodes, p + 1, code_pages + 1);
	fbcon_text_at(0, 0, title);
	results_qr_draw(&plan, record, first, 0, font_height + 4, width, height - font_height - 4);
}

/* The run ended halted: the pages in turn, for good (other CPUs are stopped). */
static void cycle_pages(void)
{
	for (u32 round = 0;; round++)
		for (u32 p = 0; p <= code_pages; p++) {
			if (p == 0)
				show_first_page();
			else
				show_code_page(p);
			if (round == 0)
				kprintf("# results screen page %u/%u\n", p + 1, code_pages + 1);
			udelay(PAGE_SECONDS * 1000000ull);
		}
}

void results_show(u32 passed, u32 failed, u32 skipped)
{
	u32 cols = console_fb_cols(), rows = console_fb_rows(), len;
	if (!cols || !rows)
		return;
	record_end(passed, failed, skipped, deviations_count());
	record = record_text(&len);
	struct results_totals t = { passed, failed, skipped };
	bool graphics = fbcon_graphics(&width, &height);
	/* the last row: the codes' title line, or in text mode the note that there are none */
	page_lines = results_render(page, sizeof(page), cols, rows - 1, &t, &the_platform);
	if (graphics) {
		results_qr_plan(&plan, record, len);
	} else {
		/* EGA text mode: no pixels for codes; the page says so */
		page_lines++;
		ksnprintf(page + strlen(page), sizeof(page) - strlen(page),
			  "Run record QR codes need a graphics screen: tools/racebed-report LOG.\n");
	}
	page_len = strlen(page);
	page_width = longest_line(page);
	console_fb_page(page, page_len);
	if (graphics && plan.ncodes) {
		u32 x, y, w, h;
		first_page_region(&x, &y, &w, &h);
		first_page_codes = results_qr_fit(w, h, &plan).count;
		per_code_page = results_qr_fit(width, height - font_height - 4, &plan).count;
		u32 left = plan.ncodes - first_page_codes;
		code_pages = per_code_page ? (left + per_code_page - 1) / per_code_page : 0;
		show_first_page();
		if (code_pages)
			run_exit_idle = cycle_pages;
	}
	kprintf("# results screen: %ux%u, %u lines, qr=%u/%u pages=%u\n", cols, rows, page_lines,
		first_page_codes, plan.ncodes, code_pages + 1);
}
