/* Host unit test for kernel/fbcon.c: renders into malloc'd framebuffers and reads the glyphs back. */
#include <stdint.h>
#include <stdlib.h>

#include "kernel/fbcon.h"
#include "kernel/font.h"
#include "host/unit/check.h"
#include "host/unit/screen_text.h"

#define FG_RGB 0xAAAAAAu /* light grey at 24/32 bpp (8-bit channels) */
#define FG_565 0xAD55u   /* light grey at 16 bpp 5:6:5: (21 << 11) | (42 << 5) | 21 */
#define SENTINEL 0x5A

static struct fb_info fb;
static u8 *mem;
static size_t memsize;

/* Allocates exactly what the screen may touch: the last line has no pitch padding after it. */
static void alloc_fb(u32 bytes_per_line)
{
	free(mem);
	memsize = (size_t)fb.pitch * (fb.height - 1) + bytes_per_line;
	mem = malloc(memsize);
	memset(mem, SENTINEL, memsize);
	fb.addr = (u64)(uintptr_t)mem;
}

/* A direct-RGB framebuffer of cols x rows cells plus extra pixels of margin, pitch padded by pad bytes. */
static bool setup_rgb(u32 bpp, u32 cols, u32 rows, u32 extra, u32 pad)
{
	memset(&fb, 0, sizeof(fb));
	fb.type = 1;
	fb.bpp = (u8)bpp;
	fb.width = cols * font_width + extra;
	fb.height = rows * font_height + extra;
	fb.pitch = fb.width * (bpp / 8) + pad;
	if (bpp == 16) {
		fb.red_pos = 11, fb.red_size = 5, fb.green_pos = 5, fb.green_size = 6, fb.blue_size = 5;
	} else {
		fb.red_pos = 16, fb.red_size = 8, fb.green_pos = 8, fb.green_size = 8, fb.blue_size = 8;
	}
	alloc_fb(fb.width * (bpp / 8));
	return fbcon_init(&fb);
}

static bool setup_ega(u32 cols, u32 rows)
{
	memset(&fb, 0, sizeof(fb));
	fb.type = 2;
	fb.bpp = 16;
	fb.width = cols;
	fb.height = rows;
	fb.pitch = cols * 2;
	alloc_fb(fb.pitch);
	return fbcon_init(&fb);
}

static u32 pixel(u32 x, u32 y)
{
	const u8 *p = mem + (size_t)y * fb.pitch + (size_t)x * (fb.bpp / 8);
	u32 v = 0;
	for (u32 i = 0; i < fb.bpp / 8u; i++)
		v |= (u32)p[i] << (8 * i);
	return v;
}

static u32 fg(void)
{
	return fb.bpp == 16 ? FG_565 : FG_RGB;
}

/* Reads one cell back: the character whose glyph it shows, '!' for a foreign colour, '#' for no match. */
static char cell_char(u32 r, u32 c)
{
	if (fb.type == 2) {
		u32 v = mem[(size_t)r * fb.pitch + c * 2] | mem[(size_t)r * fb.pitch + c * 2 + 1] << 8;
		return (v >> 8) == 0x07 ? (char)(v & 0xFF) : '!';
	}
	for (u32 ch = FONT_FIRST; ch <= FONT_REPLACEMENT; ch++) {
		const u8 *g = font_glyph(ch);
		bool same = true;
		for (u32 y = 0; y < font_height && same; y++)
			for (u32 x = 0; x < font_width && same; x++) {
				u32 v = pixel(c * font_width + x, r * font_height + y);
				bool on = g[y * font_rowbytes + x / 8] & (0x80 >> (x % 8));
				if (v != 0 && v != fg())
					return '!';
				same = (v == fg()) == on;
			}
		if (same)
			return (char)ch;
	}
	return '#';
}

/* The text of screen row r, trailing blanks removed. */
static const char *row(u32 r) { return screen_row(r, cell_char); }

static void put(const char *s)
{
	fbcon_write(s, strlen(s));
}

/* Bytes beyond width*bpp on each line (but the last, which is not allocated) keep the sentinel. */
static bool padding_intact(void)
{
	for (u32 y = 0; y + 1 < fb.height; y++)
		for (u32 i = fb.width * (fb.bpp / 8); i < fb.pitch; i++)
			if (mem[(size_t)y * fb.pitch + i] != SENTINEL)
				return false;
	return true;
}

static void test_glyph_pixels(u32 bpp)
{
	CHECK(setup_rgb(bpp, 10, 5, 3, 12));
	CHECK(fbcon_cols() == 10 && fbcon_rows() == 5);
	put("A");
	const u8 *g = font_glyph('A');
	u32 bad = 0;
	for (u32 y = 0; y < font_height; y++)
		for (u32 x = 0; x < font_width; x++)
			bad += pixel(x, y) != (g[y * font_rowbytes + x / 8] & (0x80 >> (x % 8)) ? fg() : 0);
	CHECK(bad == 0);
	CHECK(pixel(fb.width - 1, fb.height - 1) == 0); /* margin cleared at init */
	CHECK_STR(row(0), "A");
	CHECK(padding_intact());
}

static void test_layout(void)
{
	CHECK(setup_rgb(32, 12, 6, 0, 0));
	put("ab\r\ncd\x01" "e\x7f\n");
	put("0123456789ABCD\n");
	put("0123456789AB\nZ"); /* a full line then '\n' leaves no blank line */
	CHECK_STR(row(0), "ab");
	CHECK_STR(row(1), "cde");
	CHECK_STR(row(2), "0123456789AB");
	CHECK_STR(row(3), "CD");
	CHECK_STR(row(4), "0123456789AB");
	CHECK_STR(row(5), "Z");

	CHECK(setup_rgb(32, 12, 6, 0, 0)); /* re-init clears the screen and homes the cursor */
	for (u32 r = 0; r < 6; r++)
		CHECK_STR(row(r), "");
	put("a\tb\tc\t\tX\xc3\xa9!");
	CHECK_STR(row(0), "a       b");
	CHECK_STR(row(1), "c");
	CHECK_STR(row(2), "X\x7f!"); /* a UTF-8 sequence shows one replacement glyph */
}

/* Writes many lines one by one; the newest must always sit below the ones just before it. */
static void test_scroll(u32 bpp)
{
	CHECK(setup_rgb(bpp, 10, 5, 5, 4));
	char want[32];
	for (int i = 0; i < 23; i++) {
		if (i)
			put("\n");
		snprintf(want, sizeof(want), "line %d", i);
		put(want);
		int at = -1;
		for (u32 r = 0; r < fbcon_rows(); r++)
			if (strcmp(row(r), want) == 0)
				at = (int)r;
		CHECK(at >= (i < 2 ? i : 2)); /* at least half a screen of history stays visible */
		for (int r = 0; r < at; r++) {
			snprintf(want, sizeof(want), "line %d", i - at + r);
			CHECK_STR(row((u32)r), want);
		}
		for (u32 r = (u32)at + 1; r < fbcon_rows(); r++)
			CHECK_STR(row(r), "");
	}
	put("\n0123456789abc"); /* a wrapped line across a scroll */
	CHECK_STR(row(fbcon_rows() - 3), "line 22");
	CHECK_STR(row(fbcon_rows() - 2), "0123456789");
	CHECK_STR(row(fbcon_rows() - 1), "abc");
	CHECK(padding_intact());
}

static void test_ega(void)
{
	CHECK(setup_ega(80, 25));
	CHECK(fbcon_cols() == 80 && fbcon_rows() == 25);
	CHECK(mem[0] == ' ' && mem[1] == 0x07 && mem[80 * 25 * 2 - 1] == 0x07);
	put("Hi\n\tX\xc3\xa9");
	CHECK(mem[0] == 'H' && mem[1] == 0x07 && mem[2] == 'i');
	CHECK(mem[(80 + 8) * 2] == 'X' && mem[(80 + 9) * 2] == '?' && mem[(80 + 9) * 2 + 1] == 0x07);
	for (int i = 0; i < 40; i++)
		put("\nscroll");
	put("\nlast");
	int at = -1;
	for (u32 r = 0; r < 25; r++)
		if (strcmp(row(r), "last") == 0)
			at = (int)r;
	CHECK(at >= 12 && strcmp(row((u32)at - 1), "scroll") == 0);

	CHECK(setup_ega(400, 250)); /* bigger than the shadow grid: clamped */
	CHECK(fbcon_cols() == 320 && fbcon_rows() == 200);
	for (int i = 0; i < 321; i++)
		put("x");
	CHECK(mem[319 * 2] == 'x' && mem[320 * 2] == ' ' && mem[400 * 2] == 'x' && mem[401 * 2] == ' ');
}

static void test_clamp_24(void)
{
	CHECK(setup_rgb(24, 325, 2, 0, 0));
	CHECK(fbcon_cols() == 320 && fbcon_rows() == 2);
	for (int i = 0; i < 321; i++)
		put("x");
	CHECK(strlen(row(0)) == 320 && strspn(row(0), "x") == 320);
	CHECK_STR(row(1), "x");
	u32 lit = 0;
	for (u32 y = 0; y < font_height; y++)
		for (u32 x = 320 * font_width; x < fb.width; x++)
			lit += pixel(x, y) != 0;
	CHECK(lit == 0);
}

static void test_reject(void)
{
	CHECK(setup_rgb(32, 4, 2, 0, 0));
	u8 *before = malloc(memsize);
	memcpy(before, mem, memsize);
	struct fb_info good = fb, f;
	CHECK(fbcon_cols() == 4);

#define REJECT(field_changes)                                              \
	do {                                                               \
		f = good;                                                  \
		field_changes;                                             \
		CHECK(!fbcon_init(&f));                                    \
		CHECK(fbcon_cols() == 0 && fbcon_rows() == 0);             \
		put("must not appear");                                    \
		CHECK(memcmp(before, mem, memsize) == 0);                  \
	} while (0)
	REJECT(f.type = 0; f.bpp = 8);
	REJECT(f.bpp = 8);
	REJECT(f.bpp = 15);
	REJECT(f.type = 3);
	REJECT(f.red_pos = 28);
	REJECT(f.red_size = f.green_size = f.blue_size = 0);
	REJECT(f.width = font_width - 1);
	REJECT(f.height = font_height - 1);
	REJECT(f.pitch = f.width * 4 - 1);
	REJECT(f.addr = 0);
	free(before);
}

/* Writes the current 32-bpp screen, scaled 2x, as an RGB PNG made of stored deflate blocks. */
static u32 crc_table[256];
static void chunk(FILE *out, const char *type, const u8 *data, u32 len)
{
	u8 hdr[8] = {len >> 24, len >> 16, len >> 8, len, type[0], type[1], type[2], type[3]};
	u32 crc = 0xFFFFFFFFu;
	for (u32 i = 4; i < 8 + len; i++)
		crc = crc_table[(crc ^ (i < 8 ? hdr[i] : data[i - 8])) & 0xFF] ^ (crc >> 8);
	crc ^= 0xFFFFFFFFu;
	u8 tail[4] = {crc >> 24, crc >> 16, crc >> 8, crc};
	fwrite(hdr, 1, 8, out);
	fwrite(data, 1, len, out);
	fwrite(tail, 1, 4, out);
}

static bool write_png(const char *path)
{
	for (u32 n = 0; n < 256; n++) {
		u32 c = n;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[n] = c;
	}
	u32 w = fb.width * 2, h = fb.height * 2, line = 1 + w * 3;
	size_t raw_len = (size_t)line * h, nblk = (raw_len + 65534) / 65535;
	u8 *raw = malloc(raw_len), *z = malloc(raw_len + nblk * 5 + 6);
	for (u32 y = 0; y < h; y++) {
		u8 *p = raw + (size_t)y * line;
		*p++ = 0; /* filter: none */
		for (u32 x = 0; x < w; x++, p += 3) {
			u32 v = pixel(x / 2, y / 2);
			p[0] = v >> 16, p[1] = v >> 8, p[2] = v;
		}
	}
	size_t zn = 0;
	z[zn++] = 0x78, z[zn++] = 0x01;
	u32 a = 1, b = 0;
	for (size_t off = 0; off < raw_len; off += 65535) {
		u32 n = raw_len - off < 65535 ? (u32)(raw_len - off) : 65535;
		z[zn++] = off + n == raw_len;
		z[zn++] = n, z[zn++] = n >> 8, z[zn++] = ~n, z[zn++] = ~n >> 8;
		memcpy(z + zn, raw + off, n);
		zn += n;
	}
	for (size_t i = 0; i < raw_len; i++)
		a = (a + raw[i]) % 65521, b = (b + a) % 65521;
	u32 adler = b << 16 | a;
	z[zn++] = adler >> 24, z[zn++] = adler >> 16, z[zn++] = adler >> 8, z[zn++] = adler;
	u8 ihdr[13] = {w >> 24, w >> 16, w >> 8, w, h >> 24, h >> 16, h >> 8, h, 8, 2, 0, 0, 0};
	FILE *out = fopen(path, "wb");
	if (out) {
		fwrite("\x89PNG\r\n\x1a\n", 1, 8, out);
		chunk(out, "IHDR", ihdr, 13);
		chunk(out, "IDAT", z, (u32)zn);
		chunk(out, "IEND", ihdr, 0);
		fclose(out);
	}
	free(raw);
	free(z);
	return out != NULL;
}

static void sample_picture(void)
{
	CHECK(setup_rgb(32, 64, 14, 4, 0));
	char s[40];
	for (int i = 0; i < 10; i++) { /* scrolled: only the last few remain */
		snprintf(s, sizeof(s), "early boot line %d\n", i);
		put(s);
	}
	put("x86 racebed framebuffer console (sample)\n");
	for (int c = 0x20; c < 0x7F; c++)
		fbcon_write(&(char){(char)c}, 1);
	put("\ncol:\t8\t16\t24\n");
	put("The quick brown fox jumps over the lazy dog. 0123456789 {}[]()<>|\\/~ and wraps here.\n");
	put("non-ASCII becomes the replacement glyph: na\xc3\xafve \xe2\x86\x92 ok\n");
	put("ignored:\r\x01\x1b\x7f end");
	CHECK(write_png("/tmp/fbcon_sample.png"));
}

int main(void)
{
	test_glyph_pixels(32);
	test_glyph_pixels(24);
	test_glyph_pixels(16);
	test_layout();
	test_scroll(32);
	test_scroll(16);
	test_ega();
	test_clamp_24();
	test_reject();
	sample_picture();
	free(mem);
	return check_report("fbcon");
}
