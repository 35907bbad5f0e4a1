/* Text console on a linear framebuffer or EGA text memory, redrawn from a shadow character grid. */
#include "kernel/fbcon.h"
#include "kernel/font.h"
#include "lib/lib.h"

#define MAX_COLS 320
#define MAX_ROWS 200
#define BLANK ' '
#define FG_GREY 0xAA  /* light grey, per 8-bit channel */
#define EGA_ATTR 0x07 /* light grey on black */

/* Unaligned-safe stores into the framebuffer (plain moves on x86). */
struct PACKED un16 { u16 v; };
struct PACKED un32 { u32 v; };

static struct {
	bool text;          /* EGA text mode: 16-bit cells at base */
	u8 *base;
	u32 pitch, width, height, bypp;
	u32 fg;             /* foreground pixel value; background is 0 (black) */
	u32 white;          /* full-intensity white (the light modules of a QR code) */
	u32 cols, rows;
	u32 col, row;       /* cursor; col == cols or row == rows means "wrap/scroll before the next glyph" */
	u32 dirty_lo, dirty_hi; /* rows [lo, hi) may differ from what is on screen */
} con;

static u8 grid[MAX_ROWS][MAX_COLS];  /* what the screen should show */
static u8 shown[MAX_ROWS][MAX_COLS]; /* what the screen does show (the framebuffer is never read) */

/* Scales an 8-bit intensity to a size-bit field at pos; false if the field does not fit in bpp. */
static bool channel(u32 v, u8 pos, u8 size, u32 bpp, u32 *out)
{
	if (size > 16 || (size && pos + size > bpp))
		return false;
	u32 max = (1u << size) - 1;
	*out |= ((v * max + 127) / 255) << pos;
	return true;
}

static void put_pixel(u8 *p, u32 v)
{
	switch (con.bypp) {
	case 4: ((struct un32 *)p)->v = v; break;
	case 3: ((struct un16 *)p)->v = (u16)v; p[2] = (u8)(v >> 16); break;
	default: ((struct un16 *)p)->v = (u16)v; break;
	}
}

static void draw_cell(u32 r, u32 c, u8 ch)
{
	if (con.text) {
		u8 e = ch == FONT_REPLACEMENT ? '?' : ch;
		((struct un16 *)(con.base + (size_t)r * con.pitch + (size_t)c * 2))->v = (u16)(EGA_ATTR << 8 | e);
		return;
	}
	const u8 *g = font_glyph(ch);
	u8 *line = con.base + (size_t)r * font_height * con.pitch + (size_t)c * font_width * con.bypp;
	for (u32 y = 0; y < font_height; y++, line += con.pitch, g += font_rowbytes) {
		u8 *p = line;
		for (u32 x = 0; x < font_width; x++, p += con.bypp)
			put_pixel(p, g[x >> 3] & (0x80 >> (x & 7)) ? con.fg : 0);
	}
}

static void mark(u32 lo, u32 hi)
{
	con.dirty_lo = MIN(con.dirty_lo, lo);
	con.dirty_hi = MAX(con.dirty_hi, hi);
}

/* Draws every cell in the dirty rows whose character changed. */
static void flush(void)
{
	for (u32 r = con.dirty_lo; r < con.dirty_hi; r++)
		for (u32 c = 0; c < con.cols; c++)
			if (grid[r][c] != shown[r][c]) {
				draw_cell(r, c, grid[r][c]);
				shown[r][c] = grid[r][c];
			}
	con.dirty_lo = con.rows;
	con.dirty_hi = 0;
}

/* Resolves a pending wrap or scroll so that (row, col) is a real cell. Scrolls by half a screen. */
static void settle(void)
{
	if (con.col >= con.cols) {
		con.col = 0;
		con.row++;
	}
	if (con.row >= con.rows) {
		u32 by = MAX(con.rows / 2, 1u);
		for (u32 r = 0; r + by < con.rows; r++)
			memcpy(grid[r], grid[r + by], con.cols);
		for (u32 r = con.rows - by; r < con.rows; r++)
			memset(grid[r], BLANK, con.cols);
		con.row = con.rows - by;
		mark(0, con.rows);
	}
}

bool fbcon_init(const struct fb_info *fb)
{
	memset(&con, 0, sizeof(con));
	u32 cols, rows, bypp = (fb->bpp + 7) / 8, fg = 0;
	if (fb->type == 2) {
		bypp = 2;
		cols = fb->width;
		rows = fb->height;
	} else if (fb->type == 1 && (fb->bpp == 16 || fb->bpp == 24 || fb->bpp == 32)) {
		if (!channel(FG_GREY, fb->red_pos, fb->red_size, fb->bpp, &fg) ||
		    !channel(FG_GREY, fb->green_pos, fb->green_size, fb->bpp, &fg) ||
		    !channel(FG_GREY, fb->blue_pos, fb->blue_size, fb->bpp, &fg) || fg == 0)
			return false;
		channel(0xff, fb->red_pos, fb->red_size, fb->bpp, &con.white);
		channel(0xff, fb->green_pos, fb->green_size, fb->bpp, &con.white);
		channel(0xff, fb->blue_pos, fb->blue_size, fb->bpp, &con.white);
		cols = fb->width / font_width;
		rows = fb->height / font_height;
	} else {
		return false;
	}
	if (cols == 0 || rows == 0 || fb->addr == 0 || fb->pitch < (u64)fb->width * bypp)
		return false;

	con.text = fb->type == 2;
	con.base = (u8 *)(uintptr_t)fb->addr;
	con.pitch = fb->pitch;
	con.width = fb->width;
	con.height = fb->height;
	con.bypp = bypp;
	con.fg = fg;
	con.cols = MIN(cols, (u32)MAX_COLS);
	con.rows = MIN(rows, (u32)MAX_ROWS);
	memset(grid, BLANK, sizeof(grid));
	memset(shown, BLANK, sizeof(shown));
	con.dirty_lo = con.rows;

	/* Clear the whole visible area once, margins included, so shown[] is true. */
	for (u32 y = 0; y < con.height; y++) {
		u8 *line = con.base + (size_t)y * con.pitch;
		if (!con.text) {
			memset(line, 0, (size_t)con.width * bypp);
			continue;
		}
		for (u32 x = 0; x < con.width; x++)
			((struct un16 *)(line + (size_t)x * 2))->v = EGA_ATTR << 8 | BLANK;
	}
	return true;
}

void fbcon_write(const char *s, size_t n)
{
	if (con.cols == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		u8 ch = (u8)s[i];
		if (ch == '\n') {
			con.col = 0;
			con.row++;
			continue;
		}
		if (ch < 0x20 && ch != '\t')
			continue; /* '\r' and other control bytes */
		if (ch == 0x7F || (ch >= 0x80 && ch < 0xC0))
			continue; /* DEL, and UTF-8 continuation bytes: one replacement per sequence */
		settle();
		if (ch == '\t') {
			con.col = MIN((con.col / 8 + 1) * 8, con.cols);
			continue;
		}
		grid[con.row][con.col++] = ch < 0x7F ? ch : FONT_REPLACEMENT;
		mark(con.row, con.row + 1);
	}
	flush();
}

u32 fbcon_cols(void)
{
	return con.cols;
}

u32 fbcon_rows(void)
{
	return con.rows;
}

void fbcon_page(const char *s, size_t n)
{
	if (con.cols == 0)
		return;
	memset(grid, BLANK, sizeof(grid));
	u32 r = 0, c = 0;
	for (size_t i = 0; i < n && r < con.rows; i++) {
		u8 ch = (u8)s[i];
		if (ch == '\n') {
			r++;
			c = 0;
		} else if (ch >= 0x20 && c < con.cols) {
			grid[r][c++] = ch < 0x7F ? ch : FONT_REPLACEMENT;
		}
	}
	con.row = MIN(r, con.rows - 1);
	con.col = 0;
	mark(0, con.rows);
	flush();
}

bool fbcon_graphics(u32 *width, u32 *height)
{
	if (con.cols == 0 || con.text)
		return false;
	*width = con.width;
	*height = con.height;
	return true;
}

void fbcon_fill(u32 x, u32 y, u32 w, u32 h, bool white)
{
	if (con.cols == 0 || con.text || x >= con.width || y >= con.height)
		return;
	w = MIN(w, con.width - x);
	h = MIN(h, con.height - y);
	for (u32 r = 0; r < h; r++) {
		u8 *p = con.base + (size_t)(y + r) * con.pitch + (size_t)x * con.bypp;
		for (u32 c = 0; c < w; c++, p += con.bypp)
			put_pixel(p, white ? con.white : 0);
	}
}

void fbcon_text_at(u32 x, u32 y, const char *s)
{
	if (con.cols == 0 || con.text)
		return;
	for (; *s && x + font_width <= con.width && y + font_height <= con.height; s++) {
		u8 ch = (u8)*s >= 0x20 && (u8)*s < 0x7f ? (u8)*s : FONT_REPLACEMENT;
		const u8 *g = font_glyph(ch);
		u8 *line = con.base + (size_t)y * con.pitch + (size_t)x * con.bypp;
		for (u32 gy = 0; gy < font_height; gy++, line += con.pitch, g += font_rowbytes) {
			u8 *p = line;
			for (u32 gx = 0; gx < font_width; gx++, p += con.bypp)
				put_pixel(p, g[gx >> 3] & (0x80 >> (gx & 7)) ? con.fg : 0);
		}
		x += font_width;
	}
}
