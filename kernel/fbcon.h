/* Text console on the boot loader's framebuffer (direct RGB at 16/24/32 bpp, or EGA text). */
#ifndef RACEBED_FBCON_H
#define RACEBED_FBCON_H

#include "boot/bootinfo.h"

/* The framebuffer must already be mapped at fb->addr. Returns false when the format is unusable. */
bool fbcon_init(const struct fb_info *fb);
/* Draws n bytes ('\n' starts a new line; other control bytes are ignored). Caller serializes. */
void fbcon_write(const char *s, size_t n);
/* Replaces the whole screen with the lines of s ('\n'-separated), from the top: lines beyond the
 * last row and characters beyond the last column are dropped, nothing scrolls. */
void fbcon_page(const char *s, size_t n);
/* Pixel drawing beside the text grid (the results screen's QR codes), graphics modes only:
 * the size in pixels (false in EGA text mode or without a console), a white or black
 * rectangle, a string at a pixel position (clipped, nothing wraps). */
bool fbcon_graphics(u32 *width, u32 *height);
void fbcon_fill(u32 x, u32 y, u32 w, u32 h, bool white);
void fbcon_text_at(u32 x, u32 y, const char *s);
/* Columns and rows of the text grid (0 when not initialised). */
u32 fbcon_cols(void);
u32 fbcon_rows(void);

#endif
