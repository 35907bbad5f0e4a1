/* The results screen on the framebuffer console, from kernel/results.c's page. */
#include "kernel/results_screen.h"
#include "kernel/console.h"
#include "lib/printf.h"

#define MAX_PAGE 16384

void results_show(u32 passed, u32 failed, u32 skipped)
{
	static char page[MAX_PAGE];
	u32 cols = console_fb_cols(), rows = console_fb_rows();
	if (!cols || !rows)
		return;
	struct results_totals t = { passed, failed, skipped };
	u32 lines = results_render(page, sizeof(page), cols, rows, &t, &the_platform);
	size_t n = 0;
	while (page[n])
		n++;
	console_fb_page(page, n);
	kprintf("# results screen: %ux%u, %u lines\n", cols, rows, lines);
}
