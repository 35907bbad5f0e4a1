/* The console's bitmap font: glyph tables generated from a PSF font by tools/psf2c.py. */
#ifndef RACEBED_FONT_H
#define RACEBED_FONT_H

#define FONT_FIRST 0x20       /* glyph 0 is ' ', then printable ASCII up to '~' (0x7E) */
#define FONT_REPLACEMENT 0x7F /* the glyph after '~' stands for anything not printable ASCII */
#define FONT_GLYPHS 96

/* Glyph size in pixels, and bytes per glyph row (ceil(width / 8)). */
extern const unsigned font_width, font_height, font_rowbytes;
/* FONT_GLYPHS glyphs of font_height rows each; each row font_rowbytes bytes, leftmost pixel in the MSB. */
extern const unsigned char font_bitmap[];

/* The glyph for byte c; anything outside ' '..'~' gets the replacement glyph. */
static inline const unsigned char *font_glyph(unsigned c)
{
	if (c < FONT_FIRST || c > FONT_REPLACEMENT)
		c = FONT_REPLACEMENT;
	return font_bitmap + (c - FONT_FIRST) * font_height * font_rowbytes;
}

#endif
