/* Reading the framebuffer console back as text in host unit tests: one row at a time. */
#ifndef RACEBED_SCREEN_TEXT_H
#define RACEBED_SCREEN_TEXT_H

#include "kernel/fbcon.h"

/* Row r of the screen as text (cell(r, c) reads one character cell), trailing blanks removed. */
static inline const char *screen_row(u32 r, char (*cell)(u32 r, u32 c))
{
	static char buf[400];
	u32 n = 0;
	for (u32 c = 0; c < fbcon_cols() && n < sizeof(buf) - 1; c++)
		buf[n++] = cell(r, c);
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = 0;
	return buf;
}

#endif
